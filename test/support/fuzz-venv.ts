/**
 * The Python venv of the API fuzzer and the v2 protocol client (.tools/fuzz-venv, exactly
 * test/support/fuzz-requirements.txt, installed by scripts/install-test-tools.sh).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./service-process.js";

export const FUZZ_VENV = path.join(REPO_ROOT, ".tools", "fuzz-venv");

/** Path of a program in the venv; throws, naming the installer, when it is missing. */
export function fuzzVenvProgram(name: "st" | "python"): string {
  const program = path.join(FUZZ_VENV, "bin", name);
  if (!existsSync(program)) {
    throw new Error(`${program} is missing: run scripts/install-test-tools.sh (it installs ${FUZZ_VENV})`);
  }
  return program;
}

export interface ProgramResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion; resolves with its exit code and output (a non-zero code too). */
export function runProgram(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : (err as { code?: unknown }).code;
        if (typeof code !== "number") reject(new Error(`${file} failed: ${String(err)}\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}
