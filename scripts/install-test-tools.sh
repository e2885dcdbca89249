#!/usr/bin/env bash
# Installs every third-party tool the test suite uses, pinned, idempotently. The test command runs
# this first; nothing in the suite may rely on a tool installed by hand.
#
#   Debian  dataset-fashion-mnist  the Fashion-MNIST IDX files (training and its tests)
#   Debian  prometheus             promtool, for `promtool check rules` / `test rules`
#   Debian  chromium               headless browser for the admin panel test (playwright-core drives
#                                  /usr/bin/chromium; it cannot download a browser of its own)
#   Debian  nginx                  the TLS front of `npm run stack:local` and the e2e tests (auth_request
#                                  module included), run unprivileged from a temp prefix
#   PyPI    mlflow (.tools/mlflow-venv) the MLflow tracking server and Python client for the MLflow
#                                  integration tests: exactly test/support/mlflow-requirements.txt
#   Go      oauth2-proxy (.tools/bin/oauth2-proxy) built from its pinned module with the Go toolchain
#                                  (/usr/local/go/bin/go or go on PATH), for `npm run stack:local`
#                                  and the e2e tests
#   PyPI    schemathesis, tritonclient[http] (.tools/fuzz-venv) the OpenAPI fuzzer and the third-party
#                                  Open Inference Protocol v2 client of test/interop/: exactly
#                                  test/support/fuzz-requirements.txt
#
# Each tool is checked first and installed only when missing or at another version, so a second
# run does nothing and needs no network.
#
#   --bench  only the FastAPI peer of `npm run bench`: a Python venv in .tools/bench-venv holding
#            exactly bench/peer/requirements.txt (fastapi, uvicorn, onnxruntime, numpy, pillow,
#            python-multipart and their dependencies, all pinned) from PyPI. The everyday test run
#            does not install it.
set -euo pipefail

# A Python venv holding exactly the pins of a requirements file (every dependency listed, installed
# with --no-deps), rebuilt from scratch when the pins change. Python >= 3.11: the pinned wheels
# (numpy 2.4, onnxruntime 1.31, mlflow 3.17) exist for 3.11 and later.
#   install_pinned_venv <venv dir under the repo> <requirements file under the repo> <label>
install_pinned_venv() {
  local root venv requirements label want have
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  venv="$root/$1"
  requirements="$root/$2"
  label=$3
  want=$(grep -Ev '^[[:space:]]*(#|$)' "$requirements" | LC_ALL=C sort -f)
  frozen() { "$venv/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null | LC_ALL=C sort -f; }
  have=$([[ -x "$venv/bin/python" ]] && frozen || true)
  if [[ "$have" != "$want" ]]; then
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
      { echo "install-test-tools: the $label needs python3 >= 3.11" >&2; return 1; }
    echo "install-test-tools: creating $venv from $2" >&2
    # A fresh venv each time the pins change, so no package left from an older pin survives.
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements"
    [[ "$(frozen)" == "$want" ]] ||
      { echo "install-test-tools: $venv does not match $2" >&2; return 1; }
  fi
  echo "install-test-tools: ok ($label venv, $(wc -l <<<"$want") Python packages pinned)" >&2
}

install_bench_peer() { install_pinned_venv .tools/bench-venv bench/peer/requirements.txt "bench peer"; }

case "${1:-}" in
  "") ;;
  --bench) install_bench_peer; exit 0 ;;
  *) echo "install-test-tools: unknown option $1 (expected none or --bench)" >&2; exit 2 ;;
esac

# name=version, exactly as Debian bookworm ships them.
DEBIAN_PACKAGES=(
  "dataset-fashion-mnist=0.0~git20200523.55506a9-1"
  "prometheus=2.42.0+ds-5+deb12u1"
  # bookworm-security: Debian replaces chromium there on every security release, so this pin moves
  # with it (`apt-cache policy chromium`).
  "chromium=156.0.8078.79-1~deb12u1"
  "nginx=1.22.1-9+deb12u11"
)

need_debian=()
for pinned in "${DEBIAN_PACKAGES[@]}"; do
  name=${pinned%%=*}
  want=${pinned#*=}
  have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
  [[ "$have" == "install ok installed $want" ]] || need_debian+=("$pinned")
done

if ((${#need_debian[@]})); then
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  echo "install-test-tools: installing ${need_debian[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_debian[@]}" >/dev/null
  # The prometheus package starts a daemon on :9090 under systemd-less machines' init scripts;
  # the tests start their own Prometheus on a free port, so stop the packaged one if it runs.
  # The same for the packaged nginx on :80: the stack runs its own nginx from a temp prefix.
  if command -v service >/dev/null 2>&1; then
    $SUDO service prometheus stop >/dev/null 2>&1 || true
    $SUDO service nginx stop >/dev/null 2>&1 || true
  fi
fi
echo "install-test-tools: ok (${#DEBIAN_PACKAGES[@]} Debian packages pinned)" >&2

# The MLflow server the registry integration tests start (test/support/mlflow-server.ts).
install_pinned_venv .tools/mlflow-venv test/support/mlflow-requirements.txt mlflow

# The API fuzzer and the v2 protocol client of the interop tests (test/interop/).
install_pinned_venv .tools/fuzz-venv test/support/fuzz-requirements.txt "fuzz and v2 client"

# oauth2-proxy, built from its module at the pinned version into .tools/bin. Not `go install
# module@version`: that also asks the module proxy for the module's version list (to report a
# deprecation), which the proxy refuses for this module, so the build runs inside the downloaded
# module with -mod=readonly: exactly the dependencies its own go.mod and go.sum pin and verify.
OAUTH2_PROXY_MODULE=github.com/oauth2-proxy/oauth2-proxy/v7
OAUTH2_PROXY_VERSION=v7.8.1
install_oauth2_proxy() {
  local root bin go have dir
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  bin="$root/.tools/bin/oauth2-proxy"
  have=$([[ -x "$bin" ]] && "$bin" --version 2>/dev/null || true)
  if [[ "$have" != "oauth2-proxy $OAUTH2_PROXY_VERSION "* ]]; then
    go=$(command -v go || echo /usr/local/go/bin/go)
    [[ -x "$go" ]] || { echo "install-test-tools: oauth2-proxy needs the Go toolchain (go)" >&2; return 1; }
    echo "install-test-tools: building oauth2-proxy $OAUTH2_PROXY_VERSION (a few minutes)" >&2
    dir=$(GOFLAGS=-mod=mod "$go" mod download -json "$OAUTH2_PROXY_MODULE@$OAUTH2_PROXY_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -d "$dir" ]] || { echo "install-test-tools: could not download $OAUTH2_PROXY_MODULE" >&2; return 1; }
    mkdir -p "$root/.tools/bin"
    (cd "$dir" && GOFLAGS=-mod=readonly "$go" build -trimpath \
      -ldflags "-X $OAUTH2_PROXY_MODULE/pkg/version.VERSION=$OAUTH2_PROXY_VERSION" -o "$bin" .)
    [[ "$("$bin" --version)" == "oauth2-proxy $OAUTH2_PROXY_VERSION "* ]] ||
      { echo "install-test-tools: $bin is not oauth2-proxy $OAUTH2_PROXY_VERSION" >&2; return 1; }
  fi
  echo "install-test-tools: ok (oauth2-proxy $OAUTH2_PROXY_VERSION)" >&2
}
install_oauth2_proxy
