/**
 * Credential-free rendering of a plinth stack: the program run under Pulumi's mock runtime, every
 * registered resource recorded with its inputs, protect flag, parent, provider and dependencies.
 * Used by the tests, the policy pack's local runner and `npm run render`.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RenderOptions, RenderedStack } from "./types.js";

export type { Cloud, RenderOptions, RenderedResource, RenderedStack, StackName } from "./types.js";

const CHILD = fileURLToPath(new URL("./child.ts", import.meta.url));

/** Raised when the program fails under the mocks (a config error, a ResourceError, ...). */
export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RenderError";
  }
}

/**
 * Renders a stack in a fresh child process (Pulumi's runtime state is process-global), so it can
 * be called any number of times, concurrently, from one process.
 */
export async function renderStack(options: RenderOptions): Promise<RenderedStack> {
  const dir = await mkdtemp(join(tmpdir(), "plinth-render-"));
  const outFile = join(dir, "stack.json");
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--import", "tsx", CHILD, JSON.stringify(options), outFile],
        { maxBuffer: 16 * 1024 * 1024 },
        (error, _stdout, stderr) =>
          error ? reject(new RenderError(stderr.trim() || error.message)) : resolve(),
      );
    });
    return JSON.parse(await readFile(outFile, "utf8")) as RenderedStack;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
