/**
 * A worker thread running a sibling module of the caller, however this process runs the code.
 * Compiled (dist/, what the image and `npm start` run), the sibling is JavaScript and the worker
 * loads it directly. From TypeScript source (tsx, vitest), Node 20 does not apply the parent's
 * module hooks inside a worker, so the worker starts from a one-line bootstrap that imports the
 * sibling through tsx's API (installed with the repository's dependencies; the image removes it and
 * never takes this path).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts `./<name>.js` (compiled) or `./<name>.ts` (source) next to the module at `callerUrl`
 * (its `import.meta.url`), with `options` (workerData, resource limits).
 */
export function siblingWorker(callerUrl: string, name: string, options: WorkerOptions): Worker {
  if (!callerUrl.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const tsxApi = pathToFileURL(resolveEsmExport("tsx", "./esm/api", callerUrl)).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => api.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}));`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** Resolves a package export under the `import` condition (createRequire alone picks `require`). */
function resolveEsmExport(pkg: string, subpath: string, from: string): string {
  const manifestPath = createRequire(from).resolve(`${pkg}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    exports: Record<string, { import: { default: string } }>;
  };
  const target = manifest.exports[subpath]?.import.default;
  if (target === undefined) throw new Error(`${pkg} has no ESM export ${subpath}`);
  return path.join(path.dirname(manifestPath), target);
}
