/**
 * Child-process entry of renderStack: reads RenderOptions (JSON) from argv[2], renders once and
 * writes the RenderedStack as JSON to the file named by argv[3]. Failures go to stderr with exit 1.
 */
import { writeFileSync } from "node:fs";
import { renderStackInProcess } from "./run.js";
import type { RenderOptions } from "./types.js";

const [optionsJson, outFile] = process.argv.slice(2);
if (!optionsJson || !outFile) {
  process.stderr.write("usage: child.ts '<RenderOptions JSON>' <out.json>\n");
  process.exit(2);
}
try {
  const rendered = await renderStackInProcess(JSON.parse(optionsJson) as RenderOptions);
  writeFileSync(outFile, JSON.stringify(rendered));
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
