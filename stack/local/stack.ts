/**
 * The whole system on loopback, as plain processes: the inference service (the bundled model, or
 * one process per model of a stack file: see model-plans.ts), MLflow, Prometheus (scraping every
 * service process, loading the stack's alert rules), an OIDC provider with
 * users in an allowed and a refused email domain, oauth2-proxy, and the edge terminating TLS with a
 * CA made for this run: Traefik, the cluster's Gateway API controller, with the middlewares the
 * cluster's routes carry (traefik-conf.ts), or nginx configured as ingress-nginx (nginx-conf.ts),
 * for clusters that keep it. Both route what edge-routes.ts lists. `startLocalStack` is what
 * `npm run stack:local`, the e2e tests and the soak all start.
 *
 * Secrets (API key, OIDC client secret, cookie secret, user passwords, CA key) are random per run
 * and live only in memory, the children's environments and a temporary folder (key and settings
 * files mode 0600) removed by `stop()`.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { stringify as yamlText } from "yaml";
import { groupFlags, SESSION_FLAGS } from "../../components/oauth2-proxy/contract.js";
import { ENV } from "../../service/contract/service-env.js";
import { renderNginxConf } from "./nginx-conf.js";
import { traefikDynamicConfig, traefikStaticConfig, type TraefikConfOptions } from "./traefik-conf.js";
import { listenBacklog } from "../../service/contract/listen-backlog.js";
import type { OidcSettings, OidcUser } from "./oidc/provider.js";
import {
  productionRuleGroups,
  readStackConfig,
  renderPrometheusConf,
  renderRulesFile,
  stackRuleGroups,
} from "./prometheus-conf.js";
import type { RuleGroup } from "../../components/monitoring/rules.js";
import { bundledModelPlan, localServicePlans, type LocalServicePlan } from "./model-plans.js";
import { SupervisedProcess, httpOk, waitUntilReady, type ChildSpec, type LogSink } from "./process.js";
import { createLocalTls } from "./tls.js";
import { assertToolsInstalled, REPO_ROOT, TOOLS } from "./tools.js";
import { MLFLOW_SERVER_ENV } from "../../components/mlflow/server-env.js";
import { BACKEND_STORE_URI_ENV, mlflowServerArgs } from "../../components/mlflow/server-args.js";
import { IMAGE_PROGRAMS } from "../../service/contract/image-commands.js";
import { PROBE_PATHS } from "../../service/contract/probe-paths.js";

/** The proxy at the edge: Traefik (the cluster's Gateway path), or nginx (the Ingress path). */
export const EDGES = ["traefik", "nginx"] as const;
export type Edge = (typeof EDGES)[number];

export interface StackPorts {
  /** The edge, TLS: the one address a user opens. */
  readonly https: number;
  /** The edge, plain HTTP: redirects to https. */
  readonly http: number;
  readonly service: number;
  readonly metrics: number;
  readonly oauth2Proxy: number;
  readonly oidc: number;
  readonly prometheus: number;
  readonly mlflow: number;
}

/** The ports `npm run stack:local` uses unless told otherwise. */
export const DEFAULT_PORTS: StackPorts = {
  https: 8443,
  http: 8880,
  service: 18080,
  metrics: 19464,
  oauth2Proxy: 14180,
  oidc: 19000,
  prometheus: 19090,
  mlflow: 15000,
};

export const ALLOWED_EMAIL_DOMAIN = "plinth.test";
export const OTHER_EMAIL_DOMAIN = "elsewhere.test";
/** The identity provider's groups that grant roles here (the stack files' adminGroups, opsReadGroups). */
export const ADMIN_GROUP = "plinth-admins";
export const OPS_READ_GROUP = "plinth-sre";
const HOST = "127.0.0.1";
/**
 * MLflow's host on the Traefik edge, behind oauth2-proxy (admin groups only), as the cluster's
 * mlflow.<domain>: browsers resolve every *.localhost name to loopback.
 */
export const MLFLOW_HOST = "mlflow.localhost";
const OIDC_CLIENT_ID = "plinth-local";
/** MLflow's first start creates its sqlite schema (dozens of migrations). */
const START_TIMEOUT_MS = 180_000;

export interface LocalStackOptions {
  /** Where every process's prefixed output lines go. */
  readonly log: LogSink;
  /** Fixed ports; omitted ones are picked free at random. */
  readonly ports?: Partial<StackPorts>;
  /** The proxy at the edge. @default "traefik" */
  readonly edge?: Edge;
  /** The edge's access log lines (off for load tests). @default true */
  readonly accessLog?: boolean;
  /** Extra service environment (e.g. a higher RATE_LIMIT_MAX for the soak). */
  readonly serviceEnv?: Readonly<Record<string, string>>;
  /** Prometheus scrape and evaluation interval. @default 5 */
  readonly scrapeIntervalSeconds?: number;
  /**
   * A stack file (Pulumi.<stack>.yaml), validated with the stack schema: one service process per
   * InferenceService its models make, each with its rollout, routed and scraped as in the cluster,
   * and Prometheus loads the rules built from it. Unset: the bundled model, and the production
   * stack's rules.
   */
  readonly stackFile?: string;
  /**
   * The local registry folder every service process reads its models from (PLINTH_REGISTRY_DIR),
   * whatever a model's `source`. @default the repository's models/
   */
  readonly registryDir?: string;
}

/** One service process, and the model(s) it serves. */
export interface LocalModelService {
  readonly pid: number;
  /** Its API port (the edge's upstream). */
  readonly port: number;
  readonly metricsPort: number;
  /** Its InferenceService's name in the cluster. */
  readonly serviceName: string;
  /** The `service` label of its series in Prometheus: its metrics Service's name in the cluster. */
  readonly metricsService: string;
  /** Its process's name in the stack's log and `pids` (`service`, `service:<model>`). */
  readonly processName: string;
  /** Its prediction log (JSONL). */
  readonly predictionLogFile: string;
  /** Its audit log (JSONL). */
  readonly auditLogFile: string;
}

export interface LocalStack {
  readonly ports: StackPorts;
  /** The proxy at the edge. */
  readonly edge: Edge;
  /** https://127.0.0.1:<https>: public API and, behind oauth2-proxy, /admin and /ops. */
  readonly origin: string;
  readonly urls: {
    readonly prometheus: string;
    /** MLflow itself (no auth: for the tests' and a user's scripts). */
    readonly mlflow: string;
    /**
     * MLflow through the edge on its own host, behind oauth2-proxy for the admin groups, as in the
     * cluster (the Traefik edge only; a client must resolve MLFLOW_HOST to 127.0.0.1).
     */
    readonly mlflowThroughEdge?: string;
    readonly oidcIssuer: string;
  };
  /** PEM file of this run's CA (gone after stop). */
  readonly caFile: string;
  /** `x-api-key` for the public API. */
  readonly apiKey: string;
  /**
   * allowed: in the admin group; reader: in the ops-read group; ungrouped: of the allowed domain in
   * no group (oauth2-proxy refuses them); other: of another domain (refused).
   */
  readonly users: {
    readonly allowed: OidcUser;
    readonly reader: OidcUser;
    readonly ungrouped: OidcUser;
    readonly other: OidcUser;
  };
  /** JSONL of every prediction the default model's service made (prediction_id and label per line). */
  readonly predictionLogFile: string;
  /** JSONL of the default model's service's admin actions and refusals. */
  readonly auditLogFile: string;
  /** The edge's access log (when accessLog is on). */
  readonly accessLogFile: string;
  /** The default model's service process id (for RSS). */
  readonly servicePid: number;
  /** The model the bare routes serve (the bundled model without a stack file). */
  readonly defaultModel: string;
  /** Every served model's process, by model name (models sharing a process share its entry). */
  readonly services: Readonly<Record<string, LocalModelService>>;
  /** Every process the stack started, by name (service, mlflow, traefik or nginx, ...): for CPU accounting. */
  readonly pids: Readonly<Record<string, number>>;
  /** Stops every process (reverse start order) and removes the temporary folder. */
  stop(): Promise<void>;
  /** Synchronous SIGKILL to every process group, for `process.on("exit")`. */
  kill(): void;
}

function secret(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}

/** Random ports are drawn below Linux's ephemeral range (32768+), where the source ports of
 * outgoing connections would otherwise take a port between its pick and its bind. */
const RANDOM_PORT_MIN = 20_000;
const RANDOM_PORT_MAX = 32_000;

function canBind(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** The API and metrics ports of a service process beyond the default model's. */
interface ProcessPorts {
  readonly port: number;
  readonly metricsPort: number;
}

/**
 * The stack's ports, and those of `extra` more service processes: with a fixed service (metrics)
 * port, the next ones up (18081, 18082, ... for `npm run stack:local`), else free ones at random.
 */
async function resolvePorts(
  fixed: Partial<StackPorts>,
  extra: number,
): Promise<{ ports: StackPorts; extra: ProcessPorts[] }> {
  const taken = new Set<number>(Object.values(fixed));
  const pick = async (): Promise<number> => {
    for (;;) {
      const port = RANDOM_PORT_MIN + Math.floor(Math.random() * (RANDOM_PORT_MAX - RANDOM_PORT_MIN));
      if (!taken.has(port) && (await canBind(port))) {
        taken.add(port);
        return port;
      }
    }
  };
  const ports: Record<string, number> = {};
  for (const name of Object.keys(DEFAULT_PORTS) as (keyof StackPorts)[]) {
    ports[name] = fixed[name] ?? (await pick());
  }
  const next = async (base: number | undefined, i: number) => {
    if (base === undefined) return pick();
    if (taken.has(base + i))
      throw new Error(`port ${base + i} (${base} + ${i}) is already one of the stack's`);
    taken.add(base + i);
    return base + i;
  };
  const more: ProcessPorts[] = [];
  for (let i = 1; i <= extra; i++) {
    more.push({ port: await next(fixed.service, i), metricsPort: await next(fixed.metrics, i) });
  }
  return { ports: ports as unknown as StackPorts, extra: more };
}

/**
 * The service processes to start: those of the stack file, or the bundled model's one. A version the
 * registry folder does not hold is awaited, as in the cluster (see reportAwaited).
 */
async function servicePlans(
  options: LocalStackOptions,
): Promise<{ plans: LocalServicePlan[]; defaultModel: string; rules: RuleGroup[] }> {
  if (options.stackFile === undefined) {
    const plan = bundledModelPlan();
    return { plans: [plan], defaultModel: plan.models[0]!, rules: await productionRuleGroups(REPO_ROOT) };
  }
  const config = await readStackConfig(options.stackFile);
  const plans = localServicePlans(config);
  return {
    plans,
    defaultModel: config.inference.defaultModel,
    rules: stackRuleGroups(config),
  };
}

/** The environment every child starts from: nothing inherited but what a process needs. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? os.tmpdir(),
    LANG: "C.UTF-8",
  };
  for (const name of ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function user(local: string, domain: string, name: string, groups: string[] = []): OidcUser {
  return { email: `${local}@${domain}`, password: secret(12), name, groups };
}

/**
 * Logs each model variant that awaits a version the registry folder does not hold (its requests
 * answer 503 saying so, or fall back to stable for a candidate), from the services' own pod
 * readiness: a missing alias shows here rather than as a silent 503.
 */
async function reportAwaited(ports: readonly number[], log: LogSink): Promise<void> {
  for (const port of ports) {
    const response = await fetch(`http://${HOST}:${port}${PROBE_PATHS.podReady}`);
    const body = (await response.json()) as {
      models?: { name: string; variants: { variant: string; state: string }[]; reason?: string }[];
      error?: { message: string };
    };
    // 503: a model misses an alias or version of a model that has versions (the cluster would keep
    // such a pod out of its Service); the message names each and why.
    if (body.error) log(`stack:local: the process on port ${port}: ${body.error.message}`);
    for (const model of body.models ?? []) {
      for (const { variant, state } of model.variants) {
        if (state === "ready") continue;
        log(
          `stack:local: model ${model.name} ${variant}: ${state}${model.reason ? ` (${model.reason})` : ""}`,
        );
      }
    }
  }
}

/** Starts everything and waits until each process answers; on any failure stops what started. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const edge = options.edge ?? "traefik";
  assertToolsInstalled(["oauth2Proxy", "mlflow", edge, "prometheus", "openssl"]);
  const { plans, defaultModel, rules: ruleGroups } = await servicePlans(options);
  const resolved = await resolvePorts(options.ports ?? {}, plans.length - 1);
  const { ports } = resolved;
  // The default model's process first, on the stack's service and metrics ports.
  const processes = plans.map((plan, i) => ({
    plan,
    ...(i === 0 ? { port: ports.service, metricsPort: ports.metrics } : resolved.extra[i - 1]!),
    name: i === 0 ? "service" : `service:${plan.models[0]!}`,
    predictionLogFile: i === 0 ? "predictions.jsonl" : `predictions-${plan.models[0]!}.jsonl`,
    auditLogFile: i === 0 ? "audit.jsonl" : `audit-${plan.models[0]!}.jsonl`,
  }));
  const origin = `https://${HOST}:${ports.https}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), "plinth-stack-"));
  const file = (name: string) => path.join(dir, name);
  const running: SupervisedProcess[] = [];
  const start = (spec: Omit<ChildSpec, "cwd">) => {
    const proc = SupervisedProcess.start({ cwd: REPO_ROOT, ...spec }, options.log);
    running.push(proc);
    return proc;
  };
  const stop = async () => {
    for (const proc of [...running].reverse()) await proc.stop();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const apiKey = secret(24);
    const users = {
      allowed: user("ada", ALLOWED_EMAIL_DOMAIN, "Ada Operator", ["staff", ADMIN_GROUP]),
      reader: user("grace", ALLOWED_EMAIL_DOMAIN, "Grace Oncall", [OPS_READ_GROUP]),
      ungrouped: user("eve", ALLOWED_EMAIL_DOMAIN, "Eve Newhire", ["staff"]),
      other: user("mallory", OTHER_EMAIL_DOMAIN, "Mallory Outsider", [ADMIN_GROUP]),
    };
    // Marks what the edge forwards: the service counts oauth2-proxy's headers only with it, so another
    // process on this machine that reaches the service's port cannot name a user.
    const edgeToken = secret(32);
    const clientSecret = secret(32);
    // The canary buckets' HMAC key, one for every process, as the cluster's pods share one Secret.
    const bucketKey = secret(32);
    const tls = await createLocalTls(dir, [MLFLOW_HOST]);
    // Every host oauth2-proxy signs users in on (its callback is on the host asked for).
    const hosts = [
      `${HOST}:${ports.https}`,
      ...(edge === "traefik" ? [`${MLFLOW_HOST}:${ports.https}`] : []),
    ];

    const models =
      options.stackFile === undefined
        ? undefined
        : processes.flatMap(({ plan, port }) =>
            plan.models.map((name) => ({ name, port, isDefault: name === defaultModel })),
          );
    const edgeSettings: EdgeSettings = {
      host: HOST,
      httpsPort: ports.https,
      httpPort: ports.http,
      servicePort: ports.service,
      ...(models === undefined ? {} : { models }),
      oauth2ProxyPort: ports.oauth2Proxy,
      edgeToken,
      certFile: tls.certFile,
      keyFile: tls.keyFile,
      accessLog: options.accessLog ?? true,
    };
    const edgeSetup =
      edge === "traefik"
        ? await writeTraefikConf(file("traefik"), {
            ...edgeSettings,
            mlflow: { host: MLFLOW_HOST, port: ports.mlflow, groups: [ADMIN_GROUP] },
          })
        : await writeNginxConf(file("nginx"), dir, { ...edgeSettings, backlog: listenBacklog() });
    const oidcIssuer = `http://${HOST}:${ports.oidc}`;
    const oidcSettings: OidcSettings = {
      issuer: oidcIssuer,
      port: ports.oidc,
      client: {
        id: OIDC_CLIENT_ID,
        secret: clientSecret,
        redirectUri: `${origin}/oauth2/callback`,
        otherRedirectUris: hosts.slice(1).map((host) => `https://${host}/oauth2/callback`),
      },
      users: [users.allowed, users.reader, users.ungrouped, users.other],
      cookieKeys: [secret(32)],
    };
    await writeFile(file("oidc.json"), JSON.stringify(oidcSettings), { mode: 0o600 });
    await writeFile(file("rules.yaml"), renderRulesFile(ruleGroups));
    await writeFile(
      file("prometheus.yml"),
      renderPrometheusConf({
        targets: processes.map(({ plan, metricsPort }) => ({
          metricsPort,
          service: plan.metricsService,
          labels: plan.targetLabels,
        })),
        rulesFile: file("rules.yaml"),
        intervalSeconds: options.scrapeIntervalSeconds ?? 5,
      }),
    );

    const node = (entry: string) => ["--import", "tsx", path.join(REPO_ROOT, entry)];
    // Every process's environment but its own ports, logs and models: the same API key for all.
    const serviceEnv = (port: number, metricsPort: number): Record<string, string> => ({
      ...baseEnv(),
      [ENV.HOST]: HOST,
      [ENV.PORT]: String(port),
      [ENV.METRICS_HOST]: HOST,
      [ENV.METRICS_PORT]: String(metricsPort),
      [ENV.API_KEYS]: `local:${apiKey}`,
      [ENV.OPS_OIDC_TRUST_HEADERS]: "true",
      // The edge, on loopback, overwrites X-Forwarded-For with the client's address (as ingress-nginx
      // does, and Traefik for a client its entry point does not trust).
      [ENV.TRUST_PROXY]: "loopback",
      [ENV.OPS_OIDC_ALLOWED_EMAIL_DOMAINS]: ALLOWED_EMAIL_DOMAIN,
      [ENV.OPS_OIDC_ADMIN_GROUPS]: ADMIN_GROUP,
      [ENV.OPS_OIDC_OPS_READ_GROUPS]: OPS_READ_GROUP,
      [ENV.OPS_OIDC_EDGE_TOKEN_SHA256]: createHash("sha256").update(edgeToken).digest("hex"),
      [ENV.PREDICTION_LOG_FLUSH_MS]: "200",
    });
    const services = processes.map((spec) => ({
      ...spec,
      proc: start({
        name: spec.name,
        command: process.execPath,
        args: [path.join(REPO_ROOT, IMAGE_PROGRAMS.serve)],
        env: {
          ...serviceEnv(spec.port, spec.metricsPort),
          [ENV.PREDICTION_LOG_PATH]: file(spec.predictionLogFile),
          [ENV.AUDIT_LOG_PATH]: file(spec.auditLogFile),
          ...(options.registryDir === undefined
            ? {}
            : { [ENV.PLINTH_REGISTRY_DIR]: path.resolve(options.registryDir) }),
          ...(options.stackFile === undefined ? {} : { [ENV.ROLLOUT_BUCKET_KEY]: bucketKey }),
          ...spec.plan.env,
          ...options.serviceEnv,
        },
      }),
    }));
    const service = services[0]!.proc;
    const oidc = start({
      name: "oidc",
      command: process.execPath,
      args: [...node("stack/local/oidc/server.ts"), file("oidc.json")],
      env: baseEnv(),
    });
    const mlflow = start({
      name: "mlflow",
      command: TOOLS.mlflow,
      args: [
        "server",
        ...mlflowServerArgs({
          host: HOST,
          port: ports.mlflow,
          workers: 1,
          artifactsDestination: file("mlflow-artifacts"),
          // Its own address, and its host on the edge (as the cluster's clusterHosts()).
          allowedHosts: [
            `${HOST}:${ports.mlflow}`,
            `localhost:${ports.mlflow}`,
            `${MLFLOW_HOST}:${ports.https}`,
          ],
          corsAllowedOrigins: [`https://${MLFLOW_HOST}:${ports.https}`],
        }),
      ],
      env: { ...baseEnv(), ...MLFLOW_SERVER_ENV, [BACKEND_STORE_URI_ENV]: `sqlite:///${file("mlflow.db")}` },
    });
    const prometheus = start({
      name: "prometheus",
      command: TOOLS.prometheus,
      args: [
        `--config.file=${file("prometheus.yml")}`,
        `--storage.tsdb.path=${file("prometheus-data")}`,
        `--web.listen-address=${HOST}:${ports.prometheus}`,
      ],
      env: baseEnv(),
    });
    const edgeProc = start({ name: edge, command: TOOLS[edge], args: edgeSetup.args, env: baseEnv() });
    const caPem = await readFile(tls.caFile, "utf8");

    const oidcReady = waitUntilReady(
      oidc,
      "OpenID discovery",
      httpOk(`${oidcIssuer}/.well-known/openid-configuration`),
      START_TIMEOUT_MS,
    );
    // oauth2-proxy reads the issuer's discovery document at start, so it starts after it.
    const oauth2ProxyReady = oidcReady.then(async () => {
      const proxy = start({
        name: "oauth2-proxy",
        command: TOOLS.oauth2Proxy,
        args: oauth2ProxyArgs(ports, hosts, oidcIssuer),
        env: {
          ...baseEnv(),
          OAUTH2_PROXY_CLIENT_SECRET: clientSecret,
          // 16 random bytes as 32 hex characters: oauth2-proxy takes a 32-character secret as an AES-256 key.
          OAUTH2_PROXY_COOKIE_SECRET: randomBytes(16).toString("hex"),
        },
      });
      await waitUntilReady(
        proxy,
        "/ping",
        httpOk(`http://${HOST}:${ports.oauth2Proxy}/ping`),
        START_TIMEOUT_MS,
      );
    });
    await Promise.all([
      oidcReady,
      oauth2ProxyReady,
      // Ready to predict: the default model's stable version loaded (a candidate the registry
      // folder does not hold yet is awaited, and reportAwaited names it).
      ...services.map(({ proc, port }) =>
        waitUntilReady(
          proc,
          PROBE_PATHS.ready,
          httpOk(`http://${HOST}:${port}${PROBE_PATHS.ready}`),
          START_TIMEOUT_MS,
        ),
      ),
      waitUntilReady(mlflow, "/health", httpOk(`http://${HOST}:${ports.mlflow}/health`), START_TIMEOUT_MS),
      waitUntilReady(
        prometheus,
        "/-/ready",
        httpOk(`http://${HOST}:${ports.prometheus}/-/ready`),
        START_TIMEOUT_MS,
      ),
      // Routed and ready: the service's readiness through the edge, over TLS with the run's CA.
      waitUntilReady(
        edgeProc,
        `${PROBE_PATHS.ready} through its HTTPS listener`,
        httpsOk(`${origin}${PROBE_PATHS.ready}`, caPem),
        START_TIMEOUT_MS,
        EDGE_FATAL[edge],
      ),
    ]);
    await reportAwaited(
      services.map(({ port }) => port),
      options.log,
    );

    return {
      ports,
      edge,
      origin,
      urls: {
        prometheus: `http://${HOST}:${ports.prometheus}`,
        mlflow: `http://${HOST}:${ports.mlflow}`,
        ...(edge === "traefik" ? { mlflowThroughEdge: `https://${MLFLOW_HOST}:${ports.https}` } : {}),
        oidcIssuer,
      },
      caFile: tls.caFile,
      apiKey,
      users,
      predictionLogFile: file(processes[0]!.predictionLogFile),
      auditLogFile: file(processes[0]!.auditLogFile),
      accessLogFile: edgeSetup.accessLogFile,
      servicePid: service.pid,
      defaultModel,
      services: Object.fromEntries(
        services.flatMap(({ plan, proc, port, metricsPort, name, predictionLogFile, auditLogFile }) => {
          const entry: LocalModelService = {
            pid: proc.pid,
            port,
            metricsPort,
            serviceName: plan.serviceName,
            metricsService: plan.metricsService,
            processName: name,
            predictionLogFile: file(predictionLogFile),
            auditLogFile: file(auditLogFile),
          };
          return plan.models.map((model) => [model, entry]);
        }),
      ),
      pids: Object.fromEntries(running.map((proc) => [proc.spec.name, proc.pid])),
      stop,
      kill: () => running.forEach((proc) => proc.kill()),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** oauth2-proxy's flags: those of the platform's Deployment, with loopback addresses. */
function oauth2ProxyArgs(ports: StackPorts, hosts: readonly string[], issuer: string): string[] {
  return [
    "--provider=oidc",
    `--oidc-issuer-url=${issuer}`,
    `--client-id=${OIDC_CLIENT_ID}`,
    `--email-domain=${ALLOWED_EMAIL_DOMAIN}`,
    ...groupFlags({ allowedGroups: [ADMIN_GROUP, OPS_READ_GROUP] }),
    `--http-address=${HOST}:${ports.oauth2Proxy}`,
    // No --redirect-url, as in the cluster: the callback is on the host the user signs in to
    // (X-Forwarded-Host), whose cookie it sets.
    ...hosts.map((host) => `--whitelist-domain=${host}`),
    ...SESSION_FLAGS,
  ];
}

/** A probe that is true when `GET url` over TLS, trusting only `ca`, answers 200. */
function httpsOk(url: string, ca: string): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      const request = https.get(url, { ca, agent: false, timeout: 2000 }, (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      });
      request.on("timeout", () => request.destroy());
      request.on("error", () => resolve(false));
    });
}

/**
 * An edge's log lines that mean it will never route: Traefik keeps running when its file provider
 * cannot read the file, or when a router names a middleware or service that does not build.
 */
const EDGE_FATAL: Record<Edge, RegExp | undefined> = {
  traefik:
    / ERR (Cannot start the provider|.*error while building|.*middleware .* does not exist|.*service .* does not exist)/,
  nginx: undefined,
};

/** The edge's settings that both proxies take. */
interface EdgeSettings {
  readonly host: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  readonly servicePort: number;
  readonly models?: Parameters<typeof renderNginxConf>[0]["models"];
  readonly oauth2ProxyPort: number;
  readonly edgeToken: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly accessLog: boolean;
}

/** What starts an edge: its arguments, and where its access log goes. */
interface EdgeSetup {
  readonly args: string[];
  readonly accessLogFile: string;
}

/** Traefik's static and dynamic configuration files in `folder`; both hold the edge token (0600). */
async function writeTraefikConf(
  folder: string,
  settings: EdgeSettings & Pick<TraefikConfOptions, "mlflow">,
): Promise<EdgeSetup> {
  await mkdir(folder, { recursive: true });
  const staticFile = path.join(folder, "traefik.yaml");
  const dynamicFile = path.join(folder, "dynamic.yaml");
  const accessLogFile = path.join(folder, "access.log");
  const { accessLog, ...rest } = settings;
  const options = { ...rest, dynamicFile, ...(accessLog ? { accessLogFile } : {}) };
  await writeFile(staticFile, yamlText(traefikStaticConfig(options)), { mode: 0o600 });
  await writeFile(dynamicFile, yamlText(traefikDynamicConfig(options)), { mode: 0o600 });
  return { args: [`--configFile=${staticFile}`], accessLogFile };
}

/** nginx.conf and its temp folders under `prefix`. */
async function writeNginxConf(
  prefix: string,
  dir: string,
  settings: EdgeSettings & { readonly backlog: number },
): Promise<EdgeSetup> {
  // As root, nginx's workers run as nobody: they need their temp folders and a way into them.
  const asRoot = process.getuid?.() === 0;
  for (const sub of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
    await mkdir(path.join(prefix, sub), { recursive: true });
    if (asRoot) await chown(path.join(prefix, sub), 65534, 65534);
  }
  if (asRoot) await chmod(dir, 0o711);
  await writeFile(
    path.join(prefix, "nginx.conf"),
    renderNginxConf({ prefix, ...settings, ...(asRoot ? { workerUser: "nobody nogroup" } : {}) }),
    // It holds the edge token.
    { mode: 0o600 },
  );
  return {
    args: ["-e", "stderr", "-p", prefix, "-c", path.join(prefix, "nginx.conf"), "-g", "daemon off;"],
    accessLogFile: path.join(prefix, "access.log"),
  };
}
