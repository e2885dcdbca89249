import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { OpenLoopGenerator } from "../../bench/load/generator/index.js";
import { monotonicMs } from "../../bench/load/generator/protocol.js";
import { LOOPBACK, type HttpTarget } from "../../bench/load/target.js";

/**
 * A real HTTP server in its own process, so the test can stop it (SIGSTOP) the way a GC pause, a
 * frozen VM or an overloaded node stops a service. In test/soak: the generator's own delays are
 * asserted, so it runs alone, after the rest of the suite (scripts/test.sh).
 */
let server: ChildProcess | undefined;
let generator: OpenLoopGenerator | undefined;

async function startServer(): Promise<HttpTarget> {
  const code = `
    const http = require("node:http");
    const server = http.createServer((req, res) => { req.resume(); req.on("end", () => res.end("{}")); });
    server.keepAliveTimeout = 120000;
    server.listen(0, ${JSON.stringify(LOOPBACK)}, () => console.log(server.address().port));`;
  server = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(createInterface({ input: server.stdout! }), "line")) as [string];
  return {
    port: Number(line),
    method: "POST",
    path: "/x",
    headers: { "content-type": "application/json" },
    body: Buffer.from("{}"),
  };
}

/** Stops the server at `atMs` after the phase's first request was due, for `forMs`. */
function pauseServer(startEpochMs: number, atMs: number, forMs: number): void {
  const pid = server!.pid!;
  const wait = startEpochMs + atMs - monotonicMs();
  setTimeout(() => {
    process.kill(pid, "SIGSTOP");
    setTimeout(() => process.kill(pid, "SIGCONT"), forMs);
  }, wait);
}

/** A phase at `ratePerSecond` for `seconds` against a fresh server paused `pause.atMs` in for `pause.forMs`. */
async function pausedPhase(
  ratePerSecond: number,
  seconds: number,
  connections: number,
  pause: { atMs: number; forMs: number },
) {
  const target = await startServer();
  generator = await OpenLoopGenerator.open(target, { connections, threads: 2 });
  return generator.run({
    ratePerSecond,
    durationSeconds: seconds,
    graceSeconds: 20,
    onStart: (start) => pauseServer(start, pause.atMs, pause.forMs),
  });
}

afterEach(async () => {
  await generator?.close();
  generator = undefined;
  if (server !== undefined && server.exitCode === null) {
    process.kill(server.pid!, "SIGCONT");
    server.kill("SIGKILL");
    await once(server, "exit");
  }
  server = undefined;
});

describe("the open-loop generator", () => {
  it("charges a server's pause to the server, names it as a stall, and recovers after it", async () => {
    const log = await pausedPhase(500, 3, 16, { atMs: 1000, forMs: 1000 });
    const whole = log.summarise();
    expect(whole.sent).toBe(1500);
    expect(whole.ok).toBe(1500);
    // The generator kept to its schedule: no request waited on it with a connection free.
    expect(whole.sentLate.maxMs).toBeLessThan(50);
    expect(whole.generatorLagMaxMs).toBeLessThan(50);
    // Requests due during the pause waited for it; the first due in it waited the whole second.
    const during = log.summarise(1000, 2000);
    expect(during.serviceLatency.maxMs).toBeGreaterThan(900);
    // Before it, and from a second after it, answers are prompt again.
    expect(log.summarise(0, 900).serviceLatency.maxMs).toBeLessThan(100);
    expect(log.summarise(2500, 3000).serviceLatency.p99Ms).toBeLessThan(100);
    const stalls = log.stalls(500);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]!.fromMs).toBeGreaterThan(900);
    expect(stalls[0]!.fromMs).toBeLessThan(1100);
    expect(stalls[0]!.toMs - stalls[0]!.fromMs).toBeGreaterThan(900);
    expect(stalls[0]!.generatorLagMaxMs).toBeLessThan(50);
  });

  it("stays responsive with ten thousand requests due and waiting (constant work per request)", async () => {
    // The generator this replaced registered every request on one AbortSignal: each addition
    // walked the signal's whole list. Here it was blocked 102 ms at a time; with the pause 8 s
    // long (32,000 waiting), 1,125 ms, at 81 % of a core.
    const log = await pausedPhase(4000, 3, 32, { atMs: 400, forMs: 2800 });
    const whole = log.summarise();
    expect(whole.ok).toBe(12_000);
    expect(whole.generatorLagMaxMs).toBeLessThan(100);
    // Everything due in the pause was answered after it: the wait is the server's.
    expect(log.summarise(500, 3000).serviceLatency.p50Ms).toBeGreaterThan(1000);
    expect(whole.sentLate.p99Ms).toBeLessThan(50);
  });

  it("refuses a generator without connections or threads, naming the figure", async () => {
    const target = { port: 9, method: "GET", path: "/", headers: {} } as const;
    await expect(OpenLoopGenerator.open(target, { connections: 0 })).rejects.toThrow(
      "connections must be a positive integer, got 0",
    );
    await expect(OpenLoopGenerator.open(target, { connections: 4, threads: 1.5 })).rejects.toThrow(
      "threads must be a positive integer, got 1.5",
    );
  });
});
