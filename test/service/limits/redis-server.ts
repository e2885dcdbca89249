/**
 * A throwaway redis-server for the limits' tests: Debian's redis-server (scripts/tools/pins.sh) on
 * 127.0.0.1 at a free port, no persistence (no RDB snapshots, no AOF), a password, and TLS when
 * asked (a CA and a server certificate made with openssl in a temporary folder). It can be paused
 * (SIGSTOP: a hung Redis, connections open but silent), resumed, killed and started again on the
 * same port, as the outage tests need.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../support/ports.js";

const execFileAsync = promisify(execFile);
const REDIS_SERVER = "/usr/bin/redis-server";

export interface TlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface RedisServerOptions {
  readonly password: string;
  readonly tls?: boolean;
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private output = "";
  private readonly onExit = () => this.child?.kill("SIGKILL");

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly password: string,
    readonly tls: TlsFiles | undefined,
  ) {}

  static async start(options: RedisServerOptions): Promise<RedisServer> {
    if (!existsSync(REDIS_SERVER))
      throw new Error(
        `no ${REDIS_SERVER}: run scripts/install-test-tools.sh (npm run test:tools), which installs Debian's redis-server`,
      );
    const dir = await mkdtemp(path.join(os.tmpdir(), "plinth-redis-"));
    const tls = options.tls === true ? await makeCertificates(dir) : undefined;
    const server = new RedisServer(await freePort(), dir, options.password, tls);
    try {
      await server.launch();
    } catch (err) {
      await server.dispose();
      throw err;
    }
    return server;
  }

  /** The URL the service is given (RATE_LIMIT_REDIS_URL). */
  get url(): string {
    return `${this.tls === undefined ? "redis" : "rediss"}://:${this.password}@127.0.0.1:${this.port}`;
  }

  /** SIGSTOP: the server holds its connections and answers nothing. */
  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  /** SIGKILL, and waits for the exit: the connections drop. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    await exited;
  }

  /** Starts the server again on the same port (empty: nothing is persisted). */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async dispose(): Promise<void> {
    await this.kill();
    process.off("exit", this.onExit);
    await rm(this.dir, { recursive: true, force: true });
  }

  private args(): string[] {
    const common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir];
    const auth = ["--requirepass", this.password, "--protected-mode", "yes"];
    if (this.tls === undefined) return [...common, ...auth, "--port", String(this.port)];
    return [
      ...common,
      ...auth,
      "--port",
      "0",
      "--tls-port",
      String(this.port),
      "--tls-cert-file",
      this.tls.certFile,
      "--tls-key-file",
      this.tls.keyFile,
      "--tls-ca-cert-file",
      this.tls.caFile,
      "--tls-auth-clients",
      "no",
    ];
  }

  private launch(): Promise<void> {
    this.output = "";
    const child = spawn(REDIS_SERVER, this.args(), { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    process.once("exit", this.onExit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server not ready:\n${this.output}`)), 10_000);
      const onData = (d: Buffer) => {
        this.output += d.toString();
        if (this.output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}):\n${this.output}`));
      });
    });
  }
}

/** A CA and a server certificate for 127.0.0.1 and localhost, signed by it. */
async function makeCertificates(dir: string): Promise<TlsFiles> {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileAsync("openssl", args);
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=plinth test CA",
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.crt"),
  );
  await openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    file("server.key"),
    "-out",
    file("server.csr"),
  );
  await writeFile(
    file("server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.crt"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    file("server.ext"),
    "-out",
    file("server.crt"),
  );
  return { caFile: file("ca.crt"), certFile: file("server.crt"), keyFile: file("server.key") };
}
