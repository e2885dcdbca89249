/**
 * Every stack-config error, by its message: each case breaks one key of the real staging config
 * and expects exactly the line the program prints for it.
 */
import { describe, expect, it } from "vitest";
import { decodeConfigValue, parseStackConfig } from "../../infra/config/load.js";
import { readStackFile, RENDER_SECRETS } from "../../infra/render/stack-config.js";
import { configProblems, isSecret, stagingWith } from "../support/stack-config-problems.js";

const problems = configProblems;

/** Where staging's one model's settings sit: plinth:inference.models.fashion-classifier. */
const AT = "plinth:inference.models.fashion-classifier";
/** A change to staging's one model's settings. */
const model = (settings: Record<string, unknown>) => ({
  inference: { models: { "fashion-classifier": settings } },
});

const cases: [string, Record<string, unknown>, string][] = [
  ["unknown cloud", { cloud: "azure" }, "plinth:cloud: expected aws, gcp or existing"],
  ["bad domain", { domain: "not a domain" }, "plinth:domain: expected a DNS domain such as ml.example.com"],
  ["bad ACME email", { acme: { email: "ops" } }, "plinth:acme.email: expected an email address"],
  [
    "plain-http ACME server",
    { acme: { server: "http://acme.example.com/directory" } },
    "plinth:acme.server: expected an https ACME directory URL",
  ],
  [
    "bad AWS region",
    { aws: { region: "europe" } },
    "plinth:aws.region: expected an AWS region such as eu-west-1",
  ],
  [
    "one AWS zone",
    { aws: { zones: ["eu-west-1a"] } },
    "plinth:aws.zones: expected at least 2 availability zones",
  ],
  [
    "zone outside the region",
    { aws: { zones: ["eu-west-1a", "us-east-1b"] } },
    "plinth:aws.zones[1]: expected a zone in region eu-west-1",
  ],
  [
    "repeated zone",
    { aws: { zones: ["eu-west-1a", "eu-west-1a"] } },
    "plinth:aws.zones: expected distinct zones",
  ],
  [
    "bad VPC CIDR",
    { aws: { vpcCidr: "10.0.0.0/33" } },
    "plinth:aws.vpcCidr: expected an IPv4 CIDR such as 10.0.0.0/16",
  ],
  [
    "bad Kubernetes version",
    { aws: { kubernetesVersion: "latest" } },
    'plinth:aws.kubernetesVersion: expected a Kubernetes minor version such as "1.35"',
  ],
  [
    "API endpoint open to the internet",
    { aws: { publicEndpointCidrs: ["0.0.0.0/0"] } },
    "plinth:aws.publicEndpointCidrs[0]: a /0 range opens the API server to the internet; list the office and CI ranges instead",
  ],
  [
    "node group desired above max",
    { aws: { nodeGroup: { desiredSize: 9 } } },
    "plinth:aws.nodeGroup: expected minSize <= desiredSize <= maxSize",
  ],
  [
    "node group size out of range",
    { aws: { nodeGroup: { minSize: 0 } } },
    "plinth:aws.nodeGroup.minSize: expected an integer between 1 and 100",
  ],
  [
    "bad RDS class",
    { aws: { databaseInstanceClass: "t4g.small" } },
    "plinth:aws.databaseInstanceClass: expected an RDS instance class such as db.t4g.medium",
  ],
  [
    "bad ElastiCache node type",
    { aws: { rateLimitStoreNodeType: "t4g.small" } },
    "plinth:aws.rateLimitStoreNodeType: expected an ElastiCache node type such as cache.t4g.small",
  ],
  ["bad GCP project", { gcp: { project: "P" } }, "plinth:gcp.project: expected a GCP project id"],
  [
    "bad GCP region",
    { gcp: { region: "eu-west-1" } },
    "plinth:gcp.region: expected a GCP region such as europe-west1",
  ],
  [
    "GKE master range not /28",
    { gcp: { masterCidr: "172.16.0.0/24" } },
    "plinth:gcp.masterCidr: expected a /28 CIDR for the GKE control plane",
  ],
  [
    "unknown release channel",
    { gcp: { releaseChannel: "NIGHTLY" } },
    "plinth:gcp.releaseChannel: expected RAPID, REGULAR or STABLE",
  ],
  [
    "no authorised networks",
    { gcp: { masterAuthorizedCidrs: [] } },
    "plinth:gcp.masterAuthorizedCidrs: expected at least 1 CIDRs",
  ],
  [
    "node pool min above max",
    { gcp: { nodePool: { minNodes: 5 } } },
    "plinth:gcp.nodePool.minNodes: must not exceed maxNodes",
  ],
  [
    "bad Cloud SQL tier",
    { gcp: { databaseTier: "small" } },
    "plinth:gcp.databaseTier: expected a Cloud SQL tier such as db-custom-2-7680",
  ],
  [
    "Memorystore of no memory",
    { gcp: { rateLimitStoreMemoryGb: 0 } },
    "plinth:gcp.rateLimitStoreMemoryGb: expected an integer between 1 and 300",
  ],
  [
    "rate-limit Redis image by tag",
    { rateLimitStore: { redisImage: "redis:8.2" } },
    "plinth:rateLimitStore.redisImage: expected an image pinned by digest (registry/name@sha256:<64 hex>)",
  ],
  [
    "unknown rate-limit failure mode",
    { rateLimitStore: { failureMode: "open" } },
    "plinth:rateLimitStore.failureMode: expected per-pod or closed",
  ],
  [
    "oauth2-proxy image by tag",
    { oauth2Proxy: { image: "quay.io/oauth2-proxy/oauth2-proxy:latest" } },
    "plinth:oauth2Proxy.image: expected an image pinned by digest (registry/name@sha256:<64 hex>)",
  ],
  [
    "plain-http issuer",
    { oauth2Proxy: { issuerUrl: "http://login.example.com" } },
    "plinth:oauth2Proxy.issuerUrl: expected an https OIDC issuer URL",
  ],
  [
    "empty client id",
    { oauth2Proxy: { clientId: "" } },
    "plinth:oauth2Proxy.clientId: expected an OIDC client id",
  ],
  [
    "no email domains",
    { oauth2Proxy: { allowedEmailDomains: [] } },
    "plinth:oauth2Proxy.allowedEmailDomains: expected at least 1 email domains",
  ],
  [
    "bad email domain",
    { oauth2Proxy: { allowedEmailDomains: ["*"] } },
    "plinth:oauth2Proxy.allowedEmailDomains[0]: expected an email domain such as example.com",
  ],
  [
    "a stack file from before roles came from groups",
    { oauth2Proxy: { adminGroups: null } },
    "plinth:oauth2Proxy.adminGroups: required, the identity-provider groups whose members are admins (roles come from groups: a signed-in user of the allowed domains is no longer an admin by the domain alone)",
  ],
  [
    "an empty admin group list",
    { oauth2Proxy: { adminGroups: [] } },
    "plinth:oauth2Proxy.adminGroups: expected at least 1 admin groups",
  ],
  [
    "a group name with a comma",
    { oauth2Proxy: { opsReadGroups: ["sre,oncall"] } },
    "plinth:oauth2Proxy.opsReadGroups[0]: expected a group name (1-256 characters, no comma)",
  ],
  [
    "canary weight above 100",
    model({ rollout: { candidate: { weight: 150 } } }),
    `${AT}.rollout.candidate.weight: expected a number between 0 and 100`,
  ],
  [
    "canary weight not a number",
    model({ rollout: { candidate: { weight: "ten" } } }),
    `${AT}.rollout.candidate.weight: expected a number between 0 and 100`,
  ],
  [
    "unknown strategy",
    model({ rollout: { strategy: "linear", candidate: null } }),
    `${AT}.rollout.strategy: expected single, canary, shadow or blue-green`,
  ],
  [
    "canary without candidate",
    model({ rollout: { candidate: null } }),
    `${AT}.rollout.candidate: required when strategy is canary`,
  ],
  [
    "canary without weight",
    model({ rollout: { candidate: { weight: null } } }),
    `${AT}.rollout.candidate.weight: required when strategy is canary: expected a number between 0 and 100`,
  ],
  [
    "shadow without share",
    model({ rollout: { strategy: "shadow", candidate: { weight: null } } }),
    `${AT}.rollout.candidate.shadowPercent: required when strategy is shadow: expected a number between 0 and 100`,
  ],
  [
    "shadow share above 100",
    model({ rollout: { strategy: "shadow", candidate: { weight: null, shadowPercent: 101 } } }),
    `${AT}.rollout.candidate.shadowPercent: expected a number between 0 and 100`,
  ],
  [
    "single with a candidate",
    model({ rollout: { strategy: "single" } }),
    `${AT}.rollout.candidate: not used by strategy single; remove it or choose canary or shadow`,
  ],
  [
    "blue-green without colours",
    model({ rollout: { strategy: "blue-green", candidate: null } }),
    `${AT}.rollout.blueGreen: required when strategy is blue-green`,
  ],
  [
    "colours on a canary",
    model({
      rollout: { blueGreen: { active: "blue", blue: { modelVersion: "1" }, green: { modelVersion: "2" } } },
    }),
    `${AT}.rollout.blueGreen: not used by strategy canary; remove it or choose blue-green`,
  ],
  [
    "unknown active colour",
    model({
      rollout: {
        strategy: "blue-green",
        candidate: null,
        blueGreen: { active: "red", blue: { modelVersion: "1" }, green: { modelVersion: "2" } },
      },
    }),
    `${AT}.rollout.blueGreen.active: expected blue or green`,
  ],
  [
    "bad model version",
    model({ rollout: { stable: { modelVersion: "v 1" } } }),
    `${AT}.rollout.stable.modelVersion: expected a model version or alias (letters, digits, '.', '_', '-')`,
  ],
  [
    "inference image by tag",
    { inference: { image: "ghcr.io/plinth-ml/plinth:latest" } },
    "plinth:inference.image: expected an image pinned by digest (registry/name@sha256:<64 hex>)",
  ],
  [
    "replicas min above max",
    model({ replicas: { min: 5, max: 2 } }),
    `${AT}.replicas.min: min must not exceed max`,
  ],
  [
    "CPU target too low",
    model({ targetCpuUtilization: 5 }),
    `${AT}.targetCpuUtilization: expected an integer between 10 and 95`,
  ],
  [
    "bad CPU quantity",
    model({ resources: { limits: { cpu: "lots" } } }),
    `${AT}.resources.limits.cpu: expected a CPU quantity such as "500m" or "2"`,
  ],
  [
    "bad memory quantity",
    model({ resources: { limits: { memory: "1GB" } } }),
    `${AT}.resources.limits.memory: expected a memory quantity such as "512Mi" or "2Gi"`,
  ],
  [
    "CPU request above limit",
    model({ resources: { requests: { cpu: "2" } } }),
    `${AT}.resources.requests.cpu: must not exceed limits.cpu`,
  ],
  [
    "memory request above limit",
    model({ resources: { requests: { memory: "1Gi" } } }),
    `${AT}.resources.requests.memory: must not exceed limits.memory`,
  ],
  [
    "bad drift schedule",
    model({ drift: { schedule: "hourly" } }),
    `${AT}.drift.schedule: expected a five-field cron schedule such as "*/15 * * * *"`,
  ],
  [
    "warn threshold above alert",
    model({ drift: { warnPsi: 0.3 } }),
    `${AT}.drift.warnPsi: must be below alertPsi`,
  ],
  [
    "bad retrain schedule",
    model({ retrain: { schedule: "weekly" } }),
    `${AT}.retrain.schedule: expected a five-field cron schedule such as "0 3 * * 0"`,
  ],
  [
    "MLflow image by tag",
    { mlflow: { image: "ghcr.io/plinth-ml/mlflow:3.17.2" } },
    "plinth:mlflow.image: expected an image pinned by digest (registry/name@sha256:<64 hex>)",
  ],
  [
    "tiny database",
    { mlflow: { database: { storageGb: 1 } } },
    "plinth:mlflow.database.storageGb: expected an integer between 10 and 16384",
  ],
  [
    "backups kept too long",
    { mlflow: { database: { backupRetentionDays: 40 } } },
    "plinth:mlflow.database.backupRetentionDays: expected an integer between 1 and 35",
  ],
  [
    "PITR logs beyond the Enterprise edition's 7 days",
    { mlflow: { database: { transactionLogRetentionDays: 8, backupRetentionDays: 14 } } },
    "plinth:mlflow.database.transactionLogRetentionDays: expected an integer between 1 and 7",
  ],
  [
    "PITR logs kept as long as the backups",
    { mlflow: { database: { transactionLogRetentionDays: 3 } } },
    "plinth:mlflow.database.transactionLogRetentionDays: 3 must be less than plinth:mlflow.database.backupRetentionDays (3): " +
      "Cloud SQL keeps no transaction logs beyond its retained backups; set it to at most 2 or keep more backups",
  ],
  [
    "default PITR logs (7 days) against 3 backups",
    { mlflow: { database: { transactionLogRetentionDays: null } } },
    "plinth:mlflow.database.transactionLogRetentionDays: 7 must be less than plinth:mlflow.database.backupRetentionDays (3): " +
      "Cloud SQL keeps no transaction logs beyond its retained backups; set it to at most 2 or keep more backups",
  ],
  [
    "one backup leaves no room for PITR logs",
    { mlflow: { database: { backupRetentionDays: 1, transactionLogRetentionDays: 1 } } },
    "plinth:mlflow.database.transactionLogRetentionDays: 1 must be less than plinth:mlflow.database.backupRetentionDays (1): " +
      "Cloud SQL keeps no transaction logs beyond its retained backups; keep at least 2 backups",
  ],
  [
    "bad retention",
    { monitoring: { retention: "a month" } },
    'plinth:monitoring.retention: expected a Prometheus duration such as "15d"',
  ],
  [
    "no alert receiver",
    { monitoring: { alertReceivers: { slackChannel: null } } },
    "plinth:monitoring.alertReceivers: expected at least one receiver (slackChannel or emails)",
  ],
  [
    "email without SMTP",
    { monitoring: { alertReceivers: { emails: ["oncall@plinth.example.com"] } } },
    "plinth:monitoring.alertReceivers.smtpSmarthost: smtpSmarthost and smtpFrom are required with emails",
  ],
  [
    "bad Slack channel",
    { monitoring: { alertReceivers: { slackChannel: "alerts" } } },
    "plinth:monitoring.alertReceivers.slackChannel: expected a Slack channel such as #ml-alerts",
  ],
  [
    "availability target of 1.5",
    { monitoring: { slo: { availability: 1.5 } } },
    "plinth:monitoring.slo.availability: expected a number between 0.9 and 0.99999",
  ],
  [
    "zero latency threshold",
    { monitoring: { slo: { latencyThresholdSeconds: 0 } } },
    "plinth:monitoring.slo.latencyThresholdSeconds: expected a number between 0.001 and 60",
  ],
  ["protect as text", { protect: "yes" }, "plinth:protect: expected true or false"],
  [
    "inference not an object",
    { inference: "fast" },
    "plinth:inference: expected the inference settings object",
  ],
  [
    "missing client secret",
    { oidcClientSecret: null },
    "plinth:oidcClientSecret: required, expected the OIDC client secret",
  ],
  ["aws cloud without aws settings", { aws: null }, "plinth:aws: required when cloud is aws"],
  ["gcp cloud without gcp settings", { cloud: "gcp", gcp: null }, "plinth:gcp: required when cloud is gcp"],
  [
    "existing cloud without kubeconfig",
    { cloud: "existing" },
    "plinth:kubeconfig: required when cloud is existing",
  ],
  [
    "Slack channel without webhook",
    { slackWebhookUrl: null },
    "plinth:slackWebhookUrl: required when monitoring.alertReceivers.slackChannel is set",
  ],
  ["typo in a nested key", { inference: { replica: 3 } }, "plinth:inference.replica: unknown key"],
  ["unknown top-level key", { clusterSize: 3 }, "plinth:clusterSize: unknown key"],
];

describe("stack config errors", () => {
  it("accepts both stack files as they are", () => {
    expect(problems(stagingWith({}))).toEqual([]);
    const { values } = readStackFile("production");
    expect(
      problems({ ...values, oidcClientSecret: "x", slackWebhookUrl: RENDER_SECRETS.slackWebhookUrl }),
    ).toEqual([]);
  });

  it("defaults PITR log retention to Cloud SQL's 7 days, and checks it only against a gcp section", () => {
    const { values } = readStackFile("production");
    const production = parseStackConfig(
      { ...values, oidcClientSecret: "x", slackWebhookUrl: RENDER_SECRETS.slackWebhookUrl },
      isSecret,
    );
    expect(production.mlflow.database).toEqual({
      storageGb: 100,
      backupRetentionDays: 14,
      transactionLogRetentionDays: 7,
    });
    expect(parseStackConfig(stagingWith({}), isSecret).mlflow.database.transactionLogRetentionDays).toBe(2);
    // An aws-only stack never builds Cloud SQL: its RDS backups are not held to the Cloud SQL rule.
    expect(
      problems(stagingWith({ gcp: null, mlflow: { database: { transactionLogRetentionDays: null } } })),
    ).toEqual([]);
  });

  it.each(cases)("%s", (_title, override, message) => {
    expect(problems(stagingWith(override))).toEqual([message]);
  });

  it("reports every bad key at once", () => {
    const found = problems(
      stagingWith({
        cloud: "azure",
        inference: {
          models: { "fashion-classifier": { rollout: { candidate: { weight: 150 } } } },
          replica: 3,
        },
        protect: "yes",
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        "plinth:cloud: expected aws, gcp or existing",
        `${AT}.rollout.candidate.weight: expected a number between 0 and 100`,
        "plinth:inference.replica: unknown key",
        "plinth:protect: expected true or false",
      ]),
    );
    expect(found).toHaveLength(4);
    expect(() => parseStackConfig(stagingWith({ cloud: "azure", protect: "yes" }), isSecret)).toThrow(
      "invalid stack config (2 problems):\n  plinth:cloud: expected aws, gcp or existing\n  plinth:protect: expected true or false",
    );
  });

  it("rejects a secret key set in plain text", () => {
    expect(problems(stagingWith({}), (key) => key !== "oidcClientSecret")).toEqual([
      "plinth:oidcClientSecret: must be a secret; set it with `pulumi config set --secret plinth:oidcClientSecret`",
    ]);
  });
});

describe("config values as the engine passes them", () => {
  it("decodes structured values from JSON and keeps scalars and secrets as text", () => {
    expect(decodeConfigValue("inference", '{"replicas":{"min":2}}')).toEqual({ replicas: { min: 2 } });
    expect(decodeConfigValue("protect", "true")).toBe(true);
    expect(decodeConfigValue("domain", "ml.example.com")).toBe("ml.example.com");
    expect(decodeConfigValue("kubeconfig", '{"apiVersion":"v1"}')).toBe('{"apiVersion":"v1"}');
    expect(decodeConfigValue("inference", "{not json")).toBe("{not json");
  });
});
