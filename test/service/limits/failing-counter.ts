/** Counters that fail every way a store can: each hook and adapter over them must refuse, not pass. */
import type { WindowCounter } from "../../../service/limits/window-counter.js";

/** How a count can fail: a rejection without a reason, a rejection, a synchronous throw. */
export const COUNT_FAILURES: readonly (readonly [string, () => never | Promise<never>])[] = [
  ["rejects without a reason", () => Promise.reject(undefined as unknown as Error)],
  ["rejects", () => Promise.reject(new Error("store gone"))],
  [
    "throws",
    () => {
      throw new Error("store gone");
    },
  ],
];

/** A counter whose counts and reads fail with `fail`; its refunds do nothing. */
export function failingCounter(fail: () => never | Promise<never>): WindowCounter {
  return { add: fail, read: fail, refund: () => undefined };
}
