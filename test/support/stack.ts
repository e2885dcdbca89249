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

/** The NetworkPolicy peer of the installed kube-prometheus-stack's Prometheus pods, as rendered. */
export const PROMETHEUS_PEER = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
  podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
};

/** A cluster's own Prometheus (`existingCluster.monitoring`) beside charts plinth installs. */
export const CLUSTER_PROMETHEUS = {
  namespace: "observability",
  podLabels: { "app.kubernetes.io/name": "prometheus", prometheus: "cluster" },
  prometheusUrl: "http://prometheus-operated.observability.svc.cluster.local:9090",
  selectorLabels: { release: "cluster-kps" },
  grafana: { serviceName: "grafana", port: 80, podLabels: { "app.kubernetes.io/name": "grafana" } },
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

/** A rendered resource's key across two renders: `type::name`. */
export const resourceKey = (resource: RenderedResource) => `${resource.type}::${resource.name}`;

/** What changes from one render of a stack to another, by `type::name`, each list sorted. */
export interface StackDiff {
  readonly was: ReadonlyMap<string, RenderedResource>;
  readonly is: ReadonlyMap<string, RenderedResource>;
  /** Only in the first render. */
  readonly deleted: string[];
  /** Only in the second. */
  readonly created: string[];
  /** In both, with other inputs. */
  readonly updated: string[];
}

export function stackDiff(before: RenderedStack, after: RenderedStack): StackDiff {
  const was = new Map(before.resources.map((resource) => [resourceKey(resource), resource]));
  const is = new Map(after.resources.map((resource) => [resourceKey(resource), resource]));
  return {
    was,
    is,
    deleted: [...was.keys()].filter((k) => !is.has(k)).sort(),
    created: [...is.keys()].filter((k) => !was.has(k)).sort(),
    updated: [...was.keys()]
      .filter((k) => is.has(k) && JSON.stringify(was.get(k)!.inputs) !== JSON.stringify(is.get(k)!.inputs))
      .sort(),
  };
}
