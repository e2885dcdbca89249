/**
 * Population stability index: `sum_i (a_i - e_i) * ln(a_i / e_i)` over bins, where `e` is the
 * baseline's share of each bin and `a` the live window's. A bin that is empty on either side would
 * make the logarithm infinite, so every share is floored at {@link PSI_EPSILON} first (the usual
 * practice; it caps one empty bin's contribution at a finite, still large, value).
 *
 * Reading it: below 0.1 the populations match; 0.1-0.25 a moderate shift; above 0.25 a major one.
 */
export const PSI_EPSILON = 1e-4;

/** PSI of live bin `counts` (summing to `total`) against baseline `expected` proportions. */
export function psi(expected: readonly number[], counts: ArrayLike<number>, total: number): number {
  if (expected.length !== counts.length) {
    throw new Error(`psi: ${expected.length} baseline bins but ${counts.length} live bins`);
  }
  if (total <= 0) return 0;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, PSI_EPSILON);
    const a = Math.max(counts[i]! / total, PSI_EPSILON);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}
