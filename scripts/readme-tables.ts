/**
 * Regenerates the documentation tables that have a source of truth in code: the service settings
 * (`ENV_DOCS` in service/config.ts) and the error codes (`ERROR_STATUS`/`ERROR_DOCS`), in
 * docs/service-api.md. Each table sits between `<!-- generated:NAME -->` and
 * `<!-- /generated:NAME -->` markers. (`npm run readme:tables` keeps its name from when the tables
 * were in the README.)
 *
 *   npx tsx scripts/readme-tables.ts          rewrite docs/service-api.md
 *   npx tsx scripts/readme-tables.ts --check  exit 1 when docs/service-api.md is stale
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ENV, ENV_DOCS } from "../service/config.js";
import { ERROR_DOCS, ERROR_STATUS, ErrorCode } from "../service/errors/codes.js";

/** The document that holds the generated tables, relative to the repository root. */
export const TABLES_DOC = "docs/service-api.md";
export const TABLES_DOC_PATH = fileURLToPath(new URL(`../${TABLES_DOC}`, import.meta.url));

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

/** The document's text with every generated block replaced; throws when a marker pair is missing. */
export function renderTables(doc: string): string {
  let out = doc;
  for (const [name, body] of Object.entries(generatedTables())) {
    const open = `<!-- generated:${name} -->`;
    const close = `<!-- /generated:${name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`${TABLES_DOC}: missing the ${open} ... ${close} markers`);
    out = `${out.slice(0, start + open.length)}\n${body}\n${out.slice(end)}`;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const current = readFileSync(TABLES_DOC_PATH, "utf8");
  const next = renderTables(current);
  if (process.argv.includes("--check")) {
    if (next !== current) {
      process.stderr.write(`${TABLES_DOC} tables are stale: run \`npm run readme:tables\`\n`);
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(TABLES_DOC_PATH, next);
  }
}
