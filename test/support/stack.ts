/** Query helpers over a RenderedStack, for the stack suites. */
import { kubernetesObjects, type KubernetesObject } from "../../infra/render/objects.js";
import type { RenderedResource, RenderedStack } from "../../infra/render/types.js";

export class StackView {
  constructor(readonly stack: RenderedStack) {}

  get resources(): RenderedResource[] {
    return this.stack.resources;
  }

  ofType(type: string): RenderedResource[] {
    return this.resources.filter((resource) => resource.type === type);
  }

  /** The one resource of a type and logical name; throws when missing or ambiguous. */
  one(type: string, name: string): RenderedResource {
    const found = this.resources.filter((resource) => resource.type === type && resource.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
    return found[0]!;
  }

  /** Number of resources per type token. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const resource of this.resources) counts[resource.type] = (counts[resource.type] ?? 0) + 1;
    return counts;
  }

  /** Logical name of a resource's parent, or undefined for top-level resources. */
  parentName(resource: RenderedResource): string | undefined {
    return resource.parent?.split("::").at(-1);
  }

  /** Kubernetes manifest of a kind and metadata.name. */
  manifest(kind: string, name: string): KubernetesObject {
    const found = this.manifests().filter((object) => object.kind === kind && object.metadata.name === name);
    if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
    return found[0]!;
  }

  manifests(): KubernetesObject[] {
    return kubernetesObjects(this.stack, { maskSecrets: false });
  }
}

/** Reads a nested value by a dotted path with [i] indices, e.g. `spec.template.spec.containers[0]`. */
export function at(value: unknown, path: string): unknown {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].reduce<unknown>((node, match) => {
    if (node === null || typeof node !== "object") return undefined;
    const key = match[2] !== undefined ? Number(match[2]) : match[1]!;
    return (node as Record<string | number, unknown>)[key];
  }, value);
}

/** The NetworkPolicy peer of the ingress-nginx controller plinth installs, as rendered. */
export const INGRESS_CONTROLLER_PEER = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } },
  podSelector: {
    matchLabels: {
      "app.kubernetes.io/name": "ingress-nginx",
      "app.kubernetes.io/component": "controller",
    },
  },
};

/** The NetworkPolicy peer of the Traefik plinth installs on the Gateway path (the default edge), as rendered. */
export const EDGE_PROXY_PEER = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "traefik" } },
  podSelector: { matchLabels: { "app.kubernetes.io/name": "traefik" } },
};

/** The path values of an HTTPRoute's rules' matches, in order. */
export function routePaths(route: unknown): { type: string; value: string }[] {
  const rules =
    (at(route, "spec.rules") as { matches?: { path?: { type: string; value: string } }[] }[]) ?? [];
  return rules.flatMap((rule) => (rule.matches ?? []).flatMap((match) => (match.path ? [match.path] : [])));
}

/** The names of the Middlewares an HTTPRoute's rules name by ExtensionRef. */
export function routeMiddlewares(route: unknown): string[] {
  const rules =
    (at(route, "spec.rules") as { filters?: { type: string; extensionRef?: { name: string } }[] }[]) ?? [];
  return rules.flatMap((rule) =>
    (rule.filters ?? []).flatMap((f) =>
      f.type === "ExtensionRef" && f.extensionRef ? [f.extensionRef.name] : [],
    ),
  );
}
