/**
 * At most `concurrency` tasks at once, at most `queueMax` more waiting (first come, first served),
 * and at most `perOwner` running or waiting for one owner (a caller), so one caller cannot take
 * every slot and every place in the queue; any further task is refused at once with the error
 * `refuse` makes, so overload shows as a fast refusal rather than a growing wait. A waiting task
 * whose caller has gone (`abandoned`) is dropped when its turn comes, not run for nobody. The
 * explain route runs its sharp work through one: each explain holds a libuv thread while libvips
 * decodes and draws, and libuv's pool (4 threads by default) is the one `/predict-image` decodes on.
 */
export interface ConcurrencyState {
  readonly running: number;
  readonly waiting: number;
  /** The owner's tasks, running or waiting, when the refusal is the owner's share. */
  readonly owner?: { readonly id: string; readonly held: number };
}

export interface TaskOptions {
  /** Who asks (the caller's identity); unset: not counted per owner. */
  readonly owner?: string;
  /** True once nobody waits for the answer (the client hung up). */
  readonly abandoned?: () => boolean;
}

/** The rejection of a waiting task whose caller had gone when its turn came. */
export class AbandonedTaskError extends Error {
  constructor() {
    super("the caller went away while the task waited for a slot");
  }
}

interface Waiter {
  readonly start: () => void;
  readonly drop: () => void;
  readonly abandoned: () => boolean;
}

export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly held = new Map<string, number>();
  /** Tasks refused since the start (the queue or the owner's share was full). */
  refused = 0;
  /** Waiting tasks dropped because their caller had gone. */
  abandoned = 0;

  constructor(
    readonly concurrency: number,
    readonly queueMax: number,
    private readonly refuse: (state: ConcurrencyState) => Error,
    readonly perOwner = Number.POSITIVE_INFINITY,
  ) {
    if (!(Number.isInteger(concurrency) && concurrency >= 1))
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    if (!(Number.isInteger(queueMax) && queueMax >= 0))
      throw new RangeError(`queueMax must be a non-negative integer, got ${queueMax}`);
    if (!(perOwner >= 1)) throw new RangeError(`perOwner must be at least 1, got ${perOwner}`);
  }

  state(): ConcurrencyState {
    return { running: this.running, waiting: this.waiting.length };
  }

  /**
   * Throws `refuse`'s error (and counts it) when a task asked for now would be refused: lets a
   * caller refuse before it does any work of its own, such as reading a request body.
   */
  refuseWhenFull(owner?: string): void {
    const refusal = this.refusal(owner);
    if (refusal === undefined) return;
    this.refused++;
    throw refusal;
  }

  /** Runs `task` when a slot is free; rejects with `refuse`'s error, without running it, when full. */
  async run<T>(task: () => Promise<T>, options: TaskOptions = {}): Promise<T> {
    await this.acquire(options);
    try {
      return await task();
    } finally {
      this.release(options.owner);
    }
  }

  private refusal(owner: string | undefined): Error | undefined {
    const held = owner === undefined ? 0 : (this.held.get(owner) ?? 0);
    if (owner !== undefined && held >= this.perOwner)
      return this.refuse({ ...this.state(), owner: { id: owner, held } });
    if (this.running < this.concurrency || this.waiting.length < this.queueMax) return undefined;
    return this.refuse(this.state());
  }

  private acquire({ owner, abandoned = () => false }: TaskOptions): Promise<void> {
    const refusal = this.refusal(owner);
    if (refusal !== undefined) {
      this.refused++;
      return Promise.reject(refusal);
    }
    if (owner !== undefined) this.held.set(owner, (this.held.get(owner) ?? 0) + 1);
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) =>
      this.waiting.push({
        start: resolve,
        drop: () => {
          this.forget(owner);
          reject(new AbandonedTaskError());
        },
        abandoned,
      }),
    );
  }

  private release(owner: string | undefined): void {
    this.forget(owner);
    // The slot passes straight to the next waiter whose caller is still there: `running` stays.
    for (let next = this.waiting.shift(); next !== undefined; next = this.waiting.shift()) {
      if (!next.abandoned()) return next.start();
      this.abandoned++;
      next.drop();
    }
    this.running--;
  }

  private forget(owner: string | undefined): void {
    if (owner === undefined) return;
    const held = (this.held.get(owner) ?? 1) - 1;
    if (held > 0) this.held.set(owner, held);
    else this.held.delete(owner);
  }
}
