/**
 * Small statistics helpers for the sandbox's tests and benchmark: exact binomial acceptance
 * bounds (so a routing test can say "5% within 99.9% bounds over n requests" without a normal
 * approximation that is wrong near 0 and 100) and order statistics for timings.
 */

/** Inclusive range of counts that a binomial(n, p) falls in with at least the given confidence. */
export interface CountBounds {
  readonly lower: number;
  readonly upper: number;
}

/**
 * The central acceptance interval of a binomial(n, p) count: the largest `lower` with
 * P(X < lower) ≤ α/2 and the smallest `upper` with P(X > upper) ≤ α/2, where α = 1 − confidence.
 * Exact (log-space pmf summation), so p = 0 and p = 1 give [0, 0] and [n, n].
 */
export function binomialBounds(n: number, p: number, confidence = 0.999): CountBounds {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be in [0, 1], got ${p}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (p === 0) return { lower: 0, upper: 0 };
  if (p === 1) return { lower: n, upper: n };
  const tail = (1 - confidence) / 2;
  const logFact = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) logFact[i] = logFact[i - 1] + Math.log(i);
  const pmf = (k: number): number => Math.exp(logFact[n] - logFact[k] - logFact[n - k] + k * Math.log(p) + (n - k) * Math.log1p(-p));
  let lower = 0;
  let below = 0;
  while (lower < n && below + pmf(lower) <= tail) below += pmf(lower++);
  let upper = n;
  let above = 0;
  while (upper > 0 && above + pmf(upper) <= tail) above += pmf(upper--);
  return { lower, upper };
}

/** Order statistics of a sample of timings. */
export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly p90: number;
  readonly max: number;
}

/** The q-quantile (0–1) of an ascending sample, by the nearest-rank method. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

/** min, median, p90 and max of `values` (NaN for an empty sample). */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, min: sorted[0] ?? NaN, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), max: sorted[sorted.length - 1] ?? NaN };
}
