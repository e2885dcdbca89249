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
 * Capabilities (`plinth_model_capability` per variant, 0 not supported): shadow agreement compares
 * both variants' predicted labels, so it is not applicable (not blocking) when either lacks it, and
 * the shadow's traffic is then the copies scored. Drift measures the candidate: not applicable when
 * neither variant supports it, a failure (only --force promotes) when stable does and the candidate
 * does not, since promoting it ends drift monitoring. A service that exports no capabilities is
 * judged as before.
 */
import { SLO_ROUTES, type SloTargets } from "../../components/monitoring/rules.js";
import { servingMetricsService } from "../config/model-services.js";
import type { InferenceSettings, PromotionGates } from "../config/schema.js";
import { COLOUR_METRIC_LABEL } from "../../components/shared/labels.js";
import { METRICS, type ModelCapabilityLabel } from "../../service/contract/metrics.js";
import { PrometheusError } from "./prometheus.js";

export type GateSet = "canary" | "shadow" | "stable" | "blue-green";
export type Verdict = "pass" | "fail" | "inconclusive" | "not-applicable";

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
  /** `model` label of per-model metrics: the model whose rollout the step moves. */
  readonly model: string;
  /**
   * Label matchers for every series, e.g. `namespace="plinth",service="plinth-inference-metrics"`
   * (see modelSelector); "" for none.
   */
  readonly selector: string;
  readonly slo: SloTargets;
  readonly gates: PromotionGates;
  /** blue-green: the idle colour a switch would send traffic to, and the version it must serve. */
  readonly idle?: { readonly colour: "blue" | "green"; readonly modelVersion: string };
  /**
   * canary: the candidate's weight in the rollout measured. At 100 stable serves nothing, so there
   * is no stable latency to compare with: the candidate is held to the latency SLO alone.
   */
  readonly canaryWeight?: number;
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
const CAPABILITY = METRICS.modelCapability.name;

/**
 * The label matchers of one model's live metrics: `selector` (--selector, PROMETHEUS_SELECTOR) and
 * the metrics Service its pods are scraped through, which the Prometheus operator writes into every
 * series' `service` label. The HTTP series carry no `model` label: the Service keeps them to the model
 * (in the shared Deployment, to the models it serves together).
 */
export function modelSelector(
  selector: string,
  model: string,
  inference: Pick<InferenceSettings, "defaultModel" | "models">,
): string {
  const service = `service="${servingMetricsService(inference, model)}"`;
  return [selector.trim(), service].filter((m) => m !== "").join(",");
}

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

/**
 * What a gate measures that a model may not support (service/serving/capabilities.ts). `of`:
 * `both`, the gate compares the two variants, so it measures nothing unless both support it;
 * `candidate`, it measures the candidate alone, and a candidate without it over a stable with it
 * gives up `lost` (a failure, so only --force promotes it).
 */
type Capability = {
  readonly label: ModelCapabilityLabel;
  /** In words: "drift". */
  readonly what: string;
  /** Why a model lacks it, in short; the service's /metadata `capabilities` has the full reason. */
  readonly lacking: string;
} & ({ readonly of: "both" } | { readonly of: "candidate"; readonly lost: string });

const DRIFT_CAPABILITY: Capability = {
  label: "drift",
  what: "drift",
  lacking: "no training baseline for its inputs",
  of: "candidate",
  lost: "promoting it ends drift monitoring",
};
const AGREEMENT_CAPABILITY: Capability = {
  label: "shadow_agreement",
  what: "shadow agreement",
  lacking: "no predicted label to compare",
  of: "both",
};

type Variant = "stable" | "candidate";
const VARIANTS: readonly Variant[] = ["stable", "candidate"];

/** Per variant: its plinth_model_capability, true 1, false 0, undefined no series (an older service). */
type Support = Readonly<Record<Variant, boolean | undefined>>;

/** The variants known not to support it (series 0); a missing series is not a lack. */
function lackingVariants(support: Support): Variant[] {
  return VARIANTS.filter((v) => support[v] === false);
}

/** `["candidate"]` -> `candidate of "m" does not support`; both -> `neither stable nor candidate of "m" supports`. */
function lackedBy(variants: readonly Variant[], model: string): string {
  return variants.length === 1
    ? `${variants[0]} of "${model}" does not support`
    : `neither stable nor candidate of "${model}" supports`;
}

interface Query {
  readonly gate: string;
  readonly threshold: string;
  /** The capability without which the gate does not apply (see Capability's `of`). */
  readonly needs?: Capability;
  /** Runs the gate's queries; the verdict. */
  run(source: ScalarSource): Promise<GateResult>;
}

/**
 * The verdict of a gate whose capability is lacking, or undefined when the gate is to be measured:
 * not applicable when the engine cannot measure it (`both`: either variant lacks it; `candidate`:
 * the candidate lacks it and stable does not support it either), a failure when a candidate
 * lacking it would replace a stable that supports it. A missing series is judged as before the gauge.
 */
function capabilityVerdict(query: Query, support: Support, context: GateContext): GateResult | undefined {
  const capability = query.needs;
  if (capability === undefined) return undefined;
  const { what, lacking } = capability;
  const lackers = lackingVariants(support);
  const result = (verdict: Verdict, detail: string): GateResult => ({
    gate: query.gate,
    verdict,
    value: null,
    threshold: query.threshold,
    detail,
  });
  if (capability.of === "candidate") {
    if (support.candidate !== false) return undefined;
    if (support.stable === true) {
      return result(
        "fail",
        `candidate of "${context.model}" does not support ${what}, stable does: ${capability.lost}; --force to accept (audited)`,
      );
    }
  }
  if (lackers.length === 0) return undefined;
  return result(
    "not-applicable",
    `${lackedBy(lackers, context.model)} ${what} (${lacking}: /metadata capabilities)`,
  );
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
  if (context.canaryWeight === 100) {
    return {
      gate,
      threshold,
      run: () =>
        Promise.resolve({
          gate,
          verdict: "not-applicable",
          value: null,
          threshold,
          detail:
            "the canary runs at weight 100: stable serves nothing to compare with (the SLO gate still judges the candidate)",
        }),
    };
  }
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
    needs: DRIFT_CAPABILITY,
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
    needs: AGREEMENT_CAPABILITY,
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

/** How much traffic the verdicts rest on, and what it counts. */
interface Volume {
  readonly expr: string;
  readonly unit: string;
}

interface GatePlan {
  /** None for the idle colour. */
  readonly volume?: Volume;
  /** The volume instead when either variant lacks `capability`; the unit gets which one does. */
  readonly volumeWithout?: Volume & { readonly capability: Capability };
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
      volume: { expr: attempts, unit: "requests routed to the candidate" },
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
    const copies = `${scored} + ${dropped}`;
    return {
      volume: {
        expr: increase(series(COMPARISONS, context, model), window, true),
        unit: "rows compared in shadow",
      },
      // Without predicted labels on both sides nothing is compared: the copies the candidate was
      // given are the traffic.
      volumeWithout: {
        capability: AGREEMENT_CAPABILITY,
        expr: copies,
        unit: "shadow copies scored or dropped",
      },
      queries: [
        agreementGate(context),
        errorRateGate(dropped, copies, "shadow copies", context),
        latencyVsStableGate(0.95, scoring("candidate"), scoring("stable"), context),
        latencyVsStableGate(0.99, scoring("candidate"), scoring("stable"), context),
        latencySloGate("candidate (shadow scoring)", scoring("candidate"), context),
        driftGate(context),
      ],
    };
  }
  return {
    volume: { expr: increase(http("stable"), window, true), unit: "requests served by stable" },
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
 * Each of `wanted`'s plinth_model_capability on stable and on the candidate: supported when 1 on
 * some pod, lacking when 0 on every pod, undefined when the service exports no such series (older
 * than the gauge).
 */
async function capabilitySupport(
  wanted: readonly Capability[],
  context: GateContext,
  source: ScalarSource,
): Promise<Map<Capability, Support>> {
  const unique = [...new Set(wanted)];
  const gauge = (c: Capability, variant: Variant) =>
    source.scalar(
      `max(${series(CAPABILITY, context, `model="${context.model}"`, `variant="${variant}"`, `capability="${c.label}"`)})`,
    );
  const known = (value: number | undefined) => (value === undefined ? undefined : value > 0);
  const values = await Promise.all(
    unique.map(async (c): Promise<Support> => {
      const [stable, candidate] = await Promise.all(VARIANTS.map((v) => gauge(c, v)));
      return { stable: known(stable), candidate: known(candidate) };
    }),
  );
  return new Map(unique.map((c, i) => [c, values[i]!]));
}

/** `(the candidate has no shadow agreement)`, `(neither variant has shadow agreement)`. */
function withoutUnit(unit: string, lackers: readonly Variant[], what: string): string {
  return lackers.length === 1
    ? `${unit} (the ${lackers[0]} has no ${what})`
    : `${unit} (neither variant has ${what})`;
}

/**
 * Evaluates a gate set. Too little traffic makes every gate inconclusive: a quantile or a ratio
 * over a handful of requests proves nothing either way. A gate of a capability the engine cannot
 * measure is not applicable, and one whose capability stable has and the candidate lacks fails,
 * with or without traffic.
 */
export async function evaluateGates(
  set: GateSet,
  context: GateContext,
  source: ScalarSource,
): Promise<GateResult[]> {
  const { volume, volumeWithout, queries } = plan(set, context);
  const { minRequests, window } = context.gates;
  try {
    const wanted = [
      ...queries.flatMap((q) => q.needs ?? []),
      ...(volumeWithout ? [volumeWithout.capability] : []),
    ];
    const support = await capabilitySupport(wanted, context, source);
    const decided = (q: Query) =>
      q.needs === undefined ? undefined : capabilityVerdict(q, support.get(q.needs)!, context);
    const judged = (verdict: (q: Query) => GateResult | Promise<GateResult>) =>
      Promise.all(queries.map((q) => decided(q) ?? verdict(q)));
    // Nothing compared (either variant lacks the capability): the traffic is what volumeWithout counts.
    const lackers = volumeWithout ? lackingVariants(support.get(volumeWithout.capability)!) : [];
    const counted =
      volumeWithout && lackers.length > 0
        ? {
            expr: volumeWithout.expr,
            unit: withoutUnit(volumeWithout.unit, lackers, volumeWithout.capability.what),
          }
        : volume;
    const seen = counted === undefined ? Infinity : ((await source.scalar(counted.expr)) ?? 0);
    if (seen < minRequests) {
      const detail = `${ratio(seen)} ${counted!.unit} in ${window}, fewer than minRequests (${minRequests})`;
      return await judged((q) => inconclusive(q.gate, q.threshold, detail));
    }
    return await judged((q) => q.run(source));
  } catch (err) {
    // No answer from Prometheus proves nothing about the candidate: inconclusive, which blocks.
    if (err instanceof PrometheusError)
      return queries.map((q) => inconclusive(q.gate, q.threshold, err.message));
    throw err;
  }
}

/** Whether a verdict stops a step: a failure, or no verdict at all; not a gate that does not apply. */
export function verdictBlocks(verdict: Verdict): boolean {
  switch (verdict) {
    case "pass":
    case "not-applicable":
      return false;
    case "fail":
    case "inconclusive":
      return true;
  }
}

/** Whether a step may not go ahead (without `--force`): some gate failed or was inconclusive. */
export function gatesBlock(results: readonly GateResult[]): boolean {
  return results.some((r) => verdictBlocks(r.verdict));
}
