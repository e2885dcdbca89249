/**
 * The one schema for a plinth stack's configuration: every `plinth:*` key in Pulumi.<stack>.yaml.
 * Keys are the top-level config keys without the `plinth:` prefix; objects are strict, so a typo is
 * reported instead of silently ignored. Messages say what was expected; the loader prefixes each
 * with its config path (`plinth:inference.rollout.candidate.weight: ...`).
 */
import { z } from "zod";
import {
  EKS_ACCESS_POLICIES,
  EKS_ACCESS_POLICY_NAMES,
} from "../../components/cluster/eks-access-policies.js";
import { CPU_PATTERN, MEMORY_PATTERN, cpuCores, memoryBytes } from "./quantity.js";

const IMAGE_BY_DIGEST =
  /^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::\d+)?\/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[\w][\w.-]{0,127})?@sha256:[a-f0-9]{64}$/;
const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const EMAIL_DOMAIN = HOSTNAME;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** What publishes plinth's routes: the Gateway API (the default) or the retired ingress-nginx's Ingresses. */
export const EDGES = ["gateway", "ingress-nginx"] as const;
export type Edge = (typeof EDGES)[number];

/** Five-field cron, as Kubernetes CronJobs take it. */
const CRON = /^(\S+\s+){4}\S+$/;
const DURATION = /^\d+(ms|s|m|h|d|w|y)$/;
/** A group as oauth2-proxy forwards it in X-Auth-Request-Groups (comma-joined, so no comma). */
const IDP_GROUP = /^[^\s,][^,]{0,255}$/;
/** A registry model version ("7") or alias ("champion"), as MLflow names them. */
export const MODEL_REF = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const text = (what: string) => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
const matching = (pattern: RegExp, what: string) => text(what).regex(pattern, { error: `expected ${what}` });
const between = (min: number, max: number) => {
  const message = `expected a number between ${min} and ${max}`;
  return z.number({ error: message }).min(min, { error: message }).max(max, { error: message });
};
const integer = (min: number, max: number) => {
  const message = `expected an integer between ${min} and ${max}`;
  return z
    .number({ error: message })
    .int({ error: message })
    .min(min, { error: message })
    .max(max, { error: message });
};
const list = <T extends z.ZodType>(item: T, what: string, min = 1) =>
  z
    .array(item, { error: `expected a list of ${what}` })
    .min(min, { error: `expected at least ${min} ${what}` });

const image = matching(IMAGE_BY_DIGEST, "an image pinned by digest (registry/name@sha256:<64 hex>)");
const cidr = matching(IPV4_CIDR, "an IPv4 CIDR such as 10.0.0.0/16");
/**
 * What the stack files hold in an API allowlist until an organisation sets its own ranges: valid
 * config (the credential-free render carries it into the rendered allowlists as it is), refused by
 * the engine entry point's deploy check (infra/config/deploy-target.ts) with what to set, before
 * any resource reaches a provider.
 */
export const ALLOWLIST_PLACEHOLDER = "SET-PER-ORGANISATION";
/** CIDRs allowed to reach a cluster's API server: never the whole internet. */
const allowlistCidr = text("an IPv4 CIDR such as 10.0.0.0/16")
  .refine((value) => value === ALLOWLIST_PLACEHOLDER || IPV4_CIDR.test(value), {
    error: "expected an IPv4 CIDR such as 10.0.0.0/16",
  })
  .refine((value) => !value.endsWith("/0"), {
    error: "a /0 range opens the API server to the internet; list the office and CI ranges instead",
  });
const modelRef = matching(MODEL_REF, "a model version or alias (letters, digits, '.', '_', '-')");

const cpu = matching(CPU_PATTERN, 'a CPU quantity such as "500m" or "2"');
const memory = matching(MEMORY_PATTERN, 'a memory quantity such as "512Mi" or "2Gi"');
const resourceAmounts = z.strictObject({ cpu, memory }, { error: "expected { cpu, memory }" });
const resources = z
  .strictObject(
    { requests: resourceAmounts, limits: resourceAmounts },
    { error: "expected { requests, limits }" },
  )
  .superRefine((value, ctx) => {
    if (cpuCores(value.requests.cpu) > cpuCores(value.limits.cpu)) {
      ctx.addIssue({ code: "custom", path: ["requests", "cpu"], message: "must not exceed limits.cpu" });
    }
    if (memoryBytes(value.requests.memory) > memoryBytes(value.limits.memory)) {
      ctx.addIssue({
        code: "custom",
        path: ["requests", "memory"],
        message: "must not exceed limits.memory",
      });
    }
  });

const minMax = (what: string, max: number) =>
  z
    .strictObject({ min: integer(1, max), max: integer(1, max) }, { error: `expected { min, max } ${what}` })
    .refine((value) => value.min <= value.max, { error: "min must not exceed max", path: ["min"] });

const acme = z.strictObject(
  {
    /** Contact address Let's Encrypt writes to about expiring certificates. */
    email: z.email({ error: "expected an email address" }),
    /** ACME directory URL: Let's Encrypt staging for staging stacks, production for production. */
    server: z.url({ protocol: /^https$/, error: "expected an https ACME directory URL" }),
  },
  { error: "expected { email, server }" },
);

const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const GCP_REGION = /^[a-z]+-[a-z]+\d$/;

/** "a, b or c". */
const alternatives = (names: readonly string[]) => `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
const NAMESPACED_ACCESS = EKS_ACCESS_POLICY_NAMES.filter((policy) => EKS_ACCESS_POLICIES[policy].namespaced);
const clusterAccess = z
  .strictObject(
    {
      principalArn: matching(
        /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/,
        "an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admins",
      ),
      policy: z.enum(EKS_ACCESS_POLICY_NAMES, { error: `expected ${alternatives(EKS_ACCESS_POLICY_NAMES)}` }),
      namespaces: list(matching(DNS_LABEL, "a namespace name"), "namespaces").optional(),
    },
    { error: "expected { principalArn, policy, namespaces? }" },
  )
  .superRefine((value, ctx) => {
    if (value.namespaces && !EKS_ACCESS_POLICIES[value.policy].namespaced) {
      ctx.addIssue({
        code: "custom",
        path: ["namespaces"],
        message: `${value.policy} is cluster-wide; remove namespaces or choose ${alternatives(NAMESPACED_ACCESS)}`,
      });
    }
  });

const aws = z.strictObject(
  {
    region: matching(AWS_REGION, "an AWS region such as eu-west-1"),
    zones: list(text("an availability zone"), "availability zones", 2),
    vpcCidr: cidr,
    kubernetesVersion: matching(/^1\.\d{2}$/, 'a Kubernetes minor version such as "1.35"'),
    /** Empty: the EKS endpoint is private only. Otherwise the public endpoint admits only these. */
    publicEndpointCidrs: z.array(allowlistCidr, { error: "expected a list of CIDRs" }),
    nodeGroup: z.strictObject({
      instanceTypes: list(text("an EC2 instance type"), "instance types"),
      minSize: integer(1, 100),
      maxSize: integer(1, 100),
      desiredSize: integer(1, 100),
      diskSizeGb: integer(20, 1000),
    }),
    databaseInstanceClass: matching(
      /^db\.[a-z0-9]+\.[a-z0-9]+$/,
      "an RDS instance class such as db.t4g.medium",
    ),
    /**
     * ElastiCache node type of the rate-limit store (Valkey, TLS and AUTH always on): one node in a
     * stack without `protect`, a primary and a replica in two zones with automatic failover with it.
     * @default "cache.t4g.small"
     */
    rateLimitStoreNodeType: matching(
      /^cache\.[a-z0-9]+\.[a-z0-9]+$/,
      "an ElastiCache node type such as cache.t4g.small",
    ).default("cache.t4g.small"),
    /**
     * IAM principals given access to the cluster (EKS access entries), each with one access policy,
     * cluster-wide or in some namespaces. The identity that creates the cluster is cluster admin
     * besides. @default []
     */
    clusterAccess: z
      .array(clusterAccess, { error: "expected a list of { principalArn, policy, namespaces? }" })
      .superRefine((entries, ctx) => {
        const seen = new Set<string>();
        entries.forEach((entry, index) => {
          if (seen.has(entry.principalArn)) {
            ctx.addIssue({
              code: "custom",
              path: [index, "principalArn"],
              message: "listed twice: EKS takes one access entry per principal; give it one policy",
            });
          }
          seen.add(entry.principalArn);
        });
      })
      .default([]),
  },
  { error: "expected the AWS settings object" },
);

const gcp = z.strictObject(
  {
    project: matching(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a GCP project id"),
    region: matching(GCP_REGION, "a GCP region such as europe-west1"),
    zones: list(text("a zone"), "zones", 2),
    nodesCidr: cidr,
    podsCidr: cidr,
    servicesCidr: cidr,
    masterCidr: matching(/^[\d.]+\/28$/, "a /28 CIDR for the GKE control plane"),
    releaseChannel: z.enum(["RAPID", "REGULAR", "STABLE"], { error: "expected RAPID, REGULAR or STABLE" }),
    masterAuthorizedCidrs: list(allowlistCidr, "CIDRs"),
    nodePool: z.strictObject({
      machineType: text("a machine type"),
      minNodes: integer(1, 100),
      maxNodes: integer(1, 100),
      diskSizeGb: integer(20, 1000),
    }),
    databaseTier: matching(/^db-[a-z0-9-]+$/, "a Cloud SQL tier such as db-custom-2-7680"),
    /**
     * Memorystore for Redis capacity of the rate-limit store, in GB (AUTH and TLS always on): the
     * BASIC tier in a stack without `protect`, STANDARD_HA (a replica in another zone) with it.
     * @default 1
     */
    rateLimitStoreMemoryGb: integer(1, 300).default(1),
  },
  { error: "expected the GCP settings object" },
);

const oauth2Proxy = z.strictObject(
  {
    image,
    /** OIDC issuer (discovery at <issuerUrl>/.well-known/openid-configuration). */
    issuerUrl: z.url({ protocol: /^https$/, error: "expected an https OIDC issuer URL" }),
    clientId: text("an OIDC client id"),
    allowedEmailDomains: list(matching(EMAIL_DOMAIN, "an email domain such as example.com"), "email domains"),
    /**
     * Identity-provider groups whose members are admins (the admin panel, model reloads, MLflow and
     * Grafana). The email domain only admits; a role comes from a group.
     */
    adminGroups: z
      .array(matching(IDP_GROUP, "a group name (1-256 characters, no comma)"), {
        error: (issue) =>
          issue.input === undefined
            ? "the identity-provider groups whose members are admins (roles come from groups: a signed-in user of the allowed domains is no longer an admin by the domain alone)"
            : "expected a list of admin groups",
      })
      .min(1, { error: "expected at least 1 admin groups" }),
    /** Groups whose members may read GET /ops/summary (and open MLflow and Grafana). @default [] */
    opsReadGroups: list(
      matching(IDP_GROUP, "a group name (1-256 characters, no comma)"),
      "groups",
      0,
    ).default([]),
    /** The ID-token claim that lists the user's groups. @default "groups" */
    groupsClaim: matching(/^[A-Za-z0-9_.:/-]{1,128}$/, "a claim name such as groups").default("groups"),
    /** Scopes oauth2-proxy asks for; must make the issuer put the groups claim in the ID token. @default "openid email profile groups" */
    scope: matching(/^openid( [A-Za-z0-9_.:/-]+)*$/, 'space-separated scopes starting with "openid"').default(
      "openid email profile groups",
    ),
  },
  {
    error:
      "expected { image, issuerUrl, clientId, allowedEmailDomains, adminGroups, opsReadGroups?, groupsClaim?, scope? }",
  },
);

const candidate = z.strictObject({
  modelVersion: modelRef,
  /** Canary: percent of traffic the candidate serves. */
  weight: between(0, 100).optional(),
  /** Shadow: percent of requests the candidate also scores, off the response path. */
  shadowPercent: between(0, 100).optional(),
});

const colour = z.strictObject({ image: image.optional(), modelVersion: modelRef });

/** Canary weights a release climbs, in order; the last one sends all traffic to the candidate. */
export const DEFAULT_WEIGHT_LADDER = [10, 25, 50, 100] as const;

/**
 * What `npm run promote` requires of live metrics (Prometheus) before it writes a step. Every
 * field has a default, so a stack states only what it tightens or loosens. A gate with too little
 * data is inconclusive, and inconclusive blocks like a failure (only `--force` overrides, recorded
 * in the audit log).
 */
const gates = z
  .strictObject(
    {
      /** PromQL range every gate reads (rates, quantiles, worst drift). @default "10m" */
      window: matching(DURATION, 'a Prometheus duration such as "10m"').default("10m"),
      /**
       * Fewest requests the candidate must have been offered in the window (shadow: rows compared,
       * or copies scored for a candidate without label agreement) for a verdict; fewer is
       * inconclusive. @default 500
       */
      minRequests: integer(1, 100_000_000).default(500),
      /**
       * Highest candidate error ratio: 5xx answers plus requests routed to the candidate that stable
       * had to answer (load failure, run error, timeout, open circuit); in shadow, dropped copies.
       * @default 0.01
       */
      maxErrorRate: between(0, 1).default(0.01),
      /** Candidate p95 and p99 may exceed stable's by at most this factor... @default 1.2 */
      maxLatencyRatio: between(1, 100).default(1.2),
      /**
       * ...or by at most this many seconds, whichever allows more: two millisecond-fast variants
       * differ by scheduling noise, not by model. @default 0.005
       */
      latencyToleranceSeconds: between(0, 60).default(0.005),
      /** Highest candidate drift score (largest PSI against its training baseline) in the window. @default 0.2 */
      maxDriftScore: between(0, 10).default(0.2),
      /** Lowest share of shadowed predictions equal to stable's. @default 0.95 */
      minShadowAgreement: between(0, 1).default(0.95),
      /** Canary weights in order; raising the weight goes to the next one. @default [10, 25, 50, 100] */
      weightLadder: list(between(0.01, 100), "weights")
        .refine((ladder) => ladder.every((w, i) => i === 0 || w > ladder[i - 1]!), {
          error: "expected strictly increasing weights",
        })
        .refine((ladder) => ladder.at(-1) === 100, { error: "expected the last weight to be 100" })
        .default([...DEFAULT_WEIGHT_LADDER]),
    },
    { error: "expected the promotion gates object" },
  )
  .prefault({});

const rollout = z
  .strictObject(
    {
      strategy: z.enum(["single", "canary", "shadow", "blue-green"], {
        error: "expected single, canary, shadow or blue-green",
      }),
      stable: z.strictObject({ modelVersion: modelRef }),
      candidate: candidate.optional(),
      blueGreen: z
        .strictObject({
          active: z.enum(["blue", "green"], { error: "expected blue or green" }),
          blue: colour,
          green: colour,
        })
        .optional(),
      /** Promotion gates read by `npm run promote`; the deployed service does not use them. */
      gates,
    },
    { error: "expected the rollout object" },
  )
  .superRefine((value, ctx) => {
    const needs = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    const usesCandidate = value.strategy === "canary" || value.strategy === "shadow";
    if (usesCandidate && !value.candidate)
      needs(["candidate"], `required when strategy is ${value.strategy}`);
    if (!usesCandidate && value.candidate) {
      needs(["candidate"], `not used by strategy ${value.strategy}; remove it or choose canary or shadow`);
    }
    if (value.strategy === "canary" && value.candidate && value.candidate.weight === undefined) {
      needs(["candidate", "weight"], "required when strategy is canary: expected a number between 0 and 100");
    }
    if (value.strategy === "shadow" && value.candidate && value.candidate.shadowPercent === undefined) {
      needs(
        ["candidate", "shadowPercent"],
        "required when strategy is shadow: expected a number between 0 and 100",
      );
    }
    if (value.strategy === "blue-green" && !value.blueGreen)
      needs(["blueGreen"], "required when strategy is blue-green");
    if (value.strategy !== "blue-green" && value.blueGreen) {
      needs(["blueGreen"], `not used by strategy ${value.strategy}; remove it or choose blue-green`);
    }
  });

/** Drift checks of a model's live inputs against its training baseline. */
const drift = z
  .strictObject(
    {
      schedule: matching(CRON, 'a five-field cron schedule such as "*/15 * * * *"'),
      warnPsi: between(0, 10),
      alertPsi: between(0, 10),
    },
    { error: "expected { schedule, warnPsi, alertPsi }" },
  )
  .refine((value) => value.warnPsi < value.alertPsi, { error: "must be below alertPsi", path: ["warnPsi"] });

/**
 * Scheduled retraining of plinth's own example: it trains the Fashion-MNIST CNN the image carries
 * and registers it as a new version of the model's registered name. Only for the bundled demo
 * model; leave it out for any other (it would register a Fashion-MNIST network under that name).
 */
const retrain = z.strictObject(
  {
    schedule: matching(CRON, 'a five-field cron schedule such as "0 3 * * 0"'),
    resources,
  },
  { error: "expected { schedule, resources }" },
);

/**
 * A served model's name, the key under plinth:inference.models: its routes (/models/<name>/...,
 * /v2/models/<name>/...) and its Kubernetes objects (plinth-inference-<name>-drift-check is a
 * CronJob, whose name Kubernetes caps at 52 characters) carry it.
 */
export const MODEL_KEY = /^[a-z]([a-z0-9-]{0,21}[a-z0-9])?$/;
/**
 * What an inference service appends to its name for its other objects (plinth-inference-<model>-metrics,
 * -auth, -drift-check, -blue, ...), and the shared Deployment's own name: a model called so, or
 * ending so, would name another model's objects (`churn-metrics` beside `churn`, or `metrics` beside
 * the default model's plinth-inference-metrics).
 */
const OBJECT_SUFFIXES = [
  "shared",
  "metrics",
  "auth",
  "drift-check",
  "training",
  "retrain",
  "blue",
  "green",
  "netpol",
  "public-tls",
  "admin-tls",
  "public-ingress",
  "admin-ingress",
] as const;

/** Why model key `name` would clash with another object's name, or undefined. */
function objectNameClash(name: string): string | undefined {
  const suffix = OBJECT_SUFFIXES.find((s) => name === s || name.endsWith(`-${s}`));
  if (suffix === undefined) return undefined;
  return (
    `"${name}" ${name === suffix ? "is" : `ends in "-${suffix}", which is`} part of the names plinth gives ` +
    `its objects (plinth-inference-${suffix}, plinth-inference-<model>-${suffix}); choose another name`
  );
}
const MODEL_KEY_RULE = "a model name: 1-23 lower-case letters, digits and '-', starting with a letter";

/**
 * Where a model's versions come from: `mlflow`, the stack's MLflow registry (downloaded through its
 * artifact proxy), under the model's name; `image`, the registry folder the service image carries
 * (models/), for models built into the image.
 */
const source = z.enum(["mlflow", "image"], { error: "expected mlflow or image" });

/** How big a Deployment is, and how it scales. */
const deploymentSize = {
  replicas: minMax("for the autoscaler", 50),
  targetCpuUtilization: integer(10, 95),
  resources,
};
export type DeploymentSize = z.output<z.ZodObject<typeof deploymentSize>>;

/** The settings a model's own Deployment takes, which a model in the shared Deployment leaves out. */
const OWN_DEPLOYMENT_KEYS = [
  "replicas",
  "targetCpuUtilization",
  "resources",
  "image",
  "drift",
  "retrain",
] as const;

/** One entry of plinth:inference.models. */
const modelEntry = z
  .strictObject(
    {
      /** @default "mlflow" */
      source: source.default("mlflow"),
      /**
       * `own`: the model runs in Deployments of its own (sized here, any rollout strategy). `shared`:
       * it is served by the one shared Deployment (plinth:inference.shared) beside the other shared
       * models: for small models, one version each (strategy single), no drift check.
       * @default "own"
       */
      deployment: z.enum(["own", "shared"], { error: "expected own or shared" }).default("own"),
      /** The service image for this model. @default plinth:inference.image */
      image: image.optional(),
      replicas: deploymentSize.replicas.optional(),
      targetCpuUtilization: deploymentSize.targetCpuUtilization.optional(),
      resources: resources.optional(),
      rollout,
      /** @default none: no drift-check CronJob and no drift alert (a model without plinth's baseline) */
      drift: drift.optional(),
      /** @default none: no retrain CronJob */
      retrain: retrain.optional(),
    },
    {
      error:
        "expected the model's settings { source?, deployment?, image?, replicas, targetCpuUtilization, resources, rollout, drift?, retrain? }",
    },
  )
  .superRefine((model, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message });
    if (model.retrain !== undefined && model.source !== "mlflow") {
      issue(["retrain"], "registers the retrained model in MLflow: only for a model whose source is mlflow");
    }
    if (model.deployment === "own") {
      for (const key of ["replicas", "targetCpuUtilization", "resources"] as const) {
        if (model[key] === undefined)
          issue([key], 'required for a model with its own Deployment (deployment: "own")');
      }
      return;
    }
    for (const key of OWN_DEPLOYMENT_KEYS) {
      if (model[key] !== undefined) {
        issue(
          [key],
          `not used by a model in the shared Deployment: ${
            key === "drift" || key === "retrain"
              ? "give the model its own Deployment for it"
              : "the shared Deployment's are plinth:inference.shared"
          }${key === "image" ? " and plinth:inference.image" : ""}`,
        );
      }
    }
    if (model.rollout.strategy !== "single") {
      issue(
        ["rollout", "strategy"],
        `${model.rollout.strategy}: the shared Deployment serves one version of each model (strategy single); ` +
          "give the model its own Deployment to release it by canary, shadow or blue-green",
      );
    }
  })
  .transform((model): ModelSettings => {
    const { source, rollout, image, drift, retrain } = model;
    if (model.deployment === "shared") return { deployment: "shared", source, rollout };
    // The superRefine above guarantees the size of a model's own Deployment.
    return {
      deployment: "own",
      source,
      rollout,
      replicas: model.replicas!,
      targetCpuUtilization: model.targetCpuUtilization!,
      resources: model.resources!,
      ...(image ? { image } : {}),
      ...(drift ? { drift } : {}),
      ...(retrain ? { retrain } : {}),
    };
  });

/** A model with Deployments of its own. */
export interface OwnDeploymentModel extends DeploymentSize {
  readonly deployment: "own";
  readonly source: "mlflow" | "image";
  readonly rollout: z.output<typeof rollout>;
  /** @default plinth:inference.image */
  readonly image?: string;
  readonly drift?: z.output<typeof drift>;
  readonly retrain?: z.output<typeof retrain>;
}

/** A model served by the shared Deployment (one version, no drift check, no retraining). */
export interface SharedDeploymentModel {
  readonly deployment: "shared";
  readonly source: "mlflow" | "image";
  readonly rollout: z.output<typeof rollout>;
  readonly image?: never;
  readonly drift?: never;
  readonly retrain?: never;
}

/** A served model's settings as the program reads them. */
export type ModelSettings = OwnDeploymentModel | SharedDeploymentModel;

/** The keys of the single-model shape, which plinth:inference.models replaces. */
const SINGLE_MODEL_KEYS = [
  "modelName",
  "replicas",
  "targetCpuUtilization",
  "resources",
  "rollout",
  "drift",
  "retrain",
] as const;

/** plinth:inference as the program reads it, whichever shape the stack file has. */
export interface InferenceSettings {
  /** The service image every model runs unless it names its own. */
  readonly image: string;
  /** `models`: the stack file lists plinth:inference.models; `single-model`: the earlier shape. */
  readonly shape: "models" | "single-model";
  /** The model the bare routes serve. */
  readonly defaultModel: string;
  /** By name, in the stack file's order. */
  readonly models: Readonly<Record<string, ModelSettings>>;
  /** The shared Deployment's size, when a model is in it. */
  readonly shared?: DeploymentSize;
}

/**
 * plinth:inference in either shape: `models` (a map of served models by name, the first one the
 * default, served at the bare /predict) or the single-model shape of earlier stack files
 * (`modelName`, `replicas`, ... directly under plinth:inference), which keeps working as a map of
 * one. Both parse to the same `models` map; `shape` records which the file has, for the edits of
 * `npm run promote` and for messages that name a config path.
 */
const inference = z
  .strictObject(
    {
      image,
      /** The served models by name; the first is the default. */
      models: z
        .record(matching(MODEL_KEY, MODEL_KEY_RULE), modelEntry, {
          error: (issue) =>
            issue.code === "invalid_key" ? `expected ${MODEL_KEY_RULE}` : "expected a map of models by name",
        })
        .refine((models) => Object.keys(models).length > 0, { error: "expected at least one model" })
        .optional(),
      /**
       * The shared Deployment (models with `deployment: shared`): its size and autoscaling. Required
       * when a model is in it.
       */
      shared: z
        .strictObject(deploymentSize, { error: "expected { replicas, targetCpuUtilization, resources }" })
        .optional(),
      /** The model the bare routes (/predict, /predict-image, /metadata, /v2) serve. @default the first model */
      defaultModel: matching(MODEL_KEY, MODEL_KEY_RULE).optional(),
      // The single-model shape.
      modelName: matching(DNS_LABEL, "a model name (lower-case letters, digits and '-')").optional(),
      replicas: deploymentSize.replicas.optional(),
      targetCpuUtilization: deploymentSize.targetCpuUtilization.optional(),
      resources: resources.optional(),
      rollout: rollout.optional(),
      drift: drift.optional(),
      retrain: retrain.optional(),
    },
    { error: "expected the inference settings object" },
  )
  .superRefine((value, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message });
    if (value.models !== undefined) {
      for (const key of SINGLE_MODEL_KEYS) {
        if (value[key] !== undefined) {
          issue(
            [key],
            key === "modelName"
              ? "not used with plinth:inference.models: a model's name is its key there"
              : `not used with plinth:inference.models: move it into each model's settings (plinth:inference.models.<name>.${key})`,
          );
        }
      }
      const names = Object.keys(value.models);
      if (value.defaultModel !== undefined && !names.includes(value.defaultModel)) {
        issue(["defaultModel"], `expected one of the models: ${names.join(", ")}`);
      }
      const shared = Object.entries(value.models).filter(([, model]) => model.deployment === "shared");
      if (shared.length > 0 && value.shared === undefined) {
        issue(
          ["shared"],
          `required: ${shared.map(([name]) => name).join(", ")} ${shared.length === 1 ? "is" : "are"} in the shared Deployment (its replicas, targetCpuUtilization, resources)`,
        );
      }
      if (shared.length === 0 && value.shared !== undefined) {
        issue(["shared"], 'no model is in the shared Deployment (deployment: "shared"); remove it');
      }
      // One process serves them all, from one registry.
      const [first] = shared;
      for (const [name, model] of shared) {
        if (first && model.source !== first[1].source) {
          issue(
            ["models", name, "source"],
            `${model.source}: the models of the shared Deployment come from one registry (${first[0]}'s is ${first[1].source})`,
          );
        }
      }
      for (const name of names) {
        const taken = objectNameClash(name);
        if (taken) issue(["models", name], taken);
      }
      return;
    }
    if (value.defaultModel !== undefined) issue(["defaultModel"], "only used with plinth:inference.models");
    if (value.shared !== undefined) issue(["shared"], "only used with plinth:inference.models");
    for (const key of SINGLE_MODEL_KEYS.filter((k) => k !== "retrain")) {
      if (value[key] === undefined) {
        issue(
          [key],
          "required in a single-model stack; or list the models under plinth:inference.models " +
            "(docs/stack-configuration.md#models)",
        );
      }
    }
  })
  .transform((value): InferenceSettings => {
    const { image } = value;
    if (value.models !== undefined) {
      const { models, shared } = value;
      const defaultModel = value.defaultModel ?? Object.keys(models)[0]!;
      return { image, shape: "models", defaultModel, models, ...(shared ? { shared } : {}) };
    }
    // The superRefine above guarantees the single-model keys; zod runs this only when it passed.
    const name = value.modelName!;
    const model: ModelSettings = {
      deployment: "own",
      source: "mlflow",
      replicas: value.replicas!,
      targetCpuUtilization: value.targetCpuUtilization!,
      resources: value.resources!,
      rollout: value.rollout!,
      drift: value.drift!,
      ...(value.retrain ? { retrain: value.retrain } : {}),
    };
    return { image, shape: "single-model", defaultModel: name, models: { [name]: model } };
  });

const mlflow = z.strictObject(
  {
    image,
    /** In-cluster PostgreSQL for the `existing` cloud (managed databases are used elsewhere). */
    postgresImage: image,
    database: z.strictObject({
      storageGb: integer(10, 16384),
      /** Automated backups kept: RDS retention in days; Cloud SQL `retainedBackups` (one a day). */
      backupRetentionDays: integer(1, 35),
      /**
       * Cloud SQL only: days of transaction logs kept for point-in-time recovery (1-7 on the
       * Enterprise edition the instance uses). Cloud SQL refuses a value not less than the backups
       * retained, so it must stay below `backupRetentionDays`; checked below.
       * @default 7 (Cloud SQL's own default for Enterprise edition)
       */
      transactionLogRetentionDays: integer(1, 7).default(7),
    }),
    resources,
  },
  { error: "expected the MLflow settings object" },
);

/**
 * The Redis the inference replicas share their rate limits in (issue #24): ElastiCache on aws,
 * Memorystore on gcp (sized in the aws and gcp sections), an in-cluster Redis on `existing`.
 */
const rateLimitStore = z.strictObject(
  {
    /** The in-cluster Redis of the `existing` cloud (managed services are used elsewhere). */
    redisImage: image,
    /**
     * What the service does while Redis is unreachable: `per-pod` limits each replica on its own
     * (protection weakens by the replica count, never disappears); `closed` answers limited routes
     * with 503. @default "per-pod"
     */
    failureMode: z.enum(["per-pod", "closed"], { error: "expected per-pod or closed" }).default("per-pod"),
  },
  { error: "expected { redisImage, failureMode? }" },
);

const monitoring = z.strictObject(
  {
    retention: matching(DURATION, 'a Prometheus duration such as "15d"'),
    storageGb: integer(5, 4096),
    alertReceivers: z
      .strictObject({
        slackChannel: matching(/^#[a-z0-9_-]+$/, "a Slack channel such as #ml-alerts").optional(),
        emails: list(z.email({ error: "expected an email address" }), "email addresses").optional(),
        smtpSmarthost: matching(/^[a-z0-9.-]+:\d+$/, "an SMTP host:port").optional(),
        smtpFrom: z.email({ error: "expected an email address" }).optional(),
      })
      .superRefine((value, ctx) => {
        if (!value.slackChannel && !value.emails) {
          ctx.addIssue({
            code: "custom",
            path: [],
            message: "expected at least one receiver (slackChannel or emails)",
          });
        }
        if (value.emails && (!value.smtpSmarthost || !value.smtpFrom)) {
          ctx.addIssue({
            code: "custom",
            path: ["smtpSmarthost"],
            message: "smtpSmarthost and smtpFrom are required with emails",
          });
        }
      }),
    slo: z.strictObject({
      /** Fraction of requests that must not fail with a 5xx, e.g. 0.999. */
      availability: between(0.9, 0.99999),
      /** Fraction of requests that must finish within latencyThresholdSeconds. */
      latency: between(0.9, 0.99999),
      /** Must be one of the service's histogram bucket bounds to be measurable. */
      latencyThresholdSeconds: between(0.001, 60),
    }),
  },
  { error: "expected the monitoring settings object" },
);

const labelMap = z
  .record(text("a label key"), matching(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, "a label value"), {
    error: "expected a map of pod labels",
  })
  .refine((labels) => Object.keys(labels).length > 0, { error: "expected at least one pod label" });
const namespaceName = matching(DNS_LABEL, "a namespace name (lower-case letters, digits and '-')");
/** Pods of a system the cluster already runs, which plinth's NetworkPolicies must admit. */
const existingPods = { namespace: namespaceName, podLabels: labelMap };

/**
 * What an existing (brownfield) cluster already runs and plinth reuses instead of installing from
 * its pinned charts. Each absent key means "install it", as on aws and gcp; a cluster whose
 * ingress controller, cert-manager or Prometheus operator another team owns names it here, and
 * plinth neither installs a second one nor touches the first.
 */
const existingCluster = z
  .strictObject(
    {
      /**
       * The cluster's ingress controller, on the Ingress path only (`plinth:edge: ingress-nginx`):
       * its IngressClass and its pods (NetworkPolicy peer). It must
       * be ingress-nginx: plinth puts its admin routes behind oauth2-proxy with ingress-nginx's
       * auth annotations, which any other controller ignores (leaving those routes open).
       */
      ingressController: z
        .strictObject({
          implementation: z.literal("ingress-nginx", {
            error:
              'expected "ingress-nginx": plinth protects its admin routes with ingress-nginx auth annotations, which other controllers ignore',
          }),
          className: matching(DNS_LABEL, "an IngressClass name"),
          ...existingPods,
        })
        .optional(),
      /**
       * The cluster's own Gateway API controller, reused on the Gateway path (`plinth:edge: gateway`)
       * instead of the Traefik plinth installs: plinth's Gateway names its GatewayClass, and the
       * NetworkPolicies of plinth's workloads admit its pods. It must be Traefik: plinth puts its
       * admin routes behind oauth2-proxy with Traefik Middlewares (ForwardAuth), which another
       * implementation ignores (leaving those routes open). Its Kubernetes CRD provider must allow
       * cross-namespace references (each route's sign-in redirect names oauth2-proxy's Service).
       */
      gatewayController: z
        .strictObject({
          implementation: z.literal("traefik", {
            error:
              'expected "traefik": plinth protects its admin routes with Traefik Middlewares, which other Gateway API implementations ignore',
          }),
          gatewayClassName: matching(DNS_LABEL, "a GatewayClass name"),
          ...existingPods,
        })
        .optional(),
      /** The cluster's cert-manager; plinth writes no ClusterIssuer when `clusterIssuer` names one. */
      certManager: z
        .strictObject({ clusterIssuer: matching(DNS_LABEL, "a ClusterIssuer name").optional() })
        .optional(),
      /**
       * The cluster's Prometheus operator, Prometheus and Grafana (with its dashboard sidecar):
       * plinth writes its ServiceMonitor, PrometheusRule and dashboard ConfigMaps for them.
       */
      monitoring: z
        .strictObject({
          ...existingPods,
          /** In-cluster URL of the Prometheus the promote gates and Grafana read. */
          prometheusUrl: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }),
          /**
           * Labels that Prometheus selects ServiceMonitors and PrometheusRules by (kube-prometheus-stack's
           * default: `release: <its release name>`). Required: without them the objects are silently
           * ignored, and with them no metrics, alerts or promotion gates.
           */
          selectorLabels: labelMap,
          /** The Grafana Service published at grafana.<domain> behind oauth2-proxy. */
          grafana: z.strictObject({
            serviceName: matching(DNS_LABEL, "a Service name"),
            port: integer(1, 65535),
            podLabels: labelMap,
          }),
        })
        .optional(),
      /**
       * CIDRs the cluster's API server calls admission webhooks from (its control-plane nodes, or the
       * network a hosted control plane reaches pods from). The webhooks of the charts plinth installs
       * (ingress-nginx, cert-manager, the Prometheus operator) admit only these.
       * @default the private ranges 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16
       */
      apiServerCidrs: z
        .array(cidr, { error: "expected a list of IPv4 CIDRs" })
        .min(1, { error: "expected at least one CIDR" })
        .optional(),
      /** StorageClass of plinth's volumes (MLflow's artifacts and PostgreSQL, Prometheus); the cluster default if unset. */
      storageClass: matching(DNS_LABEL, "a StorageClass name").optional(),
      /**
       * Who runs the control plane. `managed` (EKS, GKE, AKS and other hosted clusters): the
       * kube-prometheus-stack plinth installs scrapes no controller-manager, scheduler, etcd or
       * kube-proxy, which such clusters keep out of reach (and whose alerts would fire forever).
       * `self-managed` (kubeadm and the like): it scrapes all four. Only used when plinth installs
       * kube-prometheus-stack (no `monitoring` key). @default "managed"
       */
      controlPlane: z
        .enum(["managed", "self-managed"], { error: "expected managed or self-managed" })
        .optional(),
      /**
       * Whether the cluster serves the resource metrics API (metrics.k8s.io, from metrics-server or
       * another adapter) the inference HorizontalPodAutoscaler reads CPU from. Hosted clusters
       * other than EKS ship it, and a second metrics-server would fight the first over the
       * cluster-wide APIService, so plinth installs none here. `none` is accepted only with a fixed
       * replica count (inference.replicas.min equal to max): the HPA could not scale.
       * @default "provided"
       */
      metricsApi: z.enum(["provided", "none"], { error: "expected provided or none" }).optional(),
      /**
       * StorageClass of MLflow's artifact volume alone. With more than one MLflow replica (production)
       * the volume is ReadWriteMany, which block-storage classes (the usual default) cannot bind: name
       * a shared-filesystem class here (EFS, Filestore, NFS, CephFS). @default storageClass
       */
      artifactStorageClass: matching(DNS_LABEL, "a StorageClass name").optional(),
      /**
       * The IngressClass of the ingress-nginx plinth installs when `ingressController` is not set
       * (only with `plinth:edge: ingress-nginx`).
       * Never the cluster's default unless asked: an existing cluster's default class belongs to its
       * owners, and two defaults make the API server refuse every Ingress without a class.
       * @default { name: "plinth-nginx", default: false }
       */
      ingressClass: z
        .strictObject({
          // Defaulted by the component (components/ingress-tls: "plinth-nginx" on existing).
          name: matching(DNS_LABEL, "an IngressClass name").optional(),
          default: z.boolean({ error: "expected true or false" }).default(false),
        })
        .optional(),
    },
    { error: "expected the existing-cluster settings object" },
  )
  .superRefine((value, ctx) => {
    if (value.monitoring && value.controlPlane) {
      ctx.addIssue({
        code: "custom",
        path: ["controlPlane"],
        message:
          "chooses what the kube-prometheus-stack plinth installs scrapes, and monitoring reuses the cluster's instead; remove one",
      });
    }
    if (value.ingressController && value.ingressClass) {
      ctx.addIssue({
        code: "custom",
        path: ["ingressClass"],
        message:
          "configures the ingress-nginx plinth installs, and ingressController reuses the cluster's instead; remove one",
      });
    }
  });

/** The whole `plinth:` namespace. Secrets are plain strings here; the loader checks they are secret. */
export const stackConfigSchema = z
  .strictObject({
    cloud: z.enum(["aws", "gcp", "existing"], { error: "expected aws, gcp or existing" }),
    domain: matching(HOSTNAME, "a DNS domain such as ml.example.com"),
    /**
     * What publishes plinth's routes at the internet edge. `gateway`: the Gateway API, on the Traefik
     * plinth installs (or the cluster's, existingCluster.gatewayController). `ingress-nginx`: Ingress
     * objects on ingress-nginx, which the Kubernetes project retired in March 2026 (no fixes, no
     * security patches); kept only for clusters that already run it. @default "gateway"
     */
    edge: z.enum(EDGES, { error: "expected gateway or ingress-nginx" }).default("gateway"),
    acme,
    aws: aws.optional(),
    gcp: gcp.optional(),
    oauth2Proxy,
    inference,
    mlflow,
    rateLimitStore,
    monitoring,
    existingCluster: existingCluster.optional(),
    /** Protect stateful resources (databases, buckets) from deletion; true in production. */
    protect: z.boolean({ error: "expected true or false" }),
    oidcClientSecret: text("the OIDC client secret"),
    kubeconfig: text("a kubeconfig").optional(),
    slackWebhookUrl: z.url({ protocol: /^https$/, error: "expected an https Slack webhook URL" }).optional(),
  })
  .superRefine((value, ctx) => {
    const needs = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    if (value.cloud === "aws" && !value.aws) needs("aws", "required when cloud is aws");
    if (value.cloud === "gcp" && !value.gcp) needs("gcp", "required when cloud is gcp");
    if (value.cloud === "existing" && !value.kubeconfig)
      needs("kubeconfig", "required when cloud is existing");
    if (value.cloud !== "existing" && value.existingCluster) {
      needs("existingCluster", "only used when cloud is existing; remove it or set plinth:cloud to existing");
    }
    checkEdge(value.edge, value.existingCluster, ctx);
    if (value.monitoring.alertReceivers.slackChannel && !value.slackWebhookUrl) {
      needs("slackWebhookUrl", "required when monitoring.alertReceivers.slackChannel is set");
    }
    checkZones(value.aws?.zones, value.aws?.region, AWS_REGION, "aws", ctx);
    checkZones(value.gcp?.zones, value.gcp?.region, GCP_REGION, "gcp", ctx);
    const { nodeGroup } = value.aws ?? {};
    if (
      nodeGroup &&
      !(nodeGroup.minSize <= nodeGroup.desiredSize && nodeGroup.desiredSize <= nodeGroup.maxSize)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["aws", "nodeGroup"],
        message: "expected minSize <= desiredSize <= maxSize",
      });
    }
    const { nodePool } = value.gcp ?? {};
    if (nodePool && nodePool.minNodes > nodePool.maxNodes) {
      ctx.addIssue({
        code: "custom",
        path: ["gcp", "nodePool", "minNodes"],
        message: "must not exceed maxNodes",
      });
    }
    // Cloud SQL rejects point-in-time recovery whose log retention is not below the backups kept
    // ("backup retention should be > transaction log retention"). Checked wherever the gcp section
    // is set, since a stack is rendered for gcp whenever it has one.
    const { backupRetentionDays, transactionLogRetentionDays } = value.mlflow.database;
    if (value.gcp && transactionLogRetentionDays >= backupRetentionDays) {
      ctx.addIssue({
        code: "custom",
        path: ["mlflow", "database", "transactionLogRetentionDays"],
        message:
          `${transactionLogRetentionDays} must be less than plinth:mlflow.database.backupRetentionDays ` +
          `(${backupRetentionDays}): Cloud SQL keeps no transaction logs beyond its retained backups; ` +
          (backupRetentionDays > 1
            ? `set it to at most ${backupRetentionDays - 1} or keep more backups`
            : "keep at least 2 backups"),
      });
    }
    if (value.cloud === "existing" && value.existingCluster?.metricsApi === "none") {
      const { shape, models, shared } = value.inference;
      const sized: [string, DeploymentSize][] = [
        ...Object.entries(models).flatMap(([name, model]): [string, DeploymentSize][] =>
          model.deployment === "own" ? [[configPath(modelConfigPath(shape, name, "replicas")), model]] : [],
        ),
        ...(shared ? [["plinth:inference.shared.replicas", shared] as [string, DeploymentSize]] : []),
      ];
      for (const [at, { replicas }] of sized) {
        if (replicas.min === replicas.max) continue;
        ctx.addIssue({
          code: "custom",
          path: ["existingCluster", "metricsApi"],
          message:
            `none: the inference HorizontalPodAutoscaler scales ${at} between ${replicas.min} and ${replicas.max} ` +
            "on CPU from the metrics API (metrics.k8s.io), which this cluster does not serve; install metrics-server " +
            `and set provided, or set ${at}.min equal to max`,
        });
      }
    }
  });

/**
 * The existing-cluster keys of one edge are refused on the other: a reused Ingress controller or an
 * IngressClass means nothing to a Gateway, and a reused Gateway controller nothing to Ingresses.
 */
function checkEdge(
  edge: Edge,
  existing: { ingressController?: unknown; ingressClass?: unknown; gatewayController?: unknown } | undefined,
  ctx: z.RefinementCtx,
): void {
  const refuse = (key: string, message: string) =>
    ctx.addIssue({ code: "custom", path: ["existingCluster", key], message });
  if (edge === "gateway") {
    for (const key of ["ingressController", "ingressClass"] as const) {
      if (existing?.[key] === undefined) continue;
      refuse(
        key,
        "configures the Ingress path (ingress-nginx), and plinth:edge is gateway (the default): " +
          "set plinth:edge: ingress-nginx to keep the Ingress path, or remove it",
      );
    }
  } else if (existing?.gatewayController !== undefined) {
    refuse(
      "gatewayController",
      "reuses a Gateway API controller, and plinth:edge is ingress-nginx: set plinth:edge: gateway, or remove it",
    );
  }
}

function checkZones(
  zones: string[] | undefined,
  region: string | undefined,
  regionPattern: RegExp,
  cloud: string,
  ctx: z.RefinementCtx,
) {
  // Zones are checked against the region only once the region itself is valid: one error, not three.
  const validRegion = region !== undefined && regionPattern.test(region);
  zones?.forEach((zone, index) => {
    if (validRegion && !zone.startsWith(region)) {
      ctx.addIssue({
        code: "custom",
        path: [cloud, "zones", index],
        message: `expected a zone in region ${region}`,
      });
    }
  });
  if (zones && new Set(zones).size !== zones.length) {
    ctx.addIssue({ code: "custom", path: [cloud, "zones"], message: "expected distinct zones" });
  }
}

export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type ParsedStackConfig = z.output<typeof stackConfigSchema>;
export type Cloud = ParsedStackConfig["cloud"];
export type RolloutConfig = ModelSettings["rollout"];
export type InferenceShape = InferenceSettings["shape"];

/**
 * Where a model's setting sits in the stack file (config path parts, without `plinth:`): under
 * plinth:inference itself in the single-model shape, under plinth:inference.models.<name> otherwise.
 */
export function modelConfigPath(shape: InferenceShape, model: string, ...rest: string[]): string[] {
  return shape === "single-model" ? ["inference", ...rest] : ["inference", "models", model, ...rest];
}

/** `["inference", "rollout", "candidate", "weight"]` -> `plinth:inference.rollout.candidate.weight`. */
export function configPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "plinth";
  const [head, ...rest] = path;
  const tail = rest.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
  return `plinth:${String(head)}${tail}`;
}
export type PromotionGates = RolloutConfig["gates"];

/** Config keys that hold secrets: they must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["oidcClientSecret", "kubeconfig", "slackWebhookUrl"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];
