import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { networkFromOnnx, UnsupportedGraphError } from "../../../service/explain/network-from-onnx.js";
import { SaliencyExplainer } from "../../../service/explain/saliency.js";
import { encodeOnnxModel } from "../../../service/model/onnx-format.js";
import { acceptQuality } from "../../../service/server/routes/explain.js";
import { fixtureModelBytes, rowForClass } from "../inference/fixture-model.js";
import { errorCode, KEY_HEADERS, startTestService, type TestService } from "../server/service-fixture.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SAMPLE = path.join(ROOT, "samples/fashion-mnist/0000-ankle-boot.png");

interface ExplainBody {
  prediction: { label: string; class_id: number; probabilities: number[] };
  saliency: { width: number; height: number; values: number[] };
  heatmap: { content_type: string; width: number; height: number; base64: string };
  model: { name: string; version: string; variant: string };
  prediction_id: string;
}

describe("saliency explainer", () => {
  it("gives gradient x input exactly on the fixture model (class k's weights sit on pixels i % 10 = k)", () => {
    const net = networkFromOnnx(fixtureModelBytes("probabilities"), { c: 1, h: 28, w: 28 });
    const explainer = new SaliencyExplainer(net, { normScale: 1 / 255, normShift: 0 });
    const row = rowForClass(3);
    const { classId, saliency, probabilities } = explainer.explain(Float32Array.from(row, (p) => p / 255));
    expect(classId).toBe(3);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(Array.from(saliency)).toEqual(row.map((p) => (p === 255 ? 1 : 0)));
  });

  it("refuses a graph with an operator it cannot differentiate, naming the node", () => {
    const bytes = encodeOnnxModel({
      graphName: "g",
      producerName: "t",
      producerVersion: "1",
      inputs: [{ name: "pixels", shape: ["N", 10] }],
      outputs: [{ name: "probs", shape: ["N", 10] }],
      nodes: [{ opType: "Sigmoid", name: "squash", inputs: ["pixels"], outputs: ["probs"] }],
      initializers: [],
      metadataProps: {},
    });
    expect(() => networkFromOnnx(bytes, { c: 1, h: 28, w: 28 })).toThrow(
      new UnsupportedGraphError("node squash (Sigmoid): operator not supported by the explainer"),
    );
  });

  it("reads Accept quality factors", () => {
    expect(acceptQuality("image/png", "image/png")).toBe(1);
    expect(acceptQuality("application/json;q=0.5, image/*;q=0.8", "image/png")).toBe(0.8);
    expect(acceptQuality("application/json;q=0.5, image/*;q=0.8", "application/json")).toBe(0.5);
    expect(acceptQuality(undefined, "image/png")).toBe(0);
  });
});

describe("POST /predict-image/explain on the trained model", () => {
  let svc: TestService;
  let png: Buffer;
  let pixels: Uint8Array;
  beforeAll(async () => {
    svc = await startTestService({ PLINTH_REGISTRY_DIR: path.join(ROOT, "models") });
    png = await readFile(SAMPLE);
    pixels = new Uint8Array(await sharp(png).greyscale().raw().toBuffer());
  });
  afterAll(() => svc.close());

  const explain = (payload: Buffer, headers: Record<string, string> = {}, url = "/predict-image/explain") =>
    svc.app.inject({
      method: "POST",
      url,
      headers: { ...KEY_HEADERS, "content-type": "image/png", ...headers },
      payload,
    });

  it("predicts as /predict-image does and puts the saliency on the garment", async () => {
    const res = await explain(png);
    expect(res.statusCode).toBe(200);
    const body = res.json() as ExplainBody;
    const plain = (
      await svc.app.inject({
        method: "POST",
        url: "/predict-image",
        headers: { ...KEY_HEADERS, "content-type": "image/png" },
        payload: png,
      })
    ).json() as { predictions: { label: string; probabilities: number[] }[] };
    expect(body.prediction.label).toBe(plain.predictions[0]!.label);
    body.prediction.probabilities.forEach((p, i) =>
      expect(p).toBeCloseTo(plain.predictions[0]!.probabilities[i]!, 4),
    );
    expect(res.headers["x-prediction-id"]).toBe(body.prediction_id);
    expect(body.model).toEqual({ name: "fashion-classifier", version: "1", variant: "stable" });

    const { width, height, values } = body.saliency;
    expect([width, height, values.length]).toEqual([28, 28, 784]);
    expect(Math.max(...values)).toBe(1);
    const garment = (i: number) => pixels[i]! > 25;
    const total = values.reduce((a, b) => a + b, 0);
    const onGarment = values.reduce((a, v, i) => a + (garment(i) ? v : 0), 0);
    expect(onGarment / total).toBeGreaterThan(0.95);

    const heat = Buffer.from(body.heatmap.base64, "base64");
    const meta = await sharp(heat).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 28, 28]);
    expect([body.heatmap.width, body.heatmap.height, body.heatmap.content_type]).toEqual([
      28,
      28,
      "image/png",
    ]);
  });

  it("draws the heatmap at the input's size, hot where the garment is", async () => {
    const big = await sharp(png).resize(112, 112, { kernel: "nearest" }).png().toBuffer();
    const res = await explain(big, { accept: "image/png" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("image/png");
    expect(res.headers["x-plinth-label"]).toBe(encodeURIComponent("Ankle boot"));
    expect(res.headers["x-plinth-class-id"]).toBe("9");
    const { data, info } = await sharp(res.rawPayload).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([112, 112]);
    // Heat is red-dominant; the dimmed grayscale image under it is not.
    let hot = 0;
    let hotOnGarment = 0;
    for (let y = 0; y < 112; y++) {
      for (let x = 0; x < 112; x++) {
        const o = (y * 112 + x) * info.channels;
        if (data[o]! - data[o + 2]! < 60) continue;
        hot++;
        if (pixels[Math.floor(y / 4) * 28 + Math.floor(x / 4)]! > 0) hotOnGarment++;
      }
    }
    expect(hot).toBeGreaterThan(500);
    expect(hotOnGarment / hot).toBeGreaterThan(0.9);
  });

  it("answers bad uploads with the image routes' errors", async () => {
    const corrupt = await explain(Buffer.from("\x89PNG\r\n\x1a\nnot really"));
    expect([corrupt.statusCode, errorCode(corrupt)]).toEqual([400, "INVALID_IMAGE"]);
    const json = await svc.app.inject({
      method: "POST",
      url: "/predict-image/explain",
      headers: KEY_HEADERS,
      payload: { inputs: [] },
    });
    expect([json.statusCode, errorCode(json)]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
    const anonymous = await svc.app.inject({
      method: "POST",
      url: "/predict-image/explain",
      headers: { "content-type": "image/png" },
      payload: png,
    });
    expect([anonymous.statusCode, errorCode(anonymous)]).toEqual([401, "UNAUTHENTICATED"]);
    const badQuery = await explain(png, {}, "/predict-image/explain?invert=yes");
    expect([badQuery.statusCode, errorCode(badQuery)]).toEqual([400, "INVALID_REQUEST"]);
  });
});
