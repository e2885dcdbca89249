/**
 * The HTTP side is composed in one place (service/server/http.ts): every protocol adapter is a
 * named, encapsulated fastify plugin with its own body parsers, and the hooks every route shares
 * reach the routes inside those plugins.
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { FIXTURE_NAME, fixtureModelBytes, rowForClass } from "../inference/fixture-model.js";
import { KEY_HEADERS, startTestService, testServiceForSuite, type TestService } from "./service-fixture.js";

const ADAPTERS = [
  "plinth-operations",
  "plinth-predict",
  "plinth-predict-image",
  "plinth-v2",
  "plinth-explain",
];
/**
 * The operator routes' plugin and its adapters, registered once per base (service/server/routes/
 * operator.ts): bare, and under the process's model name.
 */
const OPERATOR_ADAPTERS = [
  "plinth-operator-routes",
  "plinth-ops-summary",
  "plinth-admin-panel",
  "plinth-reload-model",
];

const service = testServiceForSuite();

/** The names fastify lists in its plugin tree, and the routes each adapter's scope holds. */
function pluginNames(service: TestService): string[] {
  return [...service.app.printPlugins().matchAll(/(plinth-[a-z0-9-]+)/g)].map((m) => m[1]!);
}

describe("the HTTP adapters", () => {
  it("are the named plugins the composition registers, each once, the operator routes' once per base", () => {
    expect(pluginNames(service()).sort()).toEqual(
      [...ADAPTERS, ...OPERATOR_ADAPTERS, ...OPERATOR_ADAPTERS].sort(),
    );
  });

  it("keep their body parsers to themselves: an image body is a 415 on /predict and a 200 on /predict-image", async () => {
    const png = await sharp(Buffer.from(rowForClass(3)), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const post = (url: string) =>
      service().app.inject({
        method: "POST",
        url,
        headers: { ...KEY_HEADERS, "content-type": "image/png" },
        payload: png,
      });
    const onPredict = await post("/predict");
    expect(onPredict.statusCode).toBe(415);
    expect(onPredict.json().error.code).toBeTypeOf("string");
    const onImage = await post("/predict-image");
    expect(onImage.statusCode).toBe(200);
    expect(onImage.json().predictions[0].class_id).toBe(3);
  });
});

describe("a draining service", () => {
  // Its own service: draining is one-way.
  const draining = testServiceForSuite();

  it("carries the shared hooks into every adapter: responses close their connection", async () => {
    const requests = [
      { method: "GET", url: "/health" },
      { method: "POST", url: "/predict", payload: { inputs: rowForClass(1) } },
      { method: "GET", url: `/v2/models/${FIXTURE_NAME}` },
      { method: "GET", url: "/v2/health/live" },
      { method: "GET", url: "/admin" },
    ] as const;
    for (const request of requests) {
      const before = await draining().app.inject({ ...request, headers: KEY_HEADERS });
      expect(before.headers.connection, request.url).not.toBe("close");
    }
    draining().dataPlane.startDraining();
    for (const request of requests) {
      const during = await draining().app.inject({ ...request, headers: KEY_HEADERS });
      expect(during.statusCode, request.url).toBeLessThan(500);
      expect(during.headers.connection, request.url).toBe("close");
    }
  });
});

describe("a process serving several models", () => {
  it("adds the model repository adapter", async () => {
    const multi = await startTestService(
      { MODEL_REPOSITORY: "second=champion" },
      "probabilities",
      async (fixture) => {
        const { registry } = fixture;
        const version = await registry.registerVersion("second", { "model.onnx": fixtureModelBytes() });
        await registry.setAlias("second", "champion", version);
      },
    );
    try {
      expect(pluginNames(multi)).toContain("plinth-v2-repository");
    } finally {
      await multi.close();
    }
  });
});
