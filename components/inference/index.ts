/**
 * InferenceService: plinth's ONNX inference service for one rollout strategy. single, canary and
 * shadow run one Deployment (the service routes between stable and candidate itself); blue-green
 * runs two full Deployments and a Service that selects the active colour, both kept warm. Around
 * them: an API Service and a metrics Service, HPA on CPU, PDB, NetworkPolicy (API from the
 * ingress controller and the drift check, metrics from Prometheus only), ServiceAccounts with
 * workload identity, a public Ingress of the API paths only, a protected Ingress for /admin and
 * /ops, and CronJobs for drift checks and retraining.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { imageCommand } from "../../service/contract/image-commands.js";
import { PROBE_PATHS } from "../../service/contract/probe-paths.js";
import type { RateLimitStoreClient } from "../rate-limit-store/index.js";
import { tlsIngress, type IngressClassRef } from "../shared/ingress.js";
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
  type VariantSettings,
} from "./env.js";
import { jobPodSelector, scheduledJob } from "./jobs.js";
import { retrainCommand } from "./retrain.js";
import { PROTECTED_PATHS, PUBLIC_PATHS } from "./routes.js";
import { clusterService } from "../shared/service.js";

export { PUBLIC_PATHS, PROTECTED_PATHS } from "./routes.js";
export { API_PORT, METRICS_PORT, SERVICE_ENV } from "./env.js";

const IMAGE_BY_DIGEST = /@sha256:[a-f0-9]{64}$/;

export interface Rollout {
  readonly strategy: "single" | "canary" | "shadow" | "blue-green";
  /** Stable model version or alias. */
  readonly stable: { readonly modelVersion: string };
  /** Candidate for canary (weight, 0-100) or shadow (shadowPercent, 0-100). */
  readonly candidate?: {
    readonly modelVersion: string;
    readonly weight?: number;
    readonly shadowPercent?: number;
  };
  /** Blue-green: each colour's model (and optionally image), and which colour takes traffic. */
  readonly blueGreen?: {
    readonly active: "blue" | "green";
    readonly blue: { readonly image?: string; readonly modelVersion: string };
    readonly green: { readonly image?: string; readonly modelVersion: string };
  };
}

export interface InferenceServiceArgs {
  readonly provider: k8s.Provider;
  /** Namespace (already created) the service runs in. */
  readonly namespace: string;
  /** Service image pinned by digest. */
  readonly image: string;
  /** Registered model name in MLflow. */
  readonly modelName: string;
  readonly rollout: Rollout;
  /** HPA bounds per Deployment; the Deployment starts at min. */
  readonly replicas: { readonly min: number; readonly max: number };
  /** HPA target average CPU utilisation (percent of requests). */
  readonly targetCpuUtilization: number;
  readonly resources: Resources;
  readonly mlflowTrackingUri: string;
  /** Emails of these domains may sign in to /admin and /ops (via oauth2-proxy). */
  readonly allowedEmailDomains: readonly string[];
  /** Members of these identity-provider groups are admins. */
  readonly adminGroups: readonly string[];
  /** Members of these groups may read GET /ops/summary. @default [] */
  readonly opsReadGroups?: readonly string[];
  readonly drift: { readonly schedule: string; readonly warnPsi: number; readonly alertPsi: number };
  /**
   * Scheduled retraining on the image's Fashion-MNIST, registered in MLflow as `challenger` when it
   * beats `champion` (components/inference/retrain.ts): for plinth's own example model only.
   * @default undefined (no retrain CronJob)
   */
  readonly retrain?: { readonly schedule: string; readonly resources: Resources };
  /** The API is published at api.<domain>. */
  readonly domain: string;
  readonly ingress: IngressClassRef;
  /** oauth2-proxy annotations for the /admin and /ops Ingress. */
  readonly authAnnotations: Record<string, string>;
  readonly controllerPeer: Peer;
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

/** Labels of the metrics Service: what the ServiceMonitor selects. */
export function metricsServiceLabels(name: string): Record<string, string> {
  return { "app.kubernetes.io/name": name, "app.kubernetes.io/component": "metrics" };
}
export const METRICS_PORT_NAME = "metrics";

interface DeploymentPlan {
  readonly role: string;
  readonly image: string;
  readonly variant: VariantSettings;
}

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

    const key = new random.RandomPassword(
      `${name}-api-key`,
      { length: 40, special: false },
      { parent: this },
    );
    this.apiKey = pulumi.secret(key.result);
    // The drift check's own identity: it holds the read-only ops role (GET /ops/summary), which
    // the platform key, handed to smoke tests and the promote CLI, does not.
    const driftCheckKey = new random.RandomPassword(
      `${name}-drift-check-key`,
      { length: 40, special: false },
      { parent: this },
    );
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
            pulumi
              .all([key.result, driftCheckKey.result])
              .apply(([platform, driftCheck]) =>
                apiKeyHashes({ [PLATFORM_IDENTITY]: platform, [DRIFT_CHECK_IDENTITY]: driftCheck }),
              ),
          ),
          [SECRET_KEYS.apiKeyRoles]: API_KEY_ROLES,
          [SECRET_KEYS.rolloutBucketKey]: pulumi.secret(bucketKey.result),
        },
      },
      child,
    );
    // The plaintext key lives apart from the service's Secret: the serving pods never hold it.
    const driftCheckSecret = new k8s.core.v1.Secret(
      `${name}-drift-check-credentials`,
      {
        metadata: { name: `${app}-drift-check`, namespace, labels },
        type: "Opaque",
        stringData: { [SECRET_KEYS.apiKey]: pulumi.secret(driftCheckKey.result) },
      },
      child,
    );
    // No cloud identity anywhere: models and training artifacts go through MLflow's artifact proxy.
    const serving = this.serviceAccount(`${name}-serving-sa`, app, namespace, labels, child);
    const driftCheckAccount = this.serviceAccount(
      `${name}-drift-check-sa`,
      `${app}-drift-check`,
      namespace,
      labels,
      child,
    );
    const training = this.serviceAccount(`${name}-training-sa`, `${app}-training`, namespace, labels, child);

    const settings: ServiceSettings = {
      modelName: args.modelName,
      mlflowTrackingUri: args.mlflowTrackingUri,
      allowedEmailDomains: args.allowedEmailDomains,
      adminGroups: args.adminGroups,
      opsReadGroups: args.opsReadGroups ?? [],
      drift: args.drift,
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
        metadata: { name: `${app}-metrics`, namespace, labels: { ...labels, ...metricsServiceLabels(name) } },
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
    const driftCheckRole = "drift-check";
    const driftCheckPeer = { namespace, podLabels: jobPodSelector(app, driftCheckRole) };
    ingressOnlyFrom(
      `${name}-netpol`,
      namespace,
      podSelector,
      labels,
      [
        { port: API_PORT, from: [args.controllerPeer, driftCheckPeer] },
        { port: METRICS_PORT, from: [args.prometheusPeer] },
      ],
      child,
    );
    const host = `api.${args.domain}`;
    const ingressBase = {
      namespace,
      host,
      serviceName: service.metadata.name,
      servicePort: "http",
      ingress: args.ingress,
      labels,
    };
    tlsIngress(
      `${name}-public-ingress`,
      { ...ingressBase, paths: PUBLIC_PATHS, tlsSecretName: `${app}-public-tls` },
      child,
    );
    tlsIngress(
      `${name}-admin-ingress`,
      {
        ...ingressBase,
        paths: PROTECTED_PATHS,
        annotations: args.authAnnotations,
        tlsSecretName: `${app}-admin-tls`,
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
    scheduledJob(jobContext, {
      role: driftCheckRole,
      schedule: args.drift.schedule,
      command: imageCommand("driftCheck"),
      env: driftCheckEnvironment(url, driftCheckSecret.metadata.name),
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
      serviceAccountName: driftCheckAccount.metadata.name,
      deadlineSeconds: 600,
    });
    if (args.retrain !== undefined) {
      scheduledJob(jobContext, {
        role: RETRAIN_ROLE,
        schedule: args.retrain.schedule,
        command: retrainCommand(args.modelName),
        env: trainingEnvironment(settings),
        resources: args.retrain.resources,
        serviceAccountName: training.metadata.name,
        deadlineSeconds: 4 * 3600,
      });
    }

    this.url = url;
    this.publicUrl = `https://${host}`;
    this.registerOutputs({ url: this.url, publicUrl: this.publicUrl, apiKey: this.apiKey });
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
    const { strategy, candidate, blueGreen, stable } = args.rollout;
    const percent = (value: number | undefined, what: string) => {
      if (value === undefined || value < 0 || value > 100)
        fail(`${what} must be between 0 and 100; got ${value}`);
    };
    if (strategy === "blue-green") {
      if (!blueGreen) return fail("strategy blue-green needs rollout.blueGreen");
      if (candidate) fail("strategy blue-green takes no candidate: each colour is a full Deployment");
      return (["blue", "green"] as const).map((colour) => ({
        role: colour,
        image: blueGreen[colour].image ?? args.image,
        variant: { strategy: "single", stable: blueGreen[colour].modelVersion, colour },
      }));
    }
    if (blueGreen) fail(`rollout.blueGreen is only for strategy blue-green; got ${strategy}`);
    if (strategy === "single" && candidate) fail("strategy single takes no candidate");
    if (strategy !== "single" && !candidate) fail(`strategy ${strategy} needs rollout.candidate`);
    if (strategy === "canary") percent(candidate?.weight, "candidate.weight");
    if (strategy === "shadow") percent(candidate?.shadowPercent, "candidate.shadowPercent");
    return [
      {
        role: "main",
        image: args.image,
        variant: {
          strategy,
          stable: stable.modelVersion,
          colour: "none",
          ...(candidate ? { candidate } : {}),
        },
      },
    ];
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
