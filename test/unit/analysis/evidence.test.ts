import { strict as assert } from "node:assert";
import {
  breakNoiseChain,
  buildRatioGrid,
  chiSquareQuantile,
  emptyNoise,
  heterogeneityStatistic,
  klBernoulli,
  logEValueDown,
  logEValueUp,
  lowerAlternativeLogWeights,
  lowerBoundIndex,
  NOISE_GRID,
  noiseEstimate,
  noiseUpperBound,
  normalQuantile,
  podDispersion,
  podNoiseFactor,
  proportionLowerBound,
  poissonRateBounds,
  rateTickLogLikelihood,
  shareTheta,
  tickLogLikelihood,
  updateNoise,
  updatePodSpread,
  upperAlternativeLogWeights,
  upperBoundIndex,
  wilsonInterval,
} from "../../../automation/analysis/evidence";

const close = (actual: number, expected: number, tol = 1e-12): void =>
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} ≠ ${expected}`);

describe("evidence: conditional-binomial model", () => {
  it("θ(ψ) is the canary's expected share of bad events", () => {
    const table: [number, number, number][] = [
      [0.05, 1, 0.05],
      [0.05, 2, 0.1 / 1.05],
      [0.5, 3, 0.75],
      [0.2, 0.5, 0.1 / 0.9],
    ];
    for (const [rho, psi, theta] of table) close(shareTheta(rho, psi), theta);
  });

  it("tick log-likelihood matches the binomial formula (coefficient dropped)", () => {
    // Canary 3 of 10 bad events, request share 0.2: θ(1) = 0.2, θ(2) = 1/3.
    const ll = tickLogLikelihood([1, 2], 3, 7, 0.2);
    close(ll[0], 3 * Math.log(0.2) + 7 * Math.log(0.8));
    close(ll[0], -6.390318596501769);
    close(ll[1], -6.13409262276148);
    assert.deepEqual(tickLogLikelihood([1, 2], 0, 0, 0.2), [0, 0]);
    assert.deepEqual(tickLogLikelihood([1, 2], 3, 7, 1), [0, 0]);
  });

  it("mixture e-value of a known two-tick sequence equals the hand-computed product", () => {
    // Ticks (canary, baseline bad events, canary request share): (3, 7, 0.2), (5, 5, 0.25).
    // E = ½·Π LR(2) + ½·Π LR(4) against ψ0 = 1; LR(2) = 4.43943…, LR(4) = 2.21258… (mpmath).
    const grid = [1, 2, 4];
    const t1 = tickLogLikelihood(grid, 3, 7, 0.2);
    const t2 = tickLogLikelihood(grid, 5, 5, 0.25);
    const T = grid.map((_, k) => t1[k] + t2[k]);
    const w = upperAlternativeLogWeights(grid, 1, 4);
    assert.deepEqual(w.map(Math.exp), [0, 0.5, 0.5]);
    // One alternative per doubling: 2 and 4 (each the grid point nearest to 1·2^j).
    assert.deepEqual(upperAlternativeLogWeights(buildRatioGrid({ include: [1] }), 1, 4, 1).map(Math.exp).filter((w) => w > 0), [0.5, 0.5]);
    const g = buildRatioGrid({ include: [1, 1.5] });
    const chosen = (w: number[]): number[] => g.filter((_, k) => w[k] > -Infinity);
    close(chosen(upperAlternativeLogWeights(g, 1, 4, 3)).length, 6);
    chosen(upperAlternativeLogWeights(g, 1, 4, 3)).forEach((psi, j) => close(psi, 2 ** ((j + 1) / 3)));
    // Below 1.5: 1.5·2^(−j/3) snapped to the grid (6 per doubling): 2^(1/3), 2^(−1/6), 2^(−1/2), 2^(−5/6), 2^(−7/6), 2^(−4/3)… nearest points.
    const below = chosen(lowerAlternativeLogWeights(g, 1.5, 4, 3));
    assert.equal(below.length, 6);
    below.forEach((psi, j) => assert.ok(Math.abs(Math.log(psi / (1.5 * 2 ** (-(6 - j) / 3)))) <= Math.log(2) / 12 + 1e-12, `${psi}`));
    close(Math.exp(T[1] - T[0]), 4.439431658453149, 1e-12);
    close(Math.exp(T[2] - T[0]), 2.2125832341508973, 1e-12);
    close(Math.exp(logEValueUp(T, w, 0)), 3.326007446302023, 1e-12);
  });

  it("bounds: rejecting ψ ≤ grid[j] and the e-value at the margin are the same event", () => {
    const grid = buildRatioGrid({ include: [1, 1.5] });
    const up = upperAlternativeLogWeights(grid, 1, 8);
    const down = lowerAlternativeLogWeights(grid, 1.5, 8);
    // 20 ticks of a canary at twice the baseline rate: 5 of 52 bad events at a 5% share.
    const one = tickLogLikelihood(grid, 5, 47, 0.05);
    const T = one.map((x) => 20 * x);
    const logThr = Math.log(100);
    const lo = lowerBoundIndex(T, up, logThr);
    const iOne = grid.indexOf(1);
    assert.ok(lo > iOne, "lower bound above 1");
    assert.ok(logEValueUp(T, up, iOne) >= logThr);
    // Every null at or below the bound is rejected, the next one up is not.
    for (let j = 0; j <= lo; j++) assert.ok(logEValueUp(T, up, j) >= logThr, `j=${j}`);
    assert.ok(logEValueUp(T, up, lo + 1) < logThr);
    close(grid[lo], 2 ** (2 / 6));
    // The upper bound (promotion side) uses alternatives below 1.5 only: it still excludes
    // ratios far above the data, and every null above it is rejected too.
    const hi = upperBoundIndex(T, down, Math.log(20));
    assert.ok(grid[hi] > 2, String(grid[hi]));
    for (let j = hi; j < grid.length; j++) assert.ok(logEValueDown(T, down, j) >= Math.log(20), `j=${j}`);
    assert.ok(logEValueDown(T, down, hi - 1) < Math.log(20));
    assert.ok(logEValueDown(T, down, grid.indexOf(1.5)) < Math.log(20), "cannot promote a 2× canary");
  });

  it("grid includes the exact ratios tests are against", () => {
    const g = buildRatioGrid({ minRatio: 0.5, maxRatio: 2, pointsPerDoubling: 2, include: [1.5, 1.4142] });
    // 2^(k/2) for k = -2..2, with 1.4142 replacing √2 (within 0.1%) and 1.5 added.
    assert.deepEqual(g, [0.5, 2 ** -0.5, 1, 1.4142, 1.5, 2]);
  });
});

describe("evidence: overdispersion estimate", () => {
  it("per-pod spread: method-of-moments excess over binomial, discounted by one standard error, in seconds", () => {
    // Two pods, 100 requests each in 5 s, 10 and 0 errors: pooled rate 5%, μ = 5 per pod.
    // Each residual² 25 minus the binomial part 5·0.95·(1 − 100/200) = 2.375 → excess 45.25 (×5 s);
    // scale Σμ² = 50; noise Σ(2μ² + μ) = 110 (×25 s²).
    const s = updatePodSpread({ excess: 0, scale: 0, noise: 0 }, [
      { requests: 100, errors: 10 },
      { requests: 100, errors: 0 },
    ], 5);
    assert.deepEqual(s, { excess: 45.25 * 5, scale: 50, noise: 110 * 25 });
    close(podNoiseFactor(s), (5 * (45.25 - Math.sqrt(110))) / 50);
    // One pod, or no errors at all, says nothing about the spread between pods.
    assert.deepEqual(updatePodSpread(s, [{ requests: 100, errors: 7 }], 5), s);
    assert.deepEqual(updatePodSpread(s, [{ requests: 100, errors: 0 }, { requests: 50, errors: 0 }], 5), s);
    // Identical pods: negative excess, c clipped to 0.
    assert.equal(podNoiseFactor(updatePodSpread({ excess: 0, scale: 0, noise: 0 }, [{ requests: 100, errors: 5 }, { requests: 100, errors: 5 }], 5)), 0);
    // φ = 1 + c·((1 − θ)·μ_c + θ·μ_b)
    close(podDispersion(0.5, 0.1, 2, 4), 1 + 0.5 * (0.9 * 2 + 0.1 * 4));
  });

  it("version noise: windows of at least windowSeconds, a Gaussian likelihood per pair of windows", () => {
    let s = emptyNoise();
    // Two 15 s intervals make one 30 s window: no pair yet.
    s = updateNoise(s, 4, 500, 15, 30);
    assert.deepEqual(s.open, { events: 4, requests: 500, seconds: 15 });
    s = updateNoise(s, 6, 500, 15, 30);
    assert.deepEqual([s.pairs, s.last, s.open], [0, { events: 10, requests: 1000, seconds: 30 }, undefined]);
    s = updateNoise(s, 20, 1000, 30, 30);
    // d = (0.02 − 0.01)/0.015 = 2/3, counting variance b = 2/(1000·0.015); independent values (mpmath):
    assert.equal(s.pairs, 1);
    close(s.logLik[0], -0.659215156395534, 1e-12);
    close(s.logLik[1], -0.658049904897074, 1e-12);
    close(s.logLik[11], -0.623284903361912, 1e-12);
    assert.equal(NOISE_GRID[11], 0.002 * 2 ** 5);
    // A gap (an excluded tick, a new step) breaks the chain: the next window does not pair with the last.
    const broken = breakNoiseChain(s);
    assert.deepEqual([broken.last, broken.open, broken.pairs], [undefined, undefined, 1]);
    assert.deepEqual(updateNoise(broken, 5, 1000, 30, 30).pairs, 1);
    // No requests: a gap too.
    assert.equal(updateNoise(s, 0, 0, 30, 30).last, undefined);
  });

  it("version noise bounds: the assumption stands in until the data bound it, then the data decide", () => {
    const assumed = 3;
    assert.equal(noiseUpperBound(emptyNoise(), assumed), assumed);
    // A log-likelihood peaked at grid index 10 with a known shape.
    const peaked = { logLik: NOISE_GRID.map((_, k) => -0.5 * (k - 10) ** 2), pairs: 40 };
    assert.equal(noiseEstimate(peaked), NOISE_GRID[10]);
    // Within 1.35 units of the maximum: |k − 10| ≤ 1.64 → indexes 9..11 (a one-sided 95% bound).
    assert.equal(noiseUpperBound(peaked, 100), NOISE_GRID[11]);
    // The upper bound never exceeds max(assumed, estimate): a wide bound does not switch the test off.
    const flat = { logLik: NOISE_GRID.map((_, k) => (k === 10 ? 0 : -0.1)), pairs: 1 };
    assert.equal(noiseUpperBound(flat, assumed), assumed);
    assert.equal(noiseUpperBound(flat, 0.001), NOISE_GRID[10]);
  });
});

describe("evidence: quantiles, rate bounds, heterogeneity", () => {
  it("normal quantile matches scipy.stats.norm.ppf", () => {
    const table: [number, number][] = [
      [0.001, -3.090232306167813],
      [0.05, -1.6448536269514729],
      [0.5, 0],
      [0.9, 1.2815515655446004],
      [0.999, 3.090232306167813],
    ];
    for (const [p, z] of table) close(normalQuantile(p), z, 1e-8);
    assert.throws(() => normalQuantile(1), { name: "RangeError", message: "normalQuantile: p must be in (0, 1), got 1" });
  });

  it("χ² quantile: exact at 1 and 2 degrees of freedom, within 0.5% of scipy.stats.chi2.ppf above", () => {
    close(chiSquareQuantile(0.99, 1), 6.6348966010212145, 1e-8);
    close(chiSquareQuantile(0.99, 2), 9.21034037197618, 1e-12);
    const table: [number, number][] = [
      [3, 11.344866730144373],
      [5, 15.08627246938899],
      [10, 23.209251158954356],
      [40, 63.690739751564465],
    ];
    for (const [df, q] of table) close(chiSquareQuantile(0.99, df), q, 0.005);
  });

  it("Poisson rate bounds solve k·log(k/m) − k + m = log(1/δ) on each side (mpmath)", () => {
    const b = poissonRateBounds(30, 1000, 0.001);
    close(b.lower, 0.0139619874330233, 1e-9);
    close(b.upper, 0.0552015824334749, 1e-9);
    // No events: the lower bound is 0 and the upper one solves m = log(1/δ).
    const z = poissonRateBounds(0, 1000, 0.001);
    assert.equal(z.lower, 0);
    close(z.upper, Math.log(1000) / 1000, 1e-9);
    assert.deepEqual(poissonRateBounds(3, 0, 0.001), { lower: 0, upper: Infinity });
  });

  it("canary-rate likelihood: Poisson in the rate level × g", () => {
    const ll = rateTickLogLikelihood([0.5, 1, 2], 0.01, 3, 200);
    close(ll[0], 3 * Math.log(0.005) - 200 * 0.005);
    close(ll[1], 3 * Math.log(0.01) - 200 * 0.01);
    close(ll[2], 3 * Math.log(0.02) - 200 * 0.02);
    assert.deepEqual(rateTickLogLikelihood([0.5, 1], 0.01, 0, 100), [-0.5, -1]);
    assert.deepEqual(rateTickLogLikelihood([0.5, 1], 0.01, 3, 0), [0, 0]);
  });

  it("heterogeneity: twice the gain of separate grid maxima over the pooled one", () => {
    const grid = buildRatioGrid({ include: [1] });
    // Two windows at a 5% share: one with the canary at 2× its share, one at 0.25×.
    const a = tickLogLikelihood(grid, 20, 180, 0.05);
    const b = tickLogLikelihood(grid, 3, 237, 0.05);
    const max = (xs: readonly number[]): number => Math.max(...xs);
    const expected = 2 * (max(a) + max(b) - max(a.map((x, k) => x + b[k])));
    close(heterogeneityStatistic([a, b]), expected);
    assert.ok(expected > chiSquareQuantile(0.99, 1), String(expected));
    // The same window twice: no heterogeneity.
    close(heterogeneityStatistic([a, a]), 0, 1e-9);
    assert.equal(heterogeneityStatistic([a]), 0);
  });
});

describe("evidence: proportion bounds", () => {
  it("one bad request in three is not 33%", () => {
    const lb = proportionLowerBound(1, 3, 0.001);
    assert.ok(lb < 0.001, String(lb));
    // The bound is where n·KL(p̂ ‖ q) reaches log(1/δ).
    close(3 * klBernoulli(1 / 3, lb), Math.log(1000), 1e-9);
  });

  it("table", () => {
    const table: [number, number, number, number][] = [
      // k, n, δ, lower  (n·KL = log 1/δ, solved independently by bisection in mpmath)
      [0, 100, 0.001, 0],
      [125, 250, 0.001, 0.384065925377602],
      [2, 52, 0.001, 0.000461535793493426],
    ];
    for (const [k, n, d, lo] of table) close(proportionLowerBound(k, n, d), lo, 1e-9);
    assert.equal(proportionLowerBound(0, 0, 0.01), 0);
  });

  it("Wilson interval for 0 of 50 is [0, z²/(n+z²)]", () => {
    const w = wilsonInterval(0, 50);
    close(w.low, 0, 1e-12);
    const z2 = 1.959963984540054 ** 2;
    close(w.high, z2 / (50 + z2), 1e-12);
  });
});
