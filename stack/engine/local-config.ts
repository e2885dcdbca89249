/**
 * The `local` stack: staging's config on the local control plane (`npm run cluster:local`) as a
 * brownfield cluster, in one place for the real-engine tests, the mock render of the same stack
 * and the engine-free policy run they are compared with.
 *
 * The local cluster cannot fetch Helm charts, so it plays a cluster whose Gateway API controller
 * (a real Traefik), cert-manager and Prometheus operator another team already runs
 * (`plinth:existingCluster`): plinth reuses them by config, as it would on any brownfield cluster.
 * `plinth:edge` is left at its default, the Gateway path.
 */

/** The stack whose file the local stack starts from. */
export const LOCAL_BASE_STACK = "staging" as const;

/**
 * The Gateway API controller the local cluster runs: the real Traefik (stack/engine/traefik.ts),
 * owning the GatewayClass `traefik`; its pods' stand-in in namespace `traefik` is the peer plinth's
 * NetworkPolicies admit.
 */
export const GATEWAY_CONTROLLER = {
  implementation: "traefik",
  gatewayClassName: "traefik",
  namespace: "traefik",
  podLabels: { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik-traefik" },
} as const;

/** The namespace, labels and class of the "already running" systems the local cluster plays. */
export const BROWNFIELD = {
  gatewayController: GATEWAY_CONTROLLER,
  certManager: { clusterIssuer: "local-ca" },
  monitoring: {
    namespace: "monitoring",
    podLabels: { "app.kubernetes.io/name": "prometheus" },
    prometheusUrl: "http://prometheus-operated.monitoring.svc.cluster.local:9090",
    selectorLabels: { release: "kps" },
    grafana: { serviceName: "grafana", port: 80, podLabels: { "app.kubernetes.io/name": "grafana" } },
  },
  storageClass: "plinth-local",
} as const;

/** `plinth:*` overrides (without the prefix) that turn the base stack into the local stack. */
export const LOCAL_STACK_OVERRIDES: Record<string, unknown> = {
  cloud: "existing",
  existingCluster: BROWNFIELD,
};

/**
 * The cluster's ingress-nginx, for the local stack as deployed before the Gateway path (issue #23):
 * its IngressClass and pods. The local cluster runs no ingress-nginx (it needs a patched nginx with
 * Lua): the real-engine test of the move publishes its Ingresses' load-balancer status as it would.
 */
export const INGRESS_CONTROLLER = {
  implementation: "ingress-nginx",
  className: "nginx",
  namespace: "ingress-nginx",
  podLabels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
} as const;

/**
 * The local stack on the Ingress path (`plinth:edge: ingress-nginx`): the same brownfield, with the
 * cluster's ingress-nginx in place of its Gateway API controller.
 */
const { gatewayController: _gatewayController, ...BROWNFIELD_BUT_THE_EDGE } = BROWNFIELD;
export const LOCAL_INGRESS_PATH_OVERRIDES: Record<string, unknown> = {
  ...LOCAL_STACK_OVERRIDES,
  edge: "ingress-nginx",
  existingCluster: { ...BROWNFIELD_BUT_THE_EDGE, ingressController: INGRESS_CONTROLLER },
};
