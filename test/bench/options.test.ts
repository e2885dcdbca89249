import { describe, expect, it } from "vitest";
import { parseBenchOptions, USAGE, type BenchOptions } from "../../bench/options.js";

function parse(...argv: string[]): BenchOptions {
  const options = parseBenchOptions(argv);
  if (options === "help") throw new Error("unexpected help");
  return options;
}

describe("parseBenchOptions", () => {
  it("defaults to 10 s phases after 2 s of warm-up, 32 connections, the peer, no soak", () => {
    expect(parse()).toMatchObject({
      durationSeconds: 10,
      warmupSeconds: 2,
      connections: 32,
      pipelining: 1,
      fixedRateShare: 0.5,
      soakSeconds: 0,
      peer: true,
      peerWorkers: 1,
      oipTuning: "recommended",
      shadow: true,
      curves: true,
      serviceEnv: {},
    });
  });

  it("shortens phases with --quick, and an explicit --duration wins", () => {
    expect(parse("--quick")).toMatchObject({ durationSeconds: 3, warmupSeconds: 1 });
    expect(parse("--quick", "--duration", "5")).toMatchObject({ durationSeconds: 5, warmupSeconds: 1 });
  });

  it("reads --soak, --no-peer and repeated --env settings", () => {
    expect(
      parse("--soak", "300", "--no-peer", "--env", "BATCH_MAX_DELAY_MS=0.5", "--env", "LOG_LEVEL=info"),
    ).toMatchObject({
      soakSeconds: 300,
      peer: false,
      serviceEnv: { BATCH_MAX_DELAY_MS: "0.5", LOG_LEVEL: "info" },
    });
  });

  it("skips the shadow phase with --no-shadow, the v2 scaling curves with --no-curves", () => {
    expect(parse("--no-shadow")).toMatchObject({ shadow: false, peer: true, curves: true });
    expect(parse("--no-curves")).toMatchObject({ shadow: true, peer: true, curves: false });
  });

  it("configures KServe and MLServer as their docs recommend, or as they ship with --peer-settings defaults", () => {
    expect(parse("--peer-settings", "defaults")).toMatchObject({ oipTuning: "defaults", peerWorkers: 1 });
    expect(parse("--peer-settings", "recommended", "--peer-workers", "2")).toMatchObject({
      oipTuning: "recommended",
      peerWorkers: 2,
    });
    expect(USAGE).toContain("--peer-workers N   uvicorn worker processes of the FastAPI peer");
    expect(USAGE).toContain("--peer-settings S  KServe's and MLServer's workers and batching: recommended");
  });

  it("answers help", () => {
    expect(parseBenchOptions(["--help"])).toBe("help");
  });

  it("names the option in every error", () => {
    expect(() => parse("--duration", "0")).toThrow('--duration: expected a number from 1 to 3600, got "0"');
    expect(() => parse("--connections", "2.5")).toThrow('--connections: expected a whole number, got "2.5"');
    expect(() => parse("--soak", "abc")).toThrow('--soak: expected a number from 10 to 86400, got "abc"');
    expect(() => parse("--env", "lower=1")).toThrow('--env: expected NAME=VALUE, got "lower=1"');
    expect(() => parse("--peer-settings", "tuned")).toThrow(
      '--peer-settings: expected one of recommended, defaults, got "tuned"',
    );
    expect(() => parse("--bogus")).toThrow("Unknown option '--bogus'");
  });
});
