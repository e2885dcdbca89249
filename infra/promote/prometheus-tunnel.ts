/**
 * Reaches a stack's in-cluster Prometheus from a CI runner through the Kubernetes API, for the
 * promotion gates: `kubectl port-forward` to the Prometheus Service named by the stack's
 * `prometheusUrl` output, with the stack's own `kubeconfig` output (the credentials the runner
 * already has for `pulumi up`: `aws eks get-token` or `gke-gcloud-auth-plugin`). Nothing is
 * exposed outside the cluster.
 *
 *   npx tsx infra/promote/prometheus-tunnel.ts --stack <stack>
 *
 * When PROMETHEUS_URL is already set (a Prometheus the runner reaches directly), it passes it on.
 * Otherwise it starts the forward in the background (it outlives this process, for the job's
 * later steps; a second run replaces the first), waits until Prometheus answers `/-/ready`
 * through it, and appends `PROMETHEUS_URL=http://127.0.0.1:<port>` to $GITHUB_ENV (or prints it).
 */
import { execFile, spawn } from "node:child_process";
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** A Service inside the cluster, as a port-forward names it. */
export interface ServiceTarget {
  readonly namespace: string;
  readonly service: string;
  readonly port: number;
}

/**
 * The Service behind an in-cluster URL: `http://<service>.<namespace>[.svc[.<cluster domain>]]:<port>`.
 * Undefined for anything else (an external URL is reached directly, without a forward).
 */
export function serviceFromUrl(url: string): ServiceTarget | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  // <service>.<namespace>, <service>.<namespace>.svc or <service>.<namespace>.svc.cluster.local
  const labels = parsed.hostname.split(".");
  const [service, namespace, svc, ...domain] = labels;
  const inCluster =
    labels.length === 2 || (svc === "svc" && (domain.length === 0 || domain.join(".") === "cluster.local"));
  if (!service || !namespace || !inCluster) return undefined;
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === "https:" ? 443 : 80;
  return { namespace, service, port };
}

/** kubectl's argv: a random local port on loopback only, to the Service's port. */
export function portForwardArgs(target: ServiceTarget, kubeconfigPath: string): string[] {
  return [
    "--kubeconfig",
    kubeconfigPath,
    "port-forward",
    "--namespace",
    target.namespace,
    "--address",
    "127.0.0.1",
    `service/${target.service}`,
    `:${target.port}`,
  ];
}

/** The local port from kubectl's "Forwarding from 127.0.0.1:<port> -> <remote>" line. */
export function forwardedPort(log: string): number | undefined {
  const match = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(log);
  return match ? Number(match[1]) : undefined;
}

export interface TunnelOptions {
  readonly stack: string;
  /** The process environment (PROMETHEUS_URL, GITHUB_ENV, RUNNER_TEMP). */
  readonly env: NodeJS.ProcessEnv;
  /** Reads the stack's outputs. @default `pulumi stack output --json --show-secrets` */
  readonly stackOutputs?: (stack: string) => Promise<Record<string, unknown>>;
  /** kubectl binary. @default "kubectl" */
  readonly kubectl?: string;
  /** How long to wait for the forward and for Prometheus. @default 60000 */
  readonly timeoutMs?: number;
}

function pulumiOutputs(stack: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      "pulumi",
      ["stack", "output", "--stack", stack, "--json", "--show-secrets"],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`pulumi stack output --stack ${stack}: ${stderr.trim() || error.message}`))
          : resolve(JSON.parse(stdout) as Record<string, unknown>),
    );
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ready(url: string): Promise<boolean> {
  try {
    const response = await fetch(new URL("-/ready", url), { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

function stopPrevious(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  try {
    if (pid > 0) process.kill(pid);
  } catch {
    // already gone
  }
}

/** Opens the tunnel (or takes PROMETHEUS_URL as it is) and returns the URL the gates should use. */
export async function openPrometheusTunnel(options: TunnelOptions): Promise<string> {
  const { env, stack } = options;
  const publish = (url: string) => {
    if (env.GITHUB_ENV) appendFileSync(env.GITHUB_ENV, `PROMETHEUS_URL=${url}\n`);
    return url;
  };
  if (env.PROMETHEUS_URL) return publish(env.PROMETHEUS_URL);
  const outputs = await (options.stackOutputs ?? pulumiOutputs)(stack);
  const prometheusUrl = outputs.prometheusUrl;
  const kubeconfig = outputs.kubeconfig;
  if (typeof prometheusUrl !== "string" || prometheusUrl === "") {
    throw new Error(`stack ${stack} has no prometheusUrl output: deploy it once, or set PROMETHEUS_URL`);
  }
  const target = serviceFromUrl(prometheusUrl);
  if (!target) return publish(prometheusUrl); // not in-cluster: the runner reaches it as it is
  if (typeof kubeconfig !== "string" || kubeconfig === "") {
    throw new Error(`stack ${stack} has no kubeconfig output to reach ${prometheusUrl} through`);
  }
  const dir = env.RUNNER_TEMP || tmpdir();
  const kubeconfigPath = join(dir, `plinth-${stack}-kubeconfig`);
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
  const pidFile = join(dir, `plinth-${stack}-prometheus-forward.pid`);
  const logFile = join(dir, `plinth-${stack}-prometheus-forward.log`);
  stopPrevious(pidFile);
  writeFileSync(logFile, "");
  const log = openSync(logFile, "a");
  const child = spawn(options.kubectl ?? "kubectl", portForwardArgs(target, kubeconfigPath), {
    detached: true,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  let exited: number | null | undefined;
  let spawnError: Error | undefined;
  child.on("exit", (code) => (exited = code));
  child.on("error", (error) => {
    spawnError = error;
    exited = -1;
  });
  writeFileSync(pidFile, String(child.pid ?? ""));
  child.unref();

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const where = `kubectl port-forward -n ${target.namespace} service/${target.service} :${target.port}`;
  while (Date.now() < deadline) {
    const text = readFileSync(logFile, "utf8");
    const port = forwardedPort(text);
    if (port !== undefined) {
      const url = `http://127.0.0.1:${port}`;
      while (Date.now() < deadline) {
        if (await ready(url)) return publish(url);
        if (exited !== undefined) break;
        await sleep(500);
      }
      break;
    }
    if (exited !== undefined) break;
    await sleep(200);
  }
  stopPrevious(pidFile);
  const output = readFileSync(logFile, "utf8").trim();
  const kubectl = options.kubectl ?? "kubectl";
  if (spawnError !== undefined) {
    const missing = (spawnError as NodeJS.ErrnoException).code === "ENOENT";
    throw new Error(
      `${where}: ${missing ? `${kubectl} is not on the runner's PATH (install kubectl, and for GKE gke-gcloud-auth-plugin)` : `${kubectl} could not start: ${spawnError.message}`}`,
    );
  }
  const how = exited === undefined ? "" : `; kubectl exited with ${exited}`;
  throw new Error(
    `${where}: Prometheus did not answer /-/ready through the forward within ${(options.timeoutMs ?? 60_000) / 1000} s${how}` +
      (output ? `; kubectl said: ${output}` : ""),
  );
}

async function main(argv: string[]): Promise<void> {
  const index = argv.indexOf("--stack");
  const stack = index >= 0 ? argv[index + 1] : undefined;
  if (!stack) {
    process.stderr.write("usage: prometheus-tunnel.ts --stack <stack>\n");
    process.exit(2);
  }
  const url = await openPrometheusTunnel({ stack, env: process.env });
  process.stdout.write(`PROMETHEUS_URL=${url}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
