/**
 * The per-model prediction routes (issue #21): `POST /models/:name/predict` and
 * `POST /models/:name/predict-image` are `/predict` and `/predict-image` for the model the path
 * names, in the running service through `inject()`. For the default model they answer exactly what
 * the bare routes answer (body, errors, headers); a MODEL_REPOSITORY model answers with its own
 * prediction while `/predict` keeps answering the default one; an unknown, unloaded or not-ready
 * model is refused in the envelope as the v2 routes refuse it; and what the shared hooks do (auth,
 * the cost budget, HTTP metrics, the ops summary's traffic, the prediction log, drift, the OpenAPI
 * document) holds for them under their route templates.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_PATH_PARAM_LENGTH, modelPredictionPaths } from "../../../service/contract/prediction-routes.js";
import { sampleTraffic } from "../../../service/ops/traffic.js";
import { FIXTURE_NAME, rowForClass } from "../inference/fixture-model.js";
import { matmulModel } from "../inference/matmul-model.js";
import { metricValue } from "../rollout/rollout-fixture.js";
import { API_KEY, errorCode, KEY_HEADERS, startTestService, type TestService } from "./service-fixture.js";

const BUNDLED = path.resolve("models/fashion-classifier/1");
const SAMPLES = path.resolve("samples/fashion-mnist");
const SAMPLE_FILES = ["0000-ankle-boot.png", "0001-pullover.png", "0002-trouser.png", "0008-sandal.png"];

/** y = [x0, x1] as logits: a row whose `a` is larger is "left", whose `b` is larger is "right". */
const TABULAR_WEIGHTS = [1, 0, 0, 1, 0, 0];
const TABULAR_CONFIG = JSON.stringify({
  schemaVersion: 1,
  task: "classification",
  labels: ["left", "right"],
  input: { features: ["a", "b", "c"] },
  output: { kind: "logits" },
});
/** The listing the 404 of an unknown model gives, in the repository's order. */
const MODELS_HERE = '"fashion-classifier", "tabular", "doubler", "broken", "waiting"';

/** The bundled model's files (registered as a version of the fixture's name: the same model name). */
async function bundledFiles(): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const file of ["model.onnx", "model-config.json", "baseline.json"])
    files[file] = await readFile(path.join(BUNDLED, file));
  return files;
}

/** A sample PNG's 784 raw grey pixels, row-major. */
async function samplePixels(file: string): Promise<number[]> {
  const raw = await sharp(path.join(SAMPLES, file)).greyscale().raw().toBuffer();
  expect(raw.length).toBe(784);
  return [...raw];
}

function postJson(
  svc: TestService,
  url: string,
  payload: unknown,
  headers: Record<string, string> = KEY_HEADERS,
) {
  return svc.app.inject({
    method: "POST",
    url,
    headers: { ...headers, "content-type": "application/json" },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
}

function postImage(
  svc: TestService,
  url: string,
  png: Buffer,
  headers: Record<string, string> = KEY_HEADERS,
) {
  return svc.app.inject({
    method: "POST",
    url,
    headers: { ...headers, "content-type": "image/png" },
    payload: png,
  });
}

function postMultipart(svc: TestService, url: string, png: Buffer) {
  const boundary = "----plinth-model-routes";
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n` +
        "Content-Type: image/png\r\n\r\n",
    ),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return svc.app.inject({
    method: "POST",
    url,
    headers: { ...KEY_HEADERS, "content-type": `multipart/form-data; boundary=${boundary}` },
    payload,
  });
}

type Response = Awaited<ReturnType<typeof postJson>>;

/** The body as sent, with this response's own prediction id blanked (each request has its own). */
function bodyWithoutId(res: Response): string {
  const id = res.headers["x-prediction-id"];
  return typeof id === "string" ? res.body.split(id).join("<id>") : res.body;
}

/** Two responses are the same answer: status, body byte for byte (but the id), variant header. */
function expectSameAnswer(perModel: Response, bare: Response): void {
  expect(perModel.statusCode).toBe(bare.statusCode);
  expect(bodyWithoutId(perModel)).toBe(bodyWithoutId(bare));
  expect(perModel.headers["x-plinth-variant"]).toBe(bare.headers["x-plinth-variant"]);
  expect(perModel.headers["content-type"]).toBe(bare.headers["content-type"]);
}

/** Two refusals are the same: status, code and message (request ids differ). */
function expectSameRefusal(perModel: Response, bare: Response): void {
  expect(perModel.statusCode).toBe(bare.statusCode);
  expect(errorCode(perModel)).toBe(errorCode(bare));
  expect(perModel.json().error.message).toBe(bare.json().error.message);
}

describe("the bundled model as the default model, with MODEL_REPOSITORY models beside it", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService(
      {
        MODEL_REPOSITORY:
          "tabular=champion,doubler=champion,broken=champion,waiting=models:/waiting@champion",
        PREDICTION_LOG_PATH: "/dev/null",
      },
      "probabilities",
      async ({ registry }) => {
        const bundled = await registry.registerVersion(FIXTURE_NAME, await bundledFiles());
        await registry.setAlias(FIXTURE_NAME, "champion", bundled);
        const tabular = await registry.registerVersion("tabular", {
          "model.onnx": matmulModel(TABULAR_WEIGHTS),
          "model-config.json": TABULAR_CONFIG,
        });
        await registry.setAlias("tabular", "champion", tabular);
        const doubler = await registry.registerVersion("doubler", {
          "model.onnx": matmulModel([2, 0, 0, 2, 1, 1]),
        });
        await registry.setAlias("doubler", "champion", doubler);
        const broken = await registry.registerVersion("broken", { "model.onnx": "not onnx" });
        await registry.setAlias("broken", "champion", broken);
        // "waiting": nothing registered, so it awaits its first version (503 NOT_READY).
      },
    );
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
  });

  const predictPath = `/models/${FIXTURE_NAME}/predict`;
  const imagePath = `/models/${FIXTURE_NAME}/predict-image`;

  it("answers /models/<default>/predict byte for byte as /predict, for one row and for several", async () => {
    const rows = await Promise.all(SAMPLE_FILES.map(samplePixels));
    for (const payload of [{ inputs: rows[0] }, { inputs: rows }]) {
      const bare = await postJson(svc, "/predict", payload);
      const perModel = await postJson(svc, predictPath, payload);
      expect(bare.statusCode).toBe(200);
      expectSameAnswer(perModel, bare);
    }
    // The bundled model itself answered (its labels, version 2 of the registry), not the fixture.
    const body = (await postJson(svc, predictPath, { inputs: rows })).json();
    expect(body.model).toEqual({ name: FIXTURE_NAME, version: "2", variant: "stable" });
    expect(body.predictions.map((p: { label: string }) => p.label)).toEqual([
      "Ankle boot",
      "Pullover",
      "Trouser",
      "Sandal",
    ]);
  });

  it("refuses a bad body on /models/<default>/predict exactly as /predict does", async () => {
    for (const payload of [
      { inputs: [] },
      { inputs: rowForClass(1).slice(1) },
      { instances: [{ a: 1 }] },
      { rows: [] },
      '{"inputs": [1,',
    ]) {
      const bare = await postJson(svc, "/predict", payload);
      expect(bare.statusCode, JSON.stringify(payload)).toBe(400);
      expectSameRefusal(await postJson(svc, predictPath, payload), bare);
    }
  });

  it("answers /models/<default>/predict-image as /predict-image: raw body, multipart, inverted", async () => {
    const png = await readFile(path.join(SAMPLES, SAMPLE_FILES[0]!));
    const bare = await postImage(svc, "/predict-image", png);
    expect(bare.statusCode).toBe(200);
    expect(bare.json().predictions[0].label).toBe("Ankle boot");
    expectSameAnswer(await postImage(svc, imagePath, png), bare);
    expectSameAnswer(
      await postMultipart(svc, imagePath, png),
      await postMultipart(svc, "/predict-image", png),
    );
    expectSameAnswer(
      await postImage(svc, `${imagePath}?invert=true`, png),
      await postImage(svc, "/predict-image?invert=true", png),
    );
    const notAnImage = Buffer.from("not an image");
    expectSameRefusal(
      await postImage(svc, imagePath, notAnImage),
      await postImage(svc, "/predict-image", notAnImage),
    );
  });

  it("answers a MODEL_REPOSITORY model on /models/<it>/predict with its own prediction", async () => {
    const instances = await postJson(svc, "/models/tabular/predict", {
      instances: [
        { a: 1, b: 2, c: 3 },
        { a: 5, b: 0, c: 1 },
      ],
    });
    expect(instances.statusCode).toBe(200);
    const body = instances.json();
    expect(body.model).toEqual({ name: "tabular", version: "1", variant: "stable" });
    expect(body.predictions.map((p: { label: string }) => p.label)).toEqual(["right", "left"]);
    expect(body.predictions[0].probabilities[1]).toBeCloseTo(Math.exp(2) / (Math.exp(1) + Math.exp(2)), 5);
    expect(instances.headers["x-prediction-id"]).toBe(body.prediction_id);
    // Rows in the features' order are the same rows.
    const rows = await postJson(svc, "/models/tabular/predict", {
      inputs: [
        [1, 2, 3],
        [5, 0, 1],
      ],
    });
    expect(bodyWithoutId(rows)).toBe(bodyWithoutId(instances));
    // Meanwhile /predict answers the default model.
    const bare = await postJson(svc, "/predict", { inputs: await samplePixels(SAMPLE_FILES[2]!) });
    expect(bare.json().model.name).toBe(FIXTURE_NAME);
    expect(bare.json().predictions[0].label).toBe("Trouser");
    // ... and /predict-image is not the tabular model's either.
    const tabularImage = await postImage(svc, "/models/tabular/predict-image", Buffer.from("x"));
    expect(tabularImage.statusCode).toBe(400);
    expect(tabularImage.json().error.message).toContain('model "tabular" has no image input');
  });

  it("refuses /predict for a repository model without a model configuration, as /predict would", async () => {
    const res = await postJson(svc, "/models/doubler/predict", { inputs: [1, 2, 3] });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe("INVALID_REQUEST");
    expect(res.json().error.message).toContain('/predict is not available for model "doubler" version 1');
  });

  it("answers an unknown model with 404 MODEL_NOT_FOUND naming it and the models here", async () => {
    for (const url of ["/models/nope/predict", "/models/nope/predict-image"]) {
      const res = await postJson(svc, url, { inputs: [1] });
      expect(res.statusCode, url).toBe(404);
      expect(errorCode(res)).toBe("MODEL_NOT_FOUND");
      expect(res.json().error.message).toBe(
        `model "nope" is not served here (this process has ${MODELS_HERE})`,
      );
      expect(res.json().error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("answers a model that failed to load or awaits its first version as v2 inference does", async () => {
    const v2 = (name: string) =>
      postJson(svc, `/v2/models/${name}/infer`, {
        inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }],
      });
    const broken = await postJson(svc, "/models/broken/predict", { inputs: [1, 2, 3] });
    expect(broken.statusCode).toBe(404);
    expect(errorCode(broken)).toBe("MODEL_NOT_FOUND");
    expectSameRefusal(broken, await v2("broken"));
    const waiting = await postJson(svc, "/models/waiting/predict", { inputs: [1, 2, 3] });
    expect(waiting.statusCode).toBe(503);
    expect(errorCode(waiting)).toBe("NOT_READY");
    expect(waiting.json().error.message).toContain('model "waiting" is not ready');
    expect(waiting.headers["retry-after"]).toMatch(/^\d+$/);
    expectSameRefusal(waiting, await v2("waiting"));
    const waitingImage = await postImage(svc, "/models/waiting/predict-image", Buffer.from("x"));
    expect(waitingImage.statusCode).toBe(503);
  });

  it("refuses an over-long or undecodable model name as the v2 routes do", async () => {
    const long = "m".repeat(MAX_PATH_PARAM_LENGTH + 1);
    for (const url of [`/models/${long}/predict`, `/models/${long}/predict-image`]) {
      const res = await postJson(svc, url, { inputs: [1] });
      expect(res.statusCode, url).toBe(400);
      expect(errorCode(res)).toBe("INVALID_REQUEST");
      expect(res.json().error.message).toBe("a path parameter is longer than the service accepts");
    }
    const atLimit = await postJson(svc, `/models/${"m".repeat(MAX_PATH_PARAM_LENGTH)}/predict`, {
      inputs: [1],
    });
    expect(errorCode(atLimit)).toBe("MODEL_NOT_FOUND");
    const bad = await postJson(svc, "/models/%zz/predict", { inputs: [1] });
    expect(bad.statusCode).toBe(400);
    expect(errorCode(bad)).toBe("INVALID_REQUEST");
  });

  it("answers a method the per-model path does not serve with 405, as /predict does", async () => {
    for (const url of [predictPath, "/models/nope/predict-image"]) {
      const res = await svc.app.inject({ method: "GET", url, headers: KEY_HEADERS });
      expect(res.statusCode, url).toBe(405);
      expect(errorCode(res)).toBe("METHOD_NOT_ALLOWED");
      expect(res.headers.allow).toBe("POST");
    }
  });

  it("needs the credentials /predict needs, before it says whether a model exists", async () => {
    for (const url of [predictPath, imagePath, "/models/nope/predict", "/predict"]) {
      const none = await postJson(svc, url, { inputs: [1] }, {});
      expect(none.statusCode, url).toBe(401);
      expect(errorCode(none)).toBe("UNAUTHENTICATED");
      const wrong = await postJson(svc, url, { inputs: [1] }, { "x-api-key": `${API_KEY}-wrong` });
      expect(wrong.statusCode, url).toBe(401);
      expect(errorCode(wrong)).toBe("INVALID_CREDENTIALS");
    }
  });

  it("labels HTTP metrics with the route template, never the model's name", async () => {
    const route = { route: "/models/:name/predict", method: "POST" };
    const series = {
      tabular: { ...route, status_code: "200", variant: "stable", model_version: "1" },
      bundled: { ...route, status_code: "200", variant: "stable", model_version: "2" },
      unknown: { ...route, status_code: "404" },
    };
    const count = (labels: Record<string, string>) => metricValue(svc, "plinth_http_requests_total", labels);
    const before = {
      tabular: await count(series.tabular),
      bundled: await count(series.bundled),
      unknown: await count(series.unknown),
    };
    await postJson(svc, "/models/tabular/predict", { inputs: [1, 2, 3] });
    await postJson(svc, predictPath, { inputs: rowForClass(1) });
    await postJson(svc, "/models/another-unknown/predict", { inputs: [1] });
    expect(await count(series.tabular)).toBe(before.tabular + 1);
    expect(await count(series.bundled)).toBe(before.bundled + 1);
    expect(await count(series.unknown)).toBe(before.unknown + 1);
    const text = await svc.metrics.registry.getSingleMetricAsString("plinth_http_requests_total");
    expect(text).toContain('route="/models/:name/predict-image"');
    expect(text).not.toContain('route="/models/tabular');
    expect(text).not.toContain(`route="/models/${FIXTURE_NAME}`);
    expect(text).not.toContain("another-unknown");
  });

  it("counts the per-model routes as prediction traffic in the ops summary", async () => {
    const requests = async () =>
      [...(await sampleTraffic(svc.metrics)).requestsByVariant.values()].reduce((a, b) => a + b, 0);
    const before = await requests();
    await postJson(svc, predictPath, { inputs: rowForClass(2) });
    await postImage(svc, imagePath, await readFile(path.join(SAMPLES, SAMPLE_FILES[1]!)));
    expect(await requests()).toBe(before + 2);
  });

  it("logs every model's predictions; drift watches the default model's only", async () => {
    const log = vi.spyOn(svc.observability.predictionLog!, "add");
    const drift = vi.spyOn(svc.observability.drift, "observe");
    try {
      await postJson(svc, predictPath, { inputs: rowForClass(2) });
      await postJson(svc, "/models/tabular/predict", { instances: [{ a: 1, b: 2, c: 3 }] });
      expect(log.mock.calls.map(([entry]) => entry.model)).toEqual([FIXTURE_NAME, "tabular"]);
      expect(drift.mock.calls.map(([scored]) => scored.model.name)).toEqual([FIXTURE_NAME]);
    } finally {
      log.mockRestore();
      drift.mockRestore();
    }
  });

  it("documents both per-model routes in the OpenAPI document", async () => {
    const spec = (await svc.app.inject({ method: "GET", url: "/openapi.json" })).json();
    for (const endpoint of ["/predict", "/predict-image"]) {
      const operation = spec.paths[`/models/{name}${endpoint}`].post;
      expect(operation.summary).toContain("the model named in the path");
      expect(operation.description).toContain(`\`POST /models/{name}${endpoint}\` is \`POST ${endpoint}\``);
      const pathParameters = (operation.parameters as { in: string }[]).filter((p) => p.in === "path");
      expect(pathParameters).toEqual([
        expect.objectContaining({
          in: "path",
          name: "name",
          required: true,
          schema: expect.objectContaining({ maxLength: MAX_PATH_PARAM_LENGTH }),
        }),
      ]);
      expect(Object.keys(operation.responses)).toEqual(
        expect.arrayContaining(["200", "400", "401", "404", "429", "503"]),
      );
      expect(operation.security).toEqual(spec.paths[endpoint].post.security);
      expect(spec.paths[endpoint].post.description).toContain(`\`POST /models/{name}${endpoint}\``);
    }
  });

  it("routes the paths the contract gives the platform to the per-model routes", async () => {
    const [predict, image] = modelPredictionPaths(FIXTURE_NAME);
    expect([predict, image]).toEqual([predictPath, imagePath]);
    const res = await postJson(svc, predict!, { inputs: rowForClass(1) });
    expect(res.statusCode).toBe(200);
    const png = await readFile(path.join(SAMPLES, SAMPLE_FILES[3]!));
    expect((await postImage(svc, image!, png)).json().predictions[0].label).toBe("Sandal");
  });
});

describe("a model served by its configuration as the default model", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ MODEL_NAME: "tabular" }, "probabilities", async ({ registry }) => {
      const v1 = await registry.registerVersion("tabular", {
        "model.onnx": matmulModel(TABULAR_WEIGHTS),
        "model-config.json": TABULAR_CONFIG,
      });
      await registry.setAlias("tabular", "champion", v1);
    });
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
  });

  it("answers /models/<default>/predict byte for byte as /predict, for rows and named features", async () => {
    for (const payload of [
      { inputs: [1, 2, 3] },
      {
        inputs: [
          [1, 2, 3],
          [7, 1, 0],
        ],
      },
      {
        instances: [
          { a: 0.5, b: 0.25, c: 9 },
          { a: -1, b: 3, c: 0 },
        ],
      },
    ]) {
      const bare = await postJson(svc, "/predict", payload);
      expect(bare.statusCode).toBe(200);
      expect(bare.json().model.name).toBe("tabular");
      expectSameAnswer(await postJson(svc, "/models/tabular/predict", payload), bare);
    }
    for (const payload of [{ instances: [{ a: 1, b: 2 }] }, { inputs: [1, 2] }]) {
      const bare = await postJson(svc, "/predict", payload);
      expect(bare.statusCode).toBe(400);
      expectSameRefusal(await postJson(svc, "/models/tabular/predict", payload), bare);
    }
  });

  it("knows only its own model by name", async () => {
    const res = await postJson(svc, `/models/${FIXTURE_NAME}/predict`, { inputs: rowForClass(1) });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toBe(
      `model "${FIXTURE_NAME}" is not served here (this process has "tabular")`,
    );
  });
});

describe("the cost budget", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ RATE_LIMIT_COST_MAX: "20" });
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
  });

  it("charges /models/<name>/predict its rows, as /predict", async () => {
    const rows = { inputs: [1, 2, 3, 4, 5].map(rowForClass) };
    const bare = await postJson(svc, "/predict", rows);
    expect(bare.headers["plinth-request-cost"]).toBe("6");
    const perModel = await postJson(svc, `/models/${FIXTURE_NAME}/predict`, rows, {
      "x-api-key": "other-key-0123456789abcdef",
    });
    expect(perModel.headers["plinth-request-cost"]).toBe("6");
    // 6 + 6 + 6 of 20: the fourth request of six rows passes the budget.
    await postJson(svc, `/models/${FIXTURE_NAME}/predict`, rows, {
      "x-api-key": "other-key-0123456789abcdef",
    });
    await postJson(svc, `/models/${FIXTURE_NAME}/predict`, rows, {
      "x-api-key": "other-key-0123456789abcdef",
    });
    const over = await postJson(svc, `/models/${FIXTURE_NAME}/predict`, rows, {
      "x-api-key": "other-key-0123456789abcdef",
    });
    expect(over.statusCode).toBe(429);
    expect(errorCode(over)).toBe("RATE_LIMITED");
    expect(over.json().error.message).toContain("this request costs 6");
  });

  it("charges /models/<name>/predict-image the image's megapixels, as /predict-image", async () => {
    const png = await sharp({ create: { width: 1500, height: 1000, channels: 3, background: "#000" } })
      .png()
      .toBuffer();
    const bare = await postImage(svc, "/predict-image", png);
    const perModel = await postImage(svc, `/models/${FIXTURE_NAME}/predict-image`, png);
    expect(bare.headers["plinth-request-cost"]).toBe("3");
    expect(perModel.headers["plinth-request-cost"]).toBe("3");
  });
});
