/**
 * Runs the whole pack over a mock-rendered stack with that stack's pack config: what
 * `pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json` reports,
 * without the engine or cloud credentials.
 */
import { readFile } from "node:fs/promises";
import type { Cloud, RenderedResource, RenderedStack, StackName } from "../../infra/render/index.js";
import { allPolicies } from "../all.js";
import { evaluatePolicies } from "./evaluate.js";
import type { PackConfig, PolicyTarget, Violation } from "./evaluate.js";

export const STACKS: readonly StackName[] = ["staging", "production"];
export const CLOUDS: readonly Cloud[] = ["aws", "gcp", "existing"];

/** The per-stack pack config file, shared with `pulumi preview --policy-pack-config`. */
export function packConfigPath(stack: StackName): string {
  return new URL(`../config/${stack}.json`, import.meta.url).pathname;
}

export async function loadPackConfig(stack: StackName): Promise<PackConfig> {
  return JSON.parse(await readFile(packConfigPath(stack), "utf8")) as PackConfig;
}

export function targetOf(resource: RenderedResource): PolicyTarget {
  return {
    urn: resource.urn,
    type: resource.type,
    name: resource.name,
    props: resource.inputs,
    protect: resource.protect,
    ...(resource.parent ? { parent: resource.parent } : {}),
    dependencies: resource.dependencies,
  };
}

/** Every policy over a rendered stack, with the stack's pack config. */
export async function checkStack(rendered: RenderedStack, config?: PackConfig): Promise<Violation[]> {
  const packConfig = config ?? (await loadPackConfig(rendered.stack as StackName));
  return evaluatePolicies(allPolicies, rendered.resources.map(targetOf), packConfig);
}
