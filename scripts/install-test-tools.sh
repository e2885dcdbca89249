#!/usr/bin/env bash
# Installs every third-party tool the test suite uses, pinned, idempotently. The test command runs
# this first; nothing in the suite may rely on a tool installed by hand. Pins: scripts/tools/pins.sh.
#
#   Debian  dataset-fashion-mnist, prometheus, libgomp1 (exact), chromium, nginx, postgresql-15, jq,
#           redis-server (a minimum: bookworm-security replaces their versions in place; PostgreSQL
#           is the MLflow tests' backend store, Redis the shared rate-limit store's);
#           scripts/tools/debian.sh
#   PyPI    .tools/mlflow-venv  the MLflow server and client with every pin of plinth's MLflow
#                               image (components/mlflow/image/requirements.txt: psycopg, boto3,
#                               google-cloud-storage), onnx, onnxruntime, skl2onnx for mlflow.onnx,
#                               and local S3 and GCS stand-ins (moto[server], gcp-storage-emulator):
#                               exactly test/support/mlflow-requirements.txt
#           .tools/fuzz-venv    schemathesis and tritonclient[http]: test/support/fuzz-requirements.txt
#           .tools/models-venv  scikit-learn, skl2onnx, XGBoost, LightGBM, onnxmltools, onnxruntime:
#                               the third-party models the serving tests make
#                               (test/support/third-party-models-requirements.txt)
#   Go      .tools/bin/         oauth2-proxy and Traefik (the Gateway API controller); the Pulumi
#                               CLI and its Kubernetes provider; etcd, kube-apiserver,
#                               kube-controller-manager, kube-scheduler and kwok for the local
#                               control plane; scripts/tools/go-tools.sh
#           .tools/crds/        the Prometheus operator's, cert-manager's, the Gateway API's (standard
#                               channel) and Traefik's CRDs (their modules' manifests)
#
# Builds and venvs live in a cache outside the clone, keyed by version (PLINTH_TOOLS_CACHE, default
# ~/.cache/plinth/tools); .tools/ in the clone only links to them. A second run does nothing and
# needs no network.
#
#           .tools/kserve-venv, .tools/mlserver-venv  KServe's ModelServer and Seldon's MLServer, the
#                               Open Inference Protocol peers of `npm run bench` (bench/peer/*/requirements.txt)
#
#   --bench  only the peers of `npm run bench`: the FastAPI one (.tools/bench-venv:
#            bench/peer/requirements.txt) and the two above.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/tools/lib.sh
source "$root/scripts/tools/lib.sh"
# shellcheck source=scripts/tools/pins.sh
source "$root/scripts/tools/pins.sh"
# shellcheck source=scripts/tools/debian.sh
source "$root/scripts/tools/debian.sh"
# shellcheck source=scripts/tools/go-tools.sh
source "$root/scripts/tools/go-tools.sh"

# A Python venv holding exactly the pins of a requirements file (every dependency listed, installed
# with --no-deps), in the cache under the requirements' hash, linked from .tools/<name>. Python >=
# 3.11: the pinned wheels (numpy 2.4, onnxruntime 1.31, mlflow 3.17) exist for 3.11 and later.
#   install_pinned_venv <name under .tools> <requirements file under the repo> <label>
install_pinned_venv() {
  local name=$1 requirements="$root/$2" label=$3 want venv
  want=$(grep -Ev '^[[:space:]]*(#|$)' "$requirements" | LC_ALL=C sort -f)
  venv="$(tools_cache_dir)/venv-$name-$(sha256sum <<<"$want" | cut -c1-16)"
  frozen() { "$venv/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null | LC_ALL=C sort -f; }
  if [[ ! -x "$venv/bin/python" || "$(frozen)" != "$want" ]]; then
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
      { tools_fail "the $label needs python3 >= 3.11"; return 1; }
    tools_log "creating the $label venv from $2"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" ||
      { rm -rf "$venv"; tools_fail "pip could not install $2"; return 1; }
    [[ "$(frozen)" == "$want" ]] || { rm -rf "$venv"; tools_fail "the $label venv does not match $2"; return 1; }
  fi
  mkdir -p "$root/.tools"
  # An older checkout kept the venv itself here: ln would put the link inside it.
  [[ -L "$root/.tools/$name" || ! -e "$root/.tools/$name" ]] || rm -rf "$root/.tools/$name"
  ln -sfn "$venv" "$root/.tools/$name"
  tools_log "ok ($label venv, $(wc -l <<<"$want") Python packages pinned)"
}

# .tools/bin/<binary> -> the cached build of each Go tool.
link_go_tools() {
  local cache bin pulumi
  cache=$(tools_cache_dir)
  pulumi=$(pulumi_on_path)
  mkdir -p "$root/.tools/bin"
  for bin in "$cache/oauth2-proxy-$OAUTH2_PROXY_VERSION/bin/oauth2-proxy" \
    "$cache/traefik-$TRAEFIK_VERSION/bin/traefik" \
    "${pulumi:-$cache/pulumi-$PULUMI_VERSION/bin/pulumi}" \
    "$cache/$(kubernetes_provider_key)/bin/pulumi-resource-kubernetes" \
    "$cache/etcd-$ETCD_VERSION/bin/etcd" \
    "$cache/kubernetes-$KUBERNETES_VERSION"/bin/{kube-apiserver,kube-controller-manager,kube-scheduler} \
    "$cache/kwok-$KWOK_VERSION/bin/kwok"; do
    [[ -x "$bin" ]] || { tools_fail "$bin is missing after its build"; return 1; }
    ln -sfn "$bin" "$root/.tools/bin/$(basename "$bin")"
  done
}

# The Open Inference Protocol peers of `npm run bench` (and of its tests): one venv each, their pins
# conflict.
install_oip_peers() {
  install_pinned_venv kserve-venv bench/peer/kserve/requirements.txt "KServe peer" || return 1
  install_pinned_venv mlserver-venv bench/peer/mlserver/requirements.txt "MLServer peer"
}

case "${1:-}" in
  "") ;;
  --bench)
    install_pinned_venv bench-venv bench/peer/requirements.txt "bench peer"
    install_oip_peers
    exit 0
    ;;
  *) tools_fail "unknown option $1 (expected none or --bench)" || exit 2 ;;
esac

started=$SECONDS
debian_install
install_pinned_venv mlflow-venv test/support/mlflow-requirements.txt mlflow
install_pinned_venv fuzz-venv test/support/fuzz-requirements.txt "fuzz and v2 client"
install_pinned_venv models-venv test/support/third-party-models-requirements.txt "third-party model makers"
install_oip_peers
install_go_tools
link_go_tools
crds=$(prometheus_operator_crds)
mkdir -p "$root/.tools/crds"
ln -sfn "$crds" "$root/.tools/crds/prometheus-operator"
crds=$(cert_manager_crds)
ln -sfn "$crds" "$root/.tools/crds/cert-manager"
crds=$(gateway_api_crds)
ln -sfn "$crds" "$root/.tools/crds/gateway-api"
crds=$(traefik_crds)
ln -sfn "$crds" "$root/.tools/crds/traefik"
tools_log "ok (CRDs: Prometheus operator v$PROMETHEUS_OPERATOR_VERSION, cert-manager v$CERT_MANAGER_VERSION, Gateway API v$GATEWAY_API_VERSION standard channel, Traefik v$TRAEFIK_VERSION)"
tools_log "all tools ready in $((SECONDS - started)) s (cache: $(tools_cache_dir))"
