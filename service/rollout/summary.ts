/**
 * The rollout's state as one plain object, for `/ops/summary`, the admin panel and the audit log.
 * Everything here is JSON-serialisable; times are ISO-8601 strings.
 */
import type { RolloutStrategy } from "../config.js";
import type { ModelStateLabel } from "../contract/metrics.js";
import type { VariantName } from "../inference/model-holder.js";
import type { ModelCapabilities } from "../serving/capabilities.js";
import type { CircuitState } from "./circuit.js";

export type { RolloutStrategy, VariantName, CircuitState };

/** Why a request routed to the candidate was answered by stable. */
export const FALLBACK_REASONS = ["load", "error", "timeout", "circuit_open", "overloaded"] as const;
export type FallbackReason = (typeof FALLBACK_REASONS)[number];

export interface VariantSnapshot {
  /** The configured version or alias (MODEL_STABLE / MODEL_CANDIDATE). */
  ref: string;
  /**
   * Where the variant stands (plinth_model_state's `state`): ready, loading, awaiting_version (its
   * registry holds no version for `ref` yet), registry_unreachable, load_failed, draining.
   */
  state: ModelStateLabel;
  /** Why no version serves: the registry's answer, where, and what to do; null while one serves or loads. */
  reason: string | null;
  /** The loaded version; null while nothing is loaded. */
  version: string | null;
  sha256: string | null;
  /** When the loaded version was swapped in. */
  loadedAt: string | null;
  ready: boolean;
  /** Whether the loaded version has plinth metadata (drift, explain, /predict need it); null while nothing is loaded. */
  plinthMetadata: boolean | null;
  /** What the loaded version supports (service/serving/capabilities.ts); null while nothing is loaded. */
  capabilities: ModelCapabilities | null;
}

export type ReloadTrigger = "startup" | "api" | "watcher";
export type ReloadOutcome = "loaded" | "unchanged" | "failed";

/** One reload attempt of one variant; the audit log subscribes to these. */
export interface ReloadEvent {
  at: string;
  variant: VariantName;
  trigger: ReloadTrigger;
  result: ReloadOutcome;
  previousVersion: string | null;
  /** The version serving for the variant after the attempt (the old one when it failed). */
  version: string | null;
  /** What the reference resolved to; null when resolving itself failed. */
  attemptedVersion: string | null;
  /** Present iff the attempt failed. */
  error?: string;
  /** Who asked, for trigger "api" (the principal's identity). */
  by?: string;
}

/**
 * What failed reloads mean for traffic, one clause per variant: `stable: <error> (version 3 keeps
 * serving)`, or `(no version serves yet)` when the variant had none to keep.
 */
export function describeFailedReloads(events: readonly ReloadEvent[]): string {
  return events
    .filter((event) => event.result === "failed")
    .map((event) => `${event.variant}: ${event.error} (${servingAfterFailure(event)})`)
    .join("; ");
}

function servingAfterFailure(event: ReloadEvent): string {
  return event.version === null ? "no version serves yet" : `version ${event.version} keeps serving`;
}

export interface RolloutSnapshot {
  model: string;
  strategy: RolloutStrategy;
  /** Percent of routed traffic; candidate is 0 unless the strategy is canary. */
  weights: { stable: number; candidate: number };
  /** 0 unless the strategy is shadow. */
  shadowPercent: number;
  stickyHeader: string;
  color: "blue" | "green" | "none";
  /** `candidate` is absent when none is configured. */
  variants: { stable: VariantSnapshot; candidate?: VariantSnapshot };
  /** The registry's aliases of the model (alias -> version); {} when the source has none. */
  aliases: Record<string, string>;
  circuit: {
    state: CircuitState;
    consecutiveFailures: number;
    threshold: number;
    /** When the circuit (last) opened; null while closed. */
    openedAt: string | null;
    /** When an open circuit half-opens to probe the candidate; null unless open. */
    probeAt: string | null;
  };
  fallbacks: { total: number; byReason: Record<FallbackReason, number> };
  shadow: {
    /** Rows scored by both variants. */
    compared: number;
    /** Rows on which both variants predicted the same label. */
    agreed: number;
    /** agreed / compared; null before the first comparison, and always when agreementUnsupported says why. */
    agreement: number | null;
    /**
     * Why agreement is not defined for the loaded versions (a model whose answers carry no
     * predicted label: regression, raw, unconfigured), naming the model; null when it is.
     * Latency and drops are measured either way.
     */
    agreementUnsupported: string | null;
    dropped: number;
    /** p95 of per-request scoring time over the last compared requests. */
    latencyP95MsByVariant: { stable: number | null; candidate: number | null };
  };
  lastReload: ReloadEvent | null;
}
