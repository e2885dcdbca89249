# shellcheck shell=bash
# Every test-time tool's pin, in one place. Sourced by scripts/install-test-tools.sh.
#
# The Pulumi CLI and the Kubernetes provider take their versions from the npm SDKs in package.json
# (exact there), so the engine the tests run and the SDK the program uses cannot drift apart.
_plinth_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
_npm_pin() { node -p "require('$_plinth_root/package.json').dependencies['$1']"; }

PULUMI_VERSION=$(_npm_pin @pulumi/pulumi)
PULUMI_KUBERNETES_VERSION=$(_npm_pin @pulumi/kubernetes)
# The one provider build the Go module proxy serves: a commit of 2026-01-15 on the way to v4.25.0
# (tagged 2026-01-16), which is why package.json pins @pulumi/kubernetes at 4.25.0. Its go.mod
# requires the SDK module at v4.24.0 (upstream replaces it with its own tree).
PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
PULUMI_KUBERNETES_PROVIDER_SDK_VERSION=v4.24.0
# Go: the oldest that builds every tool below (pulumi 3.248's go.mod says 1.25), and the one
# fetched from the Go module proxy where the machine has none that old.
GO_MIN_VERSION=1.25.0
GO_VERSION=1.26.8
GOPROXY=${GOPROXY:-https://proxy.golang.org}
KUBERNETES_VERSION=1.34.2
ETCD_VERSION=3.6.5
KWOK_VERSION=0.8.0
OAUTH2_PROXY_VERSION=7.8.1
# Traefik, the Gateway API controller of the local stack's brownfield cluster and of the e2e edge.
# 3.6.12 because it is the newest release that builds here: v3.7.x requires modules the Go module
# proxy refuses (403). Built through a wrapper module with Traefik's own two `replace` lines. The
# image the cluster runs is the same release (TRAEFIK_VERSION in components/gateway/traefik.ts);
# test/tools/traefik.test.ts holds the two together.
TRAEFIK_VERSION=3.6.12

# Debian packages, "NAME RULE VERSION" (rules in scripts/tools/debian.sh): exact for bookworm's main
# archive, a minimum for bookworm-security, which replaces versions in place.
DEBIAN_PACKAGES=(
  "dataset-fashion-mnist = 0.0~git20200523.55506a9-1" # Fashion-MNIST IDX files: training and its tests
  "prometheus = 2.42.0+ds-5+deb12u1"                   # promtool check/test rules, the stack's Prometheus
  "chromium >= 150"                                    # bookworm-security; headless admin-panel tests
  "nginx >= 1.22.1-9"                                  # bookworm-security; the local stack's TLS edge
  "libgomp1 = 12.2.0-14+deb12u1"                       # OpenMP runtime LightGBM's wheel links (models venv)
  "postgresql-15 >= 15.18-0+deb12u1"                   # bookworm-security; the MLflow tests' backend store
  "redis-server >= 5:7.0.15-1~deb12u10"                # bookworm-security; the shared rate-limit store's tests
  "jq >= 1.6-2.1+deb12u1"                              # bookworm-security; the deploy workflow's audit-line reading, run in its test
)

# The Prometheus operator's CRDs (ServiceMonitor, PrometheusRule) the local control plane installs
# before the real engine applies plinth's objects: the release kube-prometheus-stack 77.12.0 ships,
# read from the operator's Go module (example/prometheus-operator-crd/).
PROMETHEUS_OPERATOR_VERSION=0.85.0
# cert-manager's CRDs (Issuer, Certificate) for the same control plane, whose stand-in brownfield
# cluster "already runs cert-manager": the chart's release (components/shared/helm.ts), read from its
# Go module (deploy/crds/).
CERT_MANAGER_VERSION=1.21.1
# The Gateway API's standard-channel CRDs (GatewayClass, Gateway, HTTPRoute, ReferenceGrant,
# BackendTLSPolicy): the release Traefik's go.mod requires at TRAEFIK_VERSION, read from its Go
# module (config/crd/standard/). Traefik's own Middleware CRD comes from the Traefik module.
GATEWAY_API_VERSION=1.4.0
