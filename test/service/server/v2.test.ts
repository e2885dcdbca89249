import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROW_SIZE, rowForClass } from "../inference/fixture-model.js";
import { MAX_PATH_PARAM_LENGTH } from "../../../service/server/schemas.js";
import { errorCode, KEY_HEADERS, startTestService, type TestService } from "./service-fixture.js";

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ MAX_ROWS_PER_REQUEST: "4" });
});
afterAll(() => svc.close());

const get = (url: string, headers: Record<string, string> = KEY_HEADERS) =>
  svc.app.inject({ method: "GET", url, headers });
const infer = (body: unknown, url = "/v2/models/fashion-classifier/infer") =>
  svc.app.inject({ method: "POST", url, headers: KEY_HEADERS, payload: body as object });

function tensor(rows: number[][], shape?: number[], extra: object = {}) {
  return {
    inputs: [
      {
        name: "pixels",
        datatype: "FP32",
        shape: shape ?? [rows.length, 1, 28, 28],
        data: rows.flat(),
        ...extra,
      },
    ],
  };
}

describe("Open Inference Protocol v2", () => {
  it("serves server metadata, liveness and readiness", async () => {
    expect((await get("/v2")).json()).toEqual({ name: "plinth", version: "0.1.0", extensions: [] });
    const live = await get("/v2/health/live", {});
    expect(live.statusCode).toBe(200);
    const ready = await get("/v2/health/ready", {});
    expect(ready.statusCode).toBe(200);
  });

  it("serves model metadata with tensor names, datatypes and shapes", async () => {
    const res = await get("/v2/models/fashion-classifier");
    expect(res.json()).toEqual({
      name: "fashion-classifier",
      versions: ["1"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "pixels", datatype: "FP32", shape: [-1, 1, 28, 28] }],
      outputs: [{ name: "probs", datatype: "FP32", shape: [-1, 10] }],
    });
    expect((await get("/v2/models/fashion-classifier/versions/1")).statusCode).toBe(200);
    expect((await get("/v2/models/fashion-classifier/versions/1/ready")).statusCode).toBe(200);
  });

  it("infers a batch with flat data and echoes the request id", async () => {
    const res = await infer({
      id: "req-7",
      ...tensor([rowForClass(2), rowForClass(8)]),
      outputs: [{ name: "probs" }],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.model_name).toBe("fashion-classifier");
    expect(body.model_version).toBe("1");
    expect(body.id).toBe("req-7");
    expect(body.outputs).toHaveLength(1);
    const out = body.outputs[0];
    expect(out.name).toBe("probs");
    expect(out.datatype).toBe("FP32");
    expect(out.shape).toEqual([2, 10]);
    expect(out.data).toHaveLength(20);
    const argmax = (row: number[]) => row.indexOf(Math.max(...row));
    expect([argmax(out.data.slice(0, 10)), argmax(out.data.slice(10))]).toEqual([2, 8]);
  });

  it("accepts nested data, a [N,784] shape and the versioned path", async () => {
    const nested = [Array.from({ length: 28 }, (_, y) => rowForClass(5).slice(y * 28, y * 28 + 28))];
    const body = { inputs: [{ name: "pixels", datatype: "FP32", shape: [1, 1, 28, 28], data: [nested] }] };
    expect((await infer(body)).json().outputs[0].shape).toEqual([1, 10]);
    const flat = await infer(
      tensor([rowForClass(6)], [1, ROW_SIZE]),
      "/v2/models/fashion-classifier/versions/1/infer",
    );
    expect(flat.statusCode).toBe(200);
  });

  it.each([
    ["an unknown model", "/v2/models/other/infer", tensor([rowForClass(1)]), 404, "MODEL_NOT_FOUND"],
    [
      "an unknown version",
      "/v2/models/fashion-classifier/versions/9/infer",
      tensor([rowForClass(1)]),
      404,
      "MODEL_VERSION_NOT_FOUND",
    ],
    [
      "a wrong input name",
      undefined,
      { inputs: [{ ...tensor([rowForClass(1)]).inputs[0], name: "x" }] },
      400,
      "INVALID_REQUEST",
    ],
    [
      "an unsupported datatype",
      undefined,
      tensor([rowForClass(1)], undefined, { datatype: "BYTES" }),
      400,
      "INVALID_REQUEST",
    ],
    [
      "an unknown requested output",
      undefined,
      { ...tensor([rowForClass(1)]), outputs: [{ name: "logits" }] },
      400,
      "INVALID_REQUEST",
    ],
    [
      "a shape that is not the model's",
      undefined,
      tensor([rowForClass(1)], [1, 28, 28]),
      400,
      "INVALID_SHAPE",
    ],
    ["data shorter than the shape", undefined, tensor([rowForClass(1).slice(1)]), 400, "INVALID_SHAPE"],
    ["data longer than the shape", undefined, tensor([[...rowForClass(1), 0]]), 400, "INVALID_SHAPE"],
    ["a zero batch", undefined, tensor([], [0, 1, 28, 28]), 400, "EMPTY_BATCH"],
    [
      "too many rows",
      undefined,
      tensor(Array.from({ length: 5 }, () => rowForClass(1))),
      400,
      "BATCH_TOO_LARGE",
    ],
    [
      "a string in the data",
      undefined,
      tensor([[...rowForClass(1).slice(1), "7" as unknown as number]]),
      400,
      "INVALID_VALUE",
    ],
    ["no inputs", undefined, { inputs: [] }, 400, "INVALID_REQUEST"],
    [
      "a shape of strings",
      undefined,
      tensor([rowForClass(1)], ["1", "784"] as unknown as number[]),
      400,
      "INVALID_REQUEST",
    ],
  ])("refuses %s", async (_name, url, body, status, code) => {
    const res = await infer(body, url);
    expect(res.statusCode).toBe(status);
    expect(errorCode(res)).toBe(code);
  });

  it("answers metadata for an unknown model or version with 404", async () => {
    expect(errorCode(await get("/v2/models/nope"))).toBe("MODEL_NOT_FOUND");
    const res = await get("/v2/models/fashion-classifier/versions/2/ready");
    expect(res.statusCode).toBe(404);
    expect(errorCode(res)).toBe("MODEL_VERSION_NOT_FOUND");
  });

  // Regression (API fuzzing): the router answered these itself, outside the envelope (414 and 400
  // with fastify's own body), and model readiness documented neither 404 nor 400.
  it("answers an over-long path parameter or an undecodable path with 400 in the envelope", async () => {
    const long = "m".repeat(MAX_PATH_PARAM_LENGTH + 1);
    for (const url of [
      `/v2/models/${long}`,
      `/v2/models/${long}/ready`,
      `/v2/models/x/versions/${long}/ready`,
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(errorCode(res)).toBe("INVALID_REQUEST");
      expect(res.json().error.message).toBe("a path parameter is longer than the service accepts");
    }
    const atLimit = await get(`/v2/models/${"m".repeat(MAX_PATH_PARAM_LENGTH)}`);
    expect(errorCode(atLimit)).toBe("MODEL_NOT_FOUND");
    const bad = await get("/v2/models/%zz");
    expect(bad.statusCode).toBe(400);
    expect(errorCode(bad)).toBe("INVALID_REQUEST");
    expect(bad.json().error.message).toBe("the request path is not a valid URL (malformed percent-encoding)");
  });

  it("answers model readiness for an unknown model with 404 and documents it", async () => {
    const res = await get("/v2/models/plinth/ready");
    expect(res.statusCode).toBe(404);
    expect(errorCode(res)).toBe("MODEL_NOT_FOUND");
    const spec = (await get("/openapi.json", {})).json();
    const ready = spec.paths["/v2/models/{name}/ready"].get.responses;
    expect(Object.keys(ready).sort()).toEqual(["200", "400", "401", "404", "429", "503"]);
  });

  describe("binary tensor data extension (tritonclient's default)", () => {
    function binaryBody(bytes: Buffer, datatype: string, rows = 1, extraBytes = 0) {
      const header = Buffer.from(
        JSON.stringify({
          inputs: [
            {
              name: "pixels",
              shape: [rows, 1, 28, 28],
              datatype,
              parameters: { binary_data_size: bytes.length },
            },
          ],
          parameters: { binary_data_output: true },
        }),
      );
      return { header, payload: Buffer.concat([header, bytes, Buffer.alloc(extraBytes)]) };
    }
    const send = (payload: Buffer, headers: Record<string, string>) =>
      svc.app.inject({
        method: "POST",
        url: "/v2/models/fashion-classifier/infer",
        headers: { ...KEY_HEADERS, ...headers },
        payload,
      });

    it("reads FP32 inputs after the JSON header, with no content type or application/octet-stream", async () => {
      const floats = Buffer.alloc(ROW_SIZE * 4);
      rowForClass(3).forEach((v, i) => floats.writeFloatLE(v, i * 4));
      const { header, payload } = binaryBody(floats, "FP32");
      for (const headers of [{}, { "content-type": "application/octet-stream" }] as Record<
        string,
        string
      >[]) {
        const res = await send(payload, {
          ...headers,
          "inference-header-content-length": String(header.length),
        });
        expect(res.statusCode).toBe(200);
        const data: number[] = res.json().outputs[0].data;
        expect(data.indexOf(Math.max(...data))).toBe(3);
      }
    });

    it("reads UINT8 inputs", async () => {
      const { header, payload } = binaryBody(Buffer.from(rowForClass(8)), "UINT8");
      const res = await send(payload, { "inference-header-content-length": String(header.length) });
      const data: number[] = res.json().outputs[0].data;
      expect(data.indexOf(Math.max(...data))).toBe(8);
    });

    it.each([
      ["a header length beyond the body", (h: Buffer, p: Buffer) => [p, String(p.length + 1)] as const],
      [
        "bytes no input claims",
        (h: Buffer, p: Buffer) => [Buffer.concat([p, Buffer.alloc(4)]), String(h.length)] as const,
      ],
      [
        "a binary size beyond the body",
        (h: Buffer, p: Buffer) => [p.subarray(0, p.length - 4), String(h.length)] as const,
      ],
    ])("refuses %s", async (_name, mangle) => {
      const { header, payload } = binaryBody(Buffer.from(rowForClass(1)), "UINT8");
      const [body, length] = mangle(header, payload);
      const res = await send(body, { "inference-header-content-length": length });
      expect(res.statusCode).toBe(400);
      expect(errorCode(res)).toBe("INVALID_REQUEST");
    });

    it("refuses a JSON header that does not parse", async () => {
      const res = await send(Buffer.from("{not json"), { "inference-header-content-length": "9" });
      expect(res.statusCode).toBe(400);
      expect(errorCode(res)).toBe("INVALID_JSON");
    });
  });
});
