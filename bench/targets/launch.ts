/**
 * Starting a server under test as a child process on a loopback port, with the same two targets
 * (the JSON row, the PNG) for every server, so each gets byte-identical requests.
 */
import { performance } from "node:perf_hooks";
import type { HttpTarget } from "../load/target.js";
import { REPO_ROOT } from "../paths.js";
import { startProcess, waitUntilReady, type ManagedProcess, type ProcessSpec } from "../processes.js";
import type { Route, ServerName } from "../results.js";
import type { Payloads } from "./payloads.js";

/** The longest a server may take from spawn to ready. */
export const STARTUP_TIMEOUT_MS = 120_000;

export interface RunningServer {
  readonly name: ServerName;
  readonly process: ManagedProcess;
  readonly port: number;
  readonly targets: Readonly<Record<Route, HttpTarget>>;
  /** Milliseconds from spawn to ready. */
  readonly startupMs: number;
}

/**
 * The environment every child starts from: no inherited settings, only what a process needs to run,
 * plus the machine's OpenBLAS workarounds where it sets them (numpy in the peer needs them there).
 */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    LANG: "C.UTF-8",
  };
  for (const name of ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export function targetsFor(
  port: number,
  paths: Record<Route, string>,
  apiKey: string,
  payloads: Payloads,
): Record<Route, HttpTarget> {
  return {
    json: {
      port,
      method: "POST",
      path: paths.json,
      headers: { "content-type": "application/json", "x-api-key": apiKey },
      body: payloads.jsonRow,
    },
    png: {
      port,
      method: "POST",
      path: paths.png,
      headers: { "content-type": "image/png", "x-api-key": apiKey },
      body: payloads.png,
    },
  };
}

/** A server process (run from the repository root) and how to tell it is ready. */
export interface LaunchSpec extends Omit<ProcessSpec, "name" | "cwd"> {
  readonly name: ServerName;
  readonly port: number;
  /** Answers 200 once the server can take load. */
  readonly readyPath: string;
  readonly targets: Readonly<Record<Route, HttpTarget>>;
}

/** Starts the server and waits until it is ready; a server that never gets ready is stopped. */
export async function launch(spec: LaunchSpec): Promise<RunningServer> {
  const started = performance.now();
  const proc = startProcess({ ...spec, cwd: REPO_ROOT });
  try {
    await waitUntilReady(proc, spec.port, spec.readyPath, STARTUP_TIMEOUT_MS);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    name: spec.name,
    process: proc,
    port: spec.port,
    targets: spec.targets,
    startupMs: performance.now() - started,
  };
}
