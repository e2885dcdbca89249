/**
 * The third-party programs the local stack runs, where scripts/install-test-tools.sh puts them.
 * A missing one is an error naming the script, never a silently smaller stack.
 */
import { accessSync, constants } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const TOOLS = {
  oauth2Proxy: path.join(REPO_ROOT, ".tools", "bin", "oauth2-proxy"),
  mlflow: path.join(REPO_ROOT, ".tools", "mlflow-venv", "bin", "mlflow"),
  nginx: "/usr/sbin/nginx",
  prometheus: "/usr/bin/prometheus",
  openssl: "/usr/bin/openssl",
} as const;

/** Throws one error listing every tool that is not installed. */
export function assertToolsInstalled(names: readonly (keyof typeof TOOLS)[]): void {
  const missing = names.filter((name) => {
    try {
      accessSync(TOOLS[name], constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(
      `not installed: ${missing.map((name) => TOOLS[name]).join(", ")}; ` +
        "run `npm run test:tools` (scripts/install-test-tools.sh)",
    );
  }
}
