/**
 * A stack serving three models (issue #21), rendered for every cloud: each model gets its own
 * Deployment, autoscaler, disruption budget, NetworkPolicy, Services and public routes by name; the
 * default model keeps the bare routes and the operator routes; one platform key reaches every model;
 * Prometheus scrapes all three; drift checks and alerts exist only where a model has drift settings.
 * Also: a single-model stack file converted to plinth:inference.models renders the same objects.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../infra/render/index.js";
import type { Cloud, RenderedStack } from "../../infra/render/index.js";
import { checkStack } from "../../policies/runner/stack.js";
import { validateManifest } from "../support/k8s-models.js";
import { at, StackView } from "../support/stack.js";
import { singleModelOverride } from "../support/single-model-stack.js";
import { modelsOverride, THREE_MODEL_OVERRIDE, THREE_MODELS } from "../support/three-model-stack.js";

/** The three models, and two small ones in the shared Deployment. */
/** The Ingress objects these tests read: the Ingress path (test/infra/gateway-edge.test.ts: the Gateway's). */
const INGRESS_PATH = { edge: "ingress-nginx" };
const SHARED_SIZE = {
  replicas: { min: 2, max: 3 },
  targetCpuUtilization: 65,
  resources: { requests: { cpu: "200m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
};
const SHARED_OVERRIDE = modelsOverride(
  {
    ...THREE_MODELS,
    iris: { deployment: "shared", rollout: { strategy: "single", stable: { modelVersion: "champion" } } },
    wine: { deployment: "shared", rollout: { strategy: "single", stable: { modelVersion: "2" } } },
  },
  { shared: SHARED_SIZE },
);

const CLOUDS: readonly Cloud[] = ["aws", "gcp", "existing"];
const rendered = new Map<Cloud, StackView>();
let single: RenderedStack;
let withShared: StackView;
let converted: RenderedStack;

beforeAll(async () => {
  // In pairs: each render is a child process and the machine has two cores.
  const jobs: (() => Promise<void>)[] = [
    ...CLOUDS.map((cloud) => async () => {
      const stack = await renderStack({
        stack: "staging",
        cloud,
        config: { ...THREE_MODEL_OVERRIDE, ...INGRESS_PATH },
      });
      rendered.set(cloud, new StackView(stack));
    }),
    async () => {
      // Staging in the earlier shape: its one model's settings directly under plinth:inference.
      single = await renderStack({
        stack: "staging",
        cloud: "aws",
        config: { ...singleModelOverride(), ...INGRESS_PATH },
      });
    },
    async () => {
      withShared = new StackView(
        await renderStack({
          stack: "staging",
          cloud: "existing",
          config: { ...SHARED_OVERRIDE, ...INGRESS_PATH },
        }),
      );
    },
    async () => {
      // Pulumi.staging.yaml as shipped: the same settings under plinth:inference.models.
      converted = await renderStack({ stack: "staging", cloud: "aws", config: INGRESS_PATH });
    },
  ];
  for (let i = 0; i < jobs.length; i += 2) await Promise.all(jobs.slice(i, i + 2).map((job) => job()));
}, 600_000);

type Env = { name: string; value?: string };
const MODEL_APPS = {
  "fashion-classifier": "plinth-inference",
  churn: "plinth-inference-churn",
  defects: "plinth-inference-defects",
} as const;

function envOf(view: StackView, deployment: string): Record<string, string | undefined> {
  const env = at(view.manifest("Deployment", deployment), "spec.template.spec.containers[0].env") as Env[];
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

function ingressPaths(view: StackView, name: string): Record<string, string> {
  const rules = at(view.manifest("Ingress", name), "spec.rules") as {
    http: { paths: { path: string; backend: { service: { name: string } } }[] };
  }[];
  return Object.fromEntries(rules[0]!.http.paths.map((p) => [p.path, p.backend.service.name]));
}

function matchesSelector(
  labels: Record<string, string>,
  selector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values: string[] }[];
  },
): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every(
    (e) => e.operator === "In" && e.values.includes(labels[e.key] ?? ""),
  );
  return byLabel && byExpression;
}

describe.each(CLOUDS)("three models on %s", (cloud) => {
  const view = () => rendered.get(cloud)!;

  it("has no mandatory policy violation and every manifest validates against its schema", async () => {
    const violations = await checkStack(view().stack);
    expect(violations.filter((v) => v.level === "mandatory")).toEqual([]);
    for (const manifest of view().manifests()) {
      expect(() => validateManifest(manifest), `${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    }
  });

  it("runs each model in its own Deployment with its rollout, autoscaler and disruption budget", () => {
    for (const [model, app] of Object.entries(MODEL_APPS)) {
      const settings = THREE_MODELS[model as keyof typeof THREE_MODELS];
      const env = envOf(view(), app);
      expect(env.MODEL_NAME).toBe(model);
      expect(env.ROLLOUT_STRATEGY).toBe(settings.rollout.strategy);
      expect(env.MODEL_STABLE).toBe(settings.rollout.stable.modelVersion);
      const hpa = view().manifest("HorizontalPodAutoscaler", app);
      expect(at(hpa, "spec.scaleTargetRef.name")).toBe(app);
      expect([at(hpa, "spec.minReplicas"), at(hpa, "spec.maxReplicas")]).toEqual([
        settings.replicas.min,
        settings.replicas.max,
      ]);
      expect(at(hpa, "spec.metrics[0].resource.target.averageUtilization")).toBe(
        settings.targetCpuUtilization,
      );
      expect(at(view().manifest("Deployment", app), "spec.template.spec.containers[0].resources")).toEqual(
        settings.resources,
      );
      expect(at(view().manifest("PodDisruptionBudget", app), "spec.selector.matchLabels")).toEqual(
        at(view().manifest("Deployment", app), "spec.selector.matchLabels"),
      );
    }
    expect(envOf(view(), "plinth-inference").CANDIDATE_WEIGHT).toBe("20");
    expect(envOf(view(), "plinth-inference-defects").SHADOW_PERCENT).toBe("50");
    expect(envOf(view(), "plinth-inference-churn").MODEL_CANDIDATE).toBeUndefined();
  });

  it("routes each model's paths by name to its own Service; the bare routes and /admin to the default", () => {
    expect(ingressPaths(view(), "plinth-inference-churn-public-ingress")).toEqual({
      "/models/churn/predict": "plinth-inference-churn",
      "/models/churn/predict-image": "plinth-inference-churn",
      "/v2/models/churn": "plinth-inference-churn",
    });
    expect(ingressPaths(view(), "plinth-inference-defects-public-ingress")).toEqual({
      "/models/defects/predict": "plinth-inference-defects",
      "/models/defects/predict-image": "plinth-inference-defects",
      "/v2/models/defects": "plinth-inference-defects",
    });
    const defaults = ingressPaths(view(), "plinth-inference-public-ingress");
    expect(defaults["/predict"]).toBe("plinth-inference");
    expect(defaults["/v2"]).toBe("plinth-inference");
    expect(defaults["/models/fashion-classifier/predict"]).toBe("plinth-inference");
    // One certificate for the API host, whatever the number of models.
    const tls = view()
      .manifests()
      .filter((m) => m.kind === "Ingress" && (m.metadata.name ?? "").endsWith("-public-ingress"))
      .map((m) => at(m, "spec.tls[0].secretName"));
    expect(tls).toEqual([
      "plinth-inference-public-tls",
      "plinth-inference-public-tls",
      "plinth-inference-public-tls",
    ]);
    // Each model's operator pages by name (test/infra/model-operator-routes.test.ts); the bare ones
    // only on the default model's.
    expect(ingressPaths(view(), "plinth-inference-churn-admin-ingress")).toEqual({
      "/models/churn/admin": "plinth-inference-churn",
      "/models/churn/ops": "plinth-inference-churn",
      "/models/churn/reload-model": "plinth-inference-churn",
    });
    expect(ingressPaths(view(), "plinth-inference-admin-ingress")["/admin"]).toBe("plinth-inference");
  });

  it("accepts one platform key on every model; each model has its own rollout bucket key", () => {
    const secrets = Object.values(MODEL_APPS).map(
      (app) => at(view().manifest("Secret", `${app}-auth`), "stringData") as Record<string, string>,
    );
    const platformHash = (hashes: string) => hashes.split(",").find((pair) => pair.startsWith("platform:"));
    const platform = secrets.map((s) => platformHash(s["api-key-hashes"]!));
    expect(platform[0]).toMatch(/^platform:[a-f0-9]{64}$/);
    expect(new Set(platform).size).toBe(1);
    // Only the model with drift settings has a drift-check identity.
    expect(secrets.map((s) => s["api-key-hashes"]!.includes("drift-check:"))).toEqual([true, false, false]);
  });

  it("admits each model's API port from the ingress controller, and its drift check only where there is one", () => {
    const from = (app: string) =>
      (at(view().manifest("NetworkPolicy", `${app}-netpol`), "spec.ingress[0].from") as unknown[]).length;
    expect(from("plinth-inference")).toBe(2);
    expect(from("plinth-inference-churn")).toBe(1);
    expect(from("plinth-inference-defects")).toBe(1);
    const cronJobs = view()
      .manifests()
      .filter((m) => m.kind === "CronJob")
      .map((m) => m.metadata.name);
    expect(cronJobs).toEqual(["plinth-inference-drift-check"]);
  });

  it("scrapes every model's pods and alerts on drift of the model that has drift settings", () => {
    const monitor = view().manifest("ServiceMonitor", "plinth-inference");
    const selector = at(monitor, "spec.selector") as Parameters<typeof matchesSelector>[1];
    const metricsServices = view()
      .manifests()
      .filter((m) => m.kind === "Service" && (m.metadata.name ?? "").endsWith("-metrics"));
    expect(metricsServices.map((m) => m.metadata.name).sort()).toEqual(
      Object.values(MODEL_APPS)
        .map((app) => `${app}-metrics`)
        .sort(),
    );
    for (const service of metricsServices) {
      expect(matchesSelector(service.metadata.labels ?? {}, selector), service.metadata.name).toBe(true);
    }
    // The API Services are not metrics targets.
    const api = view().manifest("Service", "plinth-inference-churn");
    expect(matchesSelector(api.metadata.labels ?? {}, selector)).toBe(false);
    const groups = at(view().manifest("PrometheusRule", "plinth-inference"), "spec.groups") as {
      rules: { alert?: string; expr: string }[];
    }[];
    const drift = groups.flatMap((g) => g.rules).filter((r) => r.alert === "PlinthDriftHigh");
    expect(drift.map((r) => r.expr)).toEqual([
      'max by (model, model_version, variant) (plinth_drift_score{model="fashion-classifier"}) > 0.25',
    ]);
  });

  it("lists each model's URLs and rollout in the stack outputs", () => {
    const models = view().stack.outputs.models as Record<string, Record<string, string>>;
    expect(Object.keys(models)).toEqual(["fashion-classifier", "churn", "defects"]);
    expect(models.churn).toEqual({
      predictUrl: "https://api.staging.ml.plinth.example.com/models/churn/predict",
      inferUrl: "https://api.staging.ml.plinth.example.com/v2/models/churn/infer",
      rolloutStrategy: "single",
      activeColour: "none",
    });
  });
});

describe("converting a single-model stack file to plinth:inference.models", () => {
  it("renders the same resources and the same Kubernetes objects", () => {
    const names = (stack: RenderedStack) => stack.resources.map((r) => `${r.type}/${r.name}`).sort();
    expect(names(converted)).toEqual(names(single));
    const objects = (stack: RenderedStack) =>
      new StackView(stack)
        .manifests()
        .map((m) => JSON.stringify(m))
        .sort();
    expect(objects(converted)).toEqual(objects(single));
    expect(converted.outputs.models).toEqual(single.outputs.models);
  });
});

describe("small models in the shared Deployment", () => {
  it("serves them from one Deployment, the first as its default and the others beside it", () => {
    const env = envOf(withShared, "plinth-inference-shared");
    expect(env.MODEL_NAME).toBe("iris");
    expect(env.MODEL_STABLE).toBe("champion");
    expect(env.MODEL_REPOSITORY).toBe("wine=2");
    expect(env.ROLLOUT_STRATEGY).toBe("single");
    const hpa = withShared.manifest("HorizontalPodAutoscaler", "plinth-inference-shared");
    expect([at(hpa, "spec.minReplicas"), at(hpa, "spec.maxReplicas")]).toEqual([2, 3]);
    expect(
      at(
        withShared.manifest("Deployment", "plinth-inference-shared"),
        "spec.template.spec.containers[0].resources",
      ),
    ).toEqual(SHARED_SIZE.resources);
    const deployments = withShared
      .manifests()
      .filter((m) => m.kind === "Deployment" && (m.metadata.name ?? "").startsWith("plinth-inference"))
      .map((m) => m.metadata.name)
      .sort();
    expect(deployments).toEqual([
      "plinth-inference",
      "plinth-inference-churn",
      "plinth-inference-defects",
      "plinth-inference-shared",
    ]);
  });

  it("routes each shared model by name to the shared Service, scraped and policy-clean", async () => {
    expect(ingressPaths(withShared, "plinth-inference-shared-public-ingress")).toEqual({
      "/models/iris/predict": "plinth-inference-shared",
      "/models/iris/predict-image": "plinth-inference-shared",
      "/v2/models/iris": "plinth-inference-shared",
      "/models/wine/predict": "plinth-inference-shared",
      "/models/wine/predict-image": "plinth-inference-shared",
      "/v2/models/wine": "plinth-inference-shared",
    });
    const selector = at(
      withShared.manifest("ServiceMonitor", "plinth-inference"),
      "spec.selector",
    ) as Parameters<typeof matchesSelector>[1];
    const metrics = withShared.manifest("Service", "plinth-inference-shared-metrics");
    expect(matchesSelector(metrics.metadata.labels ?? {}, selector)).toBe(true);
    const violations = await checkStack(withShared.stack);
    expect(violations.filter((v) => v.level === "mandatory")).toEqual([]);
    const models = withShared.stack.outputs.models as Record<string, Record<string, string>>;
    expect(models.wine?.predictUrl).toBe("https://api.staging.ml.plinth.example.com/models/wine/predict");
  });
});
