/**
 * The plinth program: composes the components for one stack from its validated config.
 * infra/index.ts runs it under the Pulumi engine; infra/render runs it under the mock runtime.
 */
import type * as pulumi from "@pulumi/pulumi";
import { Cluster, type ClusterArgs } from "../components/cluster/index.js";
import {
  InferenceService,
  metricsServiceSelector,
  METRICS_PORT_NAME,
  mlflowClientPods,
} from "../components/inference/index.js";
import { GatewayEdge } from "../components/gateway/index.js";
import { IngressTls } from "../components/ingress-tls/index.js";
import { Mlflow, type MlflowBackend } from "../components/mlflow/index.js";
import {
  MANAGED_CLUSTER_TARGETS,
  Monitoring,
  prometheusPeerOf,
  SELF_MANAGED_CLUSTER_TARGETS,
  type ClusterScrapeTargets,
} from "../components/monitoring/index.js";
import { oauth2ProxyEndpoint } from "../components/oauth2-proxy/contract.js";
import { OAuth2Proxy } from "../components/oauth2-proxy/index.js";
import { RateLimitStore, type RateLimitStoreBackend } from "../components/rate-limit-store/index.js";
import type { Edge } from "../components/shared/edge.js";
import type { Peer } from "../components/shared/network-policy.js";
import { selectorLabels } from "../components/shared/labels.js";
import { podSecurityNamespace } from "../components/shared/namespace.js";
import type { StackConfig } from "./config/load.js";
import { servingInferenceService } from "./config/model-services.js";

/** The cluster (and its cloud resources) are named from this. */
const NAME = "plinth";
/** Namespace of plinth's own service and jobs. */
const APP_NAMESPACE = "plinth";
/** Namespaces of oauth2-proxy and MLflow (their components' defaults, named here for the Gateway). */
const AUTH_NAMESPACE = "auth";
const MLFLOW_NAMESPACE = "mlflow";
const MONITORING_NAMESPACE = "monitoring";
const AUTH_PROXY_NAME = "oauth2-proxy";
/** Every host plinth publishes, by first label, and the namespace of the service behind it. */
function publishedHosts(config: StackConfig): { host: string; namespace: string }[] {
  return [
    { label: "api", namespace: APP_NAMESPACE },
    { label: "mlflow", namespace: MLFLOW_NAMESPACE },
    { label: "grafana", namespace: config.existingCluster?.monitoring?.namespace ?? MONITORING_NAMESPACE },
  ].map(({ label, namespace }) => ({ host: `${label}.${config.domain}`, namespace }));
}

/**
 * The edge of the stack (plinth:edge): the Gateway API on Traefik by default, or ingress-nginx's
 * Ingresses (retired upstream; kept for clusters that run it). Either installs cert-manager and the
 * ACME issuer unless the cluster's are reused. Components publish through the returned Edge alone.
 * `prometheus` scrapes the Traefik and the cert-manager plinth installs (their metrics ports admit
 * those pods alone).
 */
function createEdge(config: StackConfig, cluster: Cluster, prometheus: Peer): Edge & pulumi.Resource {
  const existing = config.existingCluster ?? {};
  const auth = oauth2ProxyEndpoint(AUTH_PROXY_NAME, AUTH_NAMESPACE);
  if (config.edge === "gateway") {
    // Named "ingress" as the IngressTls it replaces on a moving stack (see components/gateway).
    return new GatewayEdge("ingress", {
      provider: cluster.provider,
      cloud: config.cloud,
      acme: config.acme,
      apiServerSources: cluster.apiServerSources,
      // Each host admits the routes of its own service's namespace and oauth2-proxy's (/oauth2).
      hosts: publishedHosts(config).map(({ host, namespace }) => ({
        host,
        routeNamespaces: [namespace, AUTH_NAMESPACE],
      })),
      auth,
      metricsScrapers: [prometheus],
      reuse: {
        ...(existing.gatewayController ? { controller: existing.gatewayController } : {}),
        ...(existing.certManager ? { certManager: existing.certManager } : {}),
      },
    });
  }
  return new IngressTls("ingress", {
    provider: cluster.provider,
    cloud: config.cloud,
    acme: config.acme,
    apiServerSources: cluster.apiServerSources,
    auth,
    metricsScrapers: [prometheus],
    ...(existing.ingressClass ? { ingressClass: existing.ingressClass } : {}),
    reuse: {
      ...(existing.ingressController ? { controller: existing.ingressController } : {}),
      ...(existing.certManager ? { certManager: existing.certManager } : {}),
    },
  });
}

function clusterArgs(config: StackConfig): ClusterArgs {
  switch (config.cloud) {
    case "aws":
      return { cloud: "aws", aws: required(config.aws, "aws"), protect: config.protect };
    case "gcp":
      return { cloud: "gcp", gcp: required(config.gcp, "gcp"), protect: config.protect };
    case "existing": {
      const { storageClass, apiServerCidrs } = config.existingCluster ?? {};
      return {
        cloud: "existing",
        kubeconfig: required(config.secrets.kubeconfig, "kubeconfig"),
        ...(storageClass ? { storageClass } : {}),
        ...(apiServerCidrs ? { apiServerCidrs } : {}),
      };
    }
  }
}

/** What the installed kube-prometheus-stack scrapes of the cluster itself (plinth:existingCluster.controlPlane). */
function clusterTargets(config: StackConfig): ClusterScrapeTargets {
  if (config.cloud === "existing" && config.existingCluster?.controlPlane === "self-managed") {
    return SELF_MANAGED_CLUSTER_TARGETS;
  }
  return MANAGED_CLUSTER_TARGETS[config.cloud];
}

/** The schema guarantees these per cloud; this narrows the type without a cast. */
function required<T>(value: T | undefined, key: string): T {
  if (value === undefined) throw new Error(`plinth:${key}: required for this cloud`);
  return value;
}

function mlflowBackend(config: StackConfig, cluster: Cluster): MlflowBackend {
  if (config.cloud === "aws") {
    return {
      cloud: "aws",
      cluster: required(cluster.aws, "aws"),
      instanceClass: required(config.aws, "aws").databaseInstanceClass,
    };
  }
  if (config.cloud === "gcp") {
    return {
      cloud: "gcp",
      cluster: required(cluster.gcp, "gcp"),
      tier: required(config.gcp, "gcp").databaseTier,
    };
  }
  const { storageClass, artifactStorageClass } = config.existingCluster ?? {};
  return {
    cloud: "existing",
    postgresImage: config.mlflow.postgresImage,
    ...(storageClass ? { storageClass } : {}),
    ...(artifactStorageClass ? { artifactStorageClass } : {}),
  };
}

/**
 * Where the shared rate-limit Redis runs: ElastiCache in the EKS VPC, Memorystore on the GKE VPC
 * through the private services access MLflow's Cloud SQL creates, or in the cluster.
 */
function rateLimitStoreBackend(
  config: StackConfig,
  cluster: Cluster,
  edge: pulumi.Resource,
  mlflow: Mlflow,
): RateLimitStoreBackend {
  if (config.cloud === "aws") {
    return {
      cloud: "aws",
      cluster: required(cluster.aws, "aws"),
      nodeType: required(config.aws, "aws").rateLimitStoreNodeType,
    };
  }
  if (config.cloud === "gcp") {
    return {
      cloud: "gcp",
      cluster: required(cluster.gcp, "gcp"),
      memorySizeGb: required(config.gcp, "gcp").rateLimitStoreMemoryGb,
      privateServiceAccess: [mlflow],
    };
  }
  const reused = config.existingCluster?.certManager !== undefined;
  return {
    cloud: "existing",
    image: config.rateLimitStore.redisImage,
    certManager: reused ? [] : [edge],
    certManagerFromCluster: reused,
  };
}

/** Builds the whole stack; returns the stack outputs. */
export function createPlinthStack(config: StackConfig): Record<string, pulumi.Input<unknown>> {
  const cluster = new Cluster(NAME, clusterArgs(config));
  const provider = cluster.provider;
  const existing = config.existingCluster ?? {};
  // Monitoring's placement, known before Monitoring exists: the edge admits its Prometheus.
  const monitoringPlacement = {
    namespace: MONITORING_NAMESPACE,
    ...(existing.monitoring ? { reuse: existing.monitoring } : {}),
  };
  const edge = createEdge(config, cluster, prometheusPeerOf(monitoringPlacement));
  new OAuth2Proxy(AUTH_PROXY_NAME, {
    provider,
    image: config.oauth2Proxy.image,
    namespace: AUTH_NAMESPACE,
    // Every host with a protected route: the inference service's, MLflow's and Grafana's.
    hosts: publishedHosts(config).map(({ host }) => host),
    oidc: {
      issuerUrl: config.oauth2Proxy.issuerUrl,
      clientId: config.oauth2Proxy.clientId,
      clientSecret: config.secrets.oidcClientSecret,
    },
    allowedEmailDomains: config.oauth2Proxy.allowedEmailDomains,
    allowedGroups: [...new Set([...config.oauth2Proxy.adminGroups, ...config.oauth2Proxy.opsReadGroups])],
    groupsClaim: config.oauth2Proxy.groupsClaim,
    scope: config.oauth2Proxy.scope,
    edge,
  });

  const inferenceNames = [
    ...new Set(
      Object.keys(config.inference.models).map((model) => servingInferenceService(config.inference, model)),
    ),
  ];
  const appNamespace = podSecurityNamespace(`${NAME}-ns`, APP_NAMESPACE, "restricted", { provider });
  const monitoring = new Monitoring(
    "monitoring",
    {
      provider,
      retention: config.monitoring.retention,
      storageGb: config.monitoring.storageGb,
      ...(cluster.storageClass ? { storageClass: cluster.storageClass } : {}),
      clusterTargets: clusterTargets(config),
      receivers: config.monitoring.alertReceivers,
      ...(config.secrets.slackWebhookUrl ? { slackWebhookUrl: config.secrets.slackWebhookUrl } : {}),
      slo: config.monitoring.slo,
      drift: Object.entries(config.inference.models).flatMap(([model, { drift }]) =>
        drift ? [{ model, alertPsi: drift.alertPsi }] : [],
      ),
      target: {
        namespace: APP_NAMESPACE,
        serviceSelector: metricsServiceSelector(inferenceNames),
        port: METRICS_PORT_NAME,
      },
      domain: config.domain,
      edge,
      ...(edge.metricsTarget ? { edgeMetrics: edge.metricsTarget } : {}),
      ...(edge.certManagerMetricsTarget ? { certManagerMetrics: edge.certManagerMetricsTarget } : {}),
      ...monitoringPlacement,
      apiServerSources: cluster.apiServerSources,
      replicas: config.protect ? 2 : 1,
    },
    { dependsOn: [appNamespace] },
  );

  const mlflow = new Mlflow("mlflow", {
    provider,
    image: config.mlflow.image,
    backend: mlflowBackend(config, cluster),
    database: config.mlflow.database,
    resources: config.mlflow.resources,
    protect: config.protect,
    domain: config.domain,
    edge,
    namespace: MLFLOW_NAMESPACE,
    // MLflow has no roles of its own (anyone who reaches it can move a registry alias): admins only.
    allowedGroups: config.oauth2Proxy.adminGroups,
    clients: inferenceNames.flatMap((name) => mlflowClientPods(name, APP_NAMESPACE)),
    // On an existing cluster the artifact volume must be ReadWriteMany for two replicas: production
    // needs two (and such a storage class); staging runs one on ReadWriteOnce.
    replicas: config.cloud === "existing" && !config.protect ? 1 : 2,
  });

  // Rate limits count across every inference replica (issue #24), in a Redis only those pods reach.
  const rateLimitStore = new RateLimitStore(
    "rate-limit-store",
    {
      provider,
      backend: rateLimitStoreBackend(config, cluster, edge, mlflow),
      namespace: APP_NAMESPACE,
      clients: inferenceNames.map((name) => ({
        namespace: APP_NAMESPACE,
        podLabels: selectorLabels(name, "inference"),
      })),
      failureMode: config.rateLimitStore.failureMode,
      protect: config.protect,
    },
    { dependsOn: [appNamespace] },
  );

  // The default model's service first: every other one accepts its platform API key.
  const { defaultModel, models } = config.inference;
  const order = [defaultModel, ...Object.keys(models).filter((model) => model !== defaultModel)];
  const services: Record<string, InferenceService> = {};
  const common = {
    provider,
    namespace: APP_NAMESPACE,
    allowedEmailDomains: config.oauth2Proxy.allowedEmailDomains,
    adminGroups: config.oauth2Proxy.adminGroups,
    opsReadGroups: config.oauth2Proxy.opsReadGroups,
    domain: config.domain,
    edge,
    prometheusPeer: monitoring.prometheusPeer,
    rateLimitStore: rateLimitStore.client,
    // One certificate for api.<domain>: the default model's, named as a single-model stack names it.
    publicTlsSecretName: `${servingInferenceService(config.inference, defaultModel)}-public-tls`,
    adminTlsSecretName: `${servingInferenceService(config.inference, defaultModel)}-admin-tls`,
  };
  // The models each service serves, its lead (the process's default model) first.
  const groups = new Map<string, string[]>();
  for (const model of order) {
    const name = servingInferenceService(config.inference, model);
    groups.set(name, [...(groups.get(name) ?? []), model]);
  }
  for (const [name, [lead, ...others]] of groups) {
    const settings = models[lead!]!;
    const platformApiKey = services[defaultModel]?.apiKey;
    const size = settings.deployment === "own" ? settings : config.inference.shared!;
    const service = new InferenceService(
      name,
      {
        ...common,
        image: settings.image ?? config.inference.image,
        modelName: lead!,
        // The shared Deployment serves its other models beside the lead, one version each.
        alsoServes: others.map((other) => ({
          name: other,
          modelVersion: models[other]!.rollout.stable.modelVersion,
        })),
        isDefaultModel: lead === defaultModel,
        ...(platformApiKey ? { platformApiKey } : {}),
        rollout: settings.rollout,
        replicas: size.replicas,
        targetCpuUtilization: size.targetCpuUtilization,
        resources: size.resources,
        ...(settings.source === "mlflow" ? { mlflowTrackingUri: mlflow.trackingUri } : {}),
        ...(settings.drift ? { drift: settings.drift } : {}),
        ...(settings.retrain ? { retrain: settings.retrain } : {}),
      },
      { dependsOn: [appNamespace] },
    );
    for (const model of [lead!, ...others]) services[model] = service;
  }
  const inference = services[defaultModel]!;

  return {
    cloud: config.cloud,
    kubeconfig: cluster.kubeconfig,
    apiUrl: inference.publicUrl,
    adminUrl: `${inference.publicUrl}/admin`,
    mlflowUrl: `https://mlflow.${config.domain}`,
    grafanaUrl: `https://grafana.${config.domain}`,
    prometheusUrl: monitoring.prometheusUrl,
    mlflowTrackingUri: mlflow.trackingUri,
    rolloutStrategy: models[defaultModel]!.rollout.strategy,
    activeColour: inference.activeColour ?? "none",
    // Each model's prediction and Open Inference Protocol URLs, and its rollout.
    models: Object.fromEntries(
      order.map((model) => [
        model,
        {
          predictUrl: `${inference.publicUrl}/models/${model}/predict`,
          inferUrl: `${inference.publicUrl}/v2/models/${model}/infer`,
          rolloutStrategy: models[model]!.rollout.strategy,
          activeColour: services[model]!.activeColour ?? "none",
        },
      ]),
    ),
    platformApiKey: inference.apiKey,
    grafanaAdminPassword: monitoring.grafanaAdminPassword,
  };
}
