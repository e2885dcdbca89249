/**
 * SIGTERM against the real process (`node dist/service/main.js`, compiled as the image runs it): requests in flight when the signal
 * arrives all complete successfully, and the process exits cleanly within SHUTDOWN_TIMEOUT_MS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMAGE_PROGRAMS } from "../../../service/contract/image-commands.js";
import { fixtureRegistry, rowForClass, type FixtureRegistry } from "../inference/fixture-model.js";
import { API_KEY } from "./service-fixture.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const SHUTDOWN_TIMEOUT_MS = 8000;

let registry: FixtureRegistry;
let child: ChildProcess;
let baseUrl: URL;
const logLines: string[] = [];

beforeAll(async () => {
  registry = await fixtureRegistry();
  child = spawn(process.execPath, [IMAGE_PROGRAMS.serve], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH,
      PORT: "0",
      METRICS_PORT: "0",
      API_KEYS: `tester:${API_KEY}`,
      PLINTH_REGISTRY_DIR: registry.dir,
      LOG_LEVEL: "info",
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr!.on("data", (d: Buffer) => logLines.push(d.toString()));
  baseUrl = await new Promise<URL>((resolve, reject) => {
    let url: URL | undefined;
    let buffered = "";
    child.once("exit", (code) => reject(new Error(`service exited early (${code}): ${logLines.join("")}`)));
    child.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        logLines.push(line);
        const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (listening) url = new URL(listening[1]!);
        if (line.includes("ready") && line.includes("model loaded") && url) resolve(url);
      }
    });
  });
});

afterAll(async () => {
  if (child.exitCode === null) child.kill("SIGKILL");
  await registry.cleanup();
});

/** Starts a POST /predict whose body is sent in two halves; `finish()` sends the second. */
function slowPredict(cls: number) {
  const body = Buffer.from(JSON.stringify({ inputs: rowForClass(cls) }));
  let finish!: () => void;
  const response = new Promise<{ status: number; classId: number }>((resolve, reject) => {
    const req = request(
      new URL("/predict", baseUrl),
      {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": body.length, "x-api-key": API_KEY },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              classId: JSON.parse(text).predictions?.[0]?.class_id ?? -1,
            });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on("error", reject);
    req.write(body.subarray(0, body.length >> 1));
    finish = () => req.end(body.subarray(body.length >> 1));
  });
  return { response, finish: () => finish() };
}

describe("SIGTERM", () => {
  it("lets every in-flight request finish, then exits 0 within the shutdown timeout", async () => {
    const classes = [0, 1, 2, 3, 4, 5, 6, 7];
    const inFlight = classes.map(slowPredict);
    await new Promise((r) => setTimeout(r, 200)); // the server has read half of every body
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const signalledAt = Date.now();
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300)); // shutdown is under way while the bodies are incomplete
    for (const r of inFlight) r.finish();
    const results = await Promise.all(inFlight.map((r) => r.response));
    expect(results).toEqual(classes.map((c) => ({ status: 200, classId: c })));
    expect(await exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(logLines.join("\n")).toContain("shutdown complete");
  });
});
