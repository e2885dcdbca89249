/**
 * Follows the registry: every `intervalMs` it asks whether a variant's reference (an alias such as
 * champion) now names another version, and if so loads and swaps it in (ModelVariants.poll).
 * Passes never overlap, and the timer does not keep the process alive.
 */
import type { ModelVariants } from "./variants.js";

export class AliasWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly variants: ModelVariants,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops polling and waits for a pass in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private tick(): void {
    if (this.running !== undefined) return;
    this.running = this.variants
      .poll()
      .catch(this.onError)
      .finally(() => {
        this.running = undefined;
      });
  }
}
