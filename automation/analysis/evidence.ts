/**
 * The evidence math behind the judge: pure functions, no IO, no clocks.
 *
 * Model. In a tick the canary serves N_c requests and the baseline N_b; bad events (errors,
 * requests slower than a latency bucket, …) arrive as Poisson counts with rates p_c·N_c and
 * p_b·N_b. Conditional on the request counts and on the total n = X_c + X_b of bad events,
 * the canary's share is Binomial(n, θ(ψ)) with
 *
 *     ρ = N_c / (N_c + N_b),   ψ = p_c / p_b,   θ(ψ) = ρψ / (ρψ + 1 − ρ).
 *
 * The nuisance (the shared, moving base rate: incidents, diurnal load) cancels out of this
 * conditional likelihood, which is why the test compares the versions tick by tick instead
 * of comparing either with a fixed number.
 *
 * Test. For a null "ψ ≤ ψ0" and alternatives ψ_k > ψ0 on a grid with fixed prior weights
 * w_k, the mixture  E_t = Σ_k w_k Π_i LR_i(ψ_k : ψ0)  is a non-negative supermartingale with
 * E_0 ≤ 1 under every ψ ≤ ψ0: each binomial LR with θ(ψ_k) > θ(ψ0) has expectation exactly 1
 * at θ(ψ0) and, by the monotone likelihood ratio of the binomial, at most 1 for any smaller θ.
 * Ville's inequality then bounds the chance that E_t EVER reaches 1/α by α, however often
 * we look — that is what makes checking every five seconds safe.
 *
 * Confidence sequence. T(ψ) = Σ_i ℓ_i(ψ) is concave in log ψ (a binomial log-likelihood with
 * a logit link), so rejecting "ψ ≤ ψ'" for some ψ' ≥ ψ* implies rejecting "ψ ≤ ψ*" with the
 * same fixed weights (see lowerBoundIndex). The set of rejected nulls is therefore a lower
 * confidence sequence with the same α, and "e-value vs ψ0 ≥ 1/α" and "lower bound ≥ ψ0" are
 * one and the same event. The upper bound is the mirror image, used for promotion.
 *
 * Overdispersion. Real error counts are burstier than Poisson (one bad pod, a flaky
 * dependency, a noisy minute), so the conditional binomial is too optimistic and a plain
 * likelihood ratio drifts upward on a healthy canary. We temper each tick's log-likelihood by
 * 1/φ_t, where φ_t ≥ 1 is a variance inflation fixed before the tick's split is seen
 * (predictable: it uses earlier ticks and the tick's request counts only):
 *  - under clean binomial noise, tempering cannot break validity: for any predictable
 *    φ ≥ 1, E[LR^(1/φ)] ≤ E[LR]^(1/φ) ≤ 1 by Jensen, so the product is still a
 *    supermartingale — the only cost is power;
 *  - under overdispersion with variance φ·nθ(1−θ) (quasi-likelihood), the log-LR of a tick is
 *    approximately Normal(−μ, 2μφ); then E[exp(logLR/φ)] = exp(−μ/φ + μ/φ) = 1, so the
 *    tempered product is approximately a martingale again. For clustered errors with a
 *    constant cluster size c and φ = c the tempered LR is exactly the LR of the cluster
 *    counts. Outside these cases it is an approximation, which the benchmark measures.
 * φ comes from two measured sources of extra variance: the spread between pods of a version
 * in the same tick (per-pod noise, {@link updatePodSpread}) and each version's swings from
 * window to window (noise shared by all of a version's pods, {@link updateNoise}).
 */

/** Canary share of bad events expected under rate ratio ψ when the canary has request share ρ. */
export function shareTheta(rho: number, psi: number): number {
  return (rho * psi) / (rho * psi + 1 - rho);
}

/** Options for {@link buildRatioGrid}. */
export interface RatioGridOptions {
  /** Smallest ratio on the grid. Defaults to 1/64. */
  readonly minRatio?: number;
  /** Largest ratio on the grid. Defaults to 64. */
  readonly maxRatio?: number;
  /** Grid points per doubling of the ratio. Defaults to 6 (about 12% apart). */
  readonly pointsPerDoubling?: number;
  /** Ratios that must be exactly on the grid (margins, allowed ratios). */
  readonly include?: readonly number[];
}

/**
 * The ascending grid of rate ratios ψ the likelihood is tracked on: geometric, plus the
 * exact ratios the tests are against so no test is off by a grid step.
 */
export function buildRatioGrid(options: RatioGridOptions = {}): number[] {
  const min = options.minRatio ?? 1 / 64;
  const max = options.maxRatio ?? 64;
  const per = options.pointsPerDoubling ?? 6;
  const points = new Set<number>();
  const from = Math.ceil(Math.log2(min) * per - 1e-9);
  const to = Math.floor(Math.log2(max) * per + 1e-9);
  for (let k = from; k <= to; k++) points.add(2 ** (k / per));
  for (const x of options.include ?? []) {
    // A ratio within 0.1% of a grid point replaces it rather than crowding it.
    for (const p of points) if (Math.abs(Math.log(p / x)) < 1e-3) points.delete(p);
    points.add(x);
  }
  return [...points].sort((a, b) => a - b);
}

/**
 * Log-likelihood of one tick's split of bad events at every grid ratio (binomial
 * coefficient dropped: it cancels in every ratio we take). Zero everywhere when the tick
 * carries no information (no bad events, or one version served nothing).
 */
export function tickLogLikelihood(
  grid: readonly number[],
  canaryEvents: number,
  baselineEvents: number,
  rho: number,
): number[] {
  if (canaryEvents + baselineEvents === 0 || !(rho > 0 && rho < 1)) return grid.map(() => 0);
  const logRho = Math.log(rho);
  const log1mRho = Math.log(1 - rho);
  const out = new Array<number>(grid.length);
  for (let k = 0; k < grid.length; k++) {
    const psi = grid[k];
    const denom = Math.log(rho * psi + 1 - rho);
    out[k] = canaryEvents * (logRho + Math.log(psi) - denom) + baselineEvents * (log1mRho - denom);
  }
  return out;
}

/** log Σ exp(x_i), stable for very negative inputs; -Infinity for an empty list. */
export function logSumExp(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/**
 * Fixed prior weights (as logs) for the rollback mixture: equal weights on the alternatives
 * margin·2^(j/perDoubling) for j = 1, 2, … up to margin·span (each on the grid point nearest
 * to it), none elsewhere. Fixed before any data, as validity requires. A bounded span keeps
 * mass off ratios nobody needs a sequential test to notice, and a few alternatives per
 * doubling put more mass near any effect worth detecting than the whole grid would (the
 * likelihood is smooth in log ψ, so a neighbour 26% away loses little). Without
 * `perDoubling`, every grid point in (margin, margin·span] carries weight.
 */
export function upperAlternativeLogWeights(grid: readonly number[], margin: number, span: number, perDoubling?: number): number[] {
  return alternativeLogWeights(grid, margin, span, perDoubling, 1);
}

/** Mirror of {@link upperAlternativeLogWeights}: alternatives allowed·2^(−j/perDoubling) down to allowed/span. */
export function lowerAlternativeLogWeights(grid: readonly number[], allowed: number, span: number, perDoubling?: number): number[] {
  return alternativeLogWeights(grid, allowed, span, perDoubling, -1);
}

function alternativeLogWeights(grid: readonly number[], from: number, span: number, perDoubling: number | undefined, sign: 1 | -1): number[] {
  const inSupport = (psi: number): boolean =>
    sign > 0 ? psi > from * (1 + 1e-12) && psi <= from * span * (1 + 1e-12) : psi < from * (1 - 1e-12) && psi >= (from / span) * (1 - 1e-12);
  const chosen = new Set<number>();
  if (perDoubling === undefined) {
    grid.forEach((psi, k) => inSupport(psi) && chosen.add(k));
  } else {
    const steps = Math.floor(perDoubling * Math.log2(span) + 1e-9);
    for (let j = 1; j <= steps; j++) {
      const target = from * 2 ** ((sign * j) / perDoubling);
      let best = -1;
      for (let k = 0; k < grid.length; k++) {
        if (inSupport(grid[k]) && (best < 0 || Math.abs(Math.log(grid[k] / target)) < Math.abs(Math.log(grid[best] / target)))) best = k;
      }
      if (best >= 0) chosen.add(best);
    }
  }
  return grid.map((_, k) => (chosen.has(k) ? -Math.log(chosen.size) : -Infinity));
}

/**
 * log of the mixture e-value against "ψ ≤ grid[j]": log Σ_{k>j} w_k exp(T_k − T_j).
 * Only alternatives above the null contribute, so the MLR argument in the module comment
 * applies to every term.
 */
export function logEValueUp(logLik: readonly number[], logWeights: readonly number[], j: number): number {
  return logSumRange(logLik, logWeights, j + 1, logLik.length) - logLik[j];
}

/** log of the mixture e-value against "ψ ≥ grid[j]": alternatives below only. */
export function logEValueDown(logLik: readonly number[], logWeights: readonly number[], j: number): number {
  return logSumRange(logLik, logWeights, 0, j) - logLik[j];
}

/** log Σ_{from ≤ k < to} exp(w_k + T_k), stable. */
function logSumRange(logLik: readonly number[], logWeights: readonly number[], from: number, to: number): number {
  let m = -Infinity;
  for (let k = from; k < to; k++) {
    const t = logWeights[k] + logLik[k];
    if (t > m) m = t;
  }
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let k = from; k < to; k++) s += Math.exp(logWeights[k] + logLik[k] - m);
  return m + Math.log(s);
}

/**
 * Index of the largest grid ratio whose null "ψ ≤ grid[j]" is rejected at level α, or -1.
 * The true ratio exceeds grid[j] with probability ≥ 1 − α simultaneously over all ticks:
 * if j ≥ j* (the true ratio's point) is rejected then T_j ≥ T_{j*} (otherwise concavity
 * puts every alternative above j below T_j and the e-value under Σw ≤ 1), and then
 * E(j*) ≥ E(j), so any such rejection is a rejection of the true null, which Ville bounds.
 */
export function lowerBoundIndex(logLik: readonly number[], logWeights: readonly number[], logThreshold: number): number {
  const n = logLik.length;
  let m = -Infinity;
  for (let k = 0; k < n; k++) m = Math.max(m, logWeights[k] + logLik[k]);
  if (m === -Infinity) return -1;
  // Suffix sums (in units of e^m) of w_k e^{T_k} make the scan O(grid) instead of O(grid²).
  let above = 0;
  for (let j = n - 1; j >= 0; j--) {
    if (above > 0 && Math.log(above) + m - logLik[j] >= logThreshold) return j;
    above += Math.exp(logWeights[j] + logLik[j] - m);
  }
  return -1;
}

/** Mirror of {@link lowerBoundIndex}: the smallest grid ratio whose null "ψ ≥ grid[j]" is rejected, or -1. */
export function upperBoundIndex(logLik: readonly number[], logWeights: readonly number[], logThreshold: number): number {
  const n = logLik.length;
  let m = -Infinity;
  for (let k = 0; k < n; k++) m = Math.max(m, logWeights[k] + logLik[k]);
  if (m === -Infinity) return -1;
  let below = 0;
  for (let j = 0; j < n; j++) {
    if (below > 0 && Math.log(below) + m - logLik[j] >= logThreshold) return j;
    below += Math.exp(logWeights[j] + logLik[j] - m);
  }
  return -1;
}

/** Index of the grid maximum of the log-likelihood (the first one on ties). */
export function argMax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

function xLogXOverY(a: number, b: number): number {
  return a === 0 ? 0 : a * Math.log(a / b);
}

/**
 * Running method-of-moments estimate of per-pod extra variance (JSON-serializable). Each
 * interval's excess is weighted by its length, so intervals of different lengths (the
 * reference's and the ticks') estimate one quantity: a pod's relative variance over τ
 * seconds is c/τ, with c in seconds, as for the version noise ν.
 */
export interface PodSpreadState {
  /** Σ over pods and intervals of ((x_p − n_p·p̂)² − n_p·p̂(1 − p̂))·τ: squared residuals beyond binomial. */
  readonly excess: number;
  /** Σ over pods and intervals of (n_p·p̂)²: the scale the excess grows with. */
  readonly scale: number;
  /** Σ of the excess's variance under binomial noise ((2μ² + μ)·τ² per pod), for {@link podNoiseFactor}. */
  readonly noise: number;
}

/**
 * The per-pod noise c (seconds: a pod's relative variance over τ seconds is c/τ),
 * discounted by one standard error of the excess under pure binomial noise: clean traffic
 * then yields c = 0 most of the time instead of a random positive value that would temper
 * (and slow down) the test for nothing.
 */
export function podNoiseFactor(state: PodSpreadState): number {
  if (state.scale <= 0) return 0;
  return Math.max(0, state.excess - Math.sqrt(state.noise)) / state.scale;
}

/**
 * Adds one version's interval of `seconds` to the per-pod spread estimate. The model: each
 * pod's error rate over τ seconds is the version's rate times a noise factor with variance
 * c/τ, so a pod with mean μ errors has variance μ + (c/τ)·μ². Pods are compared with their
 * own version's pooled rate in the same interval, so shared movements (incidents, load) and
 * the canary-versus-baseline difference cancel out. Pods of both versions contribute — the
 * baseline's from the reference window on; a version with one pod says nothing (its
 * residual is zero by construction).
 */
export function updatePodSpread(state: PodSpreadState, pods: readonly { readonly requests: number; readonly errors: number }[], seconds: number): PodSpreadState {
  let n = 0;
  let x = 0;
  let count = 0;
  for (const p of pods) {
    if (p.requests > 0) {
      n += p.requests;
      x += p.errors;
      count++;
    }
  }
  if (count < 2 || x === 0 || n === 0) return state;
  const rate = x / n;
  let excess = 0;
  let scale = 0;
  let noise = 0;
  for (const p of pods) {
    if (p.requests <= 0) continue;
    const mu = p.requests * rate;
    const r = p.errors - mu;
    // (1 − n_p/N) corrects for the pooled rate being fitted on the same pods.
    excess += (r * r - mu * (1 - rate) * (1 - p.requests / n)) * seconds;
    scale += mu * mu;
    noise += (2 * mu * mu + mu) * seconds * seconds;
  }
  return { excess: state.excess + excess, scale: state.scale + scale, noise: state.noise + noise };
}

/**
 * Dispersion of the canary's share of bad events implied by per-pod relative variance c
 * (over the tick: the estimate divided by the tick's seconds):
 * φ = 1 + c·((1 − θ)·μ_c + θ·μ_b), with μ the expected bad events per pod of each version
 * in the tick. (Var(X_c | n) for X_c, X_b overdispersed counts, to first order.)
 */
export function podDispersion(c: number, theta: number, canaryPerPod: number, baselinePerPod: number): number {
  return 1 + Math.max(0, c) * ((1 - theta) * canaryPerPod + theta * baselinePerPod);
}

/** Bernoulli relative entropy KL(p ‖ q) in nats. */
export function klBernoulli(p: number, q: number): number {
  return xLogXOverY(p, q) + xLogXOverY(1 - p, 1 - q);
}

/**
 * Chernoff lower confidence bound on a proportion: the smallest q with n·KL(k/n ‖ q) ≤
 * log(1/δ) below the observed fraction. P(bound > true p) ≤ δ for any n, and unlike the
 * raw fraction it stays small for tiny samples (1 bad request in 3 gives about 0.0003 at
 * δ = 0.001, not 0.33).
 */
export function proportionLowerBound(k: number, n: number, delta: number): number {
  if (n <= 0 || k <= 0) return 0;
  const p = Math.min(1, k / n);
  const budget = Math.log(1 / delta) / n;
  let lo = 0;
  let hi = p;
  // 45 halvings: far below any difference a limit comparison or a report can show.
  for (let i = 0; i < 45; i++) {
    const mid = (lo + hi) / 2;
    if (klBernoulli(p, mid) > budget) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Wilson score interval for a binomial proportion (used to report benchmark rates). */
export function wilsonInterval(k: number, n: number, z = 1.959963984540054): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  let x: number;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - lo) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  return x;
}

/**
 * Chi-square quantile with `df` degrees of freedom: exact for 1 (a squared normal) and 2
 * (an exponential) degrees of freedom, the Wilson–Hilferty cube-root approximation above
 * (within 0.5% of the exact value at the upper-tail levels used here).
 */
export function chiSquareQuantile(p: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`chiSquareQuantile: df must be > 0, got ${df}`);
  if (df === 1) return normalQuantile((1 + p) / 2) ** 2;
  if (df === 2) return -2 * Math.log(1 - p);
  const z = normalQuantile(p);
  const h = 2 / (9 * df);
  return df * Math.max(0, 1 - h + z * Math.sqrt(h)) ** 3;
}

/**
 * Chernoff confidence bounds on a Poisson rate per unit of exposure (events per request):
 * the rates λ whose Poisson(λ·exposure) deviation from k has KL divergence log(1/δ). Each
 * side fails with probability at most δ; counts may exceed the exposure (business KPIs).
 */
export function poissonRateBounds(k: number, exposure: number, delta: number): { lower: number; upper: number } {
  if (exposure <= 0) return { lower: 0, upper: Infinity };
  const budget = Math.log(1 / delta);
  // KL of Poisson(m) from Poisson(k): k·log(k/m) − k + m, increasing in |m − k| on each side.
  const kl = (m: number): number => (k > 0 ? k * Math.log(k / m) : 0) - k + m;
  let lower = 0;
  if (k > 0) {
    let lo = 0;
    let hi = k;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (kl(mid) > budget) lo = mid;
      else hi = mid;
    }
    lower = hi / exposure;
  }
  let lo = k;
  let hi = Math.max(1, k) * 2 + budget * 4;
  while (kl(hi) <= budget) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (kl(mid) > budget) hi = mid;
    else lo = mid;
  }
  return { lower, upper: lo / exposure };
}

/**
 * Log-likelihood of a version's own event count in a tick on a grid of rates base·g_k
 * (Poisson, constant term dropped): x·log(base·g) − n·base·g. The e-process built from it
 * tests the canary's rate against a fixed level — the baseline's pre-rollout rate — rather
 * than against the baseline's rate in the same tick.
 */
export function rateTickLogLikelihood(grid: readonly number[], base: number, events: number, requests: number): number[] {
  if (!(base > 0) || requests <= 0) return grid.map(() => 0);
  return grid.map((g) => (events > 0 ? events * Math.log(base * g) : 0) - requests * base * g);
}

/**
 * Grid of version-noise levels ν (seconds): the relative variance of a version's rate over
 * an interval of τ seconds is ν/τ — constant in ν whatever the interval, for noise that is
 * independent from one interval to the next at the scale measured. 0, then 0.002 s to about
 * 500 s in half-doublings.
 */
export const NOISE_GRID: readonly number[] = [0, ...Array.from({ length: 37 }, (_, k) => 0.002 * 2 ** (k / 2))];

/** Counts of one version over some seconds. */
export interface IntervalCounts {
  readonly events: number;
  readonly requests: number;
  readonly seconds: number;
}

/** Running estimate of one version's noise shared by all its pods (JSON-serializable). */
export interface NoiseState {
  /** Log-likelihood over {@link NOISE_GRID}. */
  readonly logLik: readonly number[];
  /** Pairs of consecutive windows seen. */
  readonly pairs: number;
  /** The previous complete window, the first of the next pair; absent after a gap. */
  readonly last?: IntervalCounts;
  /** The window being filled. */
  readonly open?: IntervalCounts;
}

/** A noise estimate with no data. */
export function emptyNoise(): NoiseState {
  return { logLik: NOISE_GRID.map(() => 0), pairs: 0 };
}

/**
 * Adds one interval of a version's counts. Intervals are gathered into windows of at least
 * `windowSeconds`; two consecutive windows form a pair whose difference of rates,
 * d = (y₂ − y₁)/p̄, is approximately Normal(0, 1/μ₁ + 1/μ₂ + ν/τ₁ + ν/τ₂) (counting noise plus
 * the version's shared swings), and the Gaussian log-likelihood of d is added on the ν grid.
 * Differences of neighbours cancel slow drifts (load cycles). Windows, not single ticks:
 * swings that last longer than a tick (or straddle two) make neighbouring ticks alike, and
 * tick-to-tick differences would miss them; what the tests need is the variance over tens
 * of seconds.
 */
export function updateNoise(state: NoiseState, events: number, requests: number, seconds: number, windowSeconds: number): NoiseState {
  if (requests <= 0 || !(seconds > 0)) return breakNoiseChain(state);
  const o = state.open;
  const open = { events: (o?.events ?? 0) + events, requests: (o?.requests ?? 0) + requests, seconds: (o?.seconds ?? 0) + seconds };
  if (open.seconds < windowSeconds - 1e-9) return { ...state, open };
  const prev = state.last;
  const closed = { logLik: state.logLik, pairs: state.pairs, last: open };
  if (!prev) return closed;
  const p = (prev.events + open.events) / (prev.requests + open.requests);
  if (!(p > 0)) return closed;
  const d = (open.events / open.requests - prev.events / prev.requests) / p;
  const b = 1 / (prev.requests * p) + 1 / (open.requests * p);
  const logLik = state.logLik.map((l, k) => {
    const v = b + NOISE_GRID[k] / prev.seconds + NOISE_GRID[k] / open.seconds;
    return l - 0.5 * (Math.log(v) + (d * d) / v);
  });
  return { logLik, pairs: state.pairs + 1, last: open };
}

/** Forgets the previous and the open window (the next interval starts a new chain). */
export function breakNoiseChain(state: NoiseState): NoiseState {
  return state.last || state.open ? { logLik: state.logLik, pairs: state.pairs } : state;
}

/** Maximum-likelihood noise level ν (grid resolution); 0 with no pairs. */
export function noiseEstimate(state: NoiseState): number {
  return state.pairs === 0 ? 0 : NOISE_GRID[argMax(state.logLik)];
}

/**
 * The noise level to temper with: the profile-likelihood upper confidence bound (the largest
 * ν within `slack` log-likelihood units of the maximum: 1.35 is a one-sided 95% bound), but
 * never more than max(`assumed`, the point estimate) — before the data say anything, the
 * bound is the whole grid and `assumed` stands in for it; once they do, the bound follows
 * them, down to about 0 for clean counting noise.
 */
export function noiseUpperBound(state: NoiseState, assumed: number, slack = 1.35): number {
  if (state.pairs === 0) return assumed;
  const best = Math.max(...state.logLik);
  let upper = 0;
  for (let k = 0; k < NOISE_GRID.length; k++) if (best - state.logLik[k] <= slack) upper = NOISE_GRID[k];
  return Math.min(upper, Math.max(assumed, noiseEstimate(state)));
}

/**
 * The heterogeneity statistic of ψ across blocks: twice the log-likelihood gained by letting
 * every block have its own ratio instead of one common ratio, each block's log-likelihood
 * maximised on the grid. With tempered log-likelihoods it is approximately χ² with
 * (blocks − 1) degrees of freedom when ψ is constant.
 */
export function heterogeneityStatistic(blocks: readonly (readonly number[])[]): number {
  if (blocks.length < 2) return 0;
  let separate = 0;
  const pooled = blocks[0].map(() => 0);
  for (const b of blocks) {
    let m = -Infinity;
    for (let k = 0; k < b.length; k++) {
      if (b[k] > m) m = b[k];
      pooled[k] += b[k];
    }
    separate += m;
  }
  return Math.max(0, 2 * (separate - Math.max(...pooled)));
}
