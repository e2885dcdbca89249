/**
 * Kubeconfig files: one per client of the API server (bearer token, the cluster's CA embedded, no
 * insecure-skip-tls-verify), and the reverse, reading a kubeconfig's current context back into what
 * an HTTPS client needs.
 */
import { parse, stringify } from "yaml";

export const CONTEXT_NAME = "plinth-local";

export interface KubeconfigParts {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** PEM of the CA that signed the API server's certificate. */
  readonly caPem: string;
  readonly token: string;
  /** Namespace of the context. @default "default" */
  readonly namespace?: string;
}

export function renderKubeconfig(parts: KubeconfigParts, user: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: CONTEXT_NAME,
        cluster: {
          server: parts.server,
          "certificate-authority-data": Buffer.from(parts.caPem).toString("base64"),
        },
      },
    ],
    users: [{ name: user, user: { token: parts.token } }],
    contexts: [
      {
        name: CONTEXT_NAME,
        context: { cluster: CONTEXT_NAME, user, namespace: parts.namespace ?? "default" },
      },
    ],
    "current-context": CONTEXT_NAME,
    preferences: {},
  });
}

/** `field` of the entry called `name` in a kubeconfig list (clusters, users, contexts). */
function byName(list: unknown, name: unknown, field: string): Record<string, unknown> {
  const entries = Array.isArray(list) ? (list as Record<string, unknown>[]) : [];
  const entry = entries.find((e) => e.name === name);
  const value = entry?.[field];
  if (typeof value !== "object" || value === null) {
    throw new Error(`kubeconfig: no ${field} named ${String(name)}`);
  }
  return value as Record<string, unknown>;
}

/** The server, CA and token of a token-based kubeconfig's current context. */
export function readKubeconfig(text: string): KubeconfigParts {
  const config = parse(text) as Record<string, unknown>;
  const context = byName(config.contexts, config["current-context"], "context");
  const cluster = byName(config.clusters, context.cluster, "cluster");
  const user = byName(config.users, context.user, "user");
  const caData = cluster["certificate-authority-data"];
  if (typeof cluster.server !== "string" || typeof caData !== "string" || typeof user.token !== "string") {
    throw new Error("kubeconfig: the current context needs a server, certificate-authority-data and a token");
  }
  return {
    server: cluster.server,
    caPem: Buffer.from(caData, "base64").toString("utf8"),
    token: user.token,
    ...(typeof context.namespace === "string" ? { namespace: context.namespace } : {}),
  };
}
