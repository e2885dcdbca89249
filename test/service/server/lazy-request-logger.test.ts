/** fastify's per-request logger, made lazily: the same lines as pino's child, none made for nothing. */
import Fastify from "fastify";
import { pino, type Logger } from "pino";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { lazyChildLogger } from "../../../service/server/lazy-request-logger.js";

function capture(level: string): { log: Logger; lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  const log = pino({ level }, stream);
  return { log, lines: () => written.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("lazyChildLogger", () => {
  afterEach(() => vi.restoreAllMocks());

  it("makes no pino child while nothing is logged at an enabled level", () => {
    const { log, lines } = capture("warn");
    const made = vi.spyOn(log, "child");
    const request = lazyChildLogger(log, { reqId: "r1" }, {});
    request.info({ rows: 1 }, "below the level");
    request.debug("below the level");
    expect(made).not.toHaveBeenCalled();
    expect(lines()).toEqual([]);
    expect(request.level).toBe("warn");
  });

  it("writes an enabled line with the request's bindings, as pino's own child does", () => {
    const { log, lines } = capture("warn");
    const request = lazyChildLogger(log, { reqId: "r2" }, {});
    request.warn({ reason: "candidate failed" }, "answering with stable");
    request.error(new Error("boom"), "unhandled error");
    expect(lines()).toMatchObject([
      { level: 40, reqId: "r2", reason: "candidate failed", msg: "answering with stable" },
      { level: 50, reqId: "r2", msg: "unhandled error", err: { message: "boom" } },
    ]);
  });

  it("follows the parent's level until it is made, and then its own", () => {
    const { log, lines } = capture("warn");
    const request = lazyChildLogger(log, { reqId: "r3" }, {});
    log.level = "info";
    request.info("now enabled");
    request.level = "error";
    request.warn("now below the child's own level");
    expect(request.level).toBe("error");
    expect(log.level).toBe("info");
    expect(lines()).toMatchObject([{ level: 30, reqId: "r3", msg: "now enabled" }]);
  });

  it("gives children that carry both bindings", () => {
    const { log, lines } = capture("info");
    lazyChildLogger(log, { reqId: "r4" }, {}).child({ model: "m" }).info("hello");
    expect(lines()).toMatchObject([{ reqId: "r4", model: "m", msg: "hello" }]);
  });

  it("is pino's eager child when the route sets its own level", () => {
    const { log } = capture("warn");
    const made = vi.spyOn(log, "child");
    const request = lazyChildLogger(log, { reqId: "r5" }, { level: "debug" });
    expect(made).toHaveBeenCalledTimes(1);
    expect(request.level).toBe("debug");
  });

  it("is what fastify hands a route as request.log, with fastify's request id bound", async () => {
    const { log, lines } = capture("warn");
    const app = Fastify({
      loggerInstance: log,
      childLoggerFactory: lazyChildLogger,
      genReqId: () => "req-7",
    });
    app.get("/", async (request) => {
      request.log.info("not written");
      request.log.warn("written");
      return "ok";
    });
    const response = await app.inject({ method: "GET", url: "/" });
    await app.close();
    expect(response.statusCode).toBe(200);
    expect(lines().filter((l) => l.reqId !== undefined)).toMatchObject([{ reqId: "req-7", msg: "written" }]);
  });
});
