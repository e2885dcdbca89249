import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { openLoopConnections, runFixedRate } from "../../bench/load/fixed-rate.js";
import { OpenLoopGenerator } from "../../bench/load/generator/index.js";
import { runSaturation } from "../../bench/load/saturation.js";
import { LOOPBACK, type HttpTarget } from "../../bench/load/target.js";

let server: Server | undefined;

/** A loopback server answering the n-th request (from 0) as `respond(n, res)` decides. */
async function serve(respond: (n: number, res: ServerResponse) => void): Promise<HttpTarget> {
  let n = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => respond(n++, res));
  });
  await new Promise<void>((resolve) => server!.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    method: "POST",
    path: "/x",
    headers: { "content-type": "application/json" },
    body: Buffer.from("{}"),
  };
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** 100 requests over half a second, at least 4 connections. */
const HALF_SECOND_AT_200 = { ratePerSecond: 200, durationSeconds: 0.5, connections: 4, graceSeconds: 2 };

describe("runFixedRate", () => {
  it("sends rate x duration requests and counts 2xx and other statuses apart", async () => {
    const target = await serve((n, res) => {
      res.statusCode = n % 2 === 0 ? 200 : 503;
      res.end("{}");
    });
    const result = await runFixedRate(target, HALF_SECOND_AT_200);
    expect(result.sent).toBe(100);
    expect(result.ok).toBe(50);
    expect(result.non2xx).toBe(50);
    expect(result.failed).toBe(0);
    // Only 2xx latencies are recorded.
    expect(result.latency.count).toBe(50);
  });

  it("runs the warm-up at the same rate on the same connections first, and counts only the measured phase", async () => {
    const opened = openLoopConnections(200, 4);
    const sockets = new Set<unknown>();
    // The first 40 requests after the connections' own are the warm-up's: answered 503, never counted.
    const target = await serve((n, res) => {
      res.statusCode = n < opened + 40 ? 503 : 200;
      res.end("{}");
    });
    server!.on("connection", (socket) => sockets.add(socket));
    const result = await runFixedRate(target, {
      ratePerSecond: 200,
      durationSeconds: 0.25,
      connections: 4,
      graceSeconds: 1,
      warmupSeconds: 0.2,
    });
    expect(result.sent).toBe(50);
    expect(result.ok).toBe(50);
    expect(result.non2xx).toBe(0);
    expect(sockets.size).toBe(opened);
  });

  it("counts requests unanswered after the grace period as failed and records them at the deadline", async () => {
    // The generator first opens its connections with one request each (not counted).
    const warmUp = openLoopConnections(100, 4);
    const target = await serve((n, res) => {
      if (n === warmUp + 2) return; // never answered
      res.end("{}");
    });
    const result = await runFixedRate(target, {
      ratePerSecond: 100,
      durationSeconds: 0.2,
      connections: 4,
      graceSeconds: 0.3,
    });
    expect(result.sent).toBe(20);
    expect(result.ok).toBe(19);
    expect(result.failed).toBe(1);
    expect(result.latency.count).toBe(20);
    // The last request is due at 190 ms; the straggler, due at 20 ms, is cut off 300 ms after that.
    expect(result.latency.maxMs).toBeGreaterThanOrEqual(190 + 300 - 20 - 1);
  });
});

describe("open-loop connections", () => {
  it("opens enough connections for the rate, so a slow server does not turn the schedule into a queue", async () => {
    expect(openLoopConnections(1780, 32)).toBe(445);
    expect(openLoopConnections(100, 32)).toBe(32);
    // Every answer takes 100 ms. Through the 4 connections asked for, 200 req/s would queue in the
    // generator (40 req/s at most) and the last requests would wait ~2 s.
    const target = await serve((_n, res) => {
      setTimeout(() => res.end("{}"), 100);
    });
    const result = await runFixedRate(target, HALF_SECOND_AT_200);
    expect(result.ok).toBe(100);
    expect(result.failed).toBe(0);
    expect(result.latency.p99Ms).toBeGreaterThanOrEqual(99);
    expect(result.latency.p99Ms).toBeLessThan(400);
  });
});

describe("a generator kept across phases", () => {
  it("opens its connections before the phases and reuses them without closing or adding any", async () => {
    const target = await serve((_n, res) => {
      setTimeout(() => res.end("{}"), 20);
    });
    const sockets = new Set<unknown>();
    server!.on("connection", (socket) => sockets.add(socket));
    const generator = await OpenLoopGenerator.open(target, { connections: 8, threads: 2 });
    try {
      expect(sockets.size).toBe(8);
      for (let phase = 0; phase < 2; phase++) {
        const result = await runFixedRate(
          target,
          { ratePerSecond: 100, durationSeconds: 0.3, connections: 8, graceSeconds: 1 },
          generator,
        );
        expect(result.ok).toBe(30);
      }
      expect(sockets.size).toBe(8);
    } finally {
      await generator.close();
    }
  });
});

describe("the generator's connections", () => {
  it("carries traffic on every connection, in counts that differ (nginx's retirements do not coincide)", async () => {
    const perConnection = new Map<number, number>();
    const target = await serve((_n, res) => res.end("{}"));
    server!.on("request", (req) => {
      const port = req.socket.remotePort!;
      perConnection.set(port, (perConnection.get(port) ?? 0) + 1);
    });
    const generator = await OpenLoopGenerator.open(target, { connections: 8, threads: 1 });
    try {
      perConnection.clear(); // the warm-up's one request each
      const result = await runFixedRate(
        target,
        { ratePerSecond: 400, durationSeconds: 2, connections: 8, graceSeconds: 2 },
        generator,
      );
      expect(result.ok).toBe(800);
    } finally {
      await generator.close();
    }
    const counts = [...perConnection.values()];
    expect(counts).toHaveLength(8);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(800);
    // Taking the longest-idle connection each time would give every one exactly 100.
    expect(new Set(counts).size).toBeGreaterThan(1);
    expect(Math.min(...counts)).toBeGreaterThan(40);
  });
});

describe("runSaturation", () => {
  it("counts only 2xx responses as throughput", async () => {
    const target = await serve((_n, res) => {
      res.statusCode = 503;
      res.end("{}");
    });
    const result = await runSaturation(target, { connections: 2, pipelining: 1 }, 1);
    expect(result.ok).toBe(0);
    expect(result.requestsPerSecond).toBe(0);
    expect(result.non2xx).toBeGreaterThan(0);
    expect(result.failed).toBe(0);
  });
});
