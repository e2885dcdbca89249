import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { TABLES_DOC, TABLES_DOC_PATH, generatedTables, renderTables } from "../../scripts/readme-tables.js";
import { allPolicies } from "../../policies/all.js";
import { ENV } from "../../service/config.js";
import { ErrorCode } from "../../service/errors/codes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
const tablesDoc = readFileSync(TABLES_DOC_PATH, "utf8");

/** GitHub's heading anchor: lower case, punctuation other than '-' and '_' dropped, spaces to '-'. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

/** The anchors of a markdown file's headings (outside code fences), GitHub's `-1`, `-2` for repeats. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.trimStart().startsWith("```")) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (!heading) continue;
    const base = anchor(heading[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Relative links `](target)` outside code fences, as [target, line number]. */
function linksOf(text: string): [string, number][] {
  const links: [string, number][] = [];
  let fenced = false;
  text.split("\n").forEach((line, i) => {
    if (line.trimStart().startsWith("```")) fenced = !fenced;
    if (fenced) return;
    for (const match of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^[a-z]+:/.test(match[1]!)) links.push([match[1]!, i + 1]);
    }
  });
  return links;
}

describe("README", () => {
  it("opens with the install+start command and the test command", () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const commands = firstBlock
      .split("\n")
      .map((l) => l.replace(/#.*$/, "").trim())
      .filter(Boolean);
    expect(commands).toEqual(["npm ci && npm start", "npm ci && npm test"]);
  });

  it("matches the test command that .ci/run runs", () => {
    expect(readFileSync(new URL("../../.ci/run", import.meta.url), "utf8")).toContain(
      "npm ci --loglevel=error && npm test",
    );
  });

  it("counts the policy pack's policies as the pack does, wherever the docs give the number", () => {
    const status = readFileSync(path.join(ROOT, "docs", "status.md"), "utf8");
    const pack = readFileSync(path.join(ROOT, "docs", "policy-pack.md"), "utf8");
    const counts = [readme, status, pack].map((text) => /\b(\d+) (?:mandatory )?policies\b/.exec(text)?.[1]);
    expect(counts).toEqual(Array(3).fill(String(allPolicies.length)));
  });

  it("links every document in docs/", () => {
    const docs = readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md"));
    for (const doc of docs) expect(readme, doc).toContain(`](docs/${doc})`);
  });
});

describe(`the generated tables in ${TABLES_DOC}`, () => {
  it("has the settings and error-code tables as the code defines them (npm run readme:tables)", () => {
    expect(renderTables(tablesDoc)).toBe(tablesDoc);
  });

  it("lists every setting and every error code", () => {
    const { "service-settings": settings = "", "error-codes": errors = "" } = generatedTables();
    for (const name of Object.values(ENV)) expect(settings).toContain(`| \`${name}\` |`);
    expect(errors).toContain("| `RATE_LIMITED` | 429 |");
    expect(errors.split("\n")).toHaveLength(Object.keys(ErrorCode).length + 2);
  });

  it("refuses a document that lost a marker", () => {
    expect(() => renderTables("# no markers")).toThrow(/missing the <!-- generated:service-settings -->/);
  });
});

describe("links between the README and docs/", () => {
  const files = [
    "README.md",
    ...readdirSync(path.join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];

  it("derives GitHub's anchors from headings", () => {
    expect([...anchorsOf("## MLflow: tracking, the model registry\n### Deployments: `deploy.yml`")]).toEqual([
      "mlflow-tracking-the-model-registry",
      "deployments-deployyml",
    ]);
    expect([...anchorsOf("### Settings\n```\n# not a heading\n```\n### Settings")]).toEqual([
      "settings",
      "settings-1",
    ]);
  });

  it.each(files)("%s: every relative link names a file that exists, and a heading of it", (file) => {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    const broken: string[] = [];
    for (const [target, line] of linksOf(text)) {
      const [to = "", hash] = target.split("#");
      const resolved =
        to === "" ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), to);
      if (!existsSync(resolved)) broken.push(`${file}:${line}: ${target} (no such file)`);
      else if (hash !== undefined && resolved.endsWith(".md")) {
        if (!anchorsOf(readFileSync(resolved, "utf8")).has(hash))
          broken.push(`${file}:${line}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
