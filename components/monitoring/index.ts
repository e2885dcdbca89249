/**
 * Monitoring: kube-prometheus-stack from a pinned chart, a ServiceMonitor for the inference
 * service's metrics port, the PrometheusRule of SLO and model alerts, a PodMonitor and a
 * PrometheusRule each for the edge proxy and for cert-manager (where plinth runs them), Grafana
 * dashboards as sidecar ConfigMaps and Grafana's Ingress behind oauth2-proxy. The ServiceMonitor, PodMonitor and
 * PrometheusRule depend on the release, which installs their CRDs.
 *
 * On a managed control plane (EKS, GKE) the chart scrapes only what the cloud lets it reach: no
 * controller-manager, scheduler or etcd (and none of their rules, which would fire forever), no
 * kube-proxy where its metrics are not reachable, no CoreDNS where the cluster runs kube-dns.
 * The installed chart's namespace denies ingress to every pod but what chart-pods.ts admits.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CHARTS, pinnedRelease } from "../shared/helm.js";
import type { Edge, PodMetricsTarget } from "../shared/edge.js";
import { COLOUR_LABEL, CRDS_FROM_CLUSTER_ANNOTATION, standardLabels } from "../shared/labels.js";
import { podSecurityNamespace } from "../shared/namespace.js";
import { chartNamespacePolicies, type Peer, type Source } from "../shared/network-policy.js";
import { SLACK_SECRET, alertmanagerConfig, type AlertReceivers } from "./alertmanager.js";
import { ALERTMANAGER_REPLICAS, installedPrometheusPeer, kubePrometheusStackPods } from "./chart-pods.js";
import { dashboards } from "./dashboards.js";
import {
  certificateRuleGroups,
  edgeRuleGroups,
  prometheusRuleGroups,
  SCRAPE_INTERVAL_SECONDS,
  type ModelDriftAlert,
  type RuleGroup,
  type SloTargets,
} from "./rules.js";

/** Linked from every alert the PrometheusRule carries. */
export const RUNBOOK_BASE_URL = "https://github.com/plinth-ml/plinth/blob/main/docs/alerts.md";

export { certificateRuleGroups, edgeRuleGroups, prometheusRuleGroups } from "./rules.js";
export { dashboards, dashboardExpressions } from "./dashboards.js";
export { GRAFANA_PORT } from "./chart-pods.js";

/**
 * The cluster's own components kube-prometheus-stack scrapes. Each one not reachable must be off:
 * the chart would otherwise report it down (KubeControllerManagerDown, KubeSchedulerDown,
 * KubeProxyDown, etcd and TargetDown alerts) for as long as the cluster runs.
 */
export interface ClusterScrapeTargets {
  /**
   * kube-controller-manager, kube-scheduler and etcd, and their alerting and recording rules. A
   * managed control plane (EKS, GKE, AKS...) runs them out of the cluster's reach.
   */
  readonly controlPlane: boolean;
  /**
   * kube-proxy's metrics on each node (:10249) and its rules. EKS's kube-proxy add-on binds them to
   * 127.0.0.1; GKE with Dataplane V2 runs no kube-proxy.
   */
  readonly kubeProxy: boolean;
  /** CoreDNS's metrics (:9153). EKS runs CoreDNS; GKE runs kube-dns, which has no such port. */
  readonly coreDns: boolean;
}

/** What a cloud's managed cluster lets kube-prometheus-stack scrape. */
export const MANAGED_CLUSTER_TARGETS = {
  aws: { controlPlane: false, kubeProxy: false, coreDns: true },
  gcp: { controlPlane: false, kubeProxy: false, coreDns: false },
  existing: { controlPlane: false, kubeProxy: false, coreDns: true },
} as const satisfies Record<string, ClusterScrapeTargets>;

/** A cluster whose control plane runs on its own nodes (kubeadm and the like), fully scraped. */
export const SELF_MANAGED_CLUSTER_TARGETS: ClusterScrapeTargets = {
  controlPlane: true,
  kubeProxy: true,
  coreDns: true,
};

export interface MonitoringArgs {
  readonly provider: k8s.Provider;
  /** Prometheus retention, e.g. "15d". */
  readonly retention: string;
  /** Prometheus volume size in GiB. */
  readonly storageGb: number;
  /** StorageClass of Prometheus's volume. @default undefined (the cluster's default class) */
  readonly storageClass?: pulumi.Input<string>;
  /**
   * The cluster components kube-prometheus-stack scrapes, with their default rules.
   * @default MANAGED_CLUSTER_TARGETS.existing (a managed control plane)
   */
  readonly clusterTargets?: ClusterScrapeTargets;
  readonly receivers: AlertReceivers;
  /** Slack webhook URL (secret); required when receivers.slackChannel is set. */
  readonly slackWebhookUrl?: pulumi.Input<string>;
  readonly slo: SloTargets;
  /** The models whose drift is watched, each with the score above which its PlinthDriftHigh fires. */
  readonly drift: readonly ModelDriftAlert[];
  /** The scrape targets: the metrics Services of the inference services (one per model). */
  readonly target: {
    readonly namespace: string;
    /** Selects the metrics Services. */
    readonly serviceSelector: k8s.types.input.meta.v1.LabelSelector;
    /** Name of the Service port that serves /metrics. */
    readonly port: string;
  };
  /**
   * The edge proxy's metrics (the Gateway path's Traefik, when plinth installs it: GatewayEdge's
   * `metricsTarget`): a PodMonitor `plinth-edge` in the monitoring namespace selects its pods, and
   * a PrometheusRule `plinth-edge` beside it carries the edge's alerts (PlinthEdgeErrorsHigh,
   * PlinthEdgeDown). The target's NetworkPolicies must admit `prometheusPeer` to its port.
   * @default undefined (the edge is not scraped and has no alerts)
   */
  readonly edgeMetrics?: PodMetricsTarget;
  /**
   * cert-manager's controller metrics (the edge's `certManagerMetricsTarget`, where plinth installs
   * cert-manager): a PodMonitor `plinth-cert-manager` in the monitoring namespace selects its pods,
   * and a PrometheusRule `plinth-cert-manager` beside it carries the certificate alerts
   * (PlinthCertificateNotReady, PlinthCertificateRenewalOverdue, PlinthCertManagerDown). The target's
   * NetworkPolicies must admit `prometheusPeer` to its port.
   * @default undefined (cert-manager is not scraped and no alert watches the certificates)
   */
  readonly certManagerMetrics?: PodMetricsTarget;
  /** Grafana is published at grafana.<domain>, behind oauth2-proxy. */
  readonly domain: string;
  /** Publishes Grafana, behind oauth2-proxy. */
  readonly edge: Edge;
  /**
   * Where the API server calls admission webhooks from (Cluster.apiServerSources): the installed
   * operator's webhook admits only these. Required (non-empty) unless `reuse` is set.
   */
  readonly apiServerSources: readonly Source[];
  /** @default "monitoring" */
  readonly namespace?: string;
  /** Prometheus replicas. @default 1 */
  readonly replicas?: number;
  /**
   * The Prometheus operator, Prometheus and Grafana an existing cluster already runs, reused
   * instead of installing kube-prometheus-stack: plinth then writes only its ServiceMonitor,
   * PrometheusRule, dashboard ConfigMaps and Grafana's Ingress, and leaves that namespace, its
   * NetworkPolicies and its Alertmanager routing (`receivers`) to their owners.
   * @default undefined (install kube-prometheus-stack)
   */
  readonly reuse?: ReusedMonitoring;
}

/** An existing cluster's monitoring, by where it runs and how plinth reaches it. */
export interface ReusedMonitoring extends Peer {
  /** In-cluster URL of Prometheus (promote gates). */
  readonly prometheusUrl: string;
  /** Labels that cluster's Prometheus selects ServiceMonitors and PrometheusRules by (e.g. `release: kps`). */
  readonly selectorLabels: Record<string, string>;
  readonly grafana: {
    readonly serviceName: string;
    readonly port: number;
    readonly podLabels: Record<string, string>;
  };
}

const RELEASE_NAME = "kps";
const GRAFANA_ADMIN_SECRET = "grafana-admin";
const DEFAULT_NAMESPACE = "monitoring";
/** The edge's PodMonitor and PrometheusRule; its scraped series carry `job="<monitoring namespace>/plinth-edge"`. */
export const EDGE_POD_MONITOR = "plinth-edge";
/** cert-manager's PodMonitor and PrometheusRule, named as the edge's are. */
export const CERT_MANAGER_POD_MONITOR = "plinth-cert-manager";

/** The namespace Monitoring runs in: the reused monitoring's, else `namespace`. */
export function monitoringNamespace(args: Pick<MonitoringArgs, "namespace" | "reuse">): string {
  return args.reuse?.namespace ?? args.namespace ?? DEFAULT_NAMESPACE;
}

/**
 * The Prometheus pods that scrape the stack, from Monitoring's own arguments: the installed
 * kube-prometheus-stack's, or the reused monitoring's. Monitoring's `prometheusPeer`, and what the
 * program gives the edge before Monitoring exists (Traefik admits it to its metrics port).
 */
export function prometheusPeerOf(args: Pick<MonitoringArgs, "namespace" | "reuse">): Peer {
  const { reuse } = args;
  return reuse
    ? { namespace: reuse.namespace, podLabels: reuse.podLabels }
    : installedPrometheusPeer(monitoringNamespace(args));
}

export class Monitoring extends pulumi.ComponentResource {
  public readonly namespace: string;
  /** The Prometheus pods: the only peer allowed to scrape metrics ports. */
  public readonly prometheusPeer: Peer;
  /** In-cluster Prometheus URL (promote CLI, Grafana). */
  public readonly prometheusUrl: string;
  /** Grafana's admin password; undefined when the cluster's own Grafana is reused. */
  public readonly grafanaAdminPassword: pulumi.Output<string> | undefined;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("plinth:monitoring:Monitoring", name, {}, opts);
    if (args.receivers.slackChannel && args.slackWebhookUrl === undefined) {
      throw new pulumi.ResourceError("receivers.slackChannel needs slackWebhookUrl", this);
    }
    const reuse = args.reuse;
    if (reuse === undefined && args.apiServerSources.length === 0) {
      throw new pulumi.ResourceError(
        "apiServerSources: the operator's admission webhook needs the CIDRs the API server calls from",
        this,
      );
    }
    this.namespace = monitoringNamespace(args);
    const child = { parent: this, provider: args.provider };
    const labels = standardLabels(name, "monitoring");
    const crLabels = { ...labels, ...reuse?.selectorLabels };
    // On a reused operator the CRDs are the cluster's: said on each object, for the policy pack.
    const crAnnotations = reuse ? { [CRDS_FROM_CLUSTER_ANNOTATION]: "cluster" } : undefined;
    const installed = reuse === undefined ? this.install(name, args, labels) : undefined;
    const inNamespace = { ...child, dependsOn: installed ? [installed.namespace] : [] };
    this.grafanaAdminPassword = installed?.grafanaAdminPassword;

    // The custom resources need the operator's CRDs: the release installs them, or the cluster has them.
    const crOptions = { ...child, dependsOn: installed ? [installed.release] : [] };
    new k8s.apiextensions.CustomResource(
      `${name}-service-monitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: {
          name: "plinth-inference",
          namespace: args.target.namespace,
          labels: crLabels,
          ...(crAnnotations ? { annotations: crAnnotations } : {}),
        },
        spec: {
          selector: args.target.serviceSelector,
          namespaceSelector: { matchNames: [args.target.namespace] },
          // Series carry each pod's blue-green colour, so promote can gate the idle colour.
          podTargetLabels: [COLOUR_LABEL],
          endpoints: [
            {
              port: args.target.port,
              path: "/metrics",
              scheme: "http",
              interval: `${SCRAPE_INTERVAL_SECONDS}s`,
              scrapeTimeout: "10s",
            },
          ],
        },
      },
      crOptions,
    );
    // Pods plinth installs beside the edge, scraped with alerts of their own (none where reused).
    const scraped = { crLabels, crAnnotations, crOptions };
    if (args.edgeMetrics) {
      this.scrapeWithAlerts(`${name}-edge`, EDGE_POD_MONITOR, args.edgeMetrics, scraped, (job) =>
        edgeRuleGroups({ job, runbookBaseUrl: RUNBOOK_BASE_URL }),
      );
    }
    if (args.certManagerMetrics) {
      this.scrapeWithAlerts(
        `${name}-cert-manager`,
        CERT_MANAGER_POD_MONITOR,
        args.certManagerMetrics,
        scraped,
        (job) => certificateRuleGroups({ job, runbookBaseUrl: RUNBOOK_BASE_URL }),
      );
    }
    new k8s.apiextensions.CustomResource(
      `${name}-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: {
          name: "plinth-inference",
          namespace: args.target.namespace,
          labels: crLabels,
          ...(crAnnotations ? { annotations: crAnnotations } : {}),
        },
        spec: {
          groups: prometheusRuleGroups({
            slo: args.slo,
            drift: args.drift,
            runbookBaseUrl: RUNBOOK_BASE_URL,
          }),
        },
      },
      crOptions,
    );
    for (const [file, dashboard] of Object.entries(dashboards())) {
      const id = file.replace(/\.json$/, "");
      new k8s.core.v1.ConfigMap(
        `${name}-dashboard-${id}`,
        {
          metadata: {
            name: `dashboard-${id}`,
            namespace: this.namespace,
            labels: { ...labels, grafana_dashboard: "1" },
          },
          data: { [file]: JSON.stringify(dashboard) },
        },
        inNamespace,
      );
    }

    if (installed) {
      const pods = kubePrometheusStackPods({
        namespace: this.namespace,
        controller: args.edge.controllerPeer,
        apiServerSources: args.apiServerSources,
      });
      chartNamespacePolicies(name, this.namespace, pods, labels, inNamespace);
    }
    args.edge.publish(
      `${name}-grafana-ingress`,
      {
        namespace: this.namespace,
        host: `grafana.${args.domain}`,
        paths: [{ path: "/", pathType: "Prefix" }],
        serviceName: reuse?.grafana.serviceName ?? "grafana",
        servicePort: { number: reuse?.grafana.port ?? 80 },
        labels,
        tlsSecretName: "grafana-tls",
        protect: {},
      },
      crOptions,
    );

    this.prometheusPeer = prometheusPeerOf(args);
    this.prometheusUrl =
      reuse?.prometheusUrl ?? `http://${RELEASE_NAME}-prometheus.${this.namespace}.svc.cluster.local:9090`;
    this.registerOutputs({
      prometheusUrl: this.prometheusUrl,
      grafanaAdminPassword: this.grafanaAdminPassword,
    });
  }

  /**
   * A PodMonitor `objectName` in Monitoring's namespace selecting `target`'s pods (a chart's pods:
   * plinth scrapes them itself rather than through the charts' own monitors, which would need the
   * operator's CRDs before kube-prometheus-stack installs them), and a PrometheusRule of the same name beside it
   * carrying `groups` on that scrape job: resources `<prefix>-pod-monitor` and `<prefix>-rules`.
   * Labelled as the inference ServiceMonitor is; in Monitoring's namespace, which exists before the
   * Prometheus that reads it.
   */
  private scrapeWithAlerts(
    prefix: string,
    objectName: string,
    target: PodMetricsTarget,
    cr: {
      crLabels: Record<string, string>;
      crAnnotations: Record<string, string> | undefined;
      crOptions: pulumi.CustomResourceOptions;
    },
    groups: (job: string) => RuleGroup[],
  ): void {
    const { namespace, podLabels, port, path } = target;
    const metadata = {
      name: objectName,
      namespace: this.namespace,
      labels: cr.crLabels,
      ...(cr.crAnnotations ? { annotations: cr.crAnnotations } : {}),
    };
    new k8s.apiextensions.CustomResource(
      `${prefix}-pod-monitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata,
        spec: {
          selector: { matchLabels: { ...podLabels } },
          namespaceSelector: { matchNames: [namespace] },
          podMetricsEndpoints: [
            {
              port,
              path,
              scheme: "http",
              interval: `${SCRAPE_INTERVAL_SECONDS}s`,
              scrapeTimeout: "10s",
            },
          ],
        },
      },
      cr.crOptions,
    );
    new k8s.apiextensions.CustomResource(
      `${prefix}-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata,
        // A PodMonitor's scrape job is `<its namespace>/<its name>`.
        spec: { groups: groups(`${this.namespace}/${objectName}`) },
      },
      cr.crOptions,
    );
  }

  /** kube-prometheus-stack in its own namespace, with Grafana's admin secret and Alertmanager's Slack secret. */
  private install(name: string, args: MonitoringArgs, labels: Record<string, string>) {
    const child = { parent: this, provider: args.provider };
    // node-exporter reads the host's /proc and /sys: this namespace cannot be restricted.
    const namespace = podSecurityNamespace(`${name}-ns`, this.namespace, "privileged", child);
    const inNamespace = { ...child, dependsOn: [namespace] };

    const adminPassword = new random.RandomPassword(
      `${name}-grafana-admin`,
      { length: 32, special: false },
      { parent: this },
    );
    const grafanaAdminPassword = pulumi.secret(adminPassword.result);
    const grafanaSecret = new k8s.core.v1.Secret(
      `${name}-grafana-admin`,
      {
        metadata: { name: GRAFANA_ADMIN_SECRET, namespace: this.namespace, labels },
        type: "Opaque",
        stringData: { "admin-user": "admin", "admin-password": grafanaAdminPassword },
      },
      inNamespace,
    );
    const secrets: pulumi.Resource[] = [grafanaSecret];
    if (args.slackWebhookUrl !== undefined) {
      secrets.push(
        new k8s.core.v1.Secret(
          `${name}-alertmanager-slack`,
          {
            metadata: { name: SLACK_SECRET, namespace: this.namespace, labels },
            type: "Opaque",
            stringData: { url: pulumi.secret(args.slackWebhookUrl) },
          },
          inNamespace,
        ),
      );
    }

    const release = pinnedRelease(
      `${name}-kube-prometheus-stack`,
      CHARTS.kubePrometheusStack,
      this.namespace,
      this.values(args),
      { ...child, dependsOn: [namespace, ...secrets] },
    );
    return { namespace, release, grafanaAdminPassword };
  }

  private values(args: MonitoringArgs): Record<string, unknown> {
    const targets = args.clusterTargets ?? MANAGED_CLUSTER_TARGETS.existing;
    return {
      fullnameOverride: RELEASE_NAME,
      ...clusterScrapeValues(targets),
      // The operator serves its admission webhook itself (chart-pods.ts admits the API server to
      // it); a separate webhook Deployment would be a pod no NetworkPolicy admits anyone to.
      prometheusOperator: { admissionWebhooks: { deployment: { enabled: false } } },
      prometheus: {
        prometheusSpec: {
          replicas: args.replicas ?? 1,
          retention: args.retention,
          // Select every ServiceMonitor/PrometheusRule, not only the chart's own.
          serviceMonitorSelectorNilUsesHelmValues: false,
          podMonitorSelectorNilUsesHelmValues: false,
          ruleSelectorNilUsesHelmValues: false,
          storageSpec: {
            volumeClaimTemplate: {
              spec: {
                ...(args.storageClass !== undefined ? { storageClassName: args.storageClass } : {}),
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: `${args.storageGb}Gi` } },
              },
            },
          },
          resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { cpu: "2", memory: "4Gi" } },
        },
      },
      alertmanager: {
        config: alertmanagerConfig(args.receivers),
        alertmanagerSpec: {
          replicas: ALERTMANAGER_REPLICAS,
          secrets: args.slackWebhookUrl !== undefined ? [SLACK_SECRET] : [],
          resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "256Mi" } },
        },
      },
      grafana: {
        fullnameOverride: "grafana",
        admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: "admin-user", passwordKey: "admin-password" },
        ingress: { enabled: false },
        sidecar: {
          dashboards: { enabled: true, label: "grafana_dashboard", labelValue: "1", searchNamespace: "ALL" },
        },
        "grafana.ini": {
          server: { root_url: `https://grafana.${args.domain}` },
          users: { allow_sign_up: false },
          "auth.anonymous": { enabled: false },
          analytics: { reporting_enabled: false, check_for_updates: false },
        },
        resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
      },
    };
  }
}

/**
 * kube-prometheus-stack values that switch the cluster components' ServiceMonitors (and Services)
 * and their default rules on or off. The chart gates most of those rules on the component's
 * `enabled` too; they are set explicitly so the render shows it.
 */
export function clusterScrapeValues(targets: ClusterScrapeTargets): Record<string, unknown> {
  const { controlPlane, kubeProxy, coreDns } = targets;
  return {
    kubeControllerManager: { enabled: controlPlane },
    kubeScheduler: { enabled: controlPlane },
    kubeEtcd: { enabled: controlPlane },
    kubeProxy: { enabled: kubeProxy },
    coreDns: { enabled: coreDns },
    defaultRules: {
      rules: {
        etcd: controlPlane,
        kubeControllerManager: controlPlane,
        kubeSchedulerAlerting: controlPlane,
        kubeSchedulerRecording: controlPlane,
        kubeProxy,
      },
    },
  };
}
