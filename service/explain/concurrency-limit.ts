/**
 * At most `concurrency` tasks at once, at most `queueMax` more waiting (first come, first served);
 * any further task is refused at once with the error `refuse` makes, so overload shows as a fast
 * refusal rather than a growing wait. The explain route runs its sharp work through one: each
 * explain holds a libuv thread while libvips decodes and draws, and libuv's pool (4 threads by
 * default) is the one `/predict-image` decodes on.
 */
export interface ConcurrencyState {
  readonly running: number;
  readonly waiting: number;
}

export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Tasks refused since the start (the queue was full). */
  refused = 0;

  constructor(
    readonly concurrency: number,
    readonly queueMax: number,
    private readonly refuse: (state: ConcurrencyState) => Error,
  ) {
    if (!(Number.isInteger(concurrency) && concurrency >= 1))
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    if (!(Number.isInteger(queueMax) && queueMax >= 0))
      throw new RangeError(`queueMax must be a non-negative integer, got ${queueMax}`);
  }

  state(): ConcurrencyState {
    return { running: this.running, waiting: this.waiting.length };
  }

  /**
   * Throws `refuse`'s error (and counts it) when a task asked for now would be refused: lets a
   * caller refuse before it does any work of its own, such as reading a request body.
   */
  refuseWhenFull(): void {
    if (this.running < this.concurrency || this.waiting.length < this.queueMax) return;
    this.refused++;
    throw this.refuse(this.state());
  }

  /** Runs `task` when a slot is free; rejects with `refuse`'s error, without running it, when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.queueMax) {
      this.refused++;
      return Promise.reject(this.refuse(this.state()));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter: `running` stays as it is.
    if (next !== undefined) next();
    else this.running--;
  }
}
