/**
 * Vitest's global setup: compiles the service into dist/ (`npm run build`, tsconfig.build.json)
 * before any test starts it as a process, so the process tests run the JavaScript the image runs,
 * compiled from the sources under test. Incremental: ~2 s when nothing changed.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export default function buildService(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: REPO_ROOT, stdio: "inherit" });
}
