/**
 * InferenceService: plinth's ONNX inference service for one rollout strategy. single, canary and
 * shadow run one Deployment (the service routes between stable and candidate itself); blue-green
 * runs two full Deployments and a Service that selects the active colour, both kept warm. Around
 * them: an API Service and a metrics Service, HPA on CPU, PDB, NetworkPolicy (API from the
 * ingress controller and the drift check, metrics from Prometheus only), ServiceAccounts with
 * workload identity, a public Ingress of the API paths only, a protected Ingress of the operator
 * routes (/models/<name>/admin, /ops, /reload-model; the default model's bare /admin, /ops,
 * /reload-model too), and CronJobs for drift checks and retraining.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { imageCommand } from "../../service/contract/image-commands.js";
import { PROBE_PATHS } from "../../service/contract/probe-paths.js";
import type { RateLimitStoreClient } from "../rate-limit-store/index.js";
import type { Edge } from "../shared/edge.js";
import { COLOUR_LABEL, selectorLabels, standardLabels } from "../shared/labels.js";
import { ingressOnlyFrom, type Peer } from "../shared/network-policy.js";
import {
  hardenedContainer,
  hardenedPodSpec,
  httpProbes,
  scratchVolume,
  type Resources,
  type Weakening,
} from "../shared/workload.js";
import {
  API_KEY_ROLES,
  API_PORT,
  apiKeyHashes,
  DRIFT_CHECK_IDENTITY,
  driftCheckEnvironment,
  METRICS_PORT,
  PLATFORM_IDENTITY,
  SECRET_KEYS,
  rateLimitStoreCaVolume,
  serviceEnvironment,
  trainingEnvironment,
  type ServiceSettings,
} from "./env.js";
import { deploymentPlans, type DeploymentPlan, type Rollout } from "./deployment-plans.js";
import { jobPodSelector, scheduledJob, type JobContext } from "./jobs.js";
import { retrainCommand } from "./retrain.js";
import { metricsServiceName } from "./names.js";
import { modelPublicPaths, protectedPathsOf, publicPathsOf } from "./routes.js";
import { clusterService } from "../shared/service.js";

export {
  PUBLIC_PATHS,
  PROTECTED_PATHS,
  modelProtectedPaths,
  modelPublicPaths,
  protectedPathsOf,
  publicPathsOf,
} from "./routes.js";
export { API_PORT, METRICS_PORT, SERVICE_ENV } from "./env.js";
export type { Rollout } from "./deployment-plans.js";

const IMAGE_BY_DIGEST = /@sha256:[a-f0-9]{64}$/;

export interface InferenceServiceArgs {
  readonly provider: k8s.Provider;
  /** Namespace (already created) the service runs in. */
  readonly namespace: string;
  /** Service image pinned by digest. */
  readonly image: string;
  /** The model's name: its registered name, and the name its routes carry. */
  readonly modelName: string;
  /**
   * Whether this is the stack's default model: it answers the bare routes (/predict, /v2, /metadata,
   * /docs, ...) and publishes the bare operator routes (/admin, /ops, /reload-model) behind
   * oauth2-proxy. Every model publishes its routes by name (/models/<name>/..., /v2/models/<name>/...),
   * its operator routes by name (/models/<name>/admin, ...) behind oauth2-proxy.
   * @default true
   */
  readonly isDefaultModel?: boolean;
  /**
   * Models the process serves beside `modelName` (MODEL_REPOSITORY): one version each, their own
   * readiness and metrics, no rollout and no drift check. Each is published by name.
   * @default []
   */
  readonly alsoServes?: readonly { readonly name: string; readonly modelVersion: string }[];
  /**
   * The Secret of the API host's certificate, for the public Ingress: every model's names the same
   * one, so the host has one certificate whatever the number of models (Let's Encrypt issues at most
   * five duplicate certificates a week). @default `<name>-public-tls`
   */
  readonly publicTlsSecretName?: string;
  /**
   * The Secret of the API host's certificate for the protected (operator routes') Ingress: every
   * model's names the same one, the default model's, as for the public Ingress.
   * @default `<name>-admin-tls`
   */
  readonly adminTlsSecretName?: string;
  /**
   * The platform API key every model of the stack accepts (the default model's `apiKey`), so one key
   * reaches every model. @default a key generated for this service
   */
  readonly platformApiKey?: pulumi.Output<string>;
  readonly rollout: Rollout;
  /** HPA bounds per Deployment; the Deployment starts at min. */
  readonly replicas: { readonly min: number; readonly max: number };
  /** HPA target average CPU utilisation (percent of requests). */
  readonly targetCpuUtilization: number;
  readonly resources: Resources;
  /** MLflow's tracking URI. @default none: the model comes from the image's registry folder (models/) */
  readonly mlflowTrackingUri?: string;
  /** Emails of these domains may sign in to /admin and /ops (via oauth2-proxy). */
  readonly allowedEmailDomains: readonly string[];
  /** Members of these identity-provider groups are admins. */
  readonly adminGroups: readonly string[];
  /** Members of these groups may read GET /ops/summary. @default [] */
  readonly opsReadGroups?: readonly string[];
  /**
   * Drift thresholds and the drift check's schedule.
   * @default undefined (no drift-check CronJob: a model without plinth's training baseline)
   */
  readonly drift?: { readonly schedule: string; readonly warnPsi: number; readonly alertPsi: number };
  /**
   * Scheduled retraining on the image's Fashion-MNIST, registered in MLflow as `challenger` when it
   * beats `champion` (components/inference/retrain.ts): for plinth's own example model only.
   * @default undefined (no retrain CronJob)
   */
  readonly retrain?: { readonly schedule: string; readonly resources: Resources };
  /** The API is published at api.<domain>. */
  readonly domain: string;
  /** Publishes the public API paths, and the operator routes (/admin, /ops, /reload-model) behind oauth2-proxy. */
  readonly edge: Edge;
  readonly prometheusPeer: Peer;
  /** Hardenings to switch off, by name (reported by the policy pack). @default [] */
  readonly weaken?: readonly Weakening[];
  /**
   * The Redis every replica counts its rate limits in (components/rate-limit-store): the URL from
   * its Secret, its CA mounted when a private CA signed it. Unset: each pod limits on its own.
   */
  readonly rateLimitStore?: RateLimitStoreClient;
}

/** The role label of the retrain CronJob's pods. */
const RETRAIN_ROLE = "retrain";
/** The role label of the drift-check CronJob's pods. */
const DRIFT_CHECK_ROLE = "drift-check";

/**
 * The pods of an InferenceService named `name` in `namespace` that talk to MLflow: the serving pods
 * (they download versions) and the retrain job (it uploads them). MLflow admits only these: its
 * artifact proxy writes to the bucket for any client it admits.
 */
export function mlflowClientPods(
  name: string,
  namespace: string,
): { namespace: string; podLabels: Record<string, string> }[] {
  return [
    { namespace, podLabels: selectorLabels(name, "inference") },
    { namespace, podLabels: jobPodSelector(name, RETRAIN_ROLE) },
  ];
}

/** Labels of the metrics Service of the InferenceService `name`. */
export function metricsServiceLabels(name: string): Record<string, string> {
  return { "app.kubernetes.io/name": name, "app.kubernetes.io/component": "metrics" };
}

/** Selects the metrics Services of the InferenceServices named: what the ServiceMonitor scrapes. */
export function metricsServiceSelector(names: readonly string[]): {
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: "In"; values: string[] }[];
} {
  return {
    matchLabels: { "app.kubernetes.io/component": "metrics" },
    matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: [...names] }],
  };
}
export const METRICS_PORT_NAME = "metrics";

export class InferenceService extends pulumi.ComponentResource {
  /** In-cluster URL of the API. */
  public readonly url: string;
  public readonly publicUrl: string;
  /** Colour the Service selects (blue-green only). */
  public readonly activeColour?: "blue" | "green";
  /** The platform's API key for smoke tests and the promote CLI (secret). */
  public readonly apiKey: pulumi.Output<string>;

  constructor(name: string, args: InferenceServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("plinth:inference:InferenceService", name, {}, opts);
    const plans = this.plan(args);
    const child = { parent: this, provider: args.provider };
    const app = name;
    const { namespace } = args;
    const labels = standardLabels(app, "inference");
    const podSelector = selectorLabels(app, "inference");

    const platformKey =
      args.platformApiKey ??
      new random.RandomPassword(`${name}-api-key`, { length: 40, special: false }, { parent: this }).result;
    this.apiKey = pulumi.secret(platformKey);
    // The drift check's own identity: it holds the read-only ops role (GET /ops/summary), which
    // the platform key, handed to smoke tests and the promote CLI, does not. No drift settings, no
    // drift check and no such identity.
    const driftCheckKey =
      args.drift === undefined
        ? undefined
        : new random.RandomPassword(
            `${name}-drift-check-key`,
            { length: 40, special: false },
            { parent: this },
          ).result;
    // The canary buckets' HMAC key (service/rollout/buckets.ts): generated, kept a Pulumi secret.
    const bucketKey = new random.RandomPassword(
      `${name}-rollout-bucket-key`,
      { length: 48, special: false },
      { parent: this },
    );
    const authSecret = new k8s.core.v1.Secret(
      `${name}-auth`,
      {
        metadata: { name: `${app}-auth`, namespace, labels },
        type: "Opaque",
        stringData: {
          [SECRET_KEYS.apiKeyHashes]: pulumi.secret(
            pulumi.all([platformKey, driftCheckKey]).apply(([platform, driftCheck]) =>
              apiKeyHashes({
                [PLATFORM_IDENTITY]: platform,
                ...(driftCheck === undefined ? {} : { [DRIFT_CHECK_IDENTITY]: driftCheck }),
              }),
            ),
          ),
          [SECRET_KEYS.apiKeyRoles]: API_KEY_ROLES,
          [SECRET_KEYS.rolloutBucketKey]: pulumi.secret(bucketKey.result),
        },
      },
      child,
    );
    // No cloud identity anywhere: models and training artifacts go through MLflow's artifact proxy.
    const serving = this.serviceAccount(`${name}-serving-sa`, app, namespace, labels, child);

    const settings: ServiceSettings = {
      modelName: args.modelName,
      ...(args.mlflowTrackingUri === undefined ? {} : { mlflowTrackingUri: args.mlflowTrackingUri }),
      allowedEmailDomains: args.allowedEmailDomains,
      adminGroups: args.adminGroups,
      opsReadGroups: args.opsReadGroups ?? [],
      ...(args.drift === undefined ? {} : { drift: args.drift }),
      repository: (args.alsoServes ?? []).map(({ name: model, modelVersion }) => ({
        name: model,
        reference: modelVersion,
      })),
      authSecretName: authSecret.metadata.name,
      ...(args.rateLimitStore ? { rateLimitStore: args.rateLimitStore } : {}),
    };
    for (const plan of plans) {
      const deploymentName = plan.role === "main" ? app : `${app}-${plan.role}`;
      const selector =
        plan.variant.colour === "none"
          ? podSelector
          : { ...podSelector, [COLOUR_LABEL]: plan.variant.colour };
      this.deployment(
        plan.role === "main" ? name : `${name}-${plan.role}`,
        deploymentName,
        plan,
        args,
        settings,
        {
          namespace,
          labels: { ...labels, ...selector },
          selector,
          serviceAccountName: serving.metadata.name,
          child,
        },
      );
    }

    this.activeColour = args.rollout.blueGreen?.active;
    const apiSelector = this.activeColour
      ? { ...podSelector, [COLOUR_LABEL]: this.activeColour }
      : podSelector;
    const service = clusterService(
      `${name}-service`,
      { name: app, namespace, labels, selector: apiSelector, port: { name: "http", number: 80 } },
      child,
    );
    // Every pod of every colour is scraped, through a Service the Ingress never points at.
    new k8s.core.v1.Service(
      `${name}-metrics-service`,
      {
        metadata: {
          name: metricsServiceName(app),
          namespace,
          labels: { ...labels, ...metricsServiceLabels(name) },
        },
        spec: {
          type: "ClusterIP",
          clusterIP: "None",
          selector: podSelector,
          ports: [
            { name: METRICS_PORT_NAME, port: METRICS_PORT, targetPort: METRICS_PORT_NAME, protocol: "TCP" },
          ],
        },
      },
      child,
    );
    const jobContext = {
      name,
      app,
      namespace,
      image: args.image,
      labels,
      opts: child,
      ...(args.weaken ? { weaken: args.weaken } : {}),
    };
    const url = `http://${app}.${namespace}.svc.cluster.local`;
    const driftCheckPeer =
      args.drift && driftCheckKey ? this.driftCheck(jobContext, args.drift, driftCheckKey, url) : undefined;
    ingressOnlyFrom(
      `${name}-netpol`,
      namespace,
      podSelector,
      labels,
      [
        { port: API_PORT, from: [args.edge.controllerPeer, ...(driftCheckPeer ? [driftCheckPeer] : [])] },
        { port: METRICS_PORT, from: [args.prometheusPeer] },
      ],
      child,
    );
    const host = `api.${args.domain}`;
    const ingressBase = {
      namespace,
      host,
      serviceName: service.metadata.name,
      servicePort: { name: "http", number: 80 },
      labels,
    };
    const isDefaultModel = args.isDefaultModel ?? true;
    // No perClientRateLimit on the public API: the service limits each API key across every
    // replica in its Redis store, and a limit per client address at the edge would throttle all
    // the clients behind one NAT or proxy together.
    args.edge.publish(
      `${name}-public-ingress`,
      {
        ...ingressBase,
        paths: [
          ...publicPathsOf(args.modelName, isDefaultModel),
          ...(args.alsoServes ?? []).flatMap(({ name: model }) => modelPublicPaths(model)),
        ],
        tlsSecretName: args.publicTlsSecretName ?? `${app}-public-tls`,
      },
      child,
    );
    // Behind oauth2-proxy: this process's operator routes by its model's name, and for the
    // default model the bare ones too (they reach the process the bare routes reach). The models
    // it serves beside its own (alsoServes) have none.
    args.edge.publish(
      `${name}-admin-ingress`,
      {
        ...ingressBase,
        paths: protectedPathsOf(args.modelName, isDefaultModel),
        protect: {},
        tlsSecretName: args.adminTlsSecretName ?? `${app}-admin-tls`,
      },
      child,
    );

    if (args.retrain !== undefined) {
      if (settings.mlflowTrackingUri === undefined) {
        throw new pulumi.ResourceError(
          "retrain registers the trained model in MLflow: it needs mlflowTrackingUri",
          this,
        );
      }
      const training = this.serviceAccount(
        `${name}-training-sa`,
        `${app}-training`,
        namespace,
        labels,
        child,
      );
      scheduledJob(jobContext, {
        role: RETRAIN_ROLE,
        schedule: args.retrain.schedule,
        command: retrainCommand(args.modelName),
        env: trainingEnvironment(settings.mlflowTrackingUri),
        resources: args.retrain.resources,
        serviceAccountName: training.metadata.name,
        deadlineSeconds: 4 * 3600,
      });
    }

    this.url = url;
    this.publicUrl = `https://${host}`;
    this.registerOutputs({ url: this.url, publicUrl: this.publicUrl, apiKey: this.apiKey });
  }

  /**
   * The drift check: a CronJob asking the service for its drift verdict, under its own key (kept in
   * a Secret of its own: the serving pods never hold it) and ServiceAccount. Returns its pods, which
   * the service's NetworkPolicy admits.
   */
  private driftCheck(
    job: JobContext,
    drift: NonNullable<InferenceServiceArgs["drift"]>,
    key: pulumi.Output<string>,
    url: string,
  ): Peer {
    const { name, app, namespace, labels, opts } = job;
    const secret = new k8s.core.v1.Secret(
      `${name}-drift-check-credentials`,
      {
        metadata: { name: `${app}-drift-check`, namespace, labels },
        type: "Opaque",
        stringData: { [SECRET_KEYS.apiKey]: pulumi.secret(key) },
      },
      opts,
    );
    const account = this.serviceAccount(
      `${name}-drift-check-sa`,
      `${app}-drift-check`,
      namespace,
      labels,
      opts,
    );
    scheduledJob(job, {
      role: DRIFT_CHECK_ROLE,
      schedule: drift.schedule,
      command: imageCommand("driftCheck"),
      env: driftCheckEnvironment(url, secret.metadata.name),
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
      serviceAccountName: account.metadata.name,
      deadlineSeconds: 600,
    });
    return { namespace, podLabels: jobPodSelector(app, DRIFT_CHECK_ROLE) };
  }

  /** Validates the rollout and lists the Deployments it needs. */
  private plan(args: InferenceServiceArgs): DeploymentPlan[] {
    const fail = (message: string) => {
      throw new pulumi.ResourceError(message, this);
    };
    const images = [args.image, args.rollout.blueGreen?.blue.image, args.rollout.blueGreen?.green.image];
    for (const image of images)
      if (image !== undefined && !IMAGE_BY_DIGEST.test(image))
        fail(`image must be pinned by digest; got ${image}`);
    if (args.replicas.min > args.replicas.max)
      fail(`replicas.min (${args.replicas.min}) exceeds replicas.max (${args.replicas.max})`);
    try {
      return deploymentPlans(args.rollout, args.image);
    } catch (err) {
      return fail((err as Error).message);
    }
  }

  private serviceAccount(
    resourceName: string,
    name: string,
    namespace: string,
    labels: Record<string, string>,
    opts: pulumi.CustomResourceOptions,
  ) {
    return new k8s.core.v1.ServiceAccount(
      resourceName,
      { metadata: { name, namespace, labels }, automountServiceAccountToken: false },
      opts,
    );
  }

  /** A Deployment with its HPA and PDB; children are named `<prefix>-deployment|hpa|pdb`. */
  private deployment(
    prefix: string,
    deploymentName: string,
    plan: DeploymentPlan,
    args: InferenceServiceArgs,
    settings: ServiceSettings,
    where: {
      namespace: string;
      labels: Record<string, string>;
      selector: Record<string, string>;
      serviceAccountName: pulumi.Input<string>;
      child: pulumi.CustomResourceOptions;
    },
  ) {
    const tmp = scratchVolume("tmp", "/tmp", "1Gi");
    const rateLimitCa = rateLimitStoreCaVolume(settings.rateLimitStore);
    const env = serviceEnvironment(settings, plan.variant);
    // A hash of the model settings in the pod template: a rollout edit restarts pods predictably.
    const settingsHash = createHash("sha256").update(JSON.stringify(plan.variant)).digest("hex").slice(0, 16);
    const container = hardenedContainer({
      name: "inference",
      image: plan.image,
      env,
      ports: [
        { name: "http", containerPort: API_PORT },
        { name: METRICS_PORT_NAME, containerPort: METRICS_PORT },
      ],
      resources: args.resources,
      // Startup and readiness: the pod's (every model serves or awaits its first version, which
      // answers 503 saying why), so a first `pulumi up` on an empty registry completes; /ready
      // itself stays "predictions can be served now".
      probes: httpProbes("http", PROBE_PATHS.podReady, PROBE_PATHS.live),
      volumeMounts: [tmp.mount, ...(rateLimitCa ? [rateLimitCa.mount] : [])],
      ...(args.weaken ? { weaken: args.weaken } : {}),
    });
    const deployment = new k8s.apps.v1.Deployment(
      `${prefix}-deployment`,
      {
        metadata: { name: deploymentName, namespace: where.namespace, labels: where.labels },
        spec: {
          replicas: args.replicas.min,
          selector: { matchLabels: where.selector },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          minReadySeconds: 5,
          template: {
            metadata: {
              labels: where.labels,
              annotations: { "plinth.dev/model-settings": settingsHash },
            },
            spec: hardenedPodSpec({
              containers: [container],
              serviceAccountName: where.serviceAccountName,
              volumes: [tmp.volume, ...(rateLimitCa ? [rateLimitCa.volume] : [])],
              spreadBy: where.selector,
              terminationGracePeriodSeconds: 30,
            }),
          },
        },
      },
      // The HPA owns replicas once it exists.
      { ...where.child, ignoreChanges: ["spec.replicas"] },
    );
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${prefix}-hpa`,
      {
        metadata: { name: deploymentName, namespace: where.namespace, labels: where.labels },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
          minReplicas: args.replicas.min,
          maxReplicas: args.replicas.max,
          metrics: [
            {
              type: "Resource",
              resource: {
                name: "cpu",
                target: { type: "Utilization", averageUtilization: args.targetCpuUtilization },
              },
            },
          ],
        },
      },
      where.child,
    );
    if (args.replicas.min > 1) {
      new k8s.policy.v1.PodDisruptionBudget(
        `${prefix}-pdb`,
        {
          metadata: { name: deploymentName, namespace: where.namespace, labels: where.labels },
          spec: { maxUnavailable: 1, selector: { matchLabels: where.selector } },
        },
        where.child,
      );
    }
  }
}
