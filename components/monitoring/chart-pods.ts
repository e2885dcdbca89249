/**
 * Who reaches the pods kube-prometheus-stack runs, port by port (chart 77.12.0's defaults with
 * plinth's values). Everything else in the namespace admits nothing: no pod of the cluster can
 * query Prometheus, silence alerts through Alertmanager's API or read kube-state-metrics.
 * node-exporter runs on the host network, where NetworkPolicy does not apply.
 */
import { acmeSolverPods } from "../shared/ingress.js";
import type { ChartPods, Peer, Source } from "../shared/network-policy.js";

/** Grafana's container port: the Ingress's backend and the chart's ServiceMonitor target. */
export const GRAFANA_PORT = 3000;
const PROMETHEUS_PORT = 9090;
const ALERTMANAGER_PORT = 9093;
/** The operator's config-reloader sidecar in Prometheus and Alertmanager pods (its /metrics). */
const RELOADER_PORT = 8080;
const KUBE_STATE_METRICS_PORT = 8080;
/** The operator's https port: its admission webhook (PrometheusRule validation) and its /metrics. */
const OPERATOR_PORT = 10250;
/** Alertmanager replicas: with more, their cluster port must be admitted between them. */
export const ALERTMANAGER_REPLICAS = 1;

const byName = (name: string) => ({ "app.kubernetes.io/name": name });

export interface KubePrometheusStackPeers {
  readonly namespace: string;
  /** The ingress controller: Grafana's UI and the ACME challenge for its certificate. */
  readonly controller: Peer;
  /** Where the API server calls the operator's admission webhook from. */
  readonly apiServerSources: readonly Source[];
}

/** The Prometheus pods the operator of the installed chart runs. */
export function installedPrometheusPeer(namespace: string): Peer {
  return { namespace, podLabels: byName("prometheus") };
}

export function kubePrometheusStackPods(peers: KubePrometheusStackPeers): ChartPods[] {
  const prometheus = installedPrometheusPeer(peers.namespace);
  const grafana: Peer = { namespace: peers.namespace, podLabels: byName("grafana") };
  return [
    {
      // Grafana's datasource and Prometheus's own scrape.
      name: "prometheus",
      podLabels: prometheus.podLabels,
      rules: [
        { port: PROMETHEUS_PORT, from: [prometheus, grafana] },
        { port: RELOADER_PORT, from: [prometheus] },
      ],
    },
    {
      // Alerts from Prometheus; Grafana's Alertmanager datasource (behind its oauth2-proxy login).
      // One replica (ALERTMANAGER_REPLICAS), so no cluster port (9094, TCP and UDP) is opened.
      name: "alertmanager",
      podLabels: byName("alertmanager"),
      rules: [
        { port: ALERTMANAGER_PORT, from: [prometheus, grafana] },
        { port: RELOADER_PORT, from: [prometheus] },
      ],
    },
    {
      // The UI from the ingress controller; /metrics from Prometheus (the chart's ServiceMonitor).
      name: "grafana",
      podLabels: grafana.podLabels,
      rules: [{ port: GRAFANA_PORT, from: [peers.controller, prometheus] }],
    },
    {
      name: "kube-state-metrics",
      podLabels: byName("kube-state-metrics"),
      rules: [{ port: KUBE_STATE_METRICS_PORT, from: [prometheus] }],
    },
    {
      name: "operator",
      podLabels: { app: "kube-prometheus-stack-operator" },
      rules: [{ port: OPERATOR_PORT, from: [prometheus, ...peers.apiServerSources] }],
    },
    acmeSolverPods(peers.controller),
  ];
}
