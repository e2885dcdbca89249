/**
 * The cluster's keys and certificates, made fresh for every cluster in its data folder:
 *
 * - a CA (P-256, openssl: node:crypto can read X.509 but not issue it), trusted by the kubeconfig,
 *   published to pods as kube-root-ca.crt, and the signer of CSRs;
 * - kube-apiserver's serving certificate from that CA, for 127.0.0.1, localhost and the in-cluster
 *   names of the `kubernetes` Service;
 * - the service-account key pair (RSA, node:crypto): the API server signs tokens with the private
 *   key and verifies them with the public one; the controller-manager signs legacy token Secrets;
 * - one bearer token per client, for kube-apiserver's static token file.
 *
 * Keys are written 0600; the folder goes away when the cluster stops.
 */
import { generateKeyPair, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { createCa, issueCertificate } from "../shared/openssl-ca.js";

const generateKeyPairAsync = promisify(generateKeyPair);

/** Long enough for a week-long `cluster:local`, short enough that a leaked file soon means nothing. */
const VALID_DAYS = 30;

/** The first address of the Service range: what `kubernetes.default.svc` resolves to in a pod. */
export const KUBERNETES_SERVICE_IP = "10.96.0.1";
export const SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16";

/** Who talks to kube-apiserver, each with its own token and identity (see tokenAuthFile). */
export const CLIENTS = {
  /** The kubeconfig handed to users and tests: cluster admin. */
  admin: { user: "plinth-admin", groups: ["system:masters"] },
  /**
   * The controller-manager, as one admin identity for all its controllers. kubeadm's setup (one
   * ServiceAccount per controller, --use-service-account-credentials) costs ~5 s of every start:
   * the controller-manager then creates an account and a token for each of its ~40 controllers,
   * one after another. Workloads' RBAC is unaffected.
   */
  controllerManager: { user: "system:kube-controller-manager", groups: ["system:masters"] },
  /** The bootstrap RBAC policy's identity for the scheduler. */
  scheduler: { user: "system:kube-scheduler", groups: [] },
  /** kwok writes node and pod status, leases and deletions for every fake node: an admin, by name. */
  kwok: { user: "kwok-controller", groups: ["system:masters"] },
} as const;

export type ClusterClient = keyof typeof CLIENTS;

export interface ClusterCredentials {
  readonly caFile: string;
  readonly caKeyFile: string;
  /** PEM of the CA, as the kubeconfig embeds it. */
  readonly caPem: string;
  readonly apiserverCertFile: string;
  readonly apiserverKeyFile: string;
  readonly serviceAccountPublicKeyFile: string;
  readonly serviceAccountPrivateKeyFile: string;
  /** kube-apiserver's --token-auth-file. */
  readonly tokenAuthFile: string;
  readonly tokens: Readonly<Record<ClusterClient, string>>;
}

const CERT_OPTIONS = { validDays: VALID_DAYS, errorContext: "local cluster" } as const;

async function createApiserverCert(dir: string): Promise<void> {
  await issueCertificate(dir, {
    ...CERT_OPTIONS,
    name: "apiserver",
    commonName: "kube-apiserver",
    sans: [
      "IP:127.0.0.1",
      `IP:${KUBERNETES_SERVICE_IP}`,
      "DNS:localhost",
      "DNS:kubernetes",
      "DNS:kubernetes.default",
      "DNS:kubernetes.default.svc",
      "DNS:kubernetes.default.svc.cluster.local",
    ],
  });
}

async function createServiceAccountKeys(dir: string): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPairAsync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  await writeFile(path.join(dir, "sa.pub"), publicKey);
  await writeFile(path.join(dir, "sa.key"), privateKey, { mode: 0o600 });
}

/** kube-apiserver's static token file: `token,user,uid[,"group,group"]` per line. */
export function tokenAuthFile(tokens: Readonly<Record<ClusterClient, string>>): string {
  return (Object.keys(CLIENTS) as ClusterClient[])
    .map((client) => {
      const { user, groups } = CLIENTS[client];
      const groupsColumn = groups.length === 0 ? "" : `,"${groups.join(",")}"`;
      return `${tokens[client]},${user},${user}${groupsColumn}\n`;
    })
    .join("");
}

/** Writes every key, certificate and the token file into `dir` (which must exist). */
export async function createClusterCredentials(dir: string): Promise<ClusterCredentials> {
  const file = (name: string) => path.join(dir, name);
  const tokens = Object.fromEntries(
    (Object.keys(CLIENTS) as ClusterClient[]).map((client) => [
      client,
      randomBytes(32).toString("base64url"),
    ]),
  ) as Record<ClusterClient, string>;
  await Promise.all([
    createCa(dir, {
      ...CERT_OPTIONS,
      commonName: "plinth-local-cluster-ca",
      keyUsage: ["keyCertSign", "cRLSign", "digitalSignature"],
    }).then(() => createApiserverCert(dir)),
    createServiceAccountKeys(dir),
    writeFile(file("tokens.csv"), tokenAuthFile(tokens), { mode: 0o600 }),
  ]);
  return {
    caFile: file("ca.pem"),
    caKeyFile: file("ca.key"),
    caPem: await readFile(file("ca.pem"), "utf8"),
    apiserverCertFile: file("apiserver.pem"),
    apiserverKeyFile: file("apiserver.key"),
    serviceAccountPublicKeyFile: file("sa.pub"),
    serviceAccountPrivateKeyFile: file("sa.key"),
    tokenAuthFile: file("tokens.csv"),
    tokens,
  };
}
