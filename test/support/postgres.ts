/**
 * A throwaway PostgreSQL for the tests: Debian's postgresql-15 (scripts/tools/pins.sh), a fresh
 * cluster (`initdb`) in a temporary folder, listening on 127.0.0.1 on a free port only (no Unix
 * socket), trust authentication, durability off (fsync, synchronous commit, full-page writes: the
 * data is thrown away). Measured here: initdb 0.6 s, ready 0.1 s later.
 *
 * PostgreSQL refuses to run as root and the tests run as root: as root, initdb and postgres run as
 * Debian's `postgres` user, which owns the folder; otherwise as the current user.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.js";

const execFileAsync = promisify(execFile);

/** Where Debian's postgresql-NN puts its server programs; the newest major installed. */
export function postgresBinDir(): string {
  const base = "/usr/lib/postgresql";
  const majors = existsSync(base)
    ? readdirSync(base)
        .filter((d) => /^\d+$/.test(d) && existsSync(path.join(base, d, "bin", "postgres")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0)
    throw new Error(
      `no PostgreSQL server under ${base}/<major>/bin: run scripts/install-test-tools.sh (npm run test:tools), which installs Debian's postgresql-15`,
    );
  return path.join(base, majors[0]!, "bin");
}

/** The uid and gid to run PostgreSQL as: Debian's `postgres` user when we are root. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .map((line) => line.split(":"))
    .find((fields) => fields[0] === "postgres");
  if (entry === undefined)
    throw new Error("running as root and there is no postgres user: install Debian's postgresql-15");
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

export class Postgres {
  private child: ChildProcess | undefined;
  private output = "";
  private readonly onExit = () => this.killNow();

  private constructor(
    private readonly bin: string,
    readonly dir: string,
    readonly port: number,
    private readonly identity: { uid: number; gid: number } | undefined,
  ) {}

  /** A fresh cluster, started. */
  static async start(): Promise<Postgres> {
    const bin = postgresBinDir();
    const identity = serverIdentity();
    const dir = await mkdtemp(path.join(os.tmpdir(), "plinth-postgres-"));
    if (identity !== undefined) await chown(dir, identity.uid, identity.gid);
    const pg = new Postgres(bin, dir, await freePort(), identity);
    try {
      await pg.run("initdb", [
        `--pgdata=${pg.dataDir}`,
        "--username=postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
      ]);
      await pg.startServer();
    } catch (err) {
      await pg.dispose();
      throw err;
    }
    return pg;
  }

  private get dataDir(): string {
    return path.join(this.dir, "data");
  }

  /** `postgresql://` URI of a database (psycopg and SQLAlchemy read it as is). */
  uri(database: string): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Creates an empty database. */
  async createDatabase(name: string): Promise<void> {
    await this.run("createdb", ["--host=127.0.0.1", `--port=${this.port}`, "--username=postgres", name]);
  }

  private async run(program: string, args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileAsync(path.join(this.bin, program), args, {
        ...this.identity,
        cwd: this.dir,
        timeout: 60_000,
      });
      return stdout;
    } catch (err) {
      const e = err as { code?: number; stderr?: string; stdout?: string };
      throw new Error(`${program} exited with ${e.code}:\n${e.stderr}\n${e.stdout}`, { cause: err });
    }
  }

  private async startServer(): Promise<void> {
    this.output = "";
    const child = spawn(
      path.join(this.bin, "postgres"),
      [
        "-D",
        this.dataDir,
        "-p",
        String(this.port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "unix_socket_directories=",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
      ],
      { ...this.identity, cwd: this.dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    process.once("exit", this.onExit);
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}:\n${this.output}`);
      const ready = await execFileAsync(path.join(this.bin, "pg_isready"), [
        "--quiet",
        "--host=127.0.0.1",
        `--port=${this.port}`,
        "--username=postgres",
        "--dbname=postgres",
      ]).then(
        () => true,
        () => false,
      );
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`postgres did not accept connections within 60 s:\n${this.output}`);
  }

  /** The server's recent output, for failure messages. */
  get log(): string {
    return this.output;
  }

  /** Stops the server (fast shutdown: SIGINT, SIGKILL after 10 s) and removes the cluster. */
  async dispose(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    process.removeListener("exit", this.onExit);
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** A test process that ends without dispose(): take the server and its folder with it. */
  private killNow(): void {
    try {
      this.child?.kill("SIGQUIT");
    } catch {
      // already gone
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // files the exiting server still writes: a temporary folder, left to the system
    }
  }
}
