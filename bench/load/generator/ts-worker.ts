/**
 * Starts a worker thread on a TypeScript module. Worker threads do not inherit the tsx loader the
 * bench runs under (nor vitest's), so the thread first registers tsx, then imports the module.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

/**
 * tsx's ESM API, from its package's `import` export (require.resolve gives the CommonJS one, which
 * registers a loader the thread cannot find; vitest has no import.meta.resolve).
 */
function tsxEsmApi(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve("tsx/package.json");
  const exports = (require(manifest) as { exports: Record<string, { import: { default: string } }> }).exports;
  return pathToFileURL(path.join(path.dirname(manifest), exports["./esm/api"]!.import.default)).href;
}
const tsxApi = tsxEsmApi();

export function startTypeScriptWorker(entry: URL, workerData: unknown): Worker {
  const boot =
    `const { register } = await import(${JSON.stringify(tsxApi)});\n` +
    `register();\n` +
    `await import(${JSON.stringify(entry.href)});\n`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData });
}
