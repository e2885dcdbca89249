/**
 * The candidate's circuit breaker. After `threshold` consecutive candidate failures the circuit
 * opens and every request goes to stable. After a cooldown it half-opens on its own: up to
 * `probes` requests at a time go to the candidate again; a probe that succeeds closes the circuit,
 * one that fails re-opens it for twice the previous cooldown (up to `maxCooldownMs`), so a
 * candidate that stays broken costs fewer and fewer requests. A reload closes it at once.
 *
 * Only genuine candidate failures count (a run that threw, a timeout): refusals the callers caused
 * (a full queue, a caller over its share) are {@link CandidateCircuit.release}d, neither success
 * nor failure, so flooding the candidate cannot open its circuit.
 */
export type CircuitState = "closed" | "open" | "half-open";

/** What the circuit let through: an ordinary request (closed), or a half-open probe. */
export type CircuitPass = "request" | "probe";

export interface CircuitOptions {
  /** Consecutive failures that open the circuit. */
  readonly threshold: number;
  /** How long the circuit stays open before its first probe. */
  readonly cooldownMs: number;
  /** The longest cooldown the backoff reaches. Default: 32 times `cooldownMs`. */
  readonly maxCooldownMs?: number;
  /** Probe requests allowed at once while half-open. Default 1. */
  readonly probes?: number;
  /** The clock, in ms (tests inject one). Default `Date.now`. */
  readonly now?: () => number;
}

export class CandidateCircuit {
  readonly threshold: number;
  private readonly baseCooldownMs: number;
  private readonly maxCooldownMs: number;
  private readonly probes: number;
  private readonly now: () => number;
  private failures = 0;
  /** When the circuit last opened (or re-opened after a failed probe); undefined while closed. */
  private openSince: number | undefined;
  private cooldownMs: number;
  private halfOpen = false;
  private probesInFlight = 0;

  constructor(
    options: CircuitOptions,
    /** Called when the state changes. */
    private readonly onChange: (state: CircuitState) => void = () => undefined,
  ) {
    this.threshold = options.threshold;
    this.baseCooldownMs = options.cooldownMs;
    this.maxCooldownMs = Math.max(options.cooldownMs, options.maxCooldownMs ?? options.cooldownMs * 32);
    this.probes = options.probes ?? 1;
    this.now = options.now ?? Date.now;
    this.cooldownMs = this.baseCooldownMs;
  }

  /** The state now: an open circuit whose cooldown has passed reads (and becomes) half-open. */
  get state(): CircuitState {
    this.advance();
    if (this.openSince === undefined) return "closed";
    return this.halfOpen ? "half-open" : "open";
  }

  /** Whether the candidate may be offered a request now (closed, or a probe slot is free). */
  get admitsRequests(): boolean {
    const state = this.state;
    return state === "closed" || (state === "half-open" && this.probesInFlight < this.probes);
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** When the circuit (last) opened; undefined while closed. */
  get openedAt(): Date | undefined {
    return this.openSince === undefined ? undefined : new Date(this.openSince);
  }

  /** When an open circuit half-opens; undefined unless open. */
  get probeAt(): Date | undefined {
    return this.openSince === undefined || this.halfOpen
      ? undefined
      : new Date(this.openSince + this.cooldownMs);
  }

  /**
   * Lets one request through to the candidate: a `request` while closed, a `probe` while half-open
   * with a free slot, else undefined (the request goes to stable). Every pass must end in exactly
   * one of {@link success}, {@link failure} or {@link release}.
   */
  admit(): CircuitPass | undefined {
    const state = this.state;
    if (state === "closed") return "request";
    if (state === "half-open" && this.probesInFlight < this.probes) {
      this.probesInFlight++;
      return "probe";
    }
    return undefined;
  }

  success(pass: CircuitPass): void {
    if (pass === "request") {
      // A request let through before the circuit opened says nothing about the candidate now.
      if (this.openSince === undefined) this.failures = 0;
      return;
    }
    this.endProbe();
    if (this.halfOpen) this.close();
  }

  failure(pass: CircuitPass): void {
    if (pass === "request") {
      if (this.openSince !== undefined) return;
      this.failures++;
      if (this.failures >= this.threshold) this.open(this.baseCooldownMs);
      return;
    }
    this.endProbe();
    // A probe from before a reset says nothing about the circuit now.
    if (!this.halfOpen) return;
    this.failures++;
    this.open(Math.min(this.cooldownMs * 2, this.maxCooldownMs));
  }

  /** Ends a pass that neither succeeded nor failed (the caller's refusal, not the model's). */
  release(pass: CircuitPass): void {
    if (pass === "probe") this.endProbe();
  }

  /** Closes the circuit and forgets past failures and backoff (a reload happened). */
  reset(): void {
    if (this.openSince !== undefined) this.close();
    else this.failures = 0;
  }

  private open(cooldownMs: number): void {
    this.openSince = this.now();
    this.cooldownMs = cooldownMs;
    this.halfOpen = false;
    this.onChange("open");
  }

  private close(): void {
    this.failures = 0;
    this.openSince = undefined;
    this.halfOpen = false;
    this.cooldownMs = this.baseCooldownMs;
    this.onChange("closed");
  }

  /** A probe ended; one from before a reload may end after its slot count was already fresh. */
  private endProbe(): void {
    this.probesInFlight = Math.max(0, this.probesInFlight - 1);
  }

  private advance(): void {
    if (this.openSince === undefined || this.halfOpen) return;
    if (this.now() < this.openSince + this.cooldownMs) return;
    this.halfOpen = true;
    this.onChange("half-open");
  }
}
