/**
 * Polls `read` until `done` says so, for tests that wait on a controller (Traefik writing status,
 * routers going live). A read that throws counts as not yet; after the timeout the error names
 * what was awaited and the last value (or error) read.
 */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 250 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: unknown;
    try {
      const value = await read();
      if (done(value)) return value;
      last = value;
    } catch (error) {
      last = String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} not within ${timeoutMs} ms; last:\n${JSON.stringify(last, null, 1).slice(0, 4000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
