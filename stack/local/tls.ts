/**
 * A throwaway certificate authority and one server certificate for the local stack, made with the
 * openssl CLI: P-256 keys, valid for a week, the server certificate naming 127.0.0.1, localhost and
 * the other host names the edge serves (MLflow's).
 * The CA key never leaves the stack's temporary folder, which is removed when the stack stops.
 */
import path from "node:path";
import { createCa, issueCertificate } from "../shared/openssl-ca.js";

const VALID_DAYS = 7;

export interface LocalTls {
  /** PEM of the CA that signed the server certificate: what a client trusts. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Writes ca.pem, server.pem and server.key into `dir` and returns their paths. */
export async function createLocalTls(dir: string, otherHosts: readonly string[] = []): Promise<LocalTls> {
  const file = (name: string) => path.join(dir, name);
  await createCa(dir, {
    commonName: "plinth local stack CA",
    validDays: VALID_DAYS,
    pathLength: 0,
    keyUsage: ["keyCertSign", "cRLSign"],
  });
  await issueCertificate(dir, {
    name: "server",
    commonName: "localhost",
    sans: ["DNS:localhost", "IP:127.0.0.1", ...otherHosts.map((host) => `DNS:${host}`)],
    validDays: VALID_DAYS,
  });
  return { caFile: file("ca.pem"), certFile: file("server.pem"), keyFile: file("server.key") };
}
