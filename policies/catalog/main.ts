/**
 * `npm run policy:catalog` writes policies/CATALOG.md; `npm run policy:catalog -- --check` exits 1
 * when the committed catalog differs from what the policies say.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { policyTopics } from "../all.js";
import { renderCatalog } from "./generate.js";

export const CATALOG_PATH = fileURLToPath(new URL("../CATALOG.md", import.meta.url));

const expected = renderCatalog(policyTopics);
if (process.argv.includes("--check")) {
  const actual = await readFile(CATALOG_PATH, "utf8").catch(() => "");
  if (actual !== expected) {
    console.error("policies/CATALOG.md is stale: run `npm run policy:catalog`.");
    process.exitCode = 1;
  }
} else {
  await writeFile(CATALOG_PATH, expected);
  console.log(`wrote ${CATALOG_PATH}`);
}
