/**
 * Follows the registry: every `intervalMs` it asks whether a variant's reference (an alias such as
 * champion) now names another version, and if so loads and swaps it in (ModelVariants.poll).
 * Passes never overlap, and the timers do not keep the process alive.
 *
 * A variant that serves no version yet (its registry holds none for its reference, or the first
 * one failed to load) is polled whatever `intervalMs` says, even 0 (off), with the startup retry's
 * backoff (0.5 s doubling to 30 s, registry/source.ts): the first (or a fixed) version registered
 * is loaded without a restart. A version that failed is not retried until the reference moves.
 */
import { backoffDelayMs, DEFAULT_STARTUP_RETRY, type StartupRetry } from "../registry/source.js";
import type { ModelVariants } from "./variants.js";

export class AliasWatcher {
  private timer: NodeJS.Timeout | undefined;
  private awaitTimer: NodeJS.Timeout | undefined;
  /** Backoff attempts of the first-version poll so far. */
  private awaitAttempt = 0;
  private nextAwaitPoll: Date | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly variants: ModelVariants,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
    private readonly awaitRetry: StartupRetry = DEFAULT_STARTUP_RETRY,
  ) {}

  start(): void {
    this.stopped = false;
    this.awaitFirstVersions();
    if (this.intervalMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(() => this.variants.poll()), this.intervalMs);
    this.timer.unref();
  }

  /** When the next first-version poll is due; undefined when no variant awaits one. */
  get nextFirstVersionPoll(): Date | undefined {
    return this.nextAwaitPoll;
  }

  /** Stops polling and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.awaitTimer);
    this.timer = undefined;
    this.awaitTimer = undefined;
    this.nextAwaitPoll = undefined;
    await this.running;
  }

  /** Schedules the next first-version poll while some variant awaits one (and the watcher runs). */
  private awaitFirstVersions(): void {
    if (this.stopped || this.awaitTimer !== undefined || !this.variants.awaitingFirstVersion) {
      if (!this.variants.awaitingFirstVersion) this.awaitAttempt = 0;
      if (this.awaitTimer === undefined) this.nextAwaitPoll = undefined;
      return;
    }
    const delayMs = backoffDelayMs(this.awaitRetry, ++this.awaitAttempt);
    this.nextAwaitPoll = new Date(Date.now() + delayMs);
    this.awaitTimer = setTimeout(() => {
      this.awaitTimer = undefined;
      const pass = this.tick(() => this.variants.pollAwaiting()) ?? this.running;
      void Promise.resolve(pass).finally(() => this.awaitFirstVersions());
    }, delayMs);
    this.awaitTimer.unref();
  }

  /** Starts a pass unless one runs; returns it (undefined when one was running already). */
  private tick(pass: () => Promise<unknown>): Promise<unknown> | undefined {
    if (this.running !== undefined) return undefined;
    const running = pass()
      .catch(this.onError)
      .finally(() => {
        this.running = undefined;
      });
    this.running = running;
    return running;
  }
}
