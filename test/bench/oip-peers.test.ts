/**
 * The Open Inference Protocol peers of `npm run bench` (bench/targets/oip-peers.ts): KServe's
 * ModelServer and Seldon's MLServer, each from its pinned venv, start with the settings their docs
 * recommend for CPU serving (bench/targets/oip-tuning.ts) on the bundled model and answer the very
 * request plinth answers on `/v2/models/{name}/infer` with plinth's probabilities, in the JSON body
 * and, where the peer accepts it, as binary tensor data; a peer that refuses binary data is told
 * apart, with its reason, so the bench reports N/A rather than a figure.
 */
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryRefusal } from "../../bench/oip-probe.js";
import { OIP_BODIES, oipTensorRequest, type OipBody, type OipRequest } from "../../bench/oip-request.js";
import { descendantCommands } from "../../bench/proc.js";
import {
  BINARY_UNSUPPORTED,
  OIP_PEERS,
  startOipPeer,
  type RunningOipPeer,
} from "../../bench/targets/oip-peers.js";
import { recommendedTuning } from "../../bench/targets/oip-tuning.js";
import { KEY_HEADERS, startTestService, type TestService } from "../service/server/service-fixture.js";

const MODELS = path.join(fileURLToPath(new URL("../../", import.meta.url)), "models");
const MODEL = "fashion-classifier";
const TUNING = recommendedTuning(os.availableParallelism());

interface InferAnswer {
  outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
}

/** Two different rows of raw pixels (0-255), as a client sends them to every server. */
const pixels = Array.from({ length: 2 * 784 }, (_, i) => (i * 37 + (i >> 4) * 11) % 256);
const request = (body: OipBody): OipRequest => oipTensorRequest(body, "input", pixels, 2);

const probabilities = (answer: InferAnswer) => answer.outputs.find((o) => o.name === "probabilities")!;

let plinth: TestService;
const expected: Partial<Record<OipBody, InferAnswer["outputs"][number]>> = {};

beforeAll(async () => {
  plinth = await startTestService({ PLINTH_REGISTRY_DIR: MODELS });
  for (const body of OIP_BODIES) {
    const { body: payload, headers } = request(body);
    const res = await plinth.app.inject({
      method: "POST",
      url: `/v2/models/${MODEL}/infer`,
      headers: { ...KEY_HEADERS, ...headers },
      payload,
    });
    expect(res.statusCode).toBe(200);
    expected[body] = probabilities(res.json() as InferAnswer);
  }
});
afterAll(() => plinth?.close());

async function infer(running: RunningOipPeer, req: OipRequest): Promise<Response> {
  const target = running.inferTarget(req);
  return fetch(`http://127.0.0.1:${target.port}${target.path}`, {
    method: target.method,
    headers: target.headers,
    body: target.body,
  });
}

/** Checks `got` against plinth's answer: shape, values within 1e-5, each row's predicted class. */
function expectPlinths(got: InferAnswer["outputs"][number], want: InferAnswer["outputs"][number]) {
  expect([got.shape, got.datatype]).toEqual([[2, 10], "FP32"]);
  expect(want.shape).toEqual([2, 10]);
  expect(got.data).toHaveLength(20);
  got.data.forEach((p, i) => expect(Math.abs(p - want.data[i]!)).toBeLessThanOrEqual(1e-5));
  // Not a constant answer: the two rows differ, and each has plinth's predicted class.
  const row = (data: number[], r: number) => data.slice(r * 10, r * 10 + 10);
  const argmax = (values: number[]) => values.indexOf(Math.max(...values));
  expect(row(got.data, 0)).not.toEqual(row(got.data, 1));
  for (const r of [0, 1]) expect(argmax(row(got.data, r))).toBe(argmax(row(want.data, r)));
}

it("plinth answers the binary tensor request as it answers the JSON one", () => {
  expectPlinths(expected.binary!, expected.json!);
});

describe.each(OIP_PEERS)("the %s peer, with its recommended settings", (peer) => {
  let running: RunningOipPeer;
  beforeAll(async () => {
    running = await startOipPeer(peer, {
      modelPath: path.join(MODELS, MODEL, "1", "model.onnx"),
      modelName: MODEL,
      intraOpThreads: 1,
      interOpThreads: 1,
      tuning: TUNING,
    });
  }, 150_000);
  afterAll(() => running?.stop());

  it("starts with them: its worker processes are the settings'", () => {
    // Both spawn their workers with multiprocessing: KServe one per uvicorn worker when there
    // are several, MLServer one per inference pool worker (none with parallel_workers 0).
    const spawned = descendantCommands(running.process.pid).filter((c) => c.includes("spawn_main"));
    const wanted =
      peer === "kserve"
        ? TUNING.kserve.workers > 1
          ? TUNING.kserve.workers
          : 0
        : TUNING.mlserver.parallelWorkers;
    expect(spawned).toHaveLength(wanted);
    expect(running.startupMs).toBeGreaterThan(0);
  });

  it("answers plinth's v2 infer request with plinth's probabilities", async () => {
    const res = await infer(running, request("json"));
    expect(res.status).toBe(200);
    expectPlinths(probabilities((await res.json()) as InferAnswer), expected.json!);
  });

  if (BINARY_UNSUPPORTED[peer] === undefined) {
    it("answers the binary tensor request with plinth's probabilities", async () => {
      const res = await infer(running, request("binary"));
      expect(res.status).toBe(200);
      expectPlinths(probabilities((await res.json()) as InferAnswer), expected.binary!);
      expect(await binaryRefusal(peer, running.inferTarget(request("binary")))).toBeUndefined();
    });
  } else {
    it("refuses the binary tensor request, which the bench reports N/A with the reason", async () => {
      const res = await infer(running, request("binary"));
      expect(res.status).toBeGreaterThanOrEqual(400);
      const reason = await binaryRefusal(peer, running.inferTarget(request("binary")));
      expect(reason).toBe(
        `${BINARY_UNSUPPORTED[peer]}; answered HTTP ${res.status} to a binary tensor request in this run`,
      );
    });
  }

  it("refuses a tensor whose data does not fill its shape (a 4xx or 5xx, never a 200)", async () => {
    const res = await infer(running, {
      headers: { "content-type": "application/json" },
      body: Buffer.from(
        JSON.stringify({
          inputs: [{ name: "input", shape: [1, 1, 28, 28], datatype: "FP32", data: [1, 2, 3] }],
        }),
      ),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
  });
});
