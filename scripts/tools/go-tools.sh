# shellcheck shell=bash
# The Go-built test tools: the real Pulumi engine (CLI + Kubernetes provider), a Kubernetes control
# plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok), oauth2-proxy and
# Traefik (the Gateway API controller of the local stack and the e2e edge).
# Sourced by scripts/install-test-tools.sh; the pins live in scripts/tools/pins.sh.
#
# Each tool builds from what the Go module proxy serves, through a wrapper module where the tool's
# own go.mod carries `replace` directives (`go install module@version` refuses those): `go mod
# init`, require the module at its pin, add the replacements, `go mod tidy`, `go build`. Binaries
# go to the tool cache outside the clone, keyed by tool and version, so a fresh clone (CI's) finds
# them built; a version change builds beside the old one.

GO_TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# go_toolchain: a Go binary of at least GO_MIN_VERSION (the machine's, or /usr/local/go's); where
# there is none, the pinned GO_VERSION from the Go module proxy, which serves Go toolchains as the
# module golang.org/toolchain (what `GOTOOLCHAIN` downloads), unpacked into the tools cache.
go_toolchain() {
  local go dir zip version
  for go in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go "$(tools_cache_dir)/go-$GO_VERSION/bin/go"; do
    [[ -n "$go" && -x "$go" ]] || continue
    version=$(GOTOOLCHAIN=local "$go" env GOVERSION 2>/dev/null) || continue
    if printf '%s\n%s\n' "go$GO_MIN_VERSION" "$version" | sort -V -C; then
      echo "$go"
      return 0
    fi
  done
  dir="$(tools_cache_dir)/go-$GO_VERSION"
  zip="$(tools_cache_dir)/go-$GO_VERSION.zip"
  tools_log "no Go >= $GO_MIN_VERSION here: fetching go$GO_VERSION from the Go module proxy" >&2
  mkdir -p "$(tools_cache_dir)"
  curl -fsSL -o "$zip" "${GOPROXY%%,*}/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-amd64.zip" ||
    { tools_fail "could not fetch go$GO_VERSION from the Go module proxy"; return 1; }
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  python3 -m zipfile -e "$zip" "$dir.tmp" && rm -f "$zip"
  rm -rf "$dir" && mv "$dir.tmp/golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-amd64" "$dir" && rm -rf "$dir.tmp"
  # zipfile keeps no file modes.
  chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/*
  echo "$dir/bin/go"
}

# go_tool <cache key> <binary name> <version check regex> <build function>
# Runs the build function in a fresh wrapper dir when the cached binary is missing or does not
# report the wanted version; prints where the binary is.
go_tool() {
  local key=$1 bin=$2 want=$3 build=$4 dir out started
  dir="$(tools_cache_dir)/$key"
  out="$dir/bin/$bin"
  if [[ -x "$out" ]] && [[ "$(go_tool_version "$bin" "$out" 2>/dev/null)" =~ $want ]]; then
    return 0
  fi
  started=$SECONDS
  tools_log "building $bin ($key; a cold build takes minutes, cached afterwards)"
  rm -rf "$dir/wrapper" "$dir/bin"
  mkdir -p "$dir/wrapper" "$dir/bin"
  # A fresh bash with -e: in a function called as `x || ...` bash ignores -e, so a failed step of
  # the build would go on to the next one (and a failed link could still stamp a version).
  (cd "$dir/wrapper" && bash -euo pipefail -c \
    'for f in lib pins go-tools; do source "$1/$f.sh"; done; "$2" "$3"' _ "$GO_TOOLS_DIR" "$build" "$dir/bin") \
    >"$dir/build.log" 2>&1 ||
    { tail -n 30 "$dir/build.log" >&2; tools_fail "building $bin failed (full log: $dir/build.log)"; return 1; }
  [[ "$(go_tool_version "$bin" "$out" 2>/dev/null)" =~ $want ]] ||
    { tools_fail "$out does not report version $want: $(go_tool_version "$bin" "$out" 2>&1 | head -n 1)"; return 1; }
  rm -rf "$dir/wrapper"
  tools_log "built $bin in $((SECONDS - started)) s"
}

# How each binary reports its version (the provider has no flag: its version is the file's stamp).
go_tool_version() {
  local bin=$1 path=$2
  case "$bin" in
    pulumi) "$path" version ;;
    pulumi-resource-kubernetes) cat "$path.version" ;;
    etcd) "$path" --version | head -n 1 ;;
    kwok) "$path" --version ;;
    oauth2-proxy) "$path" --version ;;
    traefik) "$path" version | sed -n 's/^Version:[[:space:]]*//p' ;;
    kube-*) "$path" --version ;;
  esac
}

# go_module_dir MODULE@VERSION: downloads a module (verified against the checksum database) and
# prints the folder it unpacked to.
go_module_dir() {
  local go
  go=$(go_toolchain) || return 1
  GOFLAGS=-mod=mod "$go" mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# A wrapper module: go.mod requiring the given module@version pairs, plus replacements.
#   wrapper_module <requires...> -- <replacements...>
wrapper_module() {
  local go
  go=$(go_toolchain) || return 1
  "$go" mod init plinth.test/wrapper
  local mode=require
  for arg in "$@"; do
    if [[ "$arg" == "--" ]]; then mode=replace; continue; fi
    if [[ $mode == require ]]; then
      "$go" mod edit -require="$arg"
    else
      "$go" mod edit -replace="$arg"
    fi
  done
}

build_pulumi() {
  local out=$1 go
  go=$(go_toolchain) || return 1
  wrapper_module "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" -- \
    "github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"
  cat >tools.go <<'EOF'
//go:build tools

package wrapper

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
EOF
  "$go" mod tidy
  "$go" build -trimpath -o "$out/pulumi" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

# The provider's main embeds a schema that upstream generates at release time and does not ship in
# the module: derive it from the module's schema.json with the version set (as its generate.go does).
build_kubernetes_provider() {
  local out=$1 go src
  go=$(go_toolchain) || return 1
  wrapper_module "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION" \
    "github.com/pulumi/pulumi-kubernetes/sdk/v4@$PULUMI_KUBERNETES_PROVIDER_SDK_VERSION" --
  src=$(go_module_dir "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION")
  node -e '
    const fs = require("node:fs");
    const [src, version] = process.argv.slice(1);
    const schema = JSON.parse(fs.readFileSync(src + "/cmd/pulumi-resource-kubernetes/schema.json", "utf8"));
    schema.version = version;
    fs.writeFileSync("schema-embed.json", JSON.stringify(schema));
    const mapping = JSON.parse(fs.readFileSync(src + "/cmd/pulumi-resource-kubernetes/terraform-mapping.json", "utf8"));
    fs.writeFileSync("terraform-mapping-embed.json", JSON.stringify(mapping));
  ' "$src" "$PULUMI_KUBERNETES_VERSION"
  cat >main.go <<'EOF'
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() { provider.Serve("kubernetes", version.Version, schema, terraformMapping) }
EOF
  "$go" mod tidy
  "$go" build -trimpath -o "$out/pulumi-resource-kubernetes" \
    -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" .
  echo "$PULUMI_KUBERNETES_VERSION" >"$out/pulumi-resource-kubernetes.version"
}

# kube-apiserver, kube-controller-manager and kube-scheduler from k8s.io/kubernetes, whose go.mod
# points every k8s.io staging module at its own tree: point each at the served module instead.
build_kubernetes() {
  local out=$1 go src staging=() ldflags
  go=$(go_toolchain) || return 1
  src=$(go_module_dir "k8s.io/kubernetes@v$KUBERNETES_VERSION")
  mapfile -t staging < <(sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*|\1|p' "$src/go.mod")
  local replacements=()
  for module in "${staging[@]}"; do replacements+=("$module=$module@v0.${KUBERNETES_VERSION#*.}"); done
  wrapper_module "k8s.io/kubernetes@v$KUBERNETES_VERSION" -- "${replacements[@]}"
  cat >tools.go <<'EOF'
//go:build tools

package wrapper

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
EOF
  "$go" mod tidy
  local major=${KUBERNETES_VERSION%%.*} minor=${KUBERNETES_VERSION#*.}
  minor=${minor%%.*}
  ldflags="-X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=v$KUBERNETES_VERSION"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
    "$go" build -trimpath -o "$out/$cmd" -ldflags "$ldflags" "k8s.io/kubernetes/cmd/$cmd"
  done
}

build_etcd() {
  local out=$1 go
  go=$(go_toolchain) || return 1
  wrapper_module "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" --
  cat >main.go <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  "$go" mod tidy
  "$go" build -trimpath -o "$out/etcd" .
}

build_kwok() {
  local out=$1 go
  go=$(go_toolchain) || return 1
  GOBIN=$out "$go" install -trimpath \
    -ldflags "-X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
}

# oauth2-proxy: built inside its downloaded module with -mod=readonly (exactly its go.sum). Not `go
# install`: that also asks the proxy for the module's version list, which it refuses for this module.
build_oauth2_proxy() {
  local out=$1 go dir module=github.com/oauth2-proxy/oauth2-proxy/v7
  go=$(go_toolchain) || return 1
  dir=$(go_module_dir "$module@v$OAUTH2_PROXY_VERSION")
  [[ -d "$dir" ]] || { echo "could not download $module" >&2; return 1; }
  (cd "$dir" && GOFLAGS=-mod=readonly "$go" build -trimpath \
    -ldflags "-X $module/pkg/version.VERSION=v$OAUTH2_PROXY_VERSION" -o "$out/oauth2-proxy" .)
}

# Traefik: a wrapper module requiring the release, with the two `replace` lines of Traefik's own
# go.mod (forks of go-http-auth and mux it builds against), tidied and built with the version stamped
# (`traefik version` otherwise says "dev"). Cold, measured 2026-12-05 on 2 cores: 38 s of `go mod
# tidy` and downloads, then 357 s of compiling from an empty Go build cache (213 s when it already
# holds the client-go/apimachinery the control plane's build left); a relink from a warm Go build
# cache: 10 s. ~250 MB binary.
build_traefik() {
  local out=$1 go
  go=$(go_toolchain) || return 1
  wrapper_module "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION" -- \
    "github.com/abbot/go-http-auth=github.com/containous/go-http-auth@v0.4.1-0.20200324110947-a37a7636d23e" \
    "github.com/gorilla/mux=github.com/containous/mux@v0.0.0-20250523120546-41b6ec3aed59"
  cat >tools.go <<'EOF'
//go:build tools

package wrapper

import _ "github.com/traefik/traefik/v3/cmd/traefik"
EOF
  "$go" mod tidy
  "$go" build -trimpath -o "$out/traefik" \
    -ldflags "-X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    github.com/traefik/traefik/v3/cmd/traefik
}

# A folder of CRD manifests inside a Go module at its pin; prints it.
#   module_crds <module@version> <folder in the module> <a manifest it must hold> <label>
module_crds() {
  local dir
  dir=$(go_module_dir "$1")
  [[ -f "$dir/$2/$3" ]] || { tools_fail "the $4 module ($1) has no CRD manifests in $2"; return 1; }
  echo "$dir/$2"
}

prometheus_operator_crds() {
  module_crds "github.com/prometheus-operator/prometheus-operator@v$PROMETHEUS_OPERATOR_VERSION" \
    example/prometheus-operator-crd monitoring.coreos.com_servicemonitors.yaml "Prometheus operator"
}

cert_manager_crds() {
  module_crds "github.com/cert-manager/cert-manager@v$CERT_MANAGER_VERSION" \
    deploy/crds cert-manager.io_certificates.yaml cert-manager
}

# The Gateway API's standard channel (GatewayClass, Gateway, HTTPRoute, GRPCRoute, ReferenceGrant,
# BackendTLSPolicy) at the release Traefik requires.
gateway_api_crds() {
  module_crds "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION" \
    config/crd/standard gateway.networking.k8s.io_gateways.yaml "Gateway API"
}

# Traefik's own CRDs (Middleware and the rest of traefik.io, one file each), which its kubernetesCRD
# provider watches, from the docs of the module at its pin.
traefik_crds() {
  module_crds "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION" \
    docs/content/reference/dynamic-configuration traefik.io_middlewares.yaml Traefik
}

# A `pulumi` the machine already has at exactly the pinned version (a platform engineer's), or nothing.
pulumi_on_path() {
  local found
  found=$(command -v pulumi 2>/dev/null) || return 0
  [[ "$(readlink -f "$found")" == "$(tools_cache_dir)"/* ]] && return 0
  [[ "$("$found" version 2>/dev/null)" == "v$PULUMI_VERSION" ]] && echo "$found"
  return 0
}

# The provider's cache key: the SDK version it is stamped with and the module commit it is built from.
kubernetes_provider_key() {
  echo "pulumi-resource-kubernetes-$PULUMI_KUBERNETES_VERSION-${PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION##*-}"
}

# Every Go tool; `--engine` adds the Pulumi engine and the control plane.
install_go_tools() {
  go_tool "oauth2-proxy-$OAUTH2_PROXY_VERSION" oauth2-proxy "^oauth2-proxy v$OAUTH2_PROXY_VERSION " build_oauth2_proxy || return 1
  go_tool "traefik-$TRAEFIK_VERSION" traefik "^$TRAEFIK_VERSION\$" build_traefik || return 1
  if [[ -z "$(pulumi_on_path)" ]]; then
    go_tool "pulumi-$PULUMI_VERSION" pulumi "^v$PULUMI_VERSION\$" build_pulumi || return 1
  fi
  go_tool "$(kubernetes_provider_key)" pulumi-resource-kubernetes "^$PULUMI_KUBERNETES_VERSION\$" build_kubernetes_provider || return 1
  go_tool "etcd-$ETCD_VERSION" etcd "etcd Version: $ETCD_VERSION" build_etcd || return 1
  go_tool "kubernetes-$KUBERNETES_VERSION" kube-apiserver "^Kubernetes v$KUBERNETES_VERSION\$" build_kubernetes || return 1
  go_tool "kwok-$KWOK_VERSION" kwok "v$KWOK_VERSION" build_kwok || return 1
  tools_log "ok (Go tools: oauth2-proxy $OAUTH2_PROXY_VERSION, traefik $TRAEFIK_VERSION, pulumi $PULUMI_VERSION, kubernetes provider $PULUMI_KUBERNETES_VERSION, etcd $ETCD_VERSION, kubernetes $KUBERNETES_VERSION, kwok $KWOK_VERSION)"
}
