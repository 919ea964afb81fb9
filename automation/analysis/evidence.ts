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
 * Overdispersion. Real error counts are burstier than Poisson (one bad pod, retries, a
 * noisy minute), so the conditional binomial is too optimistic and a plain likelihood ratio
 * drifts upward on a healthy canary. We temper each tick's log-likelihood by 1/φ_t, where
 * φ_t ≥ 1 is a dispersion factor estimated only from ticks before t (predictable):
 *  - under clean binomial noise, tempering cannot break validity: for any predictable
 *    φ ≥ 1, E[LR^(1/φ)] ≤ E[LR]^(1/φ) ≤ 1 by Jensen, so the product is still a
 *    supermartingale — the only cost is power;
 *  - under overdispersion with variance φ·nθ(1−θ) (quasi-likelihood), the log-LR of a tick is
 *    approximately Normal(−μ, 2μφ); then E[exp(logLR/φ)] = exp(−μ/φ + μ/φ) = 1, so the
 *    tempered product is approximately a martingale again. For clustered errors with a
 *    constant cluster size c and φ = c the tempered LR is exactly the LR of the cluster
 *    counts. Outside these cases it is an approximation, which the benchmark measures.
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
 * Fixed prior weights (as logs) for the rollback mixture: uniform over the grid points in
 * (margin, margin·span], none elsewhere. Fixed before any data, as validity requires; a
 * bounded span keeps mass off ratios nobody needs a sequential test to notice.
 */
export function upperAlternativeLogWeights(grid: readonly number[], margin: number, span: number): number[] {
  const inSupport = grid.map((psi) => psi > margin * (1 + 1e-12) && psi <= margin * span * (1 + 1e-12));
  const count = inSupport.filter(Boolean).length;
  return inSupport.map((x) => (x && count > 0 ? -Math.log(count) : -Infinity));
}

/** Mirror of {@link upperAlternativeLogWeights}: uniform over [allowed/span, allowed). */
export function lowerAlternativeLogWeights(grid: readonly number[], allowed: number, span: number): number[] {
  const inSupport = grid.map((psi) => psi < allowed * (1 - 1e-12) && psi >= (allowed / span) * (1 - 1e-12));
  const count = inSupport.filter(Boolean).length;
  return inSupport.map((x) => (x && count > 0 ? -Math.log(count) : -Infinity));
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

/** Settings of the overdispersion estimate. */
export interface DispersionOptions {
  /** Estimate and apply φ at all. Defaults to true; false means clean binomial noise is assumed. */
  readonly enabled: boolean;
  /** φ assumed before data, and its weight in blocks. */
  readonly prior: number;
  readonly priorBlocks: number;
  /** A block closes once its binomial variance reaches this, so each residual is roughly Normal. */
  readonly minBlockVariance: number;
  /** Upper limit on φ, so one freak block cannot switch the test off. */
  readonly max: number;
  /** Also use the per-pod spread (see {@link updatePodSpread}). */
  readonly usePodSpread?: boolean;
}

/** One tick kept in the open dispersion block. */
export interface BlockTick {
  readonly rho: number;
  readonly n: number;
  readonly x: number;
}

/** Running overdispersion estimate (JSON-serializable). */
export interface DispersionState {
  /** Sum of closed blocks' Pearson statistics (X − E)² / V. */
  readonly sumPearson: number;
  readonly blocks: number;
  /** Ticks of the block not yet closed. */
  readonly open: readonly BlockTick[];
}

/** The dispersion factor φ ≥ 1 to temper the next tick with. */
export function dispersionFactor(state: DispersionState, options: DispersionOptions): number {
  if (!options.enabled) return 1;
  const phi = (options.prior * options.priorBlocks + state.sumPearson) / (options.priorBlocks + state.blocks);
  return Math.min(options.max, Math.max(1, phi));
}

/**
 * Adds a tick to the open block and closes the block once it carries enough variance.
 * Residuals use the current estimate of ψ (including this tick): a fixed ratio, however
 * far from 1, is absorbed by the fit and does not count as noise. The resulting φ is only
 * used for LATER ticks, so the tempering stays predictable.
 */
export function updateDispersion(state: DispersionState, tick: BlockTick, psiHat: number, options: DispersionOptions): DispersionState {
  if (!options.enabled || tick.n === 0 || !(tick.rho > 0 && tick.rho < 1)) return state;
  const open = [...state.open, tick];
  let x = 0;
  let e = 0;
  let v = 0;
  for (const t of open) {
    const th = shareTheta(t.rho, psiHat);
    x += t.x;
    e += t.n * th;
    v += t.n * th * (1 - th);
  }
  if (v < options.minBlockVariance) return { ...state, open };
  return { sumPearson: state.sumPearson + ((x - e) * (x - e)) / v, blocks: state.blocks + 1, open: [] };
}

function xLogXOverY(a: number, b: number): number {
  return a === 0 ? 0 : a * Math.log(a / b);
}

/** Running method-of-moments estimate of per-pod extra variance (JSON-serializable). */
export interface PodSpreadState {
  /** Σ over pods and ticks of (x_p − n_p·p̂)² − n_p·p̂(1 − p̂): squared residuals beyond binomial. */
  readonly excess: number;
  /** Σ over pods and ticks of (n_p·p̂)²: the scale the excess grows with. */
  readonly scale: number;
  /** Σ of the excess's variance under binomial noise (2μ² + μ per pod), for {@link podNoiseFactor}. */
  readonly noise: number;
}

/**
 * The per-pod noise factor c, discounted by one standard error of the excess under pure
 * binomial noise: clean traffic then yields c = 0 most of the time instead of a random
 * positive value that would temper (and slow down) the test for nothing.
 */
export function podNoiseFactor(state: PodSpreadState): number {
  if (state.scale <= 0) return 0;
  return Math.max(0, state.excess - Math.sqrt(state.noise)) / state.scale;
}

/**
 * Adds one version's tick to the per-pod spread estimate. The model: each pod's error rate
 * in a tick is the version's rate times a noise factor with variance c, so a pod with mean
 * μ errors has variance μ + c·μ². Pods are compared with their own version's pooled rate
 * in the same tick, so shared movements (incidents, load) and the canary-versus-baseline
 * difference cancel out. Pods of both versions contribute; a version with one pod says
 * nothing (its residual is zero by construction).
 */
export function updatePodSpread(state: PodSpreadState, pods: readonly { readonly requests: number; readonly errors: number }[]): PodSpreadState {
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
    excess += r * r - mu * (1 - rate) * (1 - p.requests / n);
    scale += mu * mu;
    noise += 2 * mu * mu + mu;
  }
  return { excess: state.excess + excess, scale: state.scale + scale, noise: state.noise + noise };
}

/**
 * Dispersion of the canary's share of bad events implied by per-pod noise c:
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

/** Mirror of {@link proportionLowerBound}: P(bound < true p) ≤ δ. */
export function proportionUpperBound(k: number, n: number, delta: number): number {
  if (n <= 0) return 1;
  if (k >= n) return 1;
  return 1 - proportionLowerBound(n - k, n, delta);
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
