/** Command-line options of `npm run bench`; every bad option is reported by its name. */
import path from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_OUT_DIR } from "./paths.js";
import { OIP_TUNING_MODES, type OipTuningMode } from "./targets/oip-tuning.js";

export interface BenchOptions {
  /** Seconds of each measured load phase (every server, every route, saturation and fixed rate). */
  readonly durationSeconds: number;
  /** Seconds of load before each saturation measurement, discarded (JIT, pools, caches). */
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly pipelining: number;
  /** Fixed-rate phases run at this share of the service's saturation throughput on the route. */
  readonly fixedRateShare: number;
  /** Seconds of the soak phase (RSS over time under sustained load); 0 = no soak. */
  readonly soakSeconds: number;
  readonly peer: boolean;
  /** Worker processes of the FastAPI peer (uvicorn `--workers`). */
  readonly peerWorkers: number;
  /**
   * How KServe and MLServer are configured: as their docs recommend for CPU serving (workers,
   * batching; bench/targets/oip-tuning.ts), or as each ships.
   */
  readonly oipTuning: OipTuningMode;
  /** Run the shadow phase: /predict plain and with every request shadowed to a challenger. */
  readonly shadow: boolean;
  /** The OIP comparison's scaling curves (connections 1-256, rows 1-64). */
  readonly curves: boolean;
  /** Extra service settings (`--env NAME=VALUE`), applied over the bench's own. */
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly outDir: string;
  /** The PNG to send (also sent as a JSON row); default: the first of samples/fashion-mnist. */
  readonly samplePath: string | undefined;
}

export const USAGE = `usage: npm run bench -- [options]

  --duration S       seconds per measured phase (default 10; 3 with --quick)
  --warmup S         seconds of discarded load before each saturation phase (default 2; 1 with --quick)
  --quick            short phases, for a look rather than a result
  --soak S           add a soak of S seconds (e.g. 300): RSS over time under sustained load
  --connections N    concurrent connections of every load phase (default 32)
  --pipelining N     requests in flight per connection (default 1)
  --no-peer          skip the peers: FastAPI, and the v2 comparison with KServe and MLServer
  --peer-workers N   uvicorn worker processes of the FastAPI peer (default 1, like the one service process)
  --peer-settings S  KServe's and MLServer's workers and batching: recommended (their docs' advice for
                     CPU serving, measured on 2 cores: bench/targets/oip-tuning.ts) or defaults (as
                     each ships: one worker, no batching) (default recommended)
  --no-shadow        skip the shadow phase (/predict with and without SHADOW_PERCENT=100)
  --no-curves        skip the v2 scaling curves (connections 1-256, rows per request 1-64)
  --env NAME=VALUE   a service setting (repeatable), e.g. --env BATCH_MAX_DELAY_MS=0.5
  --sample FILE      the 28x28 PNG to send (default: the first in samples/fashion-mnist)
  --out DIR          report folder (default out/bench)
`;

export class OptionsError extends Error {
  override readonly name = "OptionsError";
}

function number(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
    throw new OptionsError(`--${name}: expected a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function integer(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  const value = number(name, text, fallback, min, max);
  if (!Number.isInteger(value))
    throw new OptionsError(`--${name}: expected a whole number, got ${JSON.stringify(text)}`);
  return value;
}

/** `text` when it is one of `choices`; the first choice when absent. */
function oneOf<T extends string>(name: string, text: string | undefined, choices: readonly [T, ...T[]]): T {
  if (text === undefined) return choices[0];
  if (!(choices as readonly string[]).includes(text)) {
    throw new OptionsError(`--${name}: expected one of ${choices.join(", ")}, got ${JSON.stringify(text)}`);
  }
  return text as T;
}

function envPairs(items: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of items) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/s.exec(item);
    if (match === null) throw new OptionsError(`--env: expected NAME=VALUE, got ${JSON.stringify(item)}`);
    env[match[1]!] = match[2]!;
  }
  return env;
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: "string" },
        warmup: { type: "string" },
        quick: { type: "boolean", default: false },
        soak: { type: "string" },
        connections: { type: "string" },
        pipelining: { type: "string" },
        "no-peer": { type: "boolean", default: false },
        "peer-workers": { type: "string" },
        "peer-settings": { type: "string" },
        "no-shadow": { type: "boolean", default: false },
        "no-curves": { type: "boolean", default: false },
        env: { type: "string", multiple: true, default: [] },
        out: { type: "string" },
        sample: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    throw new OptionsError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  return {
    durationSeconds: number("duration", v.duration, v.quick ? 3 : 10, 1, 3600),
    warmupSeconds: number("warmup", v.warmup, v.quick ? 1 : 2, 0, 600),
    connections: integer("connections", v.connections, 32, 1, 1024),
    pipelining: integer("pipelining", v.pipelining, 1, 1, 64),
    fixedRateShare: 0.5,
    soakSeconds: number("soak", v.soak, 0, 10, 24 * 3600),
    peer: !v["no-peer"],
    peerWorkers: integer("peer-workers", v["peer-workers"], 1, 1, 64),
    oipTuning: oneOf("peer-settings", v["peer-settings"], OIP_TUNING_MODES),
    shadow: !v["no-shadow"],
    curves: !v["no-curves"],
    serviceEnv: envPairs(v.env),
    outDir: path.resolve(v.out ?? DEFAULT_OUT_DIR),
    samplePath: v.sample === undefined ? undefined : path.resolve(v.sample),
  };
}
