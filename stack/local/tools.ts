/**
 * The third-party programs the local stack runs, where scripts/install-test-tools.sh puts them.
 * A missing one is an error naming the script, never a silently smaller stack.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isExecutable } from "../shared/executable.js";
import { OPENSSL } from "../shared/openssl-ca.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const TOOLS = {
  oauth2Proxy: path.join(REPO_ROOT, ".tools", "bin", "oauth2-proxy"),
  mlflow: path.join(REPO_ROOT, ".tools", "mlflow-venv", "bin", "mlflow"),
  traefik: path.join(REPO_ROOT, ".tools", "bin", "traefik"),
  nginx: "/usr/sbin/nginx",
  prometheus: "/usr/bin/prometheus",
  openssl: OPENSSL,
} as const;

/** Throws one error listing every tool that is not installed. */
export function assertToolsInstalled(names: readonly (keyof typeof TOOLS)[]): void {
  const missing = names.filter((name) => !isExecutable(TOOLS[name]));
  if (missing.length > 0) {
    throw new Error(
      `not installed: ${missing.map((name) => TOOLS[name]).join(", ")}; ` +
        "run `npm run test:tools` (scripts/install-test-tools.sh)",
    );
  }
}
