/**
 * Vitest's global setup: compiles the service into dist/ (`npm run build`, tsconfig.build.json)
 * before any test starts it as a process, so the process tests run the JavaScript the image runs,
 * compiled from the sources under test; again before each rerun in watch mode. Incremental: ~2 s
 * when nothing changed.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** tsc's exit status when it found type errors and wrote the output all the same. */
const EMITTED_WITH_ERRORS = 2;

function build(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
    cwd: REPO_ROOT,
    stdio: "inherit",
  });
  // A type error is the typecheck's failure (npm test runs it); the tests still run on what tsc
  // emitted, as they did when they ran the sources through tsx. The image's build fails on it.
  if (run.status === EMITTED_WITH_ERRORS) {
    process.stderr.write("build-service: dist/ was written with type errors (see `npm run typecheck`)\n");
    return;
  }
  if (run.status !== 0)
    throw new Error(`npm run build failed (${run.error?.message ?? `exit ${run.status}`})`);
}

export default function buildService(project: TestProject): void {
  build();
  project.onTestsRerun(() => build());
}
