/**
 * The promotion gates: PromQL over the service's own metrics (names from the metric catalog),
 * compared with the stack's thresholds. Three sets, by what is live:
 *
 * - `canary`: the candidate answers real traffic. Error ratio (5xx plus fallbacks to stable), p95
 *   and p99 against stable's, the SLO quantile against the SLO threshold, and the drift score.
 * - `shadow`: the candidate scores copies. Agreement with stable, dropped copies, p95/p99 of
 *   scoring the same requests on both variants, and the drift score of the copies it scored.
 * - `stable`: nothing but stable serves (single, blue-green): its error ratio and SLO latency.
 * - `blue-green`: before a switch, the idle colour's pods: all ready, all on the promised version,
 *   no failed reload in the window (it has no traffic to measure).
 *
 * A gate with too little traffic, or a query with no value (empty vector, NaN), is inconclusive.
 */
import { SLO_ROUTES, type SloTargets } from "../../components/monitoring/rules.js";
import type { PromotionGates } from "../config/schema.js";
import { COLOUR_METRIC_LABEL } from "../../components/shared/labels.js";
import { METRICS } from "../../service/contract/metrics.js";
import { PrometheusError } from "./prometheus.js";

export type GateSet = "canary" | "shadow" | "stable" | "blue-green";
export type Verdict = "pass" | "fail" | "inconclusive";

export interface GateResult {
  readonly gate: string;
  readonly verdict: Verdict;
  /** The measured value (ratio or seconds), when there was one. */
  readonly value: number | null;
  /** The bound it was held to, in words: "<= 0.01". */
  readonly threshold: string;
  readonly detail: string;
}

export interface GateContext {
  /** `model` label of per-model metrics: the stack's plinth:inference.modelName. */
  readonly model: string;
  /** Extra label matchers for every series, e.g. `namespace="plinth"`; "" for none. */
  readonly selector: string;
  readonly slo: SloTargets;
  readonly gates: PromotionGates;
  /** blue-green: the idle colour a switch would send traffic to, and the version it must serve. */
  readonly idle?: { readonly colour: "blue" | "green"; readonly modelVersion: string };
}

/** What the gates need of Prometheus. */
export interface ScalarSource {
  scalar(expr: string): Promise<number | undefined>;
}

const REQUESTS = METRICS.httpRequests.name;
const DURATION = METRICS.httpRequestDuration.name;
const FALLBACKS = METRICS.candidateFallbacks.name;
const DRIFT = METRICS.driftScore.name;
const COMPARISONS = METRICS.shadowComparisons.name;
const DROPPED = METRICS.shadowDropped.name;
const SHADOW_DURATION = METRICS.shadowScoringDuration.name;
const READY = METRICS.modelReady.name;
const INFO = METRICS.modelInfo.name;
const RELOADS = METRICS.modelReloads.name;

/** Label matchers: `{selector,extra...}`. */
function series(name: string, context: GateContext, ...matchers: string[]): string {
  return `${name}{${[context.selector, ...matchers].filter((m) => m !== "").join(",")}}`;
}

/** A counter's increase over the window, summed; `orZero` for counters born on first increment. */
function increase(selector: string, window: string, orZero = false): string {
  const expr = `sum(increase(${selector}[${window}]))`;
  return orZero ? `(${expr} or vector(0))` : expr;
}

function quantile(q: number, buckets: string, window: string): string {
  return `histogram_quantile(${q}, sum by (le) (rate(${buckets}[${window}])))`;
}

/** Numbers as people read them: 0.0123 -> "0.0123", 0.25 s -> "250 ms". */
const ratio = (value: number) => String(Number(value.toPrecision(3)));
const seconds = (value: number) => `${Number((value * 1000).toPrecision(3))} ms`;

function judge(gate: string, value: number, ok: boolean, threshold: string, detail: string): GateResult {
  return { gate, verdict: ok ? "pass" : "fail", value, threshold, detail };
}

function inconclusive(gate: string, threshold: string, detail: string): GateResult {
  return { gate, verdict: "inconclusive", value: null, threshold, detail };
}

interface Query {
  readonly gate: string;
  readonly threshold: string;
  /** Runs the gate's queries; the verdict. */
  run(source: ScalarSource): Promise<GateResult>;
}

function errorRateGate(failures: string, attempts: string, what: string, context: GateContext): Query {
  const { maxErrorRate } = context.gates;
  const threshold = `<= ${ratio(maxErrorRate)}`;
  return {
    gate: "error-rate",
    threshold,
    async run(source) {
      const [failed, total] = await Promise.all([source.scalar(failures), source.scalar(attempts)]);
      if (failed === undefined || total === undefined || total === 0) {
        return inconclusive("error-rate", threshold, `no ${what} in the window`);
      }
      // The two queries run at their own instants, and increase() extrapolates each: when every
      // request failed, failures can come out a little above attempts. A rate is at most 1.
      const failedShown = Math.min(failed, total);
      const rate = failedShown / total;
      return judge(
        "error-rate",
        rate,
        rate <= maxErrorRate,
        threshold,
        `${ratio(failedShown)} of ${ratio(total)} ${what} failed`,
      );
    },
  };
}

/** Candidate quantile against stable's: within the ratio or the absolute tolerance. */
function latencyVsStableGate(q: number, candidate: string, stable: string, context: GateContext): Query {
  const { maxLatencyRatio, latencyToleranceSeconds, window } = context.gates;
  const gate = `p${Math.round(q * 100)}-vs-stable`;
  const threshold = `<= max(stable x ${maxLatencyRatio}, stable + ${seconds(latencyToleranceSeconds)})`;
  return {
    gate,
    threshold,
    async run(source) {
      const [cand, stab] = await Promise.all([
        source.scalar(quantile(q, candidate, window)),
        source.scalar(quantile(q, stable, window)),
      ]);
      if (cand === undefined || stab === undefined) {
        return inconclusive(gate, threshold, `no ${cand === undefined ? "candidate" : "stable"} latency`);
      }
      const limit = Math.max(stab * maxLatencyRatio, stab + latencyToleranceSeconds);
      return judge(
        gate,
        cand,
        cand <= limit,
        threshold,
        `candidate ${seconds(cand)}, stable ${seconds(stab)}, limit ${seconds(limit)}`,
      );
    },
  };
}

/** A variant's SLO quantile (e.g. p99) against the SLO's latency threshold. */
function latencySloGate(variant: string, buckets: string, context: GateContext): Query {
  const { latency, latencyThresholdSeconds } = context.slo;
  const gate = `p${Number((latency * 100).toPrecision(5))}-vs-slo`;
  const threshold = `<= ${seconds(latencyThresholdSeconds)}`;
  return {
    gate,
    threshold,
    async run(source) {
      const value = await source.scalar(quantile(latency, buckets, context.gates.window));
      if (value === undefined) return inconclusive(gate, threshold, `no ${variant} latency`);
      return judge(gate, value, value <= latencyThresholdSeconds, threshold, `${variant} ${seconds(value)}`);
    },
  };
}

function driftGate(context: GateContext): Query {
  const { maxDriftScore, window } = context.gates;
  const threshold = `<= ${maxDriftScore}`;
  const expr = `max(max_over_time(${series(DRIFT, context, `model="${context.model}"`, 'variant="candidate"')}[${window}]))`;
  return {
    gate: "drift",
    threshold,
    async run(source) {
      const value = await source.scalar(expr);
      if (value === undefined) {
        return inconclusive(
          "drift",
          threshold,
          "no candidate drift score (its version has no baseline.json, or too few inputs for a window)",
        );
      }
      return judge("drift", value, value <= maxDriftScore, threshold, `worst drift score ${ratio(value)}`);
    },
  };
}

function agreementGate(context: GateContext): Query {
  const { minShadowAgreement, window } = context.gates;
  const threshold = `>= ${minShadowAgreement}`;
  const model = `model="${context.model}"`;
  const agreed = increase(series(COMPARISONS, context, model, 'outcome="agree"'), window, true);
  const compared = increase(series(COMPARISONS, context, model), window);
  return {
    gate: "shadow-agreement",
    threshold,
    async run(source) {
      const [agree, total] = await Promise.all([source.scalar(agreed), source.scalar(compared)]);
      if (agree === undefined || total === undefined || total === 0) {
        return inconclusive("shadow-agreement", threshold, "no shadow comparisons in the window");
      }
      const share = agree / total;
      return judge(
        "shadow-agreement",
        share,
        share >= minShadowAgreement,
        threshold,
        `${ratio(agree)} of ${ratio(total)} rows agreed`,
      );
    },
  };
}

/**
 * The idle colour before a switch: it serves no traffic, so what can be known is whether its pods
 * are up, on the version the switch promises, and loading cleanly. Its live traffic is gated after
 * `pulumi up` by `--check-only`.
 */
function idleColourGates(context: GateContext): Query[] {
  const { colour, modelVersion } = context.idle!;
  const window = context.gates.window;
  const pods = (name: string, ...more: string[]) =>
    series(
      name,
      context,
      `model="${context.model}"`,
      'variant="stable"',
      `${COLOUR_METRIC_LABEL}="${colour}"`,
      ...more,
    );
  // One count of the colour's scraped pods serves both gates that need it.
  let scraped: Promise<number | undefined> | undefined;
  const podCount = (source: ScalarSource) => (scraped ??= source.scalar(`count(${pods(READY)})`));
  const noPods = `no ${colour} pods scraped (the ServiceMonitor copies their ${COLOUR_METRIC_LABEL} label)`;
  return [
    {
      gate: "idle-ready",
      threshold: "all pods",
      async run(source) {
        const [total, ready] = await Promise.all([podCount(source), source.scalar(`sum(${pods(READY)})`)]);
        if (total === undefined || total === 0 || ready === undefined)
          return inconclusive("idle-ready", "all pods", noPods);
        return judge(
          "idle-ready",
          ready / total,
          ready === total,
          "all pods",
          `${ready} of ${total} ${colour} pods ready`,
        );
      },
    },
    {
      gate: "idle-version",
      threshold: `version ${modelVersion}`,
      async run(source) {
        const threshold = `version ${modelVersion}`;
        const [total, serving] = await Promise.all([
          podCount(source),
          source.scalar(`count(${pods(INFO, `model_version="${modelVersion}"`)}) or vector(0)`),
        ]);
        if (total === undefined || total === 0 || serving === undefined)
          return inconclusive("idle-version", threshold, noPods);
        return judge(
          "idle-version",
          serving / total,
          serving === total,
          threshold,
          `${serving} of ${total} ${colour} pods serve version ${modelVersion}`,
        );
      },
    },
    {
      gate: "idle-reloads",
      threshold: "0 failed",
      async run(source) {
        const failed = await source.scalar(increase(pods(RELOADS, 'result="failed"'), window, true));
        if (failed === undefined) return inconclusive("idle-reloads", "0 failed", noPods);
        return judge(
          "idle-reloads",
          failed,
          failed === 0,
          "0 failed",
          `${ratio(failed)} failed reloads on ${colour} in ${window}`,
        );
      },
    },
  ];
}

interface GatePlan {
  /** How much traffic the verdicts rest on, and what it counts; none for the idle colour. */
  readonly volume?: string;
  readonly volumeUnit?: string;
  readonly queries: readonly Query[];
}

function plan(set: GateSet, context: GateContext): GatePlan {
  if (set === "blue-green") return { queries: idleColourGates(context) };
  const { window } = context.gates;
  const api = `route=~"${SLO_ROUTES}"`;
  const model = `model="${context.model}"`;
  const http = (variant: string, ...more: string[]) =>
    series(REQUESTS, context, api, `variant="${variant}"`, ...more);
  const httpBuckets = (variant: string) => series(`${DURATION}_bucket`, context, api, `variant="${variant}"`);
  const fivexx = 'status_code=~"5.."';
  if (set === "canary") {
    const fallbacks = increase(series(FALLBACKS, context, model), window, true);
    const attempts = `${increase(http("candidate"), window, true)} + ${fallbacks}`;
    const failures = `${increase(http("candidate", fivexx), window, true)} + ${fallbacks}`;
    return {
      volume: attempts,
      volumeUnit: "requests routed to the candidate",
      queries: [
        errorRateGate(failures, attempts, "requests routed to the candidate", context),
        latencyVsStableGate(0.95, httpBuckets("candidate"), httpBuckets("stable"), context),
        latencyVsStableGate(0.99, httpBuckets("candidate"), httpBuckets("stable"), context),
        latencySloGate("candidate", httpBuckets("candidate"), context),
        driftGate(context),
      ],
    };
  }
  if (set === "shadow") {
    const scoring = (variant: string) =>
      series(`${SHADOW_DURATION}_bucket`, context, model, `variant="${variant}"`);
    const dropped = increase(series(DROPPED, context, model), window, true);
    const scored = increase(
      series(`${SHADOW_DURATION}_count`, context, model, 'variant="candidate"'),
      window,
      true,
    );
    return {
      volume: increase(series(COMPARISONS, context, model), window, true),
      volumeUnit: "rows compared in shadow",
      queries: [
        agreementGate(context),
        errorRateGate(dropped, `${scored} + ${dropped}`, "shadow copies", context),
        latencyVsStableGate(0.95, scoring("candidate"), scoring("stable"), context),
        latencyVsStableGate(0.99, scoring("candidate"), scoring("stable"), context),
        latencySloGate("candidate (shadow scoring)", scoring("candidate"), context),
        driftGate(context),
      ],
    };
  }
  return {
    volume: increase(http("stable"), window, true),
    volumeUnit: "requests served by stable",
    queries: [
      errorRateGate(
        increase(http("stable", fivexx), window, true),
        increase(http("stable"), window, true),
        "stable requests",
        context,
      ),
      latencySloGate("stable", httpBuckets("stable"), context),
    ],
  };
}

/**
 * Evaluates a gate set. Too little traffic makes every gate inconclusive: a quantile or a ratio
 * over a handful of requests proves nothing either way.
 */
export async function evaluateGates(
  set: GateSet,
  context: GateContext,
  source: ScalarSource,
): Promise<GateResult[]> {
  const { volume, volumeUnit, queries } = plan(set, context);
  const { minRequests, window } = context.gates;
  const allInconclusive = (detail: string) => queries.map((q) => inconclusive(q.gate, q.threshold, detail));
  try {
    const seen = volume === undefined ? Infinity : ((await source.scalar(volume)) ?? 0);
    if (seen < minRequests) {
      return allInconclusive(
        `${ratio(seen)} ${volumeUnit} in ${window}, fewer than minRequests (${minRequests})`,
      );
    }
    return await Promise.all(queries.map((q) => q.run(source)));
  } catch (err) {
    // No answer from Prometheus proves nothing about the candidate: inconclusive, which blocks.
    if (err instanceof PrometheusError) return allInconclusive(err.message);
    throw err;
  }
}

/** Whether a step may go ahead: every gate passed, or `--force`. */
export function gatesBlock(results: readonly GateResult[]): boolean {
  return results.some((r) => r.verdict !== "pass");
}
