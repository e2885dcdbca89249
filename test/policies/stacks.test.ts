/**
 * The pack against the platform's real output: every stack file on every cloud, rendered once under
 * the mock runtime, must have no mandatory violation, on the Gateway path (the default) and on the
 * Ingress path (`plinth:edge: ingress-nginx`); weakened versions (through the config the program
 * accepts, and by editing the rendered HTTPRoutes, Gateway and Ingresses) must be caught.
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
/** production on aws on the retired ingress-nginx, which existing clusters keep by config. */
let ingressPath: RenderedStack;

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
  jobs.push(async () => {
    ingressPath = await renderStack({ stack: "production", cloud: "aws", config: { edge: "ingress-nginx" } });
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

  it("on the Ingress path has no mandatory violation", async () => {
    const violations = await checkStack(ingressPath);
    expect(violations.filter((v) => v.level === "mandatory")).toEqual([]);
  });

  it("is caught when a rendered Ingress loses TLS or routes /admin publicly", async () => {
    const production = structuredClone(ingressPath);
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

  it("is caught when the Gateway loses a certificate and the public HTTPRoute routes /admin", async () => {
    const production = structuredClone(rendered.get(key("production", "aws"))!);
    const routes = production.resources.filter(
      (r) => r.type === "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    );
    // The public API's route: to the inference Service, with no ExtensionRef filter.
    const publicRoute = routes.find((r) => {
      const json = JSON.stringify(r.inputs);
      return json.includes("/predict") && !json.includes("ExtensionRef");
    })!;
    expect(publicRoute).toBeDefined();
    const rule = (
      publicRoute.inputs.spec as { rules: { matches: { path: { type: string; value: string } }[] }[] }
    ).rules[0]!;
    rule.matches.push({ path: { type: "PathPrefix", value: "/admin" } });
    const gateway = production.resources.find(
      (r) => r.type === "kubernetes:gateway.networking.k8s.io/v1:Gateway",
    )!;
    const listeners = (
      gateway.inputs.spec as { listeners: { protocol: string; tls?: { certificateRefs?: unknown[] } }[] }
    ).listeners;
    listeners.find((l) => l.protocol === "HTTPS")!.tls!.certificateRefs = [];
    const found = await checkStack(production);
    const on = (urn: string) => new Set(found.filter((v) => v.urn === urn).map((v) => v.policy));
    // /admin on the public route is both an admin path without oauth2-proxy and an operator route
    // of the inference service sent there publicly.
    expect(on(publicRoute.urn)).toEqual(
      new Set(["gateway-admin-routes-behind-oauth2-proxy", "gateway-no-catch-all-to-inference"]),
    );
    expect(on(gateway.urn)).toEqual(new Set(["gateway-listener-tls"]));
  });
});
