import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runFixedRate } from "../../bench/load/fixed-rate.js";
import { SpreadPool } from "../../bench/load/spread-pool.js";
import { LOOPBACK, type HttpTarget } from "../../bench/load/target.js";

let server: Server | undefined;
let pool: SpreadPool | undefined;

/** A loopback server that records each request's client port and answers as `respond` decides. */
async function serve(respond: (res: ServerResponse) => void = (res) => res.end("{}")) {
  const ports: number[] = [];
  server = createServer((req, res) => {
    ports.push(req.socket.remotePort!);
    req.resume();
    req.on("end", () => respond(res));
  });
  await new Promise<void>((resolve) => server!.listen(0, LOOPBACK, resolve));
  const target: HttpTarget = {
    port: (server.address() as AddressInfo).port,
    method: "POST",
    path: "/x",
    headers: { "content-type": "application/json" },
    body: Buffer.from("{}"),
  };
  return { target, ports };
}

afterEach(async () => {
  await pool?.destroy();
  pool = undefined;
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
});

describe("SpreadPool", () => {
  it("opens every connection when warmed", async () => {
    const { target, ports } = await serve();
    pool = new SpreadPool(target, 6);
    await pool.warm();
    expect(new Set(ports).size).toBe(6);
  });

  it("spreads an open-loop phase over all its connections instead of the first idle one", async () => {
    const { target, ports } = await serve();
    pool = new SpreadPool(target, 8);
    await pool.warm();
    ports.length = 0;
    const result = await runFixedRate(
      target,
      { ratePerSecond: 400, durationSeconds: 0.5, connections: 8, graceSeconds: 2 },
      pool,
    );
    expect(result.ok).toBe(200);
    const perConnection = new Map<number, number>();
    for (const port of ports) perConnection.set(port, (perConnection.get(port) ?? 0) + 1);
    // All 8 warmed connections carried traffic (undici's Pool would send nearly all on the first).
    expect(perConnection.size).toBe(8);
    expect(Math.min(...perConnection.values())).toBeGreaterThanOrEqual(5);
  });

  it("picks another connection when the random one is busy", async () => {
    const held: ServerResponse[] = [];
    const { target } = await serve((res) => held.push(res));
    const picks = [0, 0, 0.5, 0.9];
    pool = new SpreadPool(target, 4, () => picks.shift() ?? 0);
    const first = pool.request({ method: "POST", path: "/x", body: "{}" }); // random 0: connection 0
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Connection 0 is busy; the next pick skips it and takes 0.5 * 4 = connection 2.
    expect(pool.pick()).toBe(2);
    for (const res of held) res.end("{}");
    await (await first).body.dump();
  });

  it("refuses a connection count that is not a positive integer", () => {
    const target: HttpTarget = { port: 1, method: "GET", path: "/", headers: {} };
    expect(() => new SpreadPool(target, 0)).toThrow("connections must be a positive integer, got 0");
    expect(() => new SpreadPool(target, 1.5)).toThrow("got 1.5");
  });
});
