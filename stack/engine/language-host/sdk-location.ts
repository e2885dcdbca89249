/**
 * Finds the @pulumi/pulumi package a program (or policy pack) depends on, the way node resolves it
 * from the program's directory: the program must run with its own SDK, not the host's.
 */
import { createRequire } from "node:module";
import path from "node:path";

export class SdkNotInstalledError extends Error {
  constructor(directory: string) {
    super(
      `@pulumi/pulumi cannot be resolved from ${directory}: the program's dependencies are not ` +
        "installed (run `npm ci` where its package.json is)",
    );
    this.name = "SdkNotInstalledError";
  }
}

/** The absolute directory of @pulumi/pulumi as resolved from `directory`. */
export function resolveSdkDir(directory: string): string {
  // createRequire needs a file name; the file does not have to exist.
  const requireFromProgram = createRequire(path.join(directory, "__plinth_resolve__.js"));
  try {
    return path.dirname(requireFromProgram.resolve("@pulumi/pulumi/package.json"));
  } catch {
    throw new SdkNotInstalledError(directory);
  }
}

/** The script node runs for a Pulumi program. */
export function runScript(sdkDir: string): string {
  return path.join(sdkDir, "cmd", "run", "index.js");
}

/** The script node runs for a policy pack. */
export function runPolicyPackScript(sdkDir: string): string {
  return path.join(sdkDir, "cmd", "run-policy-pack", "index.js");
}
