/**
 * The serving core (service/serving/) knows no HTTP framework: it and everything it imports stay
 * free of fastify, so another protocol adapter can use it as it is.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../support/service-process.js";

const SERVING = path.join(REPO_ROOT, "service", "serving");
const IMPORT = /^import\s[^;]*?from\s+"([^"]+)"/gms;

/** Every module `file` reaches through relative imports, itself included. */
function reachable(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const [, spec] of readFileSync(file, "utf8").matchAll(IMPORT)) {
    if (spec!.startsWith("."))
      reachable(path.resolve(path.dirname(file), spec!.replace(/\.js$/, ".ts")), seen);
  }
  return seen;
}

describe("the serving core", () => {
  it("imports no fastify, directly or through the modules it uses", () => {
    const modules = new Set<string>();
    for (const name of readdirSync(SERVING)) reachable(path.join(SERVING, name), modules);
    const offenders = [...modules].filter((file) =>
      [...readFileSync(file, "utf8").matchAll(IMPORT)].some(([, spec]) =>
        /^(@fastify\/|fastify)/.test(spec!),
      ),
    );
    expect(modules.size).toBeGreaterThan(4);
    expect(offenders.map((f) => path.relative(REPO_ROOT, f))).toEqual([]);
  });
});
