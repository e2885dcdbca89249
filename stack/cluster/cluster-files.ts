/**
 * Everything the control plane reads from disk, written into the data folder before any process
 * starts: keys and certificates (pki/), one kubeconfig per API client, kwok's Stage file.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { CLIENTS, createClusterCredentials, type ClusterClient } from "./certs.js";
import { LOOPBACK, type ComponentContext } from "./component-args.js";
import { renderKubeconfig } from "./kubeconfig.js";
import { renderKwokConfig } from "./kwok-stages.js";
import type { ClusterPorts } from "./ports.js";

export interface ClusterFiles {
  /** What the programs' command lines are made from. */
  readonly context: ComponentContext;
  /** https://127.0.0.1:<apiserver port> */
  readonly server: string;
  /** The cluster-admin kubeconfig's text, and its file. */
  readonly adminKubeconfig: string;
  readonly adminKubeconfigFile: string;
}

export async function writeClusterFiles(dataDir: string, ports: ClusterPorts): Promise<ClusterFiles> {
  const pkiDir = path.join(dataDir, "pki");
  await mkdir(pkiDir, { mode: 0o700 });
  const credentials = await createClusterCredentials(pkiDir);
  const server = `https://${LOOPBACK}:${ports.apiserver}`;

  const kubeconfigFile = (client: ClusterClient) =>
    client === "admin" ? path.join(dataDir, "kubeconfig") : path.join(dataDir, `${client}.kubeconfig`);
  const kubeconfig = (client: ClusterClient) =>
    renderKubeconfig(
      { server, caPem: credentials.caPem, token: credentials.tokens[client] },
      CLIENTS[client].user,
    );
  await Promise.all(
    (Object.keys(CLIENTS) as ClusterClient[]).map((client) =>
      writeFile(kubeconfigFile(client), kubeconfig(client), { mode: 0o600 }),
    ),
  );

  const kwokConfigFile = path.join(dataDir, "kwok.yaml");
  await writeFile(kwokConfigFile, renderKwokConfig());
  return {
    context: {
      ports,
      credentials,
      dataDir,
      kubeconfigs: {
        controllerManager: kubeconfigFile("controllerManager"),
        scheduler: kubeconfigFile("scheduler"),
        kwok: kubeconfigFile("kwok"),
      },
      kwokConfigFile,
    },
    server,
    adminKubeconfig: kubeconfig("admin"),
    adminKubeconfigFile: kubeconfigFile("admin"),
  };
}
