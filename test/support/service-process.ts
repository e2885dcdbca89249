/**
 * The real service as its own process (the compiled `dist/service/main.js`, as the image runs it), on loopback ports chosen by the OS,
 * serving the bundled model from `models/` unless `env` says otherwise. For tests that drive it
 * with third-party tools over HTTP (schemathesis, tritonclient).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { IMAGE_PROGRAMS } from "../../service/contract/image-commands.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ServiceProcess {
  /** Base URL of the public port, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Base URL of the internal metrics server (METRICS_PORT), e.g. `http://127.0.0.1:41235`. */
  readonly metricsUrl: string;
  /** The process's exit code once it has exited (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Sends `signal` to the process (e.g. SIGTERM, to watch the shutdown without waiting for it). */
  kill(signal: NodeJS.Signals): void;
  /** Everything the process wrote so far (pino JSON lines and stderr). */
  readonly output: string[];
  /** SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** The log line that says the stable model is loaded and warmed. */
export const READY_LOG = "model loaded and warmed; ready";
/** The log line that says the process is live and its model awaits its first version. */
export const AWAITING_LOG = "live, not ready: the model awaits its first version";

/**
 * Starts the service and resolves once the stable model is loaded and warmed (the "ready" log
 * line; `until` names another, e.g. {@link AWAITING_LOG}); rejects with the process output when it
 * exits first or takes longer than `timeoutMs`.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  timeoutMs = 60_000,
  until: string = READY_LOG,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [IMAGE_PROGRAMS.serve], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, PORT: "0", METRICS_PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    const { url, metricsUrl } = await readyUrls(child, output, timeoutMs, until);
    return {
      url,
      metricsUrl,
      output,
      exited,
      kill: (signal) => child.kill(signal),
      stop: (graceMs = 10_000) => stop(child, exited, graceMs),
    };
  } catch (err) {
    await stop(child, exited, 0);
    throw err;
  }
}

function readyUrls(
  child: ChildProcess,
  output: string[],
  timeoutMs: number,
  until: string,
): Promise<{ url: string; metricsUrl: string }> {
  return new Promise((resolve, reject) => {
    let url: string | undefined;
    let metricsUrl: string | undefined;
    let buffered = "";
    const timer = setTimeout(
      () => reject(new Error(`service not ready after ${timeoutMs} ms:\n${output.join("")}`)),
      timeoutMs,
    );
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited (${code}) before it was ready:\n${output.join("")}`));
    });
    child.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        output.push(`${line}\n`);
        url ??= /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
        const metricsPort = /"metricsPort":(\d+)/.exec(line)?.[1];
        if (metricsPort !== undefined) metricsUrl ??= `http://127.0.0.1:${metricsPort}`;
        if (url !== undefined && metricsUrl !== undefined && line.includes(until)) {
          clearTimeout(timer);
          resolve({ url, metricsUrl });
        }
      }
    });
  });
}

async function stop(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(graceMs > 0 ? "SIGTERM" : "SIGKILL");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
