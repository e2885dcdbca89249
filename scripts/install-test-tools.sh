#!/usr/bin/env bash
# Installs every third-party tool the test suite uses, pinned, idempotently. The test command runs
# this first; nothing in the suite may rely on a tool installed by hand.
#
#   Debian  dataset-fashion-mnist  the Fashion-MNIST IDX files (training and its tests)
#   Debian  prometheus             promtool, for `promtool check rules` / `test rules`
#
# Each tool is checked first and installed only when missing or at another version, so a second
# run does nothing and needs no network.
set -euo pipefail

# name=version, exactly as Debian bookworm ships them.
DEBIAN_PACKAGES=(
  "dataset-fashion-mnist=0.0~git20200523.55506a9-1"
  "prometheus=2.42.0+ds-5+deb12u1"
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
  if command -v service >/dev/null 2>&1; then $SUDO service prometheus stop >/dev/null 2>&1 || true; fi
fi
echo "install-test-tools: ok (${#DEBIAN_PACKAGES[@]} Debian packages pinned)" >&2
