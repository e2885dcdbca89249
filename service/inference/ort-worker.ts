/**
 * Worker-thread side of {@link WorkerRunner}: owns one ONNX Runtime session and runs the batches
 * posted to it, so a slow model's synchronous native run() never blocks the HTTP event loop.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createSession, runBatch, type GraphIo, type OrtSettings } from "./ort-session.js";

export interface WorkerInit {
  readonly model: Uint8Array;
  readonly settings: OrtSettings;
  readonly io: GraphIo;
}

export type WorkerRequest = { readonly id: number; readonly input: Float32Array; readonly rows: number };
export type WorkerReply =
  | { readonly id: number; readonly output: Float32Array; readonly seconds: number }
  | { readonly id: number; readonly error: string }
  | { readonly ready: true }
  | { readonly failed: string };

const port = parentPort;
if (port === null) throw new Error("ort-worker.ts must run in a worker thread");
const init = workerData as WorkerInit;

createSession(init.model, init.settings).then(
  (session) => {
    port.on("message", (msg: WorkerRequest) => {
      runBatch(session, init.io, msg.input, msg.rows).then(
        ({ output, seconds }) =>
          port.postMessage({ id: msg.id, output, seconds } satisfies WorkerReply, [
            output.buffer as ArrayBuffer,
          ]),
        (err: Error) => port.postMessage({ id: msg.id, error: err.message } satisfies WorkerReply),
      );
    });
    port.postMessage({ ready: true } satisfies WorkerReply);
  },
  (err: Error) => port.postMessage({ failed: err.message } satisfies WorkerReply),
);
