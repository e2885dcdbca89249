/**
 * The whole system on loopback, as plain processes: the inference service (bundled model), MLflow,
 * Prometheus (scraping the service, loading the production alert rules), an OIDC provider with
 * users in an allowed and a refused email domain, oauth2-proxy, and nginx terminating TLS with a
 * CA made for this run and routing as the platform's Ingresses do. `startLocalStack` is what
 * `npm run stack:local`, the e2e tests and the soak all start.
 *
 * Secrets (API key, OIDC client secret, cookie secret, user passwords, CA key) are random per run
 * and live only in memory, the children's environments and a temporary folder (key and settings
 * files mode 0600) removed by `stop()`.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { groupFlags, SESSION_FLAGS } from "../../components/oauth2-proxy/index.js";
import { ENV } from "../../service/contract/service-env.js";
import { renderNginxConf } from "./nginx-conf.js";
import { listenBacklog } from "../../service/contract/listen-backlog.js";
import type { OidcSettings, OidcUser } from "./oidc/provider.js";
import { productionRuleGroups, renderPrometheusConf, renderRulesFile } from "./prometheus-conf.js";
import { SupervisedProcess, httpOk, waitUntilReady, type ChildSpec, type LogSink } from "./process.js";
import { createLocalTls } from "./tls.js";
import { assertToolsInstalled, REPO_ROOT, TOOLS } from "./tools.js";
import { MLFLOW_SERVER_ENV } from "../../components/mlflow/server-env.js";
import { BACKEND_STORE_URI_ENV, mlflowServerArgs } from "../../components/mlflow/server-args.js";
import { IMAGE_PROGRAMS } from "../../service/contract/image-commands.js";

export interface StackPorts {
  /** nginx, TLS: the one address a user opens. */
  readonly https: number;
  /** nginx, plain HTTP: redirects to https. */
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
const OIDC_CLIENT_ID = "plinth-local";
/** MLflow's first start creates its sqlite schema (dozens of migrations). */
const START_TIMEOUT_MS = 180_000;

export interface LocalStackOptions {
  /** Where every process's prefixed output lines go. */
  readonly log: LogSink;
  /** Fixed ports; omitted ones are picked free at random. */
  readonly ports?: Partial<StackPorts>;
  /** nginx access log lines (off for load tests). @default true */
  readonly accessLog?: boolean;
  /** Extra service environment (e.g. a higher RATE_LIMIT_MAX for the soak). */
  readonly serviceEnv?: Readonly<Record<string, string>>;
  /** Prometheus scrape and evaluation interval. @default 5 */
  readonly scrapeIntervalSeconds?: number;
}

export interface LocalStack {
  readonly ports: StackPorts;
  /** https://127.0.0.1:<https>: public API and, behind oauth2-proxy, /admin and /ops. */
  readonly origin: string;
  readonly urls: {
    readonly prometheus: string;
    readonly mlflow: string;
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
  /** JSONL of every prediction the service made (prediction_id and label per line). */
  readonly predictionLogFile: string;
  /** JSONL of the service's admin actions and refusals. */
  readonly auditLogFile: string;
  /** nginx's access log (when accessLog is on). */
  readonly accessLogFile: string;
  /** The inference service's process id (for RSS). */
  readonly servicePid: number;
  /** Every process the stack started, by name (service, mlflow, nginx, ...): for CPU accounting. */
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

async function resolvePorts(fixed: Partial<StackPorts>): Promise<StackPorts> {
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
  return ports as unknown as StackPorts;
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

/** Starts everything and waits until each process answers; on any failure stops what started. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  assertToolsInstalled(["oauth2Proxy", "mlflow", "nginx", "prometheus", "openssl"]);
  const ports = await resolvePorts(options.ports ?? {});
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
    // Marks what nginx forwards: the service counts oauth2-proxy's headers only with it, so another
    // process on this machine that reaches the service's port cannot name a user.
    const edgeToken = secret(32);
    const clientSecret = secret(32);
    const predictionLogFile = file("predictions.jsonl");
    const auditLogFile = file("audit.jsonl");
    const [tls, ruleGroups] = await Promise.all([createLocalTls(dir), productionRuleGroups(REPO_ROOT)]);

    // As root, nginx's workers run as nobody: they need their temp folders and a way into them.
    const nginxPrefix = file("nginx");
    const asRoot = process.getuid?.() === 0;
    for (const sub of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
      await mkdir(path.join(nginxPrefix, sub), { recursive: true });
      if (asRoot) await chown(path.join(nginxPrefix, sub), 65534, 65534);
    }
    if (asRoot) await chmod(dir, 0o711);
    await writeFile(
      path.join(nginxPrefix, "nginx.conf"),
      renderNginxConf({
        prefix: nginxPrefix,
        host: HOST,
        httpsPort: ports.https,
        httpPort: ports.http,
        servicePort: ports.service,
        oauth2ProxyPort: ports.oauth2Proxy,
        edgeToken,
        certFile: tls.certFile,
        keyFile: tls.keyFile,
        accessLog: options.accessLog ?? true,
        backlog: listenBacklog(),
        ...(asRoot ? { workerUser: "nobody nogroup" } : {}),
      }),
      // It holds the edge token.
      { mode: 0o600 },
    );
    const oidcIssuer = `http://${HOST}:${ports.oidc}`;
    const oidcSettings: OidcSettings = {
      issuer: oidcIssuer,
      port: ports.oidc,
      client: { id: OIDC_CLIENT_ID, secret: clientSecret, redirectUri: `${origin}/oauth2/callback` },
      users: [users.allowed, users.reader, users.ungrouped, users.other],
      cookieKeys: [secret(32)],
    };
    await writeFile(file("oidc.json"), JSON.stringify(oidcSettings), { mode: 0o600 });
    await writeFile(file("rules.yaml"), renderRulesFile(ruleGroups));
    await writeFile(
      file("prometheus.yml"),
      renderPrometheusConf({
        metricsPort: ports.metrics,
        rulesFile: file("rules.yaml"),
        intervalSeconds: options.scrapeIntervalSeconds ?? 5,
      }),
    );

    const node = (entry: string) => ["--import", "tsx", path.join(REPO_ROOT, entry)];
    const service = start({
      name: "service",
      command: process.execPath,
      args: [path.join(REPO_ROOT, IMAGE_PROGRAMS.serve)],
      env: {
        ...baseEnv(),
        [ENV.HOST]: HOST,
        [ENV.PORT]: String(ports.service),
        [ENV.METRICS_HOST]: HOST,
        [ENV.METRICS_PORT]: String(ports.metrics),
        [ENV.API_KEYS]: `local:${apiKey}`,
        [ENV.OPS_OIDC_TRUST_HEADERS]: "true",
        // nginx, on loopback, overwrites X-Forwarded-For with the client's address (as ingress-nginx).
        [ENV.TRUST_PROXY]: "loopback",
        [ENV.OPS_OIDC_ALLOWED_EMAIL_DOMAINS]: ALLOWED_EMAIL_DOMAIN,
        [ENV.OPS_OIDC_ADMIN_GROUPS]: ADMIN_GROUP,
        [ENV.OPS_OIDC_OPS_READ_GROUPS]: OPS_READ_GROUP,
        [ENV.OPS_OIDC_EDGE_TOKEN_SHA256]: createHash("sha256").update(edgeToken).digest("hex"),
        [ENV.PREDICTION_LOG_PATH]: predictionLogFile,
        [ENV.PREDICTION_LOG_FLUSH_MS]: "200",
        [ENV.AUDIT_LOG_PATH]: auditLogFile,
        ...options.serviceEnv,
      },
    });
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
    const nginx = start({
      name: "nginx",
      command: TOOLS.nginx,
      args: [
        "-e",
        "stderr",
        "-p",
        nginxPrefix,
        "-c",
        path.join(nginxPrefix, "nginx.conf"),
        "-g",
        "daemon off;",
      ],
      env: baseEnv(),
    });

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
        args: oauth2ProxyArgs(ports, origin, oidcIssuer),
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
      waitUntilReady(service, "/ready", httpOk(`http://${HOST}:${ports.service}/ready`), START_TIMEOUT_MS),
      waitUntilReady(mlflow, "/health", httpOk(`http://${HOST}:${ports.mlflow}/health`), START_TIMEOUT_MS),
      waitUntilReady(
        prometheus,
        "/-/ready",
        httpOk(`http://${HOST}:${ports.prometheus}/-/ready`),
        START_TIMEOUT_MS,
      ),
      waitUntilReady(nginx, "its HTTPS listener", () => listening(ports.https), START_TIMEOUT_MS),
    ]);

    return {
      ports,
      origin,
      urls: {
        prometheus: `http://${HOST}:${ports.prometheus}`,
        mlflow: `http://${HOST}:${ports.mlflow}`,
        oidcIssuer,
      },
      caFile: tls.caFile,
      apiKey,
      users,
      predictionLogFile,
      auditLogFile,
      accessLogFile: path.join(nginxPrefix, "access.log"),
      servicePid: service.pid,
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
function oauth2ProxyArgs(ports: StackPorts, origin: string, issuer: string): string[] {
  return [
    "--provider=oidc",
    `--oidc-issuer-url=${issuer}`,
    `--client-id=${OIDC_CLIENT_ID}`,
    `--email-domain=${ALLOWED_EMAIL_DOMAIN}`,
    ...groupFlags({ allowedGroups: [ADMIN_GROUP, OPS_READ_GROUP] }),
    `--http-address=${HOST}:${ports.oauth2Proxy}`,
    `--redirect-url=${origin}/oauth2/callback`,
    `--whitelist-domain=${HOST}:${ports.https}`,
    ...SESSION_FLAGS,
  ];
}

/** True when something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
