/**
 * The candidate's circuit breaker: after `threshold` consecutive candidate failures the circuit
 * opens and every request goes to stable until the next reload closes it. There is deliberately no
 * half-open probing: a candidate that failed this often needs a person (or a new version), and a
 * reload is the signal that one is there.
 */
export type CircuitState = "closed" | "open";

export class CandidateCircuit {
  private failures = 0;
  private openSince: Date | undefined;

  constructor(
    readonly threshold: number,
    /** Called when the state changes. */
    private readonly onChange: (state: CircuitState) => void = () => undefined,
  ) {}

  get state(): CircuitState {
    return this.openSince === undefined ? "closed" : "open";
  }

  get isOpen(): boolean {
    return this.openSince !== undefined;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  get openedAt(): Date | undefined {
    return this.openSince;
  }

  success(): void {
    this.failures = 0;
  }

  failure(): void {
    this.failures++;
    if (this.openSince === undefined && this.failures >= this.threshold) {
      this.openSince = new Date();
      this.onChange("open");
    }
  }

  /** Closes the circuit and forgets past failures (a reload happened). */
  reset(): void {
    const wasOpen = this.openSince !== undefined;
    this.failures = 0;
    this.openSince = undefined;
    if (wasOpen) this.onChange("closed");
  }
}
