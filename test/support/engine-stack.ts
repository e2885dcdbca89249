/**
 * What the real-engine tests of plinth's program share: reading the local control plane, waiting on
 * it, checking a CLI run, and a preview's changes by resource.
 */
import type { KubeApi } from "../../stack/cluster/api-client.js";
import type { CliResult, LocalStackProject } from "../../stack/engine/local-stack.js";
import { TRAEFIK_CONTROLLER_NAME } from "../../components/gateway/traefik.js";
import type { Brownfield, Condition } from "../../stack/engine/brownfield.js";
import { until } from "./until.js";

/** One CLI command's limit; a test holding several commands gets twice that. */
export const ENGINE_STEP_MS = 8 * 60_000;

/** Waits on the engine's cluster: Traefik and the controllers take up to a minute and a half. */
export const settled = <T>(what: string, read: () => Promise<T>, done: (value: T) => boolean) =>
  until(what, read, done, { timeoutMs: 90_000, intervalMs: 500 });

/** Throws with the CLI's last output when it failed, or with the brownfield's failure if it stopped. */
export function expectOk(result: CliResult, what: string, brownfield?: Brownfield): void {
  const stopped = brownfield?.failure();
  if (stopped !== undefined)
    throw new Error(`the brownfield (Traefik, cert-manager) stopped: ${String(stopped)}`);
  if (result.code !== 0)
    throw new Error(
      `${what} exited ${result.code}:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
    );
}

/** Lists a collection; retries while a just-established CRD's storage answers 429 (it says when it is ready). */
export async function list<T>(api: KubeApi, apiPath: string): Promise<T[]> {
  for (let attempt = 0; ; attempt++) {
    const response = await api.request<{ items: T[] }>("GET", apiPath);
    if (response.status === 200) return response.body.items;
    if (response.status !== 429 || attempt === 50)
      throw new Error(`GET ${apiPath}: ${response.status} ${response.text}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** One resource a preview would change: its step and its logical name and type. */
export interface PreviewChange {
  readonly op: string;
  /** The resource's own type (the last of its URN's type chain). */
  readonly type: string;
  readonly name: string;
  readonly urn: string;
}

/** The resources `pulumi preview` would change (every step but `same`), from its JSON. */
export async function previewChanges(
  project: LocalStackProject,
  brownfield?: Brownfield,
): Promise<PreviewChange[]> {
  const result = await project.pulumi(["preview", "--json", "--diff"], { timeoutMs: ENGINE_STEP_MS });
  expectOk(result, "pulumi preview --json", brownfield);
  const preview = JSON.parse(result.stdout) as { steps?: { op: string; urn: string }[] };
  return (preview.steps ?? [])
    .filter((step) => step.op !== "same")
    .map((step) => {
      const parts = step.urn.split("::");
      return { op: step.op, type: parts[2]!.split("$").at(-1)!, name: parts[3]!, urn: step.urn };
    });
}

/** The metadata every object the tests read has. */
export interface Meta {
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
}

/** Traefik's verdict on one of a route's parents. */
export interface ParentStatus {
  parentRef: { name: string; namespace?: string; sectionName?: string };
  controllerName: string;
  conditions: Condition[];
}

/** An HTTPRoute, as far as the tests read it. */
export type HttpRoute = Meta & {
  spec: {
    parentRefs: { name: string; namespace?: string; sectionName?: string }[];
    hostnames?: string[];
    rules: {
      matches?: { path?: { type: string; value: string } }[];
      filters?: { type: string; extensionRef?: { group: string; kind: string; name: string } }[];
      backendRefs?: { name: string; port?: number }[];
    }[];
  };
  status?: { parents?: ParentStatus[] };
};

/** A Gateway, as far as the tests read it. */
export type Gateway = Meta & {
  spec: { listeners: { name: string; hostname?: string; protocol: string; port: number }[] };
  status?: {
    conditions?: Condition[];
    addresses?: { value: string }[];
    listeners?: { name: string; attachedRoutes: number; conditions: Condition[] }[];
  };
};

/** `ns/name -> parent: Accepted=..., ResolvedRefs=...` for each of a route's parents Traefik judged. */
export function parentVerdicts(route: HttpRoute): string[] {
  return (route.status?.parents ?? [])
    .filter((p) => p.controllerName === TRAEFIK_CONTROLLER_NAME)
    .map((p) => {
      const of = (type: string) => {
        const c = p.conditions.find((condition) => condition.type === type);
        return `${type}=${c?.status}${c?.status === "True" ? "" : ` (${c?.reason}: ${c?.message})`}`;
      };
      const parent = `${p.parentRef.namespace ?? route.metadata.namespace}/${p.parentRef.name}/${p.parentRef.sectionName ?? ""}`;
      return `${route.metadata.namespace}/${route.metadata.name} -> ${parent}: ${of("Accepted")}, ${of("ResolvedRefs")}`;
    });
}
