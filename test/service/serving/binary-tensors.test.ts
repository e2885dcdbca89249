/**
 * Issue #24: the v2 binary tensor extension checks a tensor's declared shape against its bytes
 * before decoding anything, and keeps the decoded elements a typed array (a view of the body where
 * the layout allows) all the way to the model, never a JS array (~8 bytes a UINT8 element).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../../service/errors/api-error.js";
import { attachBinaryTensors, restoreBinaryTensors } from "../../../service/server/routes/v2-binary.js";
import type { ModelContract } from "../../../service/serving/contract.js";
import { toHalfBits } from "../../../service/serving/float16.js";
import { checkRequest, type RequestTensor } from "../../../service/serving/request-tensors.js";
import type * as TensorCodec from "../../../service/serving/tensor-codec.js";
import { decodeBinaryTensor } from "../../../service/serving/tensor-codec.js";
import { ROW_SIZE, rowForClass } from "../inference/fixture-model.js";
import { errorCode, KEY_HEADERS, startTestService, type TestService } from "../server/service-fixture.js";

// Every decode is observed: a refused tensor must never reach it.
vi.mock("../../../service/serving/tensor-codec.js", async (importOriginal) => {
  const actual = await importOriginal<typeof TensorCodec>();
  return { ...actual, decodeBinaryTensor: vi.fn(actual.decodeBinaryTensor) };
});
const decode = vi.mocked(decodeBinaryTensor);
beforeEach(() => {
  decode.mockClear();
});

interface BinaryInputHeader {
  name: string;
  datatype: string;
  shape: number[];
  bytes: Buffer;
}

/** A binary-extension body: the JSON header, then each input's bytes (`pad` bytes of JSON padding first). */
function binaryBody(inputs: BinaryInputHeader[], pad = 0) {
  const header = Buffer.from(
    JSON.stringify({
      inputs: inputs.map(({ name, datatype, shape, bytes }) => ({
        name,
        datatype,
        shape,
        parameters: { binary_data_size: bytes.length },
      })),
    }) + " ".repeat(pad),
  );
  return { header, body: Buffer.concat([header, ...inputs.map((i) => i.bytes)]) };
}

/** attachBinaryTensors then restoreBinaryTensors, as the parser and the preHandler hook run them. */
function parseBinary(inputs: BinaryInputHeader[], pad = 0) {
  const { header, body } = binaryBody(inputs, pad);
  const parsed = attachBinaryTensors(header.length, body, JSON.parse(header.toString("utf8")));
  restoreBinaryTensors(parsed);
  return { body, parsed: parsed as { inputs: RequestTensor[] } };
}

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("accepted");
}

describe("a binary tensor whose declared shape does not match its bytes", () => {
  it.each([
    [
      "too few bytes",
      [1, 784],
      100,
      "shape [1,784] holds 784 UINT8 values (784 bytes); binary_data_size is 100",
    ],
    ["too many bytes", [1, 10], 11, "shape [1,10] holds 10 UINT8 values (10 bytes); binary_data_size is 11"],
    [
      "a huge shape",
      [1_000_000, 784],
      784,
      "shape [1000000,784] holds 784000000 UINT8 values (784000000 bytes); binary_data_size is 784",
    ],
  ])(
    "is refused before anything is decoded, naming the input and both sizes: %s",
    (_, shape, size, message) => {
      const err = refusal(() =>
        parseBinary([{ name: "pixels", datatype: "UINT8", shape, bytes: Buffer.alloc(size) }]),
      );
      expect(err.code).toBe("INVALID_SHAPE");
      expect(err.message).toBe(`input "pixels": ${message}`);
      expect(decode).not.toHaveBeenCalled();
    },
  );

  it("is refused for wider types by element size, and for BYTES below 4 bytes an element", () => {
    expect(
      refusal(() => parseBinary([{ name: "w", datatype: "FP32", shape: [2, 3], bytes: Buffer.alloc(12) }]))
        .message,
    ).toBe('input "w": shape [2,3] holds 6 FP32 values (24 bytes); binary_data_size is 12');
    expect(
      refusal(() => parseBinary([{ name: "s", datatype: "BYTES", shape: [3], bytes: Buffer.alloc(8) }]))
        .message,
    ).toBe('input "s": shape [3] holds 3 BYTES values, at least 12 bytes; binary_data_size is 8');
    expect(decode).not.toHaveBeenCalled();
  });

  it("is refused over HTTP with the standard error envelope, and nothing decoded", async () => {
    const svc = await startTestService();
    try {
      const { header, body } = binaryBody([
        { name: "pixels", datatype: "UINT8", shape: [1, 1, 28, 28], bytes: Buffer.alloc(100) },
      ]);
      const res = await svc.app.inject({
        method: "POST",
        url: "/v2/models/fashion-classifier/infer",
        headers: { ...KEY_HEADERS, "inference-header-content-length": String(header.length) },
        payload: body,
      });
      expect(res.statusCode).toBe(400);
      expect(errorCode(res)).toBe("INVALID_SHAPE");
      expect(res.json().error.message).toBe(
        'input "pixels": shape [1,1,28,28] holds 784 UINT8 values (784 bytes); binary_data_size is 100',
      );
      expect(decode).not.toHaveBeenCalled();
      // The JSON header's length is digits only: what Number() would also have taken is refused.
      for (const length of ["", "0x10", "1e1", " 12", "-0"]) {
        const bad = await svc.app.inject({
          method: "POST",
          url: "/v2/models/fashion-classifier/infer",
          headers: {
            ...KEY_HEADERS,
            "inference-header-content-length": length,
            "content-type": "application/octet-stream",
          },
          payload: body,
        });
        expect([bad.statusCode, bad.json().error.message], length).toEqual([
          400,
          "inference-header-content-length must be an integer within the body length",
        ]);
      }
    } finally {
      await svc.close();
    }
  });
});

describe("decoded binary tensors", () => {
  it("are a UINT8 view of the body itself: no copy, no JS array", () => {
    const pixels = Buffer.from(rowForClass(4));
    const { body, parsed } = parseBinary([
      { name: "pixels", datatype: "UINT8", shape: [1, ROW_SIZE], bytes: pixels },
    ]);
    const data = parsed.inputs[0]!.data;
    expect(Array.isArray(data)).toBe(false);
    expect(data).toBeInstanceOf(Uint8Array);
    expect((data as Uint8Array).buffer).toBe(body.buffer);
    expect(Array.from(data as Uint8Array)).toEqual(rowForClass(4));
  });

  it("reach the model as the typed array ONNX Runtime takes, for every datatype, aligned or not", () => {
    const fp32 = Buffer.alloc(8);
    fp32.writeFloatLE(1.5, 0);
    fp32.writeFloatLE(-2, 4);
    const int64 = Buffer.alloc(16);
    int64.writeBigInt64LE(-(2n ** 62n), 0);
    int64.writeBigInt64LE(7n, 8);
    const fp16 = Buffer.alloc(4);
    fp16.writeUInt16LE(toHalfBits(0.5), 0);
    fp16.writeUInt16LE(toHalfBits(-3), 2);
    const strings = Buffer.concat(
      ["north", "été"].flatMap((s) => {
        const utf8 = Buffer.from(s, "utf8");
        const length = Buffer.alloc(4);
        length.writeUInt32LE(utf8.length);
        return [length, utf8];
      }),
    );
    const contract: ModelContract = {
      inputs: [
        { name: "flag", datatype: "BOOL", shape: [-1, 1] },
        { name: "f", datatype: "FP32", shape: [-1, 1] },
        { name: "i", datatype: "INT64", shape: [-1, 1] },
        { name: "h", datatype: "FP16", shape: [-1, 1] },
        { name: "s", datatype: "BYTES", shape: [-1, 1] },
      ],
      outputs: [{ name: "out", datatype: "FP32", shape: [-1] }],
    };
    // The BOOL bytes put every later tensor off its natural alignment in the body, for any padding.
    for (const pad of [0, 1, 2, 3]) {
      decode.mockClear();
      const { parsed } = parseBinary(
        [
          { name: "flag", datatype: "BOOL", shape: [2, 1], bytes: Buffer.from([0, 9]) },
          { name: "f", datatype: "FP32", shape: [2, 1], bytes: fp32 },
          { name: "i", datatype: "INT64", shape: [2, 1], bytes: int64 },
          { name: "h", datatype: "FP16", shape: [2, 1], bytes: fp16 },
          { name: "s", datatype: "BYTES", shape: [2, 1], bytes: strings },
        ],
        pad,
      );
      // Only BYTES (strings) decode to a JS array.
      const decoded = decode.mock.results.map((r) => r.value as unknown);
      expect(
        decoded.filter((v) => Array.isArray(v)),
        `pad ${pad}`,
      ).toEqual([["north", "été"]]);
      const { feeds, rows } = checkRequest(parsed.inputs, undefined, contract, 64);
      expect(rows).toBe(2);
      expect(feeds.flag!.data).toEqual(new Uint8Array([0, 1]));
      expect(feeds.f!.data).toEqual(new Float32Array([1.5, -2]));
      expect(feeds.i!.data).toEqual(new BigInt64Array([-(2n ** 62n), 7n]));
      expect(feeds.h!.data).toEqual(new Uint16Array([toHalfBits(0.5), toHalfBits(-3)]));
      expect(feeds.s!.data).toEqual(["north", "été"]);
      // The typed arrays are handed to ONNX Runtime as they are: no JS array in between.
      expect(feeds.f!.data).toBe(parsed.inputs[1]!.data);
      expect(feeds.i!.data).toBe(parsed.inputs[2]!.data);
    }
  });
});

describe("a binary UINT8 image over HTTP", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(() => svc.close());

  it("is decoded once, to a typed array, and classified", async () => {
    const { header, body } = binaryBody([
      { name: "pixels", datatype: "UINT8", shape: [1, 1, 28, 28], bytes: Buffer.from(rowForClass(6)) },
    ]);
    const res = await svc.app.inject({
      method: "POST",
      url: "/v2/models/fashion-classifier/infer",
      headers: { ...KEY_HEADERS, "inference-header-content-length": String(header.length) },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    const data: number[] = res.json().outputs[0].data;
    expect(data.indexOf(Math.max(...data))).toBe(6);
    expect(decode).toHaveBeenCalledTimes(1);
    expect(decode.mock.results[0]!.value).toBeInstanceOf(Uint8Array);
  });
});
