import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../../policies/runner/main.ts", import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", MAIN, ...args], (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

const USAGE = "usage: npm run policy -- <staging|production> [--cloud aws|gcp|existing]";

describe("npm run policy (argument errors, before any render)", () => {
  it("exits 2 with the usage when the stack is missing or unknown", async () => {
    for (const args of [[], ["qa"], ["staging", "production"]]) {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(`expected one stack name\n${USAGE}`);
    }
  });

  it("exits 2 naming --cloud when the cloud is unknown", async () => {
    const result = await run(["staging", "--cloud", "azure"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`--cloud: expected aws, gcp, existing, got "azure"\n${USAGE}`);
  });
});
