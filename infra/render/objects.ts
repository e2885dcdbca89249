/** Views of a rendered stack: its Kubernetes objects, its cloud resources, secrets masked. */
import type { RenderedResource, RenderedStack } from "./types.js";

export const SECRET_MASK = "[secret]";

/** `stringData.password` / `containers[0].env` -> path segments. */
function segments(path: string): (string | number)[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((match) =>
    match[2] !== undefined ? Number(match[2]) : (match[1] ?? ""),
  );
}

/** A deep copy of `inputs` with every value at `secretPaths` replaced by "[secret]". */
export function maskSecrets(
  inputs: Record<string, unknown>,
  secretPaths: readonly string[],
): Record<string, unknown> {
  const copy = structuredClone(inputs);
  for (const path of secretPaths) {
    const parts = segments(path);
    let node: unknown = copy;
    for (const part of parts.slice(0, -1))
      node = (node as Record<string | number, unknown> | undefined)?.[part];
    const last = parts.at(-1);
    if (node !== null && typeof node === "object" && last !== undefined)
      (node as Record<string | number, unknown>)[last] = SECRET_MASK;
  }
  return copy;
}

/** Kubernetes objects (built-in and custom): everything from the kubernetes package but providers and Helm releases. */
export function isKubernetesObject(resource: RenderedResource): boolean {
  return resource.type.startsWith("kubernetes:") && resource.type !== "kubernetes:helm.sh/v3:Release";
}

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

/** The stack's Kubernetes objects as manifests (inputs are exactly what the provider applies). */
export function kubernetesObjects(
  stack: RenderedStack,
  options: { maskSecrets: boolean },
): KubernetesObject[] {
  return stack.resources
    .filter(isKubernetesObject)
    .map(
      (resource) =>
        (options.maskSecrets
          ? maskSecrets(resource.inputs, resource.secretPaths)
          : resource.inputs) as KubernetesObject,
    );
}

/** Everything that is not a Kubernetes object: cloud resources, Helm releases, random values, components. */
export function cloudResourceSummary(stack: RenderedStack) {
  return stack.resources
    .filter((resource) => !isKubernetesObject(resource))
    .map((resource) => ({
      type: resource.type,
      name: resource.name,
      protect: resource.protect,
      parent: resource.parent,
      dependencies: resource.dependencies,
      inputs: maskSecrets(resource.inputs, resource.secretPaths),
    }));
}
