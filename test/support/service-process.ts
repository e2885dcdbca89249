/**
 * The real service as its own process (`tsx service/main.ts`), on loopback ports chosen by the OS,
 * serving the bundled model from `models/` unless `env` says otherwise. For tests that drive it
 * with third-party tools over HTTP (schemathesis, tritonclient).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ServiceProcess {
  /** Base URL of the public port, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Everything the process wrote so far (pino JSON lines and stderr). */
  readonly output: string[];
  /** SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts the service and resolves once the stable model is loaded and warmed (the "ready" log
 * line); rejects with the process output when it exits first or takes longer than `timeoutMs`.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "service/main.ts"], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, PORT: "0", METRICS_PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const url = await readyUrl(child, output, timeoutMs);
    return { url, output, stop: (graceMs = 10_000) => stop(child, exited, graceMs) };
  } catch (err) {
    await stop(child, exited, 0);
    throw err;
  }
}

function readyUrl(child: ChildProcess, output: string[], timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let url: string | undefined;
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
        if (url !== undefined && line.includes("model loaded and warmed; ready")) {
          clearTimeout(timer);
          resolve(url);
        }
      }
    });
  });
}

async function stop(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(graceMs > 0 ? "SIGTERM" : "SIGKILL");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
