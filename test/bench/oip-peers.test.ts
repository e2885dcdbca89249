/**
 * The Open Inference Protocol peers of `npm run bench` (bench/targets/oip-peers.ts): KServe's
 * ModelServer and Seldon's MLServer, each from its pinned venv, start on the bundled model and answer
 * the very request plinth answers on `/v2/models/{name}/infer` with plinth's probabilities, so the
 * bench compares servers doing the same work.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OIP_PEERS, startOipPeer, type RunningOipPeer } from "../../bench/targets/oip-peers.js";
import { KEY_HEADERS, startTestService, type TestService } from "../service/server/service-fixture.js";

const MODELS = path.join(fileURLToPath(new URL("../../", import.meta.url)), "models");
const MODEL = "fashion-classifier";

interface InferAnswer {
  outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
}

/** Two rows of raw pixels (0-255), as a client sends them to every server. */
const body = JSON.stringify({
  inputs: [
    {
      name: "input",
      shape: [2, 1, 28, 28],
      datatype: "FP32",
      data: Array.from({ length: 2 * 784 }, (_, i) => (i * 37 + (i >> 4) * 11) % 256),
    },
  ],
});

const probabilities = (answer: InferAnswer) => answer.outputs.find((o) => o.name === "probabilities")!;

let plinth: TestService;
let expected: InferAnswer["outputs"][number];

beforeAll(async () => {
  plinth = await startTestService({ PLINTH_REGISTRY_DIR: MODELS });
  const res = await plinth.app.inject({
    method: "POST",
    url: `/v2/models/${MODEL}/infer`,
    headers: { ...KEY_HEADERS, "content-type": "application/json" },
    payload: body,
  });
  expect(res.statusCode).toBe(200);
  expected = probabilities(res.json() as InferAnswer);
});
afterAll(() => plinth?.close());

describe.each(OIP_PEERS)("the %s peer", (peer) => {
  let running: RunningOipPeer;
  beforeAll(async () => {
    running = await startOipPeer(peer, {
      modelPath: path.join(MODELS, MODEL, "1", "model.onnx"),
      modelName: MODEL,
      intraOpThreads: 1,
      interOpThreads: 1,
    });
  }, 150_000);
  afterAll(() => running?.stop());

  it("answers plinth's v2 infer request with plinth's probabilities", async () => {
    const target = running.inferTarget(Buffer.from(body));
    const res = await fetch(`http://127.0.0.1:${target.port}${target.path}`, {
      method: target.method,
      headers: target.headers,
      body: target.body,
    });
    expect(res.status).toBe(200);
    const got = probabilities((await res.json()) as InferAnswer);
    expect([got.shape, got.datatype]).toEqual([[2, 10], "FP32"]);
    expect(expected.shape).toEqual([2, 10]);
    got.data.forEach((p, i) => expect(p).toBeCloseTo(expected.data[i]!, 5));
    // Not a constant answer: the two rows differ, and each has plinth's predicted class.
    const row = (data: number[], r: number) => data.slice(r * 10, r * 10 + 10);
    const argmax = (values: number[]) => values.indexOf(Math.max(...values));
    expect(row(got.data, 0)).not.toEqual(row(got.data, 1));
    for (const r of [0, 1]) expect(argmax(row(got.data, r))).toBe(argmax(row(expected.data, r)));
    expect(running.startupMs).toBeGreaterThan(0);
  });

  it("refuses a tensor whose data does not fill its shape (a 4xx or 5xx, never a 200)", async () => {
    const target = running.inferTarget(
      Buffer.from(
        JSON.stringify({
          inputs: [{ name: "input", shape: [1, 1, 28, 28], datatype: "FP32", data: [1, 2, 3] }],
        }),
      ),
    );
    const res = await fetch(`http://127.0.0.1:${target.port}${target.path}`, {
      method: target.method,
      headers: target.headers,
      body: target.body,
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
  });
});
