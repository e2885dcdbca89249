/**
 * A throwaway certificate authority and one server certificate for the local stack, made with the
 * openssl CLI: P-256 keys, valid for a week, the server certificate naming 127.0.0.1 and localhost.
 * The CA key never leaves the stack's temporary folder, which is removed when the stack stops.
 */
import { execFile } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { TOOLS } from "./tools.js";

const execFileAsync = promisify(execFile);
const VALID_DAYS = "7";

export interface LocalTls {
  /** PEM of the CA that signed the server certificate: what a client trusts. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  try {
    await execFileAsync(TOOLS.openssl, [...args], { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

const P256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"];

/** Writes ca.pem, server.pem and server.key into `dir` and returns their paths. */
export async function createLocalTls(dir: string): Promise<LocalTls> {
  const file = (name: string) => path.join(dir, name);
  await openssl(
    [
      "req",
      "-x509",
      ...P256,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      VALID_DAYS,
      "-subj",
      "/CN=plinth local stack CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE,pathlen:0",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  await openssl(
    ["req", ...P256, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
    dir,
  );
  await writeFile(
    file("server.ext"),
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "",
    ].join("\n"),
  );
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      VALID_DAYS,
      "-extfile",
      "server.ext",
      "-out",
      "server.pem",
    ],
    dir,
  );
  // openssl writes keys with the process umask: only the owner may read them.
  await Promise.all([chmod(file("ca.key"), 0o600), chmod(file("server.key"), 0o600)]);
  return { caFile: file("ca.pem"), certFile: file("server.pem"), keyFile: file("server.key") };
}
