/**
 * The judges the benchmark compares, behind one small interface: ours, and three
 * baselines implemented after their documented behaviour.
 *
 *  - Flagger-like: every `interval` (default 1m) each metric is checked on the canary
 *    alone over the last interval (request-success-rate ≥ min, request-duration p99 ≤
 *    max via histogram_quantile); a passing check advances the weight, a failed one —
 *    including "no values" — holds it and increments failedChecks, which is not reset by
 *    later successes; rollback at `threshold` (5).
 *  - Argo-like: each step a `pause` of the step's minimum duration after `setWeight`; an
 *    AnalysisRun measuring every `interval` (1m) from the rollout's start with a
 *    successCondition on canary-only rates; failureLimit (default 0: the first failed
 *    measurement fails the run), consecutiveErrorLimit (default 4: a run of query errors
 *    beyond it fails too).
 *  - Kayenta-like: every `interval` (1m) compares the canary's and baseline's per-tick
 *    series over the whole run with NetflixACAJudge's Mann–Whitney classifier at 98%
 *    confidence (High when the Hodges–Lehmann confidence interval's lower end exceeds
 *    25% of the estimate); any High metric scores 50 < 75 (marginal) and fails; a passing
 *    score at least one interval into the step passes it.
 *
 * Thresholds for the canary-only checks are what an operator would pick for this
 * service: success ≥ 98% (twice the 1% baseline error rate) and p99 ≤ 500 ms (the
 * documented example; the baseline's p99 is ≈ 320 ms).
 */
import { Judge, JudgeConfigInput, JudgeState, StepWindow } from "../../automation/analysis/judge";
import { LatencyBucket, ReferenceWindow, TickMeasurement, VersionCounts } from "../../automation/analysis/types";
import { SLO_BUCKET } from "./simulator";

/** A rollout step as the benchmark's rollout runs it. */
export interface BenchStep {
  readonly index: number;
  /** When the step's weight took effect (seconds since the rollout started). */
  readonly startedAt: number;
  readonly weight: number;
  readonly minDurationSeconds: number;
  readonly maxDurationSeconds: number;
  readonly warmupSeconds: number;
}

/** What a judge answers at a tick. */
export type BenchDecision = "continue" | "promote" | "rollback" | "inconclusive";

/**
 * A judge as the benchmark drives it, the way automation/driver.ts drives ours: a
 * pre-flight reference, then one call per tick; "promote" passes the step (the runner
 * applies the next weight and calls {@link BenchJudge.stepChanged}).
 */
export interface BenchJudge {
  readonly name: string;
  /** A new run: the baseline's pre-rollout window (when read) and the first step. */
  start(reference: ReferenceWindow | undefined, step: BenchStep): void;
  /** The next step's weight took effect. */
  stepChanged(step: BenchStep): void;
  /** Consumes a tick; returns the decision. */
  tick(m: TickMeasurement): BenchDecision;
}

/** Prometheus's histogram_quantile over cumulative buckets (linear interpolation within a bucket). */
export function histogramQuantile(q: number, buckets: readonly LatencyBucket[]): number {
  const total = buckets.find((b) => b.le === Infinity)?.count ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1e-12, b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

function addCounts(a: VersionCounts | undefined, b: VersionCounts): VersionCounts {
  if (!a) return b;
  return {
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    latencyBuckets: (b.latencyBuckets ?? []).map((x, i) => ({ le: x.le, count: x.count + (a.latencyBuckets?.[i]?.count ?? 0) })),
  };
}

/** Counts accumulated since the last check, and whether the query at check time worked. */
class IntervalWindow {
  private acc: VersionCounts | undefined;
  /** When the next check is due (seconds since the rollout started). */
  nextCheck = 0;
  constructor(private readonly interval: number) {}
  /** Starts over: the next check one interval after `at`, nothing accumulated. */
  restart(at: number): void {
    this.acc = undefined;
    this.nextCheck = at + this.interval;
  }
  /** Returns the interval's canary counts when a check is due ("failed" for a failed query). */
  add(m: TickMeasurement): VersionCounts | "failed" | "noValues" | undefined {
    if (m.kind === "ok") this.acc = addCounts(this.acc, m.canary);
    if (m.end < this.nextCheck) return undefined;
    this.nextCheck += this.interval;
    const acc = this.acc;
    this.acc = undefined;
    if (m.kind === "queryFailed") return "failed";
    if (!acc || acc.requests === 0) return "noValues";
    return acc;
  }
}

/** Canary-only threshold checks shared by the Flagger- and Argo-like judges. */
function checkPasses(c: VersionCounts, minSuccess: number, maxP99: number): boolean {
  const success = 1 - c.errors / c.requests;
  const p99 = histogramQuantile(0.99, c.latencyBuckets ?? []);
  return success >= minSuccess && !(p99 > maxP99);
}

/**
 * Flagger-like judge (see module comment). Each check that passes advances the weight (a
 * step lasts one interval when healthy); a failed check holds the weight and counts.
 */
export class FlaggerLike implements BenchJudge {
  readonly name = "flagger-like";
  private failed = 0;
  private readonly window: IntervalWindow;
  constructor(private readonly opts = { interval: 60, threshold: 5, minSuccess: 0.98, maxP99: 0.5 }) {
    this.window = new IntervalWindow(opts.interval);
  }
  start(_reference: ReferenceWindow | undefined, step: BenchStep): void {
    this.failed = 0;
    this.window.restart(step.startedAt);
  }
  stepChanged(step: BenchStep): void {
    this.window.restart(step.startedAt);
  }
  tick(m: TickMeasurement): BenchDecision {
    const c = this.window.add(m);
    if (c === undefined) return "continue";
    if (typeof c === "string" || !checkPasses(c, this.opts.minSuccess, this.opts.maxP99)) {
      this.failed++;
      return this.failed >= this.opts.threshold ? "rollback" : "continue";
    }
    return "promote";
  }
}

/**
 * Argo-Rollouts-like (see module comment): each step is `setWeight` then a `pause` of the
 * step's minimum duration; a background analysis measures every interval from the rollout's
 * start and aborts on failure.
 */
export class ArgoLike implements BenchJudge {
  readonly name = "argo-like";
  private failed = 0;
  private consecutiveErrors = 0;
  private stepEnds = 0;
  private readonly window: IntervalWindow;
  constructor(private readonly opts = { interval: 60, failureLimit: 0, consecutiveErrorLimit: 4, minSuccess: 0.98, maxP99: 0.5 }) {
    this.window = new IntervalWindow(opts.interval);
  }
  start(_reference: ReferenceWindow | undefined, step: BenchStep): void {
    this.failed = 0;
    this.consecutiveErrors = 0;
    this.window.restart(step.startedAt);
    this.stepChanged(step);
  }
  stepChanged(step: BenchStep): void {
    this.stepEnds = step.startedAt + step.minDurationSeconds;
  }
  tick(m: TickMeasurement): BenchDecision {
    const c = this.window.add(m);
    if (c !== undefined) {
      if (c === "failed") {
        this.consecutiveErrors++;
      } else {
        this.consecutiveErrors = 0;
        // No canary requests makes the success-rate query NaN, and NaN >= 0.98 is false: a failure.
        if (c === "noValues" || !checkPasses(c, this.opts.minSuccess, this.opts.maxP99)) this.failed++;
      }
      if (this.failed > this.opts.failureLimit || this.consecutiveErrors > this.opts.consecutiveErrorLimit) return "rollback";
    }
    return m.end >= this.stepEnds ? "promote" : "continue";
  }
}

/** Number of pairwise differences x_i − y_j ≤ v (both sorted ascending). */
function countAtMost(x: readonly number[], y: readonly number[], v: number): number {
  let count = 0;
  // y[j..] are the y with x_i − y ≤ v, i.e. y ≥ x_i − v. Walking x from the largest down
  // lowers x_i − v, so that suffix only grows and one pointer suffices.
  let j = y.length;
  for (let i = x.length - 1; i >= 0; i--) {
    while (j > 0 && y[j - 1] >= x[i] - v) j--;
    count += y.length - j;
  }
  return count;
}

/** The k-th smallest (1-based) pairwise difference, by bisection on the value. */
function kthDifference(x: readonly number[], y: readonly number[], k: number): number {
  let lo = x[0] - y[y.length - 1];
  let hi = x[x.length - 1] - y[0];
  for (let it = 0; it < 60 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); it++) {
    const mid = (lo + hi) / 2;
    if (countAtMost(x, y, mid) >= k) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Mann–Whitney (Wilcoxon rank-sum) Hodges–Lehmann estimate and confidence interval of the
 * shift experiment − control, normal approximation (as R's wilcox.test with conf.int for
 * large samples, which Kayenta's implementation follows).
 */
export function mannWhitneyShift(experiment: readonly number[], control: readonly number[], confLevel: number): { estimate: number; lower: number; upper: number } {
  const x = [...experiment].sort((a, b) => a - b);
  const y = [...control].sort((a, b) => a - b);
  const n = x.length * y.length;
  const z = quantileNormal(1 - (1 - confLevel) / 2);
  const sd = Math.sqrt((x.length * y.length * (x.length + y.length + 1)) / 12);
  const kLow = Math.max(1, Math.floor(n / 2 - z * sd));
  const kHigh = Math.min(n, Math.ceil(n / 2 + z * sd));
  const estimate = n % 2 === 1 ? kthDifference(x, y, (n + 1) / 2) : (kthDifference(x, y, n / 2) + kthDifference(x, y, n / 2 + 1)) / 2;
  return { estimate, lower: kthDifference(x, y, kLow), upper: kthDifference(x, y, kHigh) };
}

function quantileNormal(p: number): number {
  // Acklam's rational approximation is overkill here; bisection on the CDF is exact enough.
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    const cdf = 0.5 * (1 + erf(mid / Math.SQRT2));
    if (cdf < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/**
 * Kayenta-like judge (see module comment): scores every interval over the run so far; a
 * failing score rolls back, a passing one at least one interval into the step passes it.
 */
export class KayentaLike implements BenchJudge {
  readonly name = "kayenta-like";
  private readonly series: { canary: number[]; baseline: number[] }[] = [];
  private nextCheck = 0;
  private stepStart = 0;
  constructor(private readonly opts = { interval: 60, confLevel: 0.98, tolerance: 0.25, marginalScore: 75 }) {}
  start(_reference: ReferenceWindow | undefined, step: BenchStep): void {
    this.series.length = 0;
    this.series.push({ canary: [], baseline: [] }, { canary: [], baseline: [] });
    this.nextCheck = step.startedAt + this.opts.interval;
    this.stepStart = step.startedAt;
  }
  stepChanged(step: BenchStep): void {
    this.stepStart = step.startedAt;
  }
  tick(m: TickMeasurement): BenchDecision {
    if (m.kind === "ok" && m.canary.requests > 0 && m.baseline.requests > 0) {
      // Per-tick points, as Kayenta fetches them at the metric's step; NaN points are removed.
      this.series[0].canary.push(m.canary.errors / m.canary.requests);
      this.series[0].baseline.push(m.baseline.errors / m.baseline.requests);
      const pc = histogramQuantile(0.99, m.canary.latencyBuckets ?? []);
      const pb = histogramQuantile(0.99, m.baseline.latencyBuckets ?? []);
      if (Number.isFinite(pc) && Number.isFinite(pb)) {
        this.series[1].canary.push(pc);
        this.series[1].baseline.push(pb);
      }
    }
    if (m.end < this.nextCheck) return "continue";
    this.nextCheck += this.opts.interval;
    let passed = 0;
    for (const s of this.series) {
      if (s.canary.length < 3 || s.baseline.length < 3) {
        passed++; // Nodata is not a failure in Kayenta's scoring by default
        continue;
      }
      const r = mannWhitneyShift(s.canary, s.baseline, this.opts.confLevel);
      const high = r.lower > this.opts.tolerance * Math.abs(r.estimate);
      if (!high) passed++;
    }
    const score = (100 * passed) / this.series.length;
    if (score < this.opts.marginalScore) return "rollback";
    return m.end - this.stepStart >= this.opts.interval ? "promote" : "continue";
  }
}

/** The judge configuration the benchmark uses for our judge (the documented defaults plus latency). */
export const OUR_CONFIG: JudgeConfigInput = {
  metrics: [
    { name: "errors", source: { kind: "errors" } },
    { name: "latency>250ms", source: { kind: "latencyAbove", le: SLO_BUCKET } },
  ],
  guardrails: { latency: [{ name: "p99≤1s", le: 1, maxFraction: 0.01 }] },
};

/** Our judge behind the benchmark interface, driven the way automation/driver.ts drives it. */
export class OurJudge implements BenchJudge {
  private readonly judge: Judge;
  private state!: JudgeState;
  constructor(
    config: JudgeConfigInput = OUR_CONFIG,
    readonly name = "ours",
    /** Whether to pass the plan's warm-up to the judge (false: a plan without `warmup`). */
    private readonly useWarmup = true,
    /** Whether to pass the pre-flight reference (false: a driver that could not read it). */
    private readonly useReference = true,
  ) {
    this.judge = new Judge(config);
  }
  private window(step: BenchStep): StepWindow {
    return {
      index: step.index,
      startedAt: step.startedAt,
      minDurationSeconds: step.minDurationSeconds,
      maxDurationSeconds: step.maxDurationSeconds,
      ...(this.useWarmup && step.warmupSeconds > 0 ? { warmupSeconds: step.warmupSeconds } : {}),
    };
  }
  start(reference: ReferenceWindow | undefined, step: BenchStep): void {
    this.state = this.judge.initialState(this.window(step), this.useReference && reference ? { reference } : {});
  }
  stepChanged(step: BenchStep): void {
    this.state = this.judge.startStep(this.state, this.window(step));
  }
  tick(m: TickMeasurement): BenchDecision {
    const r = this.judge.tick(this.state, m);
    this.state = r.state;
    return r.verdict.decision;
  }
}
