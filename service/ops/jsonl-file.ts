/**
 * An append-only JSON Lines file with a size cap: when the next batch would take the file past
 * `maxBytes`, the file is renamed to `<path>.1` (replacing an older one) and a new file started, so
 * the disk use is bounded by about twice the cap. Appends are serialised; each batch is one write.
 *
 * The parent folder is never created: a missing or read-only folder is a deployment error that
 * must show (the callers count and log it), not something to paper over.
 */
import { appendFile, rename, stat } from "node:fs/promises";

export class JsonlFile {
  private size: number | undefined;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
  ) {}

  /** Appends `records` as one write; rejects when the write fails (the file is left as it was). */
  append(records: readonly unknown[]): Promise<void> {
    const text = records.map((r) => JSON.stringify(r) + "\n").join("");
    const write = this.tail.then(() => this.write(text));
    // The chain continues after a failure; the caller sees this write's own outcome.
    this.tail = write.catch(() => undefined);
    return write;
  }

  private async write(text: string): Promise<void> {
    const bytes = Buffer.byteLength(text);
    this.size ??= await currentSize(this.path);
    if (this.size > 0 && this.size + bytes > this.maxBytes) {
      await rename(this.path, `${this.path}.1`);
      this.size = 0;
    }
    await appendFile(this.path, text, "utf8");
    this.size += bytes;
  }
}

async function currentSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
}
