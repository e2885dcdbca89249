/** Worker-thread entry of the worker gradient engine: computes the shards assigned to this worker. */
import { parentPort, workerData } from "node:worker_threads";
import { shardRanges } from "./engine.js";
import { ShardGradient } from "./gradient.js";
import type { WorkerInit, WorkerReply, WorkerRequest } from "./worker-engine.js";

const init = workerData as WorkerInit;
const params = new Float32Array(init.params);
const order = new Uint32Array(init.order);
const grads = init.grads.map((g) => new Float32Array(g));
const shard = new ShardGradient(
  init.arch,
  init.shardSize,
  { pixels: new Uint8Array(init.pixels), labels: new Uint8Array(init.labels) },
  init.norm,
);

parentPort?.on("message", ({ count }: WorkerRequest) => {
  const reply: WorkerReply = { shards: [] };
  shardRanges(0, count, init.shards, init.shardSize).forEach((r, s) => {
    if (s % init.workers !== init.workerIndex) return;
    const g = grads[s] as Float32Array;
    if (r.count === 0) {
      g.fill(0);
      reply.shards.push({ shard: s, loss: 0, correct: 0 });
      return;
    }
    const res = shard.compute(params, order, r.start, r.count, count, g);
    reply.shards.push({ shard: s, ...res });
  });
  parentPort?.postMessage(reply);
});
