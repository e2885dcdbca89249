/**
 * A throwaway certificate authority and the certificates it issues, made with the openssl CLI
 * (node:crypto can read X.509 but not issue it): P-256 keys, files named by the caller in one folder.
 * Keys are made 0600 as soon as they are written (openssl writes them with the process umask).
 */
import { execFile } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export const OPENSSL = "/usr/bin/openssl";

const P256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"];
const CA_KEY = "ca.key";
const CA_CERT = "ca.pem";

/** Runs openssl in `cwd`; a failure's message is `[<context>: ]openssl <command> failed: <stderr>`. */
export async function openssl(args: readonly string[], cwd: string, context?: string): Promise<void> {
  try {
    await execFileAsync(OPENSSL, [...args], { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const prefix = context === undefined ? "" : `${context}: `;
    throw new Error(`${prefix}openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`, {
      cause: err,
    });
  }
}

export interface CaOptions {
  /** The CA's subject is `/CN=<commonName>`. */
  readonly commonName: string;
  readonly validDays: number;
  /** basicConstraints' pathlen; none when undefined. */
  readonly pathLength?: number;
  /** The CA's (critical) keyUsage values. */
  readonly keyUsage: readonly string[];
  /** Leads openssl's error messages (see `openssl`). */
  readonly errorContext?: string;
}

/** Writes a self-signed CA into `dir`: ca.key and ca.pem. */
export async function createCa(dir: string, options: CaOptions): Promise<void> {
  const pathLength = options.pathLength === undefined ? "" : `,pathlen:${options.pathLength}`;
  await openssl(
    [
      "req",
      "-x509",
      ...P256,
      "-keyout",
      CA_KEY,
      "-out",
      CA_CERT,
      "-days",
      String(options.validDays),
      "-subj",
      `/CN=${options.commonName}`,
      "-addext",
      `basicConstraints=critical,CA:TRUE${pathLength}`,
      "-addext",
      `keyUsage=critical,${options.keyUsage.join(",")}`,
    ],
    dir,
    options.errorContext,
  );
  await chmod(path.join(dir, CA_KEY), 0o600);
}

export interface CertificateOptions {
  /** The files' base name: `<name>.key`, `<name>.pem` (and the `<name>.csr` and `<name>.ext` inputs). */
  readonly name: string;
  /** The certificate's subject is `/CN=<commonName>`. */
  readonly commonName: string;
  /** subjectAltName entries, in order: "DNS:localhost", "IP:127.0.0.1", ... */
  readonly sans: readonly string[];
  readonly validDays: number;
  /** Leads openssl's error messages (see `openssl`). */
  readonly errorContext?: string;
}

/** Issues a server (serverAuth) certificate from the CA that `createCa` wrote into `dir`. */
export async function issueCertificate(dir: string, options: CertificateOptions): Promise<void> {
  const { name, errorContext } = options;
  await openssl(
    ["req", ...P256, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${options.commonName}`],
    dir,
    errorContext,
  );
  await writeFile(
    path.join(dir, `${name}.ext`),
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${options.sans.join(",")}`,
      "",
    ].join("\n"),
  );
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      CA_CERT,
      "-CAkey",
      CA_KEY,
      "-CAcreateserial",
      "-days",
      String(options.validDays),
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    ],
    dir,
    errorContext,
  );
  await chmod(path.join(dir, `${name}.key`), 0o600);
}
