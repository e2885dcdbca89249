/**
 * A real MLflow tracking server for integration tests: the pinned `mlflow` from
 * .tools/mlflow-venv (scripts/install-test-tools.sh), on 127.0.0.1 with a sqlite backend store and
 * a local artifact root served through the artifact proxy. `stop()` and `start()` again keep the
 * port and the stores, so tests can take MLflow away and bring it back.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MLFLOW_SERVER_ENV } from "../../components/mlflow/server-env.js";

const execFileAsync = promisify(execFile);

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MLFLOW_VENV = path.join(ROOT, ".tools", "mlflow-venv");
export const MLFLOW_BIN = path.join(MLFLOW_VENV, "bin", "mlflow");
export const VENV_PYTHON = path.join(MLFLOW_VENV, "bin", "python");

/** MLflow's first start creates the sqlite schema (dozens of migrations): allow for a slow machine. */
export const MLFLOW_START_TIMEOUT_MS = 180_000;

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export class MlflowServer {
  private child: ChildProcess | undefined;
  private output = "";

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get artifactsDir(): string {
    return path.join(this.dir, "artifacts");
  }

  /** Creates the stores in a temporary folder and starts the server. */
  static async start(): Promise<MlflowServer> {
    if (!existsSync(MLFLOW_BIN)) {
      throw new Error(`${MLFLOW_BIN} is missing: run scripts/install-test-tools.sh (npm run test:tools)`);
    }
    const server = new MlflowServer(
      await mkdtemp(path.join(os.tmpdir(), "plinth-mlflow-")),
      await freePort(),
    );
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error("MLflow server already running");
    this.output = "";
    const child = spawn(
      MLFLOW_BIN,
      [
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        String(this.port),
        "--workers",
        "1",
        "--backend-store-uri",
        `sqlite:///${path.join(this.dir, "mlflow.db")}`,
        "--artifacts-destination",
        this.artifactsDir,
        "--serve-artifacts",
      ],
      // Its own process group, so stop() ends the server and every worker it forked.
      {
        cwd: this.dir,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...MLFLOW_SERVER_ENV, MLFLOW_TRACKING_URI: "" },
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

  /** Stops the server and removes its stores. */
  async dispose(): Promise<void> {
    await this.stop();
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
