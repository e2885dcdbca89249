/**
 * A real MLflow tracking server for integration tests: the pinned `mlflow` from
 * .tools/mlflow-venv (scripts/install-test-tools.sh; the pins of plinth's MLflow image), on
 * 127.0.0.1, started as the cluster starts it: the command line of
 * components/mlflow/server-args.ts (artifacts proxied, `mlflow-artifacts:` URIs), the backend-store
 * URI only in MLFLOW_BACKEND_STORE_URI, the store a fresh database in its own PostgreSQL
 * (test/support/postgres.ts) as on every stack. Artifacts go to a local folder by default, or to
 * `s3://`/`gs://` destinations with the environment that reaches them.
 *
 * `stop()` and `start()` again keep the port and the stores (PostgreSQL keeps running), so tests
 * can take MLflow away and bring it back; `dispose()` ends both and removes them.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  BACKEND_STORE_URI_ENV,
  mlflowServerArgs,
  type MlflowServerOptions as ServerArgs,
} from "../../components/mlflow/server-args.js";
import { MLFLOW_SERVER_ENV } from "../../components/mlflow/server-env.js";
import { freePort } from "./ports.js";
import { Postgres } from "./postgres.js";

export { freePort };

const execFileAsync = promisify(execFile);

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MLFLOW_VENV = path.join(ROOT, ".tools", "mlflow-venv");
export const MLFLOW_BIN = path.join(MLFLOW_VENV, "bin", "mlflow");
export const VENV_PYTHON = path.join(MLFLOW_VENV, "bin", "python");

/** MLflow's first start creates its schema (dozens of migrations): allow for a slow machine. */
export const MLFLOW_START_TIMEOUT_MS = 180_000;

/** The database each server's PostgreSQL holds for it. */
const DATABASE = "mlflow";

export interface MlflowServerOptions {
  /**
   * `--artifacts-destination`: a folder (default: `artifacts/` in the server's temporary folder),
   * `s3://bucket/prefix` or `gs://bucket/prefix`.
   */
  readonly artifactsDestination?: string;
  /** More environment for the server: what reaches the destination (endpoint, credentials). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * `--allowed-hosts` and `--cors-allowed-origins`, given the server's port (default: MLflow's,
   * localhost and private IPs, which the tests' clients on 127.0.0.1 use).
   */
  readonly hosts?: (port: number) => Pick<ServerArgs<string>, "allowedHosts" | "corsAllowedOrigins">;
}

export class MlflowServer {
  private child: ChildProcess | undefined;
  private output = "";

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly postgres: Postgres,
    private readonly options: MlflowServerOptions,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The folder the artifact proxy stores artifacts in, when the destination is the default. */
  get artifactsDir(): string {
    return path.join(this.dir, "artifacts");
  }

  /** `--artifacts-destination`. */
  get artifactsDestination(): string {
    return this.options.artifactsDestination ?? this.artifactsDir;
  }

  /** The backend store: this server's database (MLFLOW_BACKEND_STORE_URI). */
  get backendStoreUri(): string {
    return this.postgres.uri(DATABASE);
  }

  /** Starts a PostgreSQL with a fresh database and a server on it, the stores in temporary folders. */
  static async start(options: MlflowServerOptions = {}): Promise<MlflowServer> {
    if (!existsSync(MLFLOW_BIN)) {
      throw new Error(`${MLFLOW_BIN} is missing: run scripts/install-test-tools.sh (npm run test:tools)`);
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), "plinth-mlflow-"));
    let postgres: Postgres | undefined;
    try {
      postgres = await Postgres.start();
      await postgres.createDatabase(DATABASE);
      const server = new MlflowServer(dir, await freePort(), postgres, options);
      await server.start();
      return server;
    } catch (err) {
      await postgres?.dispose();
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error("MLflow server already running");
    this.output = "";
    const child = spawn(
      MLFLOW_BIN,
      [
        "server",
        ...mlflowServerArgs({
          host: "127.0.0.1",
          port: this.port,
          workers: 1,
          artifactsDestination: this.artifactsDestination,
          ...this.options.hosts?.(this.port),
        }),
      ],
      // Its own process group, so stop() ends the server and every worker it forked.
      {
        cwd: this.dir,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          ...MLFLOW_SERVER_ENV,
          ...this.options.env,
          [BACKEND_STORE_URI_ENV]: this.backendStoreUri,
          MLFLOW_TRACKING_URI: "",
        },
      },
    );
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const deadline = Date.now() + MLFLOW_START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        this.child = undefined;
        throw new Error(`mlflow server exited with ${child.exitCode}:\n${this.output}`);
      }
      try {
        const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await this.stop();
    throw new Error(
      `mlflow server did not answer /health within ${MLFLOW_START_TIMEOUT_MS} ms:\n${this.output}`,
    );
  }

  /** Stops the server (SIGTERM to its process group, SIGKILL after 10 s); the stores stay. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    process.kill(-child.pid!, "SIGTERM");
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
    // Wait until the port refuses connections, so "MLflow is down" really holds for the caller.
    while (
      await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) }).then(
        () => true,
        () => false,
      )
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops the server and its PostgreSQL, and removes their stores. */
  async dispose(): Promise<void> {
    await this.stop();
    await this.postgres.dispose();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The server's recent output, for failure messages. */
  get log(): string {
    return this.output;
  }
}

/** Runs a Python snippet with the venv's interpreter (the `mlflow` client a data scientist uses). */
export async function runPython(code: string, env: Record<string, string>): Promise<string> {
  try {
    const { stdout } = await execFileAsync(VENV_PYTHON, ["-c", code], {
      env: { ...process.env, ...env },
      timeout: 120_000,
    });
    return stdout;
  } catch (err) {
    const e = err as { code?: number; stderr?: string; stdout?: string };
    throw new Error(`python exited with ${e.code}:\n${e.stderr}\n${e.stdout}`, { cause: err });
  }
}
