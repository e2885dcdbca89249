# shellcheck shell=bash
# Logging and the tool cache shared by the test-tools installers.

tools_log() { echo "install-test-tools: $*" >&2; }
tools_fail() { echo "install-test-tools: FAILED: $*" >&2; return 1; }

# Long builds are cached outside the clone (CI runs in a fresh clone each time), keyed by version
# under this folder. PLINTH_TOOLS_CACHE moves it.
tools_cache_dir() { echo "${PLINTH_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plinth/tools}"; }
