/**
 * The shared counter with its documented behaviour while Redis is down (RATE_LIMIT_REDIS_FAILURE_MODE):
 *
 *   per-pod  each process counts in its own memory, so a limit holds per replica (weaker by the
 *            replica count, never gone), and Redis's counts resume when it is back;
 *   closed   limited requests get 503 OVERLOADED with Retry-After until Redis is back.
 *
 * A failed or timed-out command marks the store down; one warning is logged per outage and the
 * plinth_rate_limit_store_up gauge drops to 0. While down, no request waits on Redis: a probe
 * pings it in the background every `probeIntervalMs`, and the first answer brings it back.
 */
import type { FastifyBaseLogger } from "fastify";
import { ApiError } from "../errors/api-error.js";
import { ErrorCode } from "../errors/codes.js";
import { type Counted, type WindowCount, type WindowCounter } from "./window-counter.js";

export type StoreFailureMode = "per-pod" | "closed";

export interface SharedCounter extends WindowCounter {
  ping(): Promise<void>;
}

export interface FailoverOptions {
  readonly mode: StoreFailureMode;
  readonly log: FastifyBaseLogger;
  /** Told of every change of state (the gauge). */
  readonly onState: (up: boolean) => void;
  readonly probeIntervalMs?: number;
}

export class FailoverCounter implements WindowCounter {
  private up: boolean;
  private probe: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;

  constructor(
    private readonly shared: SharedCounter,
    private readonly local: WindowCounter,
    private readonly options: FailoverOptions,
    initiallyUp: boolean,
  ) {
    this.up = initiallyUp;
    options.onState(initiallyUp);
    if (!initiallyUp) this.markDown(new Error("not reachable at start"));
  }

  get storeUp(): boolean {
    return this.up;
  }

  add(key: string, amount: number, windowMs: number, limit?: number): Counted<WindowCount> {
    return this.use((counter) => counter.add(key, amount, windowMs, limit));
  }

  read(key: string): Counted<WindowCount> {
    return this.use((counter) => counter.read(key));
  }

  /** Best effort, whatever the mode: a refund that cannot reach Redis is dropped. */
  refund(key: string, amount: number): Counted<void> {
    // closed mode while Redis is down: nothing was charged there that a refund could return
    const dropped = () => undefined;
    try {
      const refunded = this.use((counter) => counter.refund(key, amount));
      return refunded instanceof Promise ? refunded.catch(dropped) : refunded;
    } catch {
      return dropped();
    }
  }

  /** Stops the probe (the service is closing). */
  close(): void {
    this.closed = true;
    clearInterval(this.probe);
  }

  /**
   * `op` on Redis while it is up; on a failure (thrown or rejected), the store is marked down and
   * `op` runs on the fallback. Down, a `closed` store refuses with a rejected promise.
   */
  private use<T>(op: (counter: WindowCounter) => Counted<T>): Counted<T> {
    if (!this.up) return this.fallback(op);
    let pending: Counted<T>;
    try {
      pending = op(this.shared);
    } catch (err) {
      this.markDown(err);
      return this.fallback(op);
    }
    if (!(pending instanceof Promise)) return pending;
    return pending.catch((err: unknown) => {
      this.markDown(err);
      return this.fallback(op);
    });
  }

  private fallback<T>(op: (counter: WindowCounter) => Counted<T>): Counted<T> {
    if (this.options.mode === "closed") {
      return Promise.reject(
        new ApiError(ErrorCode.OVERLOADED, "the rate-limit store is unreachable; retry shortly", {
          "retry-after": "1",
        }),
      );
    }
    return op(this.local);
  }

  private markDown(err: unknown): void {
    if (this.closed) return;
    if (this.probe === undefined) {
      this.options.log.warn(
        { err: err instanceof Error ? err.message : String(err), failureMode: this.options.mode },
        this.options.mode === "closed"
          ? "rate-limit store (Redis) unreachable: limited routes answer 503 until it is back"
          : "rate-limit store (Redis) unreachable: limits fall back to this process's own counts until it is back",
      );
      this.probe = setInterval(() => void this.probeOnce(), this.options.probeIntervalMs ?? 1000);
      this.probe.unref();
    }
    if (this.up) {
      this.up = false;
      this.options.onState(false);
    }
  }

  private async probeOnce(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      await this.shared.ping();
      clearInterval(this.probe);
      this.probe = undefined;
      this.up = true;
      this.options.onState(true);
      this.options.log.info("rate-limit store (Redis) reachable again: limits are shared across replicas");
    } catch {
      // Still down; the next tick tries again.
    } finally {
      this.probing = false;
    }
  }
}
