/**
 * The timetable of an open-loop (fixed-rate) load test: request `i` is due at `i / rate` after the
 * start, whatever happened to earlier requests.
 *
 * Latency is measured from that intended send time, not from when the request actually left. A
 * closed-loop client that waits for each response before sending the next stops sending while the
 * server stalls, so the stall shows up in one sample instead of in every request it delayed
 * ("coordinated omission"); measuring from the timetable charges the stall to all of them.
 */
export class OpenLoopSchedule {
  /** Requests in the whole run. */
  readonly total: number;

  constructor(
    readonly ratePerSecond: number,
    readonly durationMs: number,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
      throw new RangeError(`rate must be a positive number of requests per second, got ${ratePerSecond}`);
    }
    if (!(durationMs > 0) || !Number.isFinite(durationMs)) {
      throw new RangeError(`duration must be a positive number of milliseconds, got ${durationMs}`);
    }
    this.total = Math.floor((ratePerSecond * durationMs) / 1000);
  }

  /** Intended send time of request `index`, in milliseconds after the start. */
  intendedAtMs(index: number): number {
    return (index * 1000) / this.ratePerSecond;
  }

  /** How many requests are due `elapsedMs` after the start: requests `0 .. dueBy - 1`. */
  dueBy(elapsedMs: number): number {
    if (elapsedMs < 0) return 0;
    return Math.min(this.total, Math.floor((elapsedMs * this.ratePerSecond) / 1000) + 1);
  }

  /** Coordinated-omission-corrected latency of request `index` that completed `completedAtMs` after the start. */
  latencyMs(index: number, completedAtMs: number): number {
    return completedAtMs - this.intendedAtMs(index);
  }
}
