/**
 * Dynamic batching of graph models (service/inference/graph-batcher.ts) on real ONNX Runtime
 * sessions of small graphs written here with onnx.proto's field numbers (plinth's own encoder
 * writes float tensors only): joined runs give each request exactly what it gets alone, concurrent
 * requests share a run, incompatible ones do not, the queue bound refuses, a request that breaks the
 * graph fails alone (found by bisection), only a graph naming one batch dimension everywhere batches
 * unless its configuration says `batching.enabled: true`, an output that does not hold the batch
 * runs its requests alone and stops batching, a model with a fixed batch is served one request at a
 * time, and /metadata reports the effective batching.
 */
import protobuf from "protobufjs";
import { Tensor, type InferenceSession } from "onnxruntime-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { QueueFullError, type BatchObserver, type BatchPolicy } from "../../../service/inference/batcher.js";
import { GraphModel } from "../../../service/inference/graph-model.js";
import type { LoadOptions } from "../../../service/inference/model.js";
import type { ServiceConfig } from "../../../service/config.js";
import type { RolloutEngine } from "../../../service/rollout/engine.js";
import { describeDefaultModel } from "../../../service/serving/default-model-description.js";
import { modelConfigSchema } from "../../../service/model/model-config.js";
import type { TensorSpec } from "../../../service/serving/contract.js";
import { joinFeeds, splitResults } from "../../../service/serving/tensor-batch.js";

// --- ONNX graphs, field by field -----------------------------------------------------------------

/** A protobuf message as [field number, value]: a number is a varint, the rest length-delimited. */
type Field = readonly [number, number | string | Uint8Array | readonly Field[]];

function pb(fields: readonly Field[]): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const [id, v] of fields) {
    if (typeof v === "number") writer.uint32(id << 3).int64(v);
    else if (typeof v === "string") writer.uint32((id << 3) | 2).string(v);
    else writer.uint32((id << 3) | 2).bytes(v instanceof Uint8Array ? v : pb(v));
  }
  return writer.finish();
}

/** onnx.proto TensorProto.DataType */
const ELEM = { FLOAT: 1, INT64: 7, STRING: 8, BOOL: 9 } as const;

/**
 * ValueInfoProto: name, TypeProto.tensor_type { elem_type, shape { dim { dim_value | dim_param } } };
 * null: a dimension with neither (unnamed and dynamic, as skl2onnx and onnxmltools write `None`).
 */
function valueInfo(name: string, elem: number, shape: readonly (number | string | null)[]): Field[] {
  const dims = shape.map((d): Field => [1, d === null ? [] : [[typeof d === "number" ? 1 : 2, d]]]);
  return [
    [1, name],
    [
      2,
      [
        [
          1,
          [
            [1, elem],
            [2, dims],
          ],
        ],
      ],
    ],
  ];
}

/** NodeProto: inputs, outputs, op_type, INT (2) and INTS (7) attributes. */
function node(
  op: string,
  inputs: string[],
  outputs: string[],
  ints: Record<string, number | number[]> = {},
): Field[] {
  const attributes = Object.entries(ints).map(([name, v]): Field => {
    const value: Field[] = typeof v === "number" ? [[3, v]] : v.map((i): Field => [8, i]);
    return [5, [[1, name], ...value, [20, typeof v === "number" ? 2 : 7]]];
  });
  return [...inputs.map((i): Field => [1, i]), ...outputs.map((o): Field => [2, o]), [4, op], ...attributes];
}

interface Graph {
  inputs: Field[][];
  outputs: Field[][];
  nodes: Field[][];
  /** Float initializers: name -> values (1-D). */
  floats?: Record<string, readonly number[]>;
}

/** ModelProto: IR 8, opset 13. */
function onnxModel(graph: Graph): Uint8Array {
  const initializers = Object.entries(graph.floats ?? {}).map(([name, values]): Field => {
    const raw = new Uint8Array(Float32Array.from(values).buffer);
    return [
      5,
      [
        [1, values.length],
        [2, ELEM.FLOAT],
        [8, name],
        [9, raw],
      ],
    ];
  });
  const body: Field[] = [
    ...graph.nodes.map((n): Field => [1, n]),
    [2, "g"],
    ...initializers,
    ...graph.inputs.map((v): Field => [11, v]),
    ...graph.outputs.map((v): Field => [12, v]),
  ];
  return pb([
    [1, 8],
    [7, body],
    [
      8,
      [
        [1, ""],
        [2, 13],
      ],
    ],
  ]);
}

/**
 * A tabular model with an input of each kind: `x` FP32 [N,2], `code` INT64 [N,1] (an index into a
 * table of 4, so 4 or more fails inside the graph), `city` BYTES [N,1], `flag` BOOL [N,1].
 * Outputs: `features` FP32 [N,4] = [x0, x1, table[code], flag], `label` INT64 [N] (its argmax, as
 * skl2onnx classifiers' `label`), `city_out` BYTES [N,1], `not_flag` BOOL [N,1].
 */
const TABLE = [10, 20, 30, 40];
const TABULAR = onnxModel({
  inputs: [
    valueInfo("x", ELEM.FLOAT, ["N", 2]),
    valueInfo("code", ELEM.INT64, ["N", 1]),
    valueInfo("city", ELEM.STRING, ["N", 1]),
    valueInfo("flag", ELEM.BOOL, ["N", 1]),
  ],
  outputs: [
    valueInfo("features", ELEM.FLOAT, ["N", 4]),
    valueInfo("label", ELEM.INT64, ["N"]),
    valueInfo("city_out", ELEM.STRING, ["N", 1]),
    valueInfo("not_flag", ELEM.BOOL, ["N", 1]),
  ],
  nodes: [
    node("Gather", ["table", "code"], ["looked_up"], { axis: 0 }),
    node("Cast", ["flag"], ["flag_f"], { to: ELEM.FLOAT }),
    node("Concat", ["x", "looked_up", "flag_f"], ["features"], { axis: 1 }),
    node("ArgMax", ["features"], ["label"], { axis: 1, keepdims: 0 }),
    node("Identity", ["city"], ["city_out"]),
    node("Not", ["flag"], ["not_flag"]),
  ],
  floats: { table: TABLE },
});

/** An image-like model: `img` FP32 [N,H,2] with a dynamic height, `out` its copy. */
const IMAGE = onnxModel({
  inputs: [valueInfo("img", ELEM.FLOAT, ["N", "H", 2])],
  outputs: [valueInfo("out", ELEM.FLOAT, ["N", "H", 2])],
  nodes: [node("Identity", ["img"], ["out"])],
});

/** A fixed batch of one: `x` FP32 [1,3] -> `y` = x. */
const FIXED_BATCH = onnxModel({
  inputs: [valueInfo("x", ELEM.FLOAT, [1, 3])],
  outputs: [valueInfo("y", ELEM.FLOAT, [1, 3])],
  nodes: [node("Identity", ["x"], ["y"])],
});

/**
 * `where` INT64 [K,2]: the indices of x's non-zero values, one row per value, not per input row. Its
 * first dimension is dynamic ("K", not the inputs' "N"), so only a joined run may show it is not
 * the batch, and only when K differs from the run's rows.
 */
const NON_ZERO = onnxModel({
  inputs: [valueInfo("x", ELEM.FLOAT, ["N", 2])],
  outputs: [valueInfo("where", ELEM.INT64, ["K", 2])],
  nodes: [node("NonZero", ["x"], ["nz"]), node("Transpose", ["nz"], ["where"], { perm: [1, 0] })],
});

/** `x` FP32 [?,2] -> `y` = x, with unnamed batch dimensions as skl2onnx writes them. */
const UNNAMED = onnxModel({
  inputs: [valueInfo("x", ELEM.FLOAT, [null, 2])],
  outputs: [valueInfo("y", ELEM.FLOAT, [null, 2])],
  nodes: [node("Identity", ["x"], ["y"])],
});

// --- loading and requests ------------------------------------------------------------------------

function recorder() {
  const seen = { batches: [] as number[], queued: 0, rejected: 0 };
  const observer: BatchObserver = {
    batch: (rows) => void seen.batches.push(rows),
    queueWait: () => void seen.queued++,
    rejected: (rows) => void (seen.rejected += rows),
  };
  return { seen, observer };
}

const loaded: GraphModel[] = [];
afterEach(async () => {
  await Promise.all(loaded.splice(0).map((m) => m.close()));
  vi.restoreAllMocks();
});

/**
 * Loads `bytes` with the service's batch bounds (`policy`; its BATCH_MAX_DELAY_MS is plinth
 * models' and must not apply here) and, when given, the model configuration's `batching`.
 */
async function load(bytes: Uint8Array, policy: Partial<BatchPolicy> = {}, batching?: object) {
  const { seen, observer } = recorder();
  const options: LoadOptions = {
    ort: { intraOpThreads: 1, interOpThreads: 1, offload: "never", offloadThresholdMs: 5 },
    batching: { maxBatchSize: 8, maxDelayMs: 1000, queueMaxRows: 64, ...policy },
    observer: () => observer,
  };
  const file = { name: "tabular", version: "1", modelPath: "memory:model.onnx" };
  const found =
    batching === undefined
      ? undefined
      : {
          config: modelConfigSchema.parse({ schemaVersion: 1, task: "raw", batching }),
          source: "model-config.json",
        };
  const model = await GraphModel.load(file, bytes, "sha", options, found);
  loaded.push(model);
  seen.batches.length = 0; // warm-up runs the session directly, not through the observer
  return { model, seen };
}

interface Row {
  x: [number, number];
  code: number;
  city: string;
  flag: boolean;
}

/** A request's feeds for `rows` of the tabular model. */
function tabularFeeds(rows: readonly Row[]): Record<string, Tensor> {
  const n = rows.length;
  return {
    x: new Tensor("float32", Float32Array.from(rows.flatMap((r) => r.x)), [n, 2]),
    code: new Tensor(
      "int64",
      BigInt64Array.from(rows, (r) => BigInt(r.code)),
      [n, 1],
    ),
    city: new Tensor(
      "string",
      rows.map((r) => r.city),
      [n, 1],
    ),
    flag: new Tensor(
      "bool",
      Uint8Array.from(rows, (r) => (r.flag ? 1 : 0)),
      [n, 1],
    ),
  };
}

const outputsOf = (model: GraphModel, names?: readonly string[]): TensorSpec[] =>
  model.contract.outputs.filter((o) => names === undefined || names.includes(o.name));

/** A run's tensors as plain values, to compare. */
function plain(results: Readonly<Record<string, Tensor>>) {
  return Object.fromEntries(
    Object.entries(results).map(([name, t]) => [
      name,
      { type: t.type, dims: [...t.dims], data: [...t.data] },
    ]),
  );
}

/** What the tabular graph computes for `rows`, by hand. */
function expected(rows: readonly Row[]) {
  const features = rows.map((r) => [r.x[0], r.x[1], TABLE[r.code]!, r.flag ? 1 : 0]);
  const n = rows.length;
  return {
    features: { type: "float32", dims: [n, 4], data: features.flat() },
    label: { type: "int64", dims: [n], data: features.map((f) => BigInt(f.indexOf(Math.max(...f)))) },
    city_out: { type: "string", dims: [n, 1], data: rows.map((r) => r.city) },
    not_flag: { type: "bool", dims: [n, 1], data: rows.map((r) => (r.flag ? 0 : 1)) },
  };
}

const row = (i: number): Row => ({
  x: [i * 10 + 0.5, 100 - i * 20],
  code: i % 4,
  city: `city-${i}-ü`,
  flag: i % 2 === 0,
});
/** Requests of 1, 2 and 3 rows. */
const REQUESTS: Row[][] = [[row(0)], [row(1), row(2)], [row(3), row(4), row(5)], [row(6)]];

// --- the tests -----------------------------------------------------------------------------------

describe("graph model batching", () => {
  it("joins FP32, INT64, BYTES and BOOL inputs and gives each request what it gets alone", async () => {
    const { model, seen } = await load(TABULAR);
    expect(model.unbatched).toBeUndefined();
    const outputs = outputsOf(model);
    const alone = [];
    for (const rows of REQUESTS) alone.push(plain(await model.run(tabularFeeds(rows), outputs, rows.length)));
    expect(seen.batches).toEqual([1, 2, 3, 1]);

    seen.batches.length = 0;
    const joined = await Promise.all(
      REQUESTS.map(async (rows) => plain(await model.run(tabularFeeds(rows), outputs, rows.length))),
    );
    expect(seen.batches).toEqual([7]);
    expect(joined).toEqual(alone);
    expect(joined).toEqual(REQUESTS.map(expected));
  });

  it("runs N concurrent requests as one batch of N rows", async () => {
    const { model, seen } = await load(TABULAR, { maxBatchSize: 8 });
    const rows = Array.from({ length: 8 }, (_, i) => row(i));
    const results = await Promise.all(rows.map((r) => model.run(tabularFeeds([r]), outputsOf(model), 1)));
    expect(seen.batches).toEqual([8]);
    expect(seen.queued).toBe(8);
    expect(results.map(plain)).toEqual(rows.map((r) => expected([r])));
  });

  it("does not join requests that ask for other outputs", async () => {
    const { model, seen } = await load(TABULAR);
    const asks = [["features"], ["label"], ["features"], ["label", "city_out"]];
    const results = await Promise.all(
      asks.map((names, i) => model.run(tabularFeeds([row(i)]), outputsOf(model, names), 1)),
    );
    expect(seen.batches).toEqual([2, 1, 1]);
    results.forEach((result, i) => {
      expect(Object.keys(result).sort()).toEqual([...asks[i]!].sort());
      const want = expected([row(i)]) as Record<string, unknown>;
      for (const name of asks[i]!) expect(plain(result)[name]).toEqual(want[name]);
    });
  });

  it("does not join requests whose inputs differ beyond the batch dimension", async () => {
    const { model, seen } = await load(IMAGE);
    expect(model.unbatched).toBeUndefined();
    const image = (height: number, seed: number) =>
      new Tensor(
        "float32",
        Float32Array.from({ length: height * 2 }, (_, i) => seed + i),
        [1, height, 2],
      );
    const images = [image(1, 0), image(2, 10), image(1, 20), image(2, 30), image(3, 40)];
    const results = await Promise.all(images.map((img) => model.run({ img }, outputsOf(model), 1)));
    expect(seen.batches).toEqual([2, 2, 1]);
    results.forEach((result, i) => {
      expect([...result.out!.dims]).toEqual([...images[i]!.dims]);
      expect([...(result.out!.data as Float32Array)]).toEqual([...(images[i]!.data as Float32Array)]);
    });
  });

  it("by default starts a lone request at the next turn (BATCH_MAX_DELAY_MS is plinth models'), and joins a turn's requests", async () => {
    const { model, seen } = await load(TABULAR);
    const lone = model.run(tabularFeeds([row(1)]), outputsOf(model), 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.queued).toBe(1); // taken from the queue already: no 1 ms timer (Node's shortest)
    await lone;
    const turn = [0, 1, 2].map((i) => model.run(tabularFeeds([row(i)]), outputsOf(model), 1));
    expect((await Promise.all(turn)).map(plain)).toEqual([0, 1, 2].map((i) => expected([row(i)])));
    expect(seen.batches).toEqual([1, 3]);
  });

  it("waits the configured batching.maxDelayMs for a lone request", async () => {
    const { model, seen } = await load(TABULAR, {}, { maxDelayMs: 40 });
    const started = performance.now();
    const lone = model.run(tabularFeeds([row(1)]), outputsOf(model), 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen.queued).toBe(0); // still waiting for company
    const joining = model.run(tabularFeeds([row(2)]), outputsOf(model), 1);
    await Promise.all([lone, joining]);
    expect(seen.batches).toEqual([2]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
  });

  it("runs every request alone when the configuration sets batching.enabled false, and says why", async () => {
    const { model, seen } = await load(TABULAR, {}, { enabled: false });
    expect(model.unbatched).toBe("its model configuration sets batching.enabled to false");
    const rows = [0, 1, 2].map(row);
    const results = await Promise.all(rows.map((r) => model.run(tabularFeeds([r]), outputsOf(model), 1)));
    expect(seen.batches).toEqual([1, 1, 1]);
    expect(seen.queued).toBe(0);
    expect(results.map(plain)).toEqual(rows.map((r) => expected([r])));
  });

  it("refuses requests beyond QUEUE_MAX_ROWS with QueueFullError, a 503 OVERLOADED", async () => {
    const { model, seen } = await load(TABULAR, { maxBatchSize: 2, queueMaxRows: 4 });
    // The first two rows fill a batch that starts at once; four more wait; the last two are refused.
    const calls = Array.from({ length: 8 }, (_, i) => model.run(tabularFeeds([row(i)]), outputsOf(model), 1));
    expect(model.queueDepth).toBe(4);
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual([...Array(6).fill("fulfilled"), "rejected", "rejected"]);
    const refused = (settled[7] as PromiseRejectedResult).reason as QueueFullError;
    expect(refused).toBeInstanceOf(QueueFullError);
    expect(refused).toMatchObject({ code: "OVERLOADED", statusCode: 503, headers: { "retry-after": "1" } });
    expect(refused.message).toBe("inference queue full (4 of 4 rows)");
    expect(seen.rejected).toBe(2);
    expect(seen.batches).toEqual([2, 2, 2]);
    expect(plain(await model.run(tabularFeeds([row(9)]), outputsOf(model), 1))).toEqual(expected([row(9)]));
  });

  it("fails only the request that breaks a joined run, with its own error", async () => {
    const { model, seen } = await load(TABULAR);
    const poisoned = { ...row(2), code: 99 }; // outside the table: Gather fails inside the graph
    const ownError = await model.run(tabularFeeds([poisoned]), outputsOf(model), 1).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(ownError).toMatch(/indices/i);

    seen.batches.length = 0;
    const requests = [[row(0)], [row(1), poisoned], [row(3)], [row(4), row(5)]];
    const settled = await Promise.allSettled(
      requests.map((rows) => model.run(tabularFeeds(rows), outputsOf(model), rows.length)),
    );
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(((settled[1] as PromiseRejectedResult).reason as Error).message).toBe(ownError);
    for (const i of [0, 2, 3]) {
      expect(plain((settled[i] as PromiseFulfilledResult<Record<string, Tensor>>).value)).toEqual(
        expected(requests[i]!),
      );
    }
    // The joined run failed (not observed); its first half [r0 | r1+poisoned] failed again, so r0
    // ran alone and r1+poisoned failed alone; the second half [r3 | r4,r5] ran joined.
    expect(seen.batches).toEqual([1, 3]);
    expect(model.unbatched).toBeUndefined();
  });

  it("bisects a batch of 8 with one poisoned request: 7 answered, 1 own error, at most 1 + 2*log2(8) runs", async () => {
    const { model, seen } = await load(TABULAR);
    const session = (model as unknown as { session: InferenceSession }).session;
    const runs = vi.spyOn(session, "run");
    const poisoned = { ...row(5), code: 99 };
    const rows = Array.from({ length: 8 }, (_, i) => (i === 5 ? poisoned : row(i)));
    const settled = await Promise.allSettled(
      rows.map((r) => model.run(tabularFeeds([r]), outputsOf(model), 1)),
    );
    expect(settled.map((s) => s.status)).toEqual([
      ...Array(5).fill("fulfilled"),
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    expect(((settled[5] as PromiseRejectedResult).reason as Error).message).toMatch(/indices/i);
    settled.forEach((s, i) => {
      if (i !== 5)
        expect(plain((s as PromiseFulfilledResult<Record<string, Tensor>>).value)).toEqual(
          expected([rows[i]!]),
        );
    });
    // 8 failed; [0-3] ran; [4-7] failed; [4,5] failed; [4] ran; [5] failed; [6,7] ran.
    expect(runs).toHaveBeenCalledTimes(1 + 2 * Math.ceil(Math.log2(8)));
    expect(seen.batches).toEqual([4, 1, 2]);
    expect(model.queueDepth).toBe(0);
    // The batcher is free again: a later request batches as before.
    runs.mockClear();
    const later = await Promise.all(
      [0, 1].map((i) => model.run(tabularFeeds([row(i)]), outputsOf(model), 1)),
    );
    expect(later.map(plain)).toEqual([0, 1].map((i) => expected([row(i)])));
    expect(runs).toHaveBeenCalledTimes(1);
  });

  it("serves a model with a fixed batch of 1 one request at a time", async () => {
    const { model, seen } = await load(FIXED_BATCH);
    expect(model.unbatched).toBe('input "x" has a fixed first dimension [1,3]');
    const results = await Promise.all(
      [1, 2, 3].map((v) =>
        model.run(
          { x: new Tensor("float32", Float32Array.of(v, v + 1, v + 2), [1, 3]) },
          outputsOf(model),
          1,
        ),
      ),
    );
    expect(results.map((r) => [...(r.y!.data as Float32Array)])).toEqual([
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 5],
    ]);
    expect(seen.batches).toEqual([1, 1, 1]);
    expect(seen.queued).toBe(0); // no queue
    expect(model.queueDepth).toBe(0);
  });

  it("does not batch by default a graph whose first dimensions are not one named dimension, and says which", async () => {
    const { model, seen } = await load(NON_ZERO);
    expect(model.unbatched).toBe(
      'the first dimensions of its inputs and outputs are not one named batch dimension (input "x" "N", output "where" "K"); ' +
        "set batching.enabled to true in its model configuration if every output's rows are its inputs' rows",
    );
    // Two rows whose joined run would give K = 2 rows, splittable and wrong: alone each is right.
    const x = (a: number, b: number) => ({ x: new Tensor("float32", Float32Array.of(a, b), [1, 2]) });
    const results = await Promise.all([x(1, 0), x(0, 2)].map((f) => model.run(f, outputsOf(model), 1)));
    expect(results.map((r) => [...(r.where!.data as BigInt64Array)])).toEqual([
      [0n, 0n],
      [0n, 1n],
    ]);
    expect(seen.batches).toEqual([1, 1]);
    expect(seen.queued).toBe(0);

    const unnamed = await load(UNNAMED);
    expect(unnamed.model.unbatched).toBe(
      'the first dimensions of its inputs and outputs are not one named batch dimension (input "x" unnamed, output "y" unnamed); ' +
        "set batching.enabled to true in its model configuration if every output's rows are its inputs' rows",
    );
  });

  it("batches a graph with unnamed batch dimensions when the configuration sets batching.enabled true", async () => {
    const { model, seen } = await load(UNNAMED, {}, { enabled: true });
    expect(model.unbatched).toBeUndefined();
    const x = (a: number) => ({ x: new Tensor("float32", Float32Array.of(a, a + 1), [1, 2]) });
    const results = await Promise.all([1, 3, 5].map((a) => model.run(x(a), outputsOf(model), 1)));
    expect(results.map((r) => [...(r.y!.data as Float32Array)])).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(seen.batches).toEqual([3]);
  });

  it("trusts batching.enabled true even where rows are not independent: the documented risk", async () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const { model, seen } = await load(NON_ZERO, {}, { enabled: true });
    expect(model.unbatched).toBeUndefined();
    const x = (a: number, b: number) => ({ x: new Tensor("float32", Float32Array.of(a, b), [1, 2]) });
    // Joined, NonZero finds 2 values in 2 rows: [2,2] splits by rows, and the second caller gets
    // [1,1] (row 1 of the joined input) where alone it gets [0,1]. This is what enabled: true risks.
    const results = await Promise.all([x(1, 0), x(0, 2)].map((f) => model.run(f, outputsOf(model), 1)));
    expect(seen.batches).toEqual([2]);
    expect(results.map((r) => [...(r.where!.data as BigInt64Array)])).toEqual([
      [0n, 0n],
      [1n, 1n],
    ]);
    expect(warn).not.toHaveBeenCalled();
  });

  it("runs alone the requests of a joined run whose output is not per row, stops batching the model and warns once", async () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const { model, seen } = await load(NON_ZERO, {}, { enabled: true });
    const session = (model as unknown as { session: InferenceSession }).session;
    const runs = vi.spyOn(session, "run");
    const x = (a: number, b: number) => ({ x: new Tensor("float32", Float32Array.of(a, b), [1, 2]) });
    const settled = await Promise.allSettled(
      [x(1, 2), x(3, 0), x(5, 6)].map((f) => model.run(f, outputsOf(model), 1)),
    );
    // No 500: each answer is the one the graph gives the request alone.
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    const answers = settled.map((s) => (s as PromiseFulfilledResult<Record<string, Tensor>>).value.where!);
    expect(answers.map((t) => [[...t.dims], [...(t.data as BigInt64Array)]])).toEqual([
      [
        [2, 2],
        [0n, 0n, 0n, 1n],
      ],
      [
        [1, 2],
        [0n, 0n],
      ],
      [
        [2, 2],
        [0n, 0n, 0n, 1n],
      ],
    ]);
    expect(runs).toHaveBeenCalledTimes(4); // the joined run of 3 ([5,2]), then each alone
    expect(seen.batches).toEqual([1, 1, 1]);
    const reason =
      'output "where" has shape [5,2] for a batch of 3 rows: its first dimension is not the batch';
    expect(model.unbatched).toBe(reason);
    expect(model.batching).toEqual({
      enabled: false,
      maxBatchSize: 8,
      maxDelayMs: 0,
      queueMaxRows: 64,
      unbatched: reason,
    });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(
      /^model "tabular" version 1: output "where" .* one at a time from now on$/,
    );

    // From now on each request runs alone, as the graph answers it.
    seen.batches.length = 0;
    const again = await Promise.all([x(1, 2), x(0, 4)].map((f) => model.run(f, outputsOf(model), 1)));
    expect(again.map((r) => [[...r.where!.dims], [...(r.where!.data as BigInt64Array)]])).toEqual([
      [
        [2, 2],
        [0n, 0n, 0n, 1n],
      ],
      [
        [1, 2],
        [0n, 1n],
      ],
    ]);
    expect(seen.batches).toEqual([1, 1]);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it("reports its effective batching in /metadata, and the service's BATCH_* for nothing it does not use", async () => {
    const config = {
      model: { stable: "models:/tabular/1" },
      deploymentColor: "blue",
      rollout: { strategy: "none", candidateWeight: 0, shadowPercent: 0 },
      batching: { maxBatchSize: 8, maxDelayMs: 1000, queueMaxRows: 64 },
      limits: { maxRowsPerRequest: 100, bodyLimitBytes: 1000 },
    } as unknown as ServiceConfig;
    const describeModel = (model: GraphModel) =>
      describeDefaultModel(config, {
        variants: { current: model, candidate: undefined },
      } as unknown as RolloutEngine).batching;

    const batched = await load(TABULAR, {}, { maxDelayMs: 5 });
    expect(describeModel(batched.model)).toEqual({
      enabled: true,
      maxBatchSize: 8,
      maxDelayMs: 5,
      queueMaxRows: 64,
    });
    const defaulted = await load(TABULAR);
    expect(describeModel(defaulted.model)).toEqual({
      enabled: true,
      maxBatchSize: 8,
      maxDelayMs: 0,
      queueMaxRows: 64,
    });
    const off = await load(TABULAR, {}, { enabled: false });
    expect(describeModel(off.model)).toEqual({
      enabled: false,
      maxBatchSize: 8,
      maxDelayMs: 0,
      queueMaxRows: 64,
      unbatched: "its model configuration sets batching.enabled to false",
    });
    const fixed = await load(FIXED_BATCH);
    expect(describeModel(fixed.model)).toMatchObject({
      enabled: false,
      unbatched: 'input "x" has a fixed first dimension [1,3]',
    });
    // The contract /metadata serialises keeps -1 for a dynamic dimension, the names out of it.
    expect(JSON.parse(JSON.stringify(defaulted.model.contract.inputs[0]))).toEqual({
      name: "x",
      datatype: "FP32",
      shape: [-1, 2],
    });
    expect(defaulted.model.contract.inputs[0]!.dims).toEqual(["N", 2]);
  });
});

describe("joinFeeds and splitResults", () => {
  it("concatenate along dimension 0 and split back by rows, for typed and string tensors", () => {
    const a = tabularFeeds([row(0), row(1)]);
    const b = tabularFeeds([row(2)]);
    const joined = joinFeeds([a, b], ["x", "code", "city", "flag"], 3);
    expect(plain(joined)).toEqual(plain(tabularFeeds([row(0), row(1), row(2)])));
    expect(joined.code!.data).toBeInstanceOf(BigInt64Array);
    expect(joined.flag!.data).toBeInstanceOf(Uint8Array);
    expect(plain(splitResults(joined, 0, 2, 3))).toEqual(plain(a));
    expect(plain(splitResults(joined, 2, 1, 3))).toEqual(plain(b));
  });
});
