import { strict as assert } from "node:assert";
import {
  buildRatioGrid,
  dispersionFactor,
  DispersionOptions,
  DispersionState,
  klBernoulli,
  logEValueDown,
  logEValueUp,
  lowerAlternativeLogWeights,
  lowerBoundIndex,
  podDispersion,
  podNoiseFactor,
  proportionLowerBound,
  proportionUpperBound,
  shareTheta,
  tickLogLikelihood,
  updateDispersion,
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
  const opts: DispersionOptions = { enabled: true, prior: 1, priorBlocks: 3, minBlockVariance: 5, max: 20 };

  it("closes a block once its binomial variance reaches the minimum, with the Pearson statistic", () => {
    let s: DispersionState = { sumPearson: 0, blocks: 0, open: [] };
    // θ = 0.5 at ρ = 0.5, ψ̂ = 1: variance n/4 per tick; 10 events → 2.5, two ticks → 5.
    s = updateDispersion(s, { rho: 0.5, n: 10, x: 9 }, 1, opts);
    assert.deepEqual(s, { sumPearson: 0, blocks: 0, open: [{ rho: 0.5, n: 10, x: 9 }] });
    s = updateDispersion(s, { rho: 0.5, n: 10, x: 9 }, 1, opts);
    // X = 18, E = 10, V = 5 → (18 − 10)² / 5 = 12.8.
    assert.deepEqual(s, { sumPearson: 12.8, blocks: 1, open: [] });
    close(dispersionFactor(s, opts), (3 + 12.8) / 4);
  });

  it("per-pod spread: method-of-moments excess over binomial, discounted by one standard error", () => {
    // Two pods, 100 requests each, 10 and 0 errors: pooled rate 5%, μ = 5 per pod.
    // Each residual² 25 minus the binomial part 5·0.95·(1 − 100/200) = 2.375 → excess 45.25;
    // scale Σμ² = 50; noise Σ(2μ² + μ) = 110.
    const s = updatePodSpread({ excess: 0, scale: 0, noise: 0 }, [
      { requests: 100, errors: 10 },
      { requests: 100, errors: 0 },
    ]);
    assert.deepEqual(s, { excess: 45.25, scale: 50, noise: 110 });
    close(podNoiseFactor(s), (45.25 - Math.sqrt(110)) / 50);
    // One pod, or no errors at all, says nothing about the spread between pods.
    assert.deepEqual(updatePodSpread(s, [{ requests: 100, errors: 7 }]), s);
    assert.deepEqual(updatePodSpread(s, [{ requests: 100, errors: 0 }, { requests: 50, errors: 0 }]), s);
    // Identical pods: negative excess, c clipped to 0.
    assert.equal(podNoiseFactor(updatePodSpread({ excess: 0, scale: 0, noise: 0 }, [{ requests: 100, errors: 5 }, { requests: 100, errors: 5 }])), 0);
    // φ = 1 + c·((1 − θ)·μ_c + θ·μ_b)
    close(podDispersion(0.5, 0.1, 2, 4), 1 + 0.5 * (0.9 * 2 + 0.1 * 4));
  });

  it("is at least 1, at most max, and exactly 1 when disabled", () => {
    assert.equal(dispersionFactor({ sumPearson: 0, blocks: 10, open: [] }, opts), 1);
    assert.equal(dispersionFactor({ sumPearson: 1e6, blocks: 1, open: [] }, opts), 20);
    assert.equal(dispersionFactor({ sumPearson: 1e6, blocks: 1, open: [] }, { ...opts, enabled: false }), 1);
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
    const table: [number, number, number, number, number][] = [
      // k, n, δ, lower, upper  (n·KL = log 1/δ, solved independently by bisection in mpmath)
      [0, 100, 0.001, 0, 0.0667456992030089],
      [125, 250, 0.001, 0.384065925377602, 0.615934074622398],
      [2, 52, 0.001, 0.000461535793493426, 0.218792446563106],
    ];
    for (const [k, n, d, lo, hi] of table) {
      close(proportionLowerBound(k, n, d), lo, 1e-9);
      close(proportionUpperBound(k, n, d), hi, 1e-9);
    }
    assert.equal(proportionLowerBound(0, 0, 0.01), 0);
    assert.equal(proportionUpperBound(5, 5, 0.01), 1);
  });

  it("Wilson interval for 0 of 50 is [0, z²/(n+z²)]", () => {
    const w = wilsonInterval(0, 50);
    close(w.low, 0, 1e-12);
    const z2 = 1.959963984540054 ** 2;
    close(w.high, z2 / (50 + z2), 1e-12);
  });
});
