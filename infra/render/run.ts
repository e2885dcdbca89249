/**
 * Runs the plinth program once under Pulumi's mock runtime, in this process, and returns what it
 * registered. Pulumi keeps its state on globalThis, so a process can run this once: renderStack
 * (index.ts) runs it in a child process for callers that need several renders.
 */
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings.js";
import type { Cloud } from "../config/schema.js";
import { plinthMocks } from "./mocks.js";
import { recordRegistrations } from "./recorder.js";
import { renderConfig } from "./stack-config.js";
import type { RenderOptions, RenderedStack } from "./types.js";

let used = false;

/** Drains outstanding registrations; exported by the SDK's settings module, left out of its typings. */
const waitForRPCs = (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs;

/** Resolves a stack output to its value, noting whether it is secret. */
async function resolveOutput(value: unknown): Promise<{ value: unknown; secret: boolean }> {
  const output = pulumi.output(value) as pulumi.Output<unknown>;
  const [resolved, secret] = await Promise.all([
    new Promise<unknown>((resolve) => output.apply((inner) => resolve(inner))),
    pulumi.isSecret(output),
  ]);
  return { value: resolved, secret };
}

export async function renderStackInProcess(options: RenderOptions): Promise<RenderedStack> {
  if (used)
    throw new Error("renderStackInProcess runs once per process (Pulumi state is global); use renderStack");
  used = true;
  const { config, secretKeys } = renderConfig(options);
  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(plinthMocks, "plinth", options.stack, false);
  const resources = recordRegistrations();

  // The program is imported only now, after the mocks are in place (DESIGN.md, Known traps).
  const { readStackConfig } = await import("../config/load.js");
  const { createPlinthStack } = await import("../program.js");
  const stackConfig = readStackConfig();
  const exported = createPlinthStack(stackConfig);

  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  for (const [key, value] of Object.entries(exported)) {
    const resolved = await resolveOutput(value);
    outputs[key] = resolved.secret ? "[secret]" : resolved.value;
    if (resolved.secret) secretOutputs.push(key);
  }
  await waitForRPCs();
  return {
    project: "plinth",
    stack: options.stack,
    cloud: stackConfig.cloud as Cloud,
    resources: [...resources].sort((a, b) => a.urn.localeCompare(b.urn)),
    outputs,
    secretOutputs,
  };
}
