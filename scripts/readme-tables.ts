/**
 * Regenerates the README tables that have a source of truth in code: the service settings
 * (`ENV_DOCS` in service/config.ts) and the error codes (`ERROR_STATUS`/`ERROR_DOCS`). Each table
 * sits between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` markers.
 *
 *   npx tsx scripts/readme-tables.ts          rewrite README.md
 *   npx tsx scripts/readme-tables.ts --check  exit 1 when README.md is stale
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ENV, ENV_DOCS } from "../service/config.js";
import { ERROR_DOCS, ERROR_STATUS, ErrorCode } from "../service/errors/codes.js";

export const README_PATH = fileURLToPath(new URL("../README.md", import.meta.url));

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The generated blocks, by marker name. */
export function generatedTables(): Record<string, string> {
  const settings = table(
    ["variable", "meaning"],
    Object.values(ENV).map((name) => [`\`${name}\``, ENV_DOCS[name]]),
  );
  const errors = table(
    ["code", "HTTP", "meaning"],
    Object.values(ErrorCode).map((code) => [`\`${code}\``, String(ERROR_STATUS[code]), ERROR_DOCS[code]]),
  );
  return { "service-settings": settings, "error-codes": errors };
}

/** README text with every generated block replaced; throws when a marker pair is missing. */
export function renderReadme(readme: string): string {
  let out = readme;
  for (const [name, body] of Object.entries(generatedTables())) {
    const open = `<!-- generated:${name} -->`;
    const close = `<!-- /generated:${name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`README.md: missing the ${open} ... ${close} markers`);
    out = `${out.slice(0, start + open.length)}\n${body}\n${out.slice(end)}`;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const current = readFileSync(README_PATH, "utf8");
  const next = renderReadme(current);
  if (process.argv.includes("--check")) {
    if (next !== current) {
      process.stderr.write("README.md tables are stale: run `npm run readme:tables`\n");
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(README_PATH, next);
  }
}
