# shellcheck shell=bash
# Debian packages for the tests, by two rules (the pins are in scripts/tools/pins.sh):
#
#   NAME = VERSION   exact: for packages from bookworm's main archive, which no longer changes
#                    under a release (bookworm's point releases have ended), so the pin holds.
#   NAME >= VERSION  a minimum: for packages from bookworm-security, which replaces a package's
#                    version in place on every security release and withdraws the old one. The
#                    archive's candidate is taken when it is at least VERSION, and printed.
#
# debian_choose is pure (it reads `apt-cache policy` text, never apt itself) so the tests can hold
# it to those rules; debian_install applies it to the machine.

# debian_choose NAME OP VERSION POLICY_TEXT
# Prints NAME=VERSION to install. Fails with a message naming the package, what was wanted, what the
# archive offers and the command to look it up.
debian_choose() {
  local name=$1 op=$2 want=$3 policy=$4 candidate offered
  candidate=$(sed -n 's/^[[:space:]]*Candidate:[[:space:]]*//p' <<<"$policy" | head -n 1)
  # The version table: lines such as "     156.0.8078.114-1~deb12u1 500" (the installed one starts
  # with ***).
  offered=$(sed -n 's/^[[:space:]]*\(\*\*\*[[:space:]]*\)\{0,1\}\([0-9][^[:space:]]*\)[[:space:]]\{1,\}[0-9]\{1,\}$/\2/p' <<<"$policy" |
    paste -sd, - | sed 's/,/, /g')
  if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
    echo "Debian package '$name' ($op $want) is not offered by the archive${offered:+ (versions listed: $offered)}; look it up with: apt-cache policy $name (after apt-get update)"
    return 1
  fi
  case "$op" in
    =)
      if grep -Fxq -- "$want" < <(tr ',' '\n' <<<"$offered" | sed 's/^ *//'); then
        echo "$name=$want"
        return 0
      fi
      echo "Debian package '$name' is pinned exactly at $want, but the archive offers ${offered:-nothing} (candidate $candidate); look it up with: apt-cache policy $name. If its source replaces versions in place, give it a minimum (>=) in scripts/tools/pins.sh instead"
      return 1
      ;;
    '>=')
      if dpkg --compare-versions "$candidate" ge "$want"; then
        echo "$name=$candidate"
        return 0
      fi
      echo "Debian package '$name' needs version >= $want, but the archive's candidate is $candidate (offered: ${offered:-nothing}); look it up with: apt-cache policy $name"
      return 1
      ;;
    *)
      echo "Debian package '$name': unknown rule '$op' (expected = or >=)"
      return 1
      ;;
  esac
}

# debian_satisfied OP WANT INSTALLED: does the installed version meet the rule?
debian_satisfied() {
  local op=$1 want=$2 installed=$3
  [[ -n "$installed" ]] || return 1
  case "$op" in
    =) [[ "$installed" == "$want" ]] ;;
    '>=') dpkg --compare-versions "$installed" ge "$want" ;;
    *) return 1 ;;
  esac
}

# debian_install: installs DEBIAN_PACKAGES ("NAME OP VERSION" each) where the machine lacks them.
debian_install() {
  local entry name op want installed choice sudo= updated= chosen=() used=()
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  for entry in "${DEBIAN_PACKAGES[@]}"; do
    read -r name op want <<<"$entry"
    # dpkg-query fails for a package never installed: that is "not installed", not an error.
    installed=$({ dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true; } | sed -n 's/^install ok installed //p')
    if debian_satisfied "$op" "$want" "$installed"; then
      used+=("$name $installed")
      continue
    fi
    if [[ -z "$updated" ]]; then
      $sudo apt-get update -qq || { tools_fail "apt-get update failed"; return 1; }
      updated=1
    fi
    choice=$(debian_choose "$name" "$op" "$want" "$(apt-cache policy "$name" 2>/dev/null || true)") ||
      { tools_fail "$choice"; return 1; }
    chosen+=("$choice")
    used+=("$name ${choice#*=}")
  done
  if ((${#chosen[@]})); then
    tools_log "installing ${chosen[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${chosen[@]}" >/dev/null ||
      { tools_fail "apt-get install ${chosen[*]} failed (apt-cache policy NAME shows what the archive offers)"; return 1; }
    # The packages start daemons (prometheus on :9090, nginx on :80, PostgreSQL's "main" cluster
    # on :5432, which postgresql-15's postinst creates, redis-server on :6379) where an init system
    # runs them; the tests start their own on free ports (PostgreSQL in a fresh data folder, Redis
    # without persistence), so stop the packaged ones.
    if command -v service >/dev/null 2>&1; then
      $sudo service prometheus stop >/dev/null 2>&1 || true
      $sudo service nginx stop >/dev/null 2>&1 || true
      $sudo service postgresql stop >/dev/null 2>&1 || true
      $sudo service redis-server stop >/dev/null 2>&1 || true
    fi
  fi
  tools_log "ok (Debian: $(printf '%s, ' "${used[@]}" | sed 's/, $//'))"
}
