/**
 * GKE findings of #18, on the rendered objects: the node pool starts with its minimum of nodes,
 * the private services access peering waits for GKE's own peering, and staging and production
 * rendered into one GCP project share no physical name.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { stackScopedName } from "../../components/cluster/physical-names.js";
import { renderStack } from "../../infra/render/index.js";
import type { RenderedResource } from "../../infra/render/types.js";
import { StackView } from "../support/stack.js";

const SHARED_PROJECT = "plinth-ml-shared";

let staging: StackView;
let production: StackView;
beforeAll(async () => {
  const config = { gcp: { project: SHARED_PROJECT } };
  const render = async (stack: "staging" | "production") =>
    new StackView(await renderStack({ stack, cloud: "gcp", config }));
  [staging, production] = await Promise.all([render("staging"), render("production")]);
});

/**
 * Types whose name is unique only inside another resource of the stack (a database in its
 * instance, a pool in its cluster, a NAT in its router): they cannot collide across stacks.
 */
const NESTED_NAMES = new Set([
  "gcp:sql/database:Database",
  "gcp:sql/user:User",
  "gcp:container/nodePool:NodePool",
  "gcp:compute/routerNat:RouterNat",
]);

/**
 * The names a GCP resource asks for by value. A resource that sets none is auto-named by Pulumi
 * (logical name plus a random suffix) and cannot collide.
 */
function physicalNames(resource: RenderedResource): string[] {
  if (!resource.type.startsWith("gcp:") || NESTED_NAMES.has(resource.type)) return [];
  const key = resource.type === "gcp:serviceaccount/account:Account" ? "accountId" : "name";
  const value = resource.inputs[key];
  return typeof value === "string" ? [`${resource.type} ${value}`] : [];
}

describe("GKE node pool", () => {
  it("starts with minNodes per zone, the autoscaler's floor, and ignores later changes of that start", () => {
    for (const view of [staging, production]) {
      const pool = view.one("gcp:container/nodePool:NodePool", "plinth-nodes");
      const { minNodeCount } = pool.inputs.autoscaling as { minNodeCount: number };
      expect(minNodeCount, view.stack.stack).toBeGreaterThanOrEqual(1);
      expect(pool.inputs.initialNodeCount, view.stack.stack).toBe(minNodeCount);
      // GKE replaces a pool whose initial count changes: a later minNodes edit must not.
      expect(pool.ignoreChanges, view.stack.stack).toEqual(["initialNodeCount"]);
    }
  });
});

describe("private services access and GKE's control-plane peering", () => {
  it("creates the servicenetworking peering only after the cluster's own peering exists", () => {
    for (const view of [staging, production]) {
      const cluster = view.one("gcp:container/cluster:Cluster", "plinth-gke");
      const [connection, ...others] = view.ofType("gcp:servicenetworking/connection:Connection");
      expect(others).toEqual([]);
      expect(connection!.dependencies, view.stack.stack).toContain(cluster.urn);
    }
  });
});

describe("two stacks in one GCP project", () => {
  it("ask for no physical name in common", () => {
    const names = (view: StackView) => new Set(view.resources.flatMap(physicalNames));
    const ours = names(staging);
    expect(ours.size).toBeGreaterThan(0);
    expect([...names(production)].filter((name) => ours.has(name))).toEqual([]);
  });

  it("name the cluster and its node account after the stack, within GCP's length limits", () => {
    for (const view of [staging, production]) {
      const stack = view.stack.stack;
      const cluster = view.one("gcp:container/cluster:Cluster", "plinth-gke");
      expect(cluster.inputs.name).toBe(`plinth-${stack}-gke`);
      const account = view.one("gcp:serviceaccount/account:Account", "plinth-nodes");
      expect(account.inputs.accountId).toBe(`plinth-${stack}-gke-nodes`);
    }
    for (const resource of [...staging.resources, ...production.resources]) {
      if (resource.type === "gcp:serviceaccount/account:Account") {
        expect(String(resource.inputs.accountId)).toMatch(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/);
      }
      if (resource.type === "gcp:storage/bucket:Bucket") {
        expect(String(resource.inputs.name).length).toBeLessThanOrEqual(63);
      }
    }
  });
});

describe("stackScopedName", () => {
  it("keeps short names, and shortens long ones to the limit with a stable hash that keeps them apart", () => {
    expect(stackScopedName(["plinth", "production", "gke-nodes"], 30)).toBe("plinth-production-gke-nodes");
    expect(stackScopedName(["Plinth", "feature/ABC_1"], 40)).toBe("plinth-feature-abc-1");
    expect(stackScopedName(["1st", "stack"], 30)).toBe("x1st-stack");
    const a = stackScopedName(["plinth", "very-long-stack-name-one", "gke-nodes"], 30);
    const b = stackScopedName(["plinth", "very-long-stack-name-two", "gke-nodes"], 30);
    expect(a.length).toBeLessThanOrEqual(30);
    expect(a).toMatch(/^[a-z][-a-z0-9]*[a-z0-9]$/);
    expect(a).not.toBe(b);
    expect(stackScopedName(["plinth", "very-long-stack-name-one", "gke-nodes"], 30)).toBe(a);
  });
});
