/**
 * Each model's operator routes by name (`/models/<name>/admin`, `/ops`, `/reload-model`) on a
 * protected Ingress of its own, behind oauth2-proxy, to its own Service (issue #21: admin and ops
 * routes per model stay behind oauth2-proxy); the default model keeps its bare ones too; a model of
 * the shared Deployment that is not its process's MODEL_NAME has none; every admin Ingress names
 * the one certificate Secret of the API host; and no Ingress without oauth2-proxy reaches any
 * operator path. Rendered from the three-model override and a stack with a shared Deployment.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../infra/render/index.js";
import { checkStack } from "../../policies/runner/stack.js";
import { isOperatorPath, OPERATOR_PATHS } from "../../service/contract/operator-paths.js";
import type { KubernetesObject } from "../../infra/render/objects.js";
import { at, StackView } from "../support/stack.js";
import { THREE_MODEL_OVERRIDE } from "../support/three-model-stack.js";

const AUTH_URL = "nginx.ingress.kubernetes.io/auth-url";
const AUTH_SIGNIN = "nginx.ingress.kubernetes.io/auth-signin";
const AUTH_HEADERS = "nginx.ingress.kubernetes.io/auth-response-headers";
const ADMIN_TLS = "plinth-inference-admin-tls";
/** The Ingress objects these tests read: the Ingress path (test/infra/gateway-edge.test.ts: the Gateway's). */
const INGRESS_PATH = { edge: "ingress-nginx" };

/** The three models, and two small ones in the shared Deployment (iris its MODEL_NAME). */
const SHARED_OVERRIDE = {
  inference: {
    ...THREE_MODEL_OVERRIDE.inference,
    models: {
      ...(THREE_MODEL_OVERRIDE.inference.models as Record<string, unknown>),
      iris: { deployment: "shared", rollout: { strategy: "single", stable: { modelVersion: "champion" } } },
      wine: { deployment: "shared", rollout: { strategy: "single", stable: { modelVersion: "2" } } },
    },
    shared: {
      replicas: { min: 2, max: 3 },
      targetCpuUtilization: 65,
      resources: { requests: { cpu: "200m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
    },
  },
};

let three: StackView;
let shared: StackView;
beforeAll(async () => {
  [three, shared] = await Promise.all([
    renderStack({
      stack: "staging",
      cloud: "existing",
      config: { ...THREE_MODEL_OVERRIDE, ...INGRESS_PATH },
    }).then((stack) => new StackView(stack)),
    renderStack({
      stack: "staging",
      cloud: "existing",
      config: { ...SHARED_OVERRIDE, ...INGRESS_PATH },
    }).then((stack) => new StackView(stack)),
  ]);
}, 600_000);

interface IngressPathSpec {
  path: string;
  pathType: string;
  backend: { service: { name: string; port: { name?: string; number?: number } } };
}

function pathsOf(ingress: KubernetesObject): IngressPathSpec[] {
  return (at(ingress, "spec.rules") as { http: { paths: IngressPathSpec[] } }[]).flatMap((r) => r.http.paths);
}

function ingresses(view: StackView): KubernetesObject[] {
  return view.manifests().filter((m) => m.kind === "Ingress");
}

/** A model's operator routes by name, as its Ingress lists them. */
function byName(model: string): [string, string][] {
  return [
    [`/models/${model}/admin`, "Prefix"],
    [`/models/${model}/ops`, "Prefix"],
    [`/models/${model}/reload-model`, "Exact"],
  ];
}
const BARE: [string, string][] = OPERATOR_PATHS.map(({ path, exact }) => [path, exact ? "Exact" : "Prefix"]);

/** Asserts `name` is a protected Ingress of exactly `expected` paths, all to `service`. */
function expectAdminIngress(view: StackView, name: string, service: string, expected: [string, string][]) {
  const ingress = view.manifest("Ingress", name);
  const paths = pathsOf(ingress);
  expect(
    paths.map((p) => [p.path, p.pathType]),
    name,
  ).toEqual(expected);
  for (const p of paths)
    expect(p.backend.service, `${name} ${p.path}`).toEqual({ name: service, port: { name: "http" } });
  // The platform's oauth2-proxy annotations: the same as the default model's (and Grafana's).
  const grafana = view.manifest("Ingress", "monitoring-grafana-ingress").metadata.annotations ?? {};
  const annotations = ingress.metadata.annotations ?? {};
  expect(annotations[AUTH_URL], name).toContain("/oauth2/auth");
  expect(annotations[AUTH_SIGNIN], name).toContain("/oauth2/start");
  expect(annotations[AUTH_HEADERS]?.split(","), name).toContain("X-Auth-Request-Email");
  for (const key of [AUTH_URL, AUTH_SIGNIN, AUTH_HEADERS])
    expect(annotations[key], `${name} ${key}`).toBe(grafana[key]);
  expect(at(ingress, "spec.tls"), name).toEqual([
    { hosts: [at(ingress, "spec.rules[0].host")], secretName: ADMIN_TLS },
  ]);
  expect(at(ingress, "spec.rules[0].host")).toBe(
    at(view.manifest("Ingress", "plinth-inference-public-ingress"), "spec.rules[0].host"),
  );
}

/**
 * Request paths an operator route answers: each bare one and each model's by name, and one below
 * every Prefix one.
 */
function operatorSamples(models: readonly string[]): string[] {
  const paths = [...BARE, ...models.flatMap(byName)];
  return paths.flatMap(([path, type]) => (type === "Exact" ? [path] : [path, `${path}/x`]));
}

/** Whether an Ingress path routes `request` (Exact: equal; Prefix: by path elements). */
function routes(p: IngressPathSpec, request: string): boolean {
  if (p.pathType === "Exact") return p.path === request;
  const prefix = p.path.replace(/\/+$/, "");
  return prefix === "" || request === prefix || request.startsWith(`${prefix}/`);
}

/** What every Ingress without oauth2-proxy's auth-url routes of the operator paths. */
function exposedOperatorPaths(view: StackView, models: readonly string[]): string[] {
  const samples = operatorSamples(models);
  return ingresses(view)
    .filter((ingress) => ingress.metadata.annotations?.[AUTH_URL] === undefined)
    .flatMap((ingress) =>
      pathsOf(ingress).flatMap((p) =>
        [...(isOperatorPath(p.path) ? [p.path] : []), ...samples.filter((request) => routes(p, request))].map(
          (hit) => `${ingress.metadata.name}: ${p.path} reaches ${hit}`,
        ),
      ),
    );
}

type Env = { name: string; value?: string };

/**
 * Each InferenceService of a render (by its public Ingress) and the model its process serves as
 * MODEL_NAME (from its Deployment, or its blue one).
 */
function servicesOf(view: StackView): { app: string; model: string }[] {
  return ingresses(view)
    .map((m) => m.metadata.name ?? "")
    .filter((name) => name.endsWith("-public-ingress"))
    .map((name) => {
      const app = name.slice(0, -"-public-ingress".length);
      const deployment = view
        .manifests()
        .find((m) => m.kind === "Deployment" && [app, `${app}-blue`].includes(m.metadata.name ?? ""))!;
      const env = at(deployment, "spec.template.spec.containers[0].env") as Env[];
      return { app, model: env.find((e) => e.name === "MODEL_NAME")!.value! };
    });
}

describe("operator routes per model, three models", () => {
  it("gives every model a protected Ingress of its operator routes by name, to its own Service", () => {
    expectAdminIngress(
      three,
      "plinth-inference-churn-admin-ingress",
      "plinth-inference-churn",
      byName("churn"),
    );
    expectAdminIngress(
      three,
      "plinth-inference-defects-admin-ingress",
      "plinth-inference-defects",
      byName("defects"),
    );
    // The same for every InferenceService, whatever the stack file's own (default) model is called:
    // the default model's (plinth-inference) keeps the bare operator routes before its own by name.
    const services = servicesOf(three);
    expect(services.map((s) => s.model)).toEqual(expect.arrayContaining(["churn", "defects"]));
    expect(services.map((s) => s.app)).toContain("plinth-inference");
    for (const { app, model } of services) {
      expectAdminIngress(three, `${app}-admin-ingress`, app, [
        ...(app === "plinth-inference" ? BARE : []),
        ...byName(model),
      ]);
    }
    const admin = ingresses(three)
      .map((m) => m.metadata.name ?? "")
      .filter((name) => name.endsWith("-admin-ingress"));
    expect(admin.sort()).toEqual(services.map(({ app }) => `${app}-admin-ingress`).sort());
  });

  it("lists no operator path on any Ingress without oauth2-proxy (the public ones)", () => {
    const services = servicesOf(three);
    expect(
      exposedOperatorPaths(
        three,
        services.map((s) => s.model),
      ),
    ).toEqual([]);
    const publicOnes = ingresses(three).filter((m) => (m.metadata.name ?? "").endsWith("-public-ingress"));
    expect(publicOnes).toHaveLength(services.length);
    for (const ingress of publicOnes) {
      expect(ingress.metadata.annotations?.[AUTH_URL], ingress.metadata.name).toBeUndefined();
      expect(
        pathsOf(ingress).filter((p) => isOperatorPath(p.path)),
        ingress.metadata.name,
      ).toEqual([]);
    }
  });

  it("passes the policy pack's mandatory policies", async () => {
    const violations = await checkStack(three.stack);
    expect(violations.filter((v) => v.level === "mandatory")).toEqual([]);
  });
});

describe("operator routes per model, with a shared Deployment", () => {
  it("publishes the shared process's MODEL_NAME's operator routes only, never its MODEL_REPOSITORY model's", () => {
    expectAdminIngress(
      shared,
      "plinth-inference-shared-admin-ingress",
      "plinth-inference-shared",
      byName("iris"),
    );
    const everyPath = ingresses(shared).flatMap((ingress) => pathsOf(ingress).map((p) => p.path));
    expect(everyPath.filter((path) => path.startsWith("/models/wine/"))).toEqual([
      "/models/wine/predict",
      "/models/wine/predict-image",
    ]);
    expect(exposedOperatorPaths(shared, [...servicesOf(shared).map((s) => s.model), "wine"])).toEqual([]);
  });
});
