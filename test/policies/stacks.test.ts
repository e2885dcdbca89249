/**
 * The pack against the platform's real output: every stack file on every cloud, rendered once under
 * the mock runtime, must have no mandatory violation; weakened versions (through the config the
 * program accepts, and by editing the rendered Ingresses) must be caught.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../infra/render/index.js";
import type { Cloud, RenderedStack, StackName } from "../../infra/render/index.js";
import { CLOUDS, STACKS, checkStack } from "../../policies/runner/stack.js";

const rendered = new Map<string, RenderedStack>();
const key = (stack: StackName, cloud: Cloud) => `${stack}/${cloud}`;

/** Renders in pairs: each render is a child process and the machine has two cores. */
async function renderAll(jobs: (() => Promise<void>)[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 2) await Promise.all(jobs.slice(i, i + 2).map((job) => job()));
}

let weakened: RenderedStack;

beforeAll(async () => {
  const jobs = STACKS.flatMap((stack) =>
    CLOUDS.map((cloud) => async () => {
      rendered.set(key(stack, cloud), await renderStack({ stack, cloud }));
    }),
  );
  jobs.push(async () => {
    // Two weakenings the stack config allows: no protection, and a single inference replica.
    weakened = await renderStack({
      stack: "production",
      cloud: "aws",
      config: {
        protect: false,
        inference: { models: { "fashion-classifier": { replicas: { min: 1 } } } },
      },
    });
  });
  await renderAll(jobs);
}, 600_000);

describe.each(STACKS.flatMap((stack) => CLOUDS.map((cloud) => [stack, cloud] as const)))(
  "%s on %s",
  (stack, cloud) => {
    it("has no mandatory violation", async () => {
      const violations = await checkStack(rendered.get(key(stack, cloud))!);
      expect(violations.filter((v) => v.level === "mandatory")).toEqual([]);
    });
  },
);

describe("a weakened production stack", () => {
  it("is caught when plinth:protect is turned off", async () => {
    const stateful = weakened.resources.filter((r) =>
      [
        "aws:rds/instance:Instance",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:kms/key:Key",
      ].includes(r.type),
    );
    expect(stateful.length).toBeGreaterThan(0);
    const violations = await checkStack(weakened);
    expect(
      violations
        .filter((v) => v.policy === "stateful-resources-protected")
        .map((v) => v.urn)
        .sort(),
    ).toEqual(stateful.map((r) => r.urn).sort());
  });

  it("is caught when plinth:inference.models.fashion-classifier.replicas.min drops to 1", async () => {
    const inference = weakened.resources.filter(
      (r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.includes("inference"),
    );
    expect(inference.length).toBeGreaterThan(0);
    const violations = await checkStack(weakened);
    expect(
      violations
        .filter((v) => v.policy === "workload-min-replicas")
        .map((v) => v.urn)
        .sort(),
    ).toEqual(inference.map((r) => r.urn).sort());
  });

  it("is caught when a rendered Ingress loses TLS or routes /admin publicly", async () => {
    const production = structuredClone(rendered.get(key("production", "aws"))!);
    const ingresses = production.resources.filter(
      (r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress",
    );
    expect(ingresses.length).toBeGreaterThan(0);
    const publicIngress =
      ingresses.find((r) => !JSON.stringify(r.inputs).includes("nginx.ingress.kubernetes.io/auth-url")) ??
      ingresses[0]!;
    const spec = publicIngress.inputs.spec as {
      tls?: unknown[];
      rules: { host: string; http: { paths: { path: string; backend: unknown }[] } }[];
    };
    const firstPath = spec.rules[0]!.http.paths[0]!;
    spec.rules[0]!.http.paths.push({ ...firstPath, path: "/admin" });
    delete spec.tls;
    const policies = new Set(
      (await checkStack(production)).filter((v) => v.urn === publicIngress.urn).map((v) => v.policy),
    );
    // /admin on the public Ingress is both an admin path without oauth2-proxy and an operator route
    // of the inference service sent there publicly.
    expect(policies).toEqual(
      new Set(["ingress-tls-cert-manager", "admin-paths-behind-oauth2-proxy", "no-catch-all-to-inference"]),
    );
  });
});
