import { strict as assert } from "node:assert";
import { ArgoLike, BenchJudge, BenchStep, FlaggerLike, histogramQuantile, KayentaLike, mannWhitneyShift } from "../../../bench/judge/judges";
import { TickMeasurement, VersionCounts } from "../../../automation/analysis/types";

// The benchmark's baselines must behave as documented, or the comparison means nothing.

const lat = (total: number): VersionCounts["latencyBuckets"] => [
  { le: 0.1, count: total },
  { le: Infinity, count: total },
];
const tick = (end: number, canary: VersionCounts, baseline: VersionCounts = { requests: 4750, errors: 47, latencyBuckets: lat(4750) }): TickMeasurement => ({
  kind: "ok",
  start: end - 5,
  end,
  canary,
  baseline,
});
const STEP: BenchStep = { index: 0, startedAt: 0, weight: 5, minDurationSeconds: 60, maxDurationSeconds: 600, warmupSeconds: 0 };
/** When the judge first rolls back, from a fresh start; a promote passes the step and the next one starts at once (same weight). */
const decisions = (judge: BenchJudge, ticks: TickMeasurement[]): number | undefined => {
  judge.start(undefined, STEP);
  let index = 0;
  for (const m of ticks) {
    const d = judge.tick(m);
    if (d === "rollback") return m.end;
    if (d === "promote") judge.stepChanged({ ...STEP, index: ++index, startedAt: m.end });
  }
  return undefined;
};
/** The decisions at every tick, from a fresh start, without applying promotions. */
const every = (judge: BenchJudge, ticks: TickMeasurement[]): string[] => {
  judge.start(undefined, STEP);
  return ticks.map((m) => judge.tick(m));
};

describe("bench baselines", () => {
  it("histogram_quantile interpolates within the bucket, like Prometheus", () => {
    const b = [
      { le: 0.1, count: 50 },
      { le: 0.5, count: 90 },
      { le: 1, count: 100 },
      { le: Infinity, count: 100 },
    ];
    assert.equal(histogramQuantile(0.5, b), 0.1);
    assert.equal(histogramQuantile(0.95, b), 0.75);
    // A quantile in the +Inf bucket is the last finite upper bound.
    assert.equal(histogramQuantile(0.99, [{ le: 1, count: 98 }, { le: Infinity, count: 100 }]), 1);
    assert.ok(Number.isNaN(histogramQuantile(0.5, [{ le: Infinity, count: 0 }])));
  });

  it("Hodges–Lehmann shift estimate is the median pairwise difference", () => {
    assert.equal(mannWhitneyShift([1, 2, 3], [0, 0, 0], 0.98).estimate, 2);
    const r = mannWhitneyShift([10, 11, 12, 13, 14, 15, 16, 17], [0, 1, 2, 3, 4, 5, 6, 7], 0.98);
    assert.equal(r.estimate, 10);
    assert.ok(r.lower > 0 && r.upper >= r.lower);
  });

  it("matches a brute-force sort of all pairwise differences", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const x = Array.from({ length: 40 }, () => Math.floor(rand() * 50) / 10);
    const y = Array.from({ length: 35 }, () => Math.floor(rand() * 40) / 10);
    const diffs = x.flatMap((a) => y.map((b) => a - b)).sort((a, b) => a - b);
    const n = diffs.length; // 1400
    const sd = Math.sqrt((40 * 35 * 76) / 12);
    const z = 2.3263478740408408; // 98% two-sided
    const r = mannWhitneyShift(x, y, 0.98);
    const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);
    near(r.estimate, (diffs[n / 2 - 1] + diffs[n / 2]) / 2);
    near(r.lower, diffs[Math.floor(n / 2 - z * sd) - 1]);
    near(r.upper, diffs[Math.ceil(n / 2 + z * sd) - 1]);
  });

  it("Flagger-like: failed checks (no data included) accumulate to the threshold of 5", () => {
    const bad = { requests: 250, errors: 25, latencyBuckets: lat(250) };
    const ticks = Array.from({ length: 120 }, (_, i) => tick(5 * (i + 1), bad));
    assert.equal(decisions(new FlaggerLike(), ticks), 300);
    const noTraffic = Array.from({ length: 120 }, (_, i) => tick(5 * (i + 1), { requests: 0, errors: 0, latencyBuckets: lat(0) }));
    assert.equal(decisions(new FlaggerLike(), noTraffic), 300);
  });

  it("Flagger-like: a passing check advances the weight (a step lasts one interval when healthy)", () => {
    const good = { requests: 250, errors: 1, latencyBuckets: lat(250) };
    const d = every(new FlaggerLike(), Array.from({ length: 13 }, (_, i) => tick(5 * (i + 1), good)));
    assert.deepEqual([d.indexOf("promote"), d.filter((x) => x === "promote").length], [11, 1]);
  });

  it("Argo-like: each step is a pause of its minimum duration, promoted then unless the analysis failed", () => {
    const good = { requests: 250, errors: 1, latencyBuckets: lat(250) };
    const d = every(new ArgoLike(), Array.from({ length: 13 }, (_, i) => tick(5 * (i + 1), good)));
    assert.deepEqual(d.slice(10), ["continue", "promote", "promote"]);
  });

  it("Argo-like: the first failed measurement fails the run (failureLimit 0); query errors need 5 in a row", () => {
    const bad = { requests: 250, errors: 25, latencyBuckets: lat(250) };
    assert.equal(decisions(new ArgoLike(), Array.from({ length: 24 }, (_, i) => tick(5 * (i + 1), bad))), 60);
    const failing: TickMeasurement[] = Array.from({ length: 120 }, (_, i) => ({ kind: "queryFailed", end: 5 * (i + 1), error: "x" }));
    assert.equal(decisions(new ArgoLike(), failing), 300);
  });

  it("Kayenta-like: a clearly higher canary series is High at the next interval", () => {
    const ticks = Array.from({ length: 24 }, (_, i) => tick(5 * (i + 1), { requests: 250, errors: 10 + (i % 3), latencyBuckets: lat(250) }, { requests: 4750, errors: 40 + (i % 5), latencyBuckets: lat(4750) }));
    assert.equal(decisions(new KayentaLike(), ticks), 60);
    const same = Array.from({ length: 24 }, (_, i) => tick(5 * (i + 1), { requests: 250, errors: 2 + (i % 2), latencyBuckets: lat(250) }, { requests: 5000, errors: 40 + 20 * (i % 2), latencyBuckets: lat(5000) }));
    assert.equal(decisions(new KayentaLike(), same), undefined);
  });
});
