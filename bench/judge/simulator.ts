/**
 * The benchmark's world: a seeded generator of what two versions of a service serve, second
 * by second, under a canary weight the rollout under test chooses (closed loop), and of what
 * a metrics provider reads from it.
 *
 * It is written from the service's side, not from the judge's model, and is hostile on
 * purpose where real traffic is:
 *  - noise comes in cells of its own length and phase, not in the judge's ticks: per pod and
 *    per tick-sized cell a lognormal factor on the error rate (one noisy pod), and per version
 *    and cell a lognormal factor shared by all of that version's pods (a flaky dependency,
 *    GC pauses, a bad node: what the spread between pods cannot see);
 *  - incidents: shared (both versions), or on the baseline alone, at random times, of random
 *    size and length;
 *  - canaries that are bad in bursts, only above a weight, or only just after each weight
 *    change (warm-up);
 *  - a daily load cycle with error rates that rise with load;
 *  - metrics read through Prometheus-like scrapes: every pod scraped on its own phase, so a
 *    tick's reading of one version may hold a new sample when the other's does not; counters
 *    that restart, missed scrapes and failed queries. Scraped samples are decoded by the
 *    provider's own alignment code (automation/analysis/alignment.ts), so the benchmark
 *    measures what a rollout on real Prometheus would see. Other scenarios hand the judges
 *    each tick's exact counts.
 *
 * Traffic is Poisson per pod; failures are binomial per request at the pod's current rate;
 * latencies lognormal in Prometheus's default buckets. Counts inside a tick are split at
 * noise-cell boundaries so that a cell straddling two ticks contributes to both.
 */
import { historyIncrements, SampleAligner, SeriesReading, SeriesSamples } from "../../automation/analysis/alignment";
import { LatencyBucket, ReferenceWindow, TickMeasurement, VersionCounts } from "../../automation/analysis/types";
import { normalCdf, Rng } from "./random";

/** Prometheus client libraries' default histogram buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Latency model shared by both versions: lognormal with this median (s) and log-sd. */
export const LATENCY = { median: 0.1, sigma: 0.5 } as const;
/** The SLO bucket whose "slower than" counts the relative latency test compares. */
export const SLO_BUCKET = 0.25;

/** How the canary differs from the baseline (its error rate relative to the baseline's normal rate). */
export type CanaryBehaviour =
  | { readonly kind: "ratio"; readonly factor: number }
  /** A fixed error rate, whatever the baseline does. */
  | { readonly kind: "rate"; readonly rate: number }
  /** `factor` during bursts of `burstSeconds` (uniform in the range), healthy gaps of `gapSeconds` between. */
  | { readonly kind: "bursty"; readonly factor: number; readonly burstSeconds: readonly [number, number]; readonly gapSeconds: readonly [number, number] }
  /** Healthy below `weight` percent, `factor` at or above it. */
  | { readonly kind: "aboveWeight"; readonly weight: number; readonly factor: number }
  /** `rate` errors for the first `seconds` after each weight change, then `factor` × the baseline's rate. */
  | { readonly kind: "warmup"; readonly seconds: number; readonly rate: number; readonly factor: number };

/** A time window drawn per run: start uniform in `start`, length uniform in `length`, rate factor uniform in `factor`. */
export interface RandomEpisode {
  readonly start: readonly [number, number];
  readonly length: readonly [number, number];
  readonly factor: readonly [number, number];
  /** Latency multiplier during the episode. Defaults to 1. */
  readonly latencyFactor?: number;
}

/** The rollout plan the benchmark drives (the judged steps; promotion to 100% follows the last). */
export interface BenchPlan {
  readonly weights: readonly number[];
  readonly minDurationSeconds: number;
  readonly maxDurationSeconds: number;
  readonly tickSeconds: number;
  /** Seconds after each weight change excluded from the relative tests. Defaults to 0. */
  readonly warmupSeconds?: number;
}

/** Everything that defines one simulated situation. */
export interface Scenario {
  readonly name: string;
  /** True when the canary is no worse than the baseline: any rollback is a false rollback. */
  readonly healthy: boolean;
  /**
   * For bad canaries: whether the traffic is enough for any judge to decide within the plan
   * (the targets on promotions of bad canaries apply only then).
   */
  readonly enoughTraffic: boolean;
  /** What "bad responses" means for the excess count (and what the canary breaks). */
  readonly badKind: "errors" | "latency";
  readonly totalRps: number;
  readonly baseErrorRate: number;
  readonly canary: CanaryBehaviour;
  /** Canary latencies are multiplied by this. Defaults to 1. */
  readonly canaryLatencyFactor?: number;
  /** Log-sd of the per-pod, per-cell error-rate factor. */
  readonly podSigma: number;
  /** Log-sd of the per-version, per-cell error-rate factor shared by all of the version's pods. */
  readonly sharedSigma: number;
  /** Relative amplitude of the daily load cycle (compressed to `diurnalPeriodSeconds`); error rate rises with load. */
  readonly diurnalAmplitude: number;
  readonly diurnalPeriodSeconds?: number;
  /** Both versions' error rates (and latencies) multiplied. */
  readonly sharedIncident?: RandomEpisode;
  /** Only the baseline's error rate multiplied. */
  readonly baselineIncident?: RandomEpisode;
  /**
   * Scraped metrics: every pod's counters read every `intervalSeconds` at its own phase; with
   * `messy`, counters also restart, scrapes are missed and queries fail. Without it, the
   * judges see each tick's exact counts.
   */
  readonly scrape?: { readonly intervalSeconds: number; readonly messy?: boolean };
  /** Whether the judge gets the baseline's pre-rollout reference window. Defaults to true. */
  readonly reference?: boolean;
  readonly plan: BenchPlan;
}

/** The twenty minutes before the rollout, read as the pre-flight check would. */
export const REFERENCE_SECONDS = 1200;
const BASELINE_PODS = 10;

interface PodTick {
  requests: number;
  errors: number;
  /** Cumulative bucket counts for DEFAULT_BUCKETS, then +Inf (= requests). Absent when per-version buckets are used. */
  buckets?: number[];
}

/** One tick of ground truth, for scoring. */
export interface TickTruth {
  /** Canary requests and bad responses in the tick (whatever the metrics showed). */
  readonly canaryRequests: number;
  readonly canaryBad: number;
  /** Bad responses the canary would have served at the baseline's normal rate. */
  readonly canaryBadAtBaselineRate: number;
  /** Whether the canary was worse than the baseline's normal rate by the scenario's definition during the tick. */
  readonly canaryBadNow: boolean;
}

function uniform(rng: Rng, range: readonly [number, number]): number {
  return range[0] + (range[1] - range[0]) * rng.next();
}

function drawEpisode(rng: Rng, e: RandomEpisode | undefined): { start: number; end: number; factor: number; latencyFactor: number } | undefined {
  if (!e) return undefined;
  const start = uniform(rng, e.start);
  return { start, end: start + uniform(rng, e.length), factor: uniform(rng, e.factor), latencyFactor: e.latencyFactor ?? 1 };
}

/** Cumulative probabilities P(latency ≤ le) for the default buckets. */
function bucketProbabilities(factor: number): number[] {
  return DEFAULT_BUCKETS.map((le) => normalCdf(Math.log(le / (LATENCY.median * factor)) / LATENCY.sigma));
}

/** Multinomial over bucket intervals as a chain of conditional binomials; cumulative counts then +Inf. */
function sampleBuckets(rng: Rng, requests: number, cumProb: readonly number[]): number[] {
  const buckets: number[] = [];
  let remaining = requests;
  let prevP = 0;
  let cum = 0;
  for (const p of cumProb) {
    const rest = 1 - prevP;
    const k = rest > 0 && remaining > 0 ? rng.binomial(remaining, Math.min(1, (p - prevP) / rest)) : 0;
    cum += k;
    remaining -= k;
    prevP = p;
    buckets.push(cum);
  }
  buckets.push(requests);
  return buckets;
}

function toBuckets(cumulative: readonly number[]): LatencyBucket[] {
  return cumulative.map((count, i) => ({ le: i < DEFAULT_BUCKETS.length ? DEFAULT_BUCKETS[i] : Infinity, count }));
}

function addInto(acc: number[], xs: readonly number[]): void {
  for (let i = 0; i < xs.length; i++) acc[i] += xs[i];
}

/** Sums decoded per-series increments (request series by pod and code, bucket series by pod and le) into a version's counts. */
function countsFromSeries(increments: readonly SeriesReading[]): VersionCounts {
  let requests = 0;
  let errors = 0;
  const b = new Array<number>(DEFAULT_BUCKETS.length + 1).fill(0);
  let anyBucket = false;
  const byPod = new Map<string, { requests: number; errors: number }>();
  for (const s of increments) {
    if (s.labels.code !== undefined) {
      requests += s.value;
      const pod = byPod.get(s.labels.pod) ?? { requests: 0, errors: 0 };
      pod.requests += s.value;
      if (s.labels.code === "500") {
        errors += s.value;
        pod.errors += s.value;
      }
      byPod.set(s.labels.pod, pod);
    } else {
      anyBucket = true;
      const le = s.labels.le === "+Inf" ? DEFAULT_BUCKETS.length : DEFAULT_BUCKETS.indexOf(Number(s.labels.le));
      b[le] += s.value;
    }
  }
  return { requests, errors, ...(anyBucket ? { latencyBuckets: toBuckets(b) } : {}), bySeries: [...byPod.values()] };
}

/**
 * Every pod's counters scraped every `interval` seconds at the pod's own phase, and read by
 * the provider's alignment code at each tick. Between two generated slices the counts of a
 * sub-interval are drawn by binomial thinning (exact for Poisson traffic).
 */
class ScrapedCounters {
  /** Per pod: its series' labels, cumulative values (as the process holds them), phase, and the samples scraped so far. */
  private readonly pods = new Map<string, { version: string; labels: Record<string, string>[]; values: number[]; phase: number; samples: { t: number; values: number[] }[]; fed: number }>();
  private readonly aligner = new SampleAligner({ forgetAfterSeconds: 3600 });

  constructor(
    private readonly rng: Rng,
    private readonly interval: number,
    /** Counter restarts (per pod and slice), missed scrapes and failed queries. */
    private readonly messy: boolean,
  ) {}

  private pod(version: string, index: number, width: number): { version: string; labels: Record<string, string>[]; values: number[]; phase: number; samples: { t: number; values: number[] }[]; fed: number } {
    const name = `${version}-${index}`;
    let p = this.pods.get(name);
    if (!p) {
      const labels = [
        { pod: name, version, code: "200" },
        { pod: name, version, code: "500" },
        ...Array.from({ length: width - 2 }, (_, k) => ({ pod: name, version, le: k < DEFAULT_BUCKETS.length ? String(DEFAULT_BUCKETS[k]) : "+Inf" })),
      ];
      p = { version, labels, values: new Array<number>(width).fill(0), phase: this.rng.next() * this.interval, samples: [], fed: 0 };
      this.pods.set(name, p);
    }
    return p;
  }

  /** Adds a slice [from, to) of one pod's increments: every scrape of the pod inside the slice records its counters then. */
  addSlice(version: string, podIndex: number, from: number, to: number, tick: PodTick): void {
    const left = [tick.requests - tick.errors, tick.errors, ...(tick.buckets ?? [])];
    const p = this.pod(version, podIndex, left.length);
    // A restart: the process comes back with its counters at zero (what it counted since its
    // last scrape is lost, as in life).
    if (this.messy && this.rng.next() < 0.003) p.values.fill(0);
    let done = from;
    for (let t = p.phase + Math.ceil((from - p.phase) / this.interval) * this.interval; t < to; t += this.interval) {
      // The share of what remains of the slice that happened before this scrape.
      const inc = this.thin(left, (t - done) / (to - done));
      for (let k = 0; k < left.length; k++) {
        p.values[k] += inc[k];
        left[k] -= inc[k];
      }
      // A missed scrape leaves no sample.
      if (!this.messy || this.rng.next() >= 0.05) p.samples.push({ t, values: [...p.values] });
      done = t;
    }
    for (let k = 0; k < left.length; k++) p.values[k] += left[k];
  }

  /**
   * Binomial thinning of the remaining counts. Bucket counts are cumulative by le, so the
   * per-interval counts are thinned and re-cumulated (thinning each cumulative count on its own
   * could break their order).
   */
  private thin(left: readonly number[], f: number): number[] {
    const out = left.map(() => 0);
    out[0] = this.rng.binomial(left[0], f);
    out[1] = this.rng.binomial(left[1], f);
    let prevLeft = 0;
    let cum = 0;
    for (let k = 2; k < left.length; k++) {
      cum += this.rng.binomial(Math.max(0, left[k] - prevLeft), f);
      prevLeft = left[k];
      out[k] = cum;
    }
    return out;
  }

  /**
   * The samples of every series at or before `at` not yet handed to the aligner (it ignores
   * samples it has seen, so a real provider's overlapping range windows and these give the
   * same result; handing over only new ones keeps the benchmark fast).
   */
  private newSamples(at: number, version?: string, from = -Infinity): SeriesSamples[] {
    const out: SeriesSamples[] = [];
    for (const [name, p] of this.pods) {
      if (version !== undefined && p.version !== version) continue;
      let end = p.fed;
      while (end < p.samples.length && p.samples[end].t <= at) end++;
      const fresh = p.samples.slice(version === undefined ? p.fed : 0, end).filter((x) => x.t > from);
      if (version === undefined) p.fed = end;
      if (fresh.length === 0) continue;
      p.labels.forEach((labels, k) => out.push({ key: `${name}|${k}`, labels, samples: fresh.map((x) => [x.t, x.values[k]] as const) }));
    }
    return out;
  }

  /** The provider's reading at `at`, aligned. */
  read(at: number, canFail = true): TickMeasurement {
    // A failed query hands nothing over: the next reading gets these samples too.
    if (this.messy && canFail && this.rng.next() < 0.02) return { kind: "queryFailed", end: at, error: "simulated timeout" };
    const r = this.aligner.read(at, this.newSamples(at));
    // Samples no reading can need again are dropped.
    for (const p of this.pods.values()) if (p.fed > 50) {
      p.samples.splice(0, p.fed - 10);
      p.fed = 10;
    }
    if (r.kind === "priming") return { kind: "priming", end: at };
    if (r.kind === "pending") return { kind: "pending", end: at, since: r.since };
    const byVersion = { canary: [] as SeriesReading[], baseline: [] as SeriesReading[] };
    for (const inc of r.increments) byVersion[inc.labels.version as "canary" | "baseline"].push(inc);
    return {
      kind: "ok",
      start: r.start,
      end: at,
      covers: { start: r.start, end: r.end },
      canary: countsFromSeries(byVersion.canary),
      baseline: countsFromSeries(byVersion.baseline),
    };
  }

  /** The pre-flight's reading of the baseline's recent history: aligned increments over intervals of `interval` seconds. */
  history(at: number, window: number, interval: number): ReferenceWindow | undefined {
    const h = historyIncrements(this.newSamples(at, "baseline", at - window - 2 * interval), interval, Math.floor(window / interval));
    if (!h) return undefined;
    return { start: h.start, end: h.end, intervalSeconds: interval, baseline: h.intervals.map((incs) => countsFromSeries(incs)) };
  }
}

/**
 * One run of a scenario: call {@link World.tick} with the weight in force during each tick.
 * Deterministic for a given generator state.
 */
export class World {
  private readonly cellPhase: number;
  private readonly diurnalPhase: number;
  private readonly sharedIncident;
  private readonly baselineIncident;
  private readonly bursts: { start: number; end: number }[] = [];
  private readonly noise = new Map<number, { shared: { canary: number; baseline: number }; pods: Map<string, number> }>();
  private readonly scraped?: ScrapedCounters;
  private lastWeight = 0;
  private weightChangedAt = 0;
  private readonly perPodBuckets: boolean;
  /** When the canary first became bad (for detection times), or undefined while it has not. */
  public badSince: number | undefined;

  constructor(
    private readonly s: Scenario,
    private readonly rng: Rng,
  ) {
    this.cellPhase = rng.next() * s.plan.tickSeconds;
    this.diurnalPhase = rng.next() * 2 * Math.PI;
    this.sharedIncident = drawEpisode(rng, s.sharedIncident);
    this.baselineIncident = drawEpisode(rng, s.baselineIncident);
    if (s.canary.kind === "bursty") {
      // A healthy gap first (of random length, possibly short), then bursts and gaps alternating.
      let t = uniform(rng, [0, s.canary.gapSeconds[1]]);
      while (t < 4000) {
        const end = t + uniform(rng, s.canary.burstSeconds);
        this.bursts.push({ start: t, end });
        t = end + uniform(rng, s.canary.gapSeconds);
      }
    }
    if (s.scrape) this.scraped = new ScrapedCounters(rng, s.scrape.intervalSeconds, s.scrape.messy ?? false);
    this.perPodBuckets = s.scrape !== undefined;
    if (s.canary.kind === "ratio" && s.canary.factor > 1) this.badSince = 0;
    if (s.canary.kind === "rate" && s.canary.rate > s.baseErrorRate) this.badSince = 0;
    if (s.canary.kind === "bursty") this.badSince = 0;
    if (s.canary.kind === "warmup" && s.canary.factor > 1) this.badSince = 0;
    if ((s.canaryLatencyFactor ?? 1) > 1) this.badSince = 0;
  }

  private load(t: number): number {
    const period = this.s.diurnalPeriodSeconds ?? 1800;
    return 1 + this.s.diurnalAmplitude * Math.sin(this.diurnalPhase + (2 * Math.PI * t) / period);
  }

  private cellNoise(cell: number): { shared: { canary: number; baseline: number }; pods: Map<string, number> } {
    let n = this.noise.get(cell);
    if (!n) {
      n = { shared: { canary: this.rng.lognormalMeanOne(this.s.sharedSigma), baseline: this.rng.lognormalMeanOne(this.s.sharedSigma) }, pods: new Map() };
      this.noise.set(cell, n);
      this.noise.delete(cell - 3);
    }
    return n;
  }

  private podNoise(cell: number, pod: string): number {
    const n = this.cellNoise(cell);
    let f = n.pods.get(pod);
    if (f === undefined) {
      f = this.rng.lognormalMeanOne(this.s.podSigma);
      n.pods.set(pod, f);
    }
    return f;
  }

  private inEpisode(e: { start: number; end: number } | undefined, t: number): boolean {
    return e !== undefined && t >= e.start && t < e.end;
  }

  /** The canary's rate factor relative to the baseline's normal rate (×shared movements), or a fixed rate. */
  private canaryFactor(t: number, weight: number): { factor?: number; rate?: number } {
    const c = this.s.canary;
    switch (c.kind) {
      case "ratio":
        return { factor: c.factor };
      case "rate":
        return { rate: c.rate };
      case "bursty":
        return { factor: this.bursts.some((b) => t >= b.start && t < b.end) ? c.factor : 1 };
      case "aboveWeight":
        return { factor: weight >= c.weight ? c.factor : 1 };
      case "warmup":
        return t - this.weightChangedAt < c.seconds ? { rate: c.rate } : { factor: c.factor };
    }
  }

  /**
   * Generates the slice [from, to) at `weight` percent: per pod requests, errors (and buckets).
   * Returns per-version pods and the truth for scoring.
   */
  private slice(from: number, to: number, weight: number): { canary: PodTick[]; baseline: PodTick[]; canaryBadAtBaselineRate: number; canaryBad: number; canaryBuckets?: number[]; baselineBuckets?: number[] } {
    const s = this.s;
    const len = to - from;
    const mid = (from + to) / 2;
    const cell = Math.floor((mid - this.cellPhase) / s.plan.tickSeconds);
    const noise = this.cellNoise(cell);
    const load = this.load(mid);
    const shared = this.inEpisode(this.sharedIncident, mid) ? this.sharedIncident! : undefined;
    const baseOnly = this.inEpisode(this.baselineIncident, mid) ? this.baselineIncident!.factor : 1;
    const normal = s.baseErrorRate * load * (shared?.factor ?? 1);
    const w = weight / 100;
    const rps = s.totalRps * load;
    const cf = this.canaryFactor(mid, weight);
    const canaryRate = cf.rate ?? normal * (cf.factor ?? 1);
    const baselineRate = normal * baseOnly;
    const latShared = shared?.latencyFactor ?? 1;
    const canaryPods = w > 0 ? Math.min(BASELINE_PODS, Math.max(1, Math.round((BASELINE_PODS * w) / Math.max(0.01, 1 - w)))) : 0;
    const basePods = w < 1 ? BASELINE_PODS : 0;
    const canaryProbs = bucketProbabilities(latShared * (s.canaryLatencyFactor ?? 1));
    const baseProbs = bucketProbabilities(latShared);
    const gen = (version: "canary" | "baseline", count: number, total: number, rate: number, probs: number[]): PodTick[] =>
      Array.from({ length: count }, (_, i) => {
        const requests = this.rng.poisson(total / count);
        const p = Math.min(1, rate * noise.shared[version] * this.podNoise(cell, `${version}-${i}`));
        const errors = this.rng.binomial(requests, p);
        return this.perPodBuckets ? { requests, errors, buckets: sampleBuckets(this.rng, requests, probs) } : { requests, errors };
      });
    const canary = canaryPods > 0 ? gen("canary", canaryPods, rps * w * len, canaryRate, canaryProbs) : [];
    const baseline = basePods > 0 ? gen("baseline", basePods, rps * (1 - w) * len, baselineRate, baseProbs) : [];
    const canaryRequests = canary.reduce((a, p) => a + p.requests, 0);
    const baselineRequests = baseline.reduce((a, p) => a + p.requests, 0);
    const canaryBuckets = this.perPodBuckets ? undefined : sampleBuckets(this.rng, canaryRequests, canaryProbs);
    const baselineBuckets = this.perPodBuckets ? undefined : sampleBuckets(this.rng, baselineRequests, baseProbs);
    const sloIndex = DEFAULT_BUCKETS.indexOf(SLO_BUCKET);
    let canaryBad: number;
    let atBaseline: number;
    if (s.badKind === "errors") {
      canaryBad = canary.reduce((a, p) => a + p.errors, 0);
      atBaseline = canaryRequests * s.baseErrorRate * load * (shared?.factor ?? 1);
    } else {
      const slow = canaryBuckets ? canaryRequests - canaryBuckets[sloIndex] : canary.reduce((a, p) => a + p.requests - p.buckets![sloIndex], 0);
      canaryBad = slow;
      atBaseline = canaryRequests * (1 - baseProbs[sloIndex]);
    }
    return { canary, baseline, canaryBad, canaryBadAtBaselineRate: atBaseline, canaryBuckets, baselineBuckets };
  }

  /** Cuts [from, to) at noise-cell boundaries. */
  private cuts(from: number, to: number): [number, number][] {
    const tick = this.s.plan.tickSeconds;
    const out: [number, number][] = [];
    let a = from;
    for (;;) {
      const next = this.cellPhase + (Math.floor((a - this.cellPhase) / tick) + 1) * tick;
      if (next >= to - 1e-9) {
        out.push([a, to]);
        return out;
      }
      out.push([a, next]);
      a = next;
    }
  }

  private generate(from: number, to: number, weight: number): { canary: VersionCounts; baseline: VersionCounts; truth: Omit<TickTruth, "canaryBadNow"> } {
    const cAcc = { requests: 0, errors: 0, buckets: new Array<number>(DEFAULT_BUCKETS.length + 1).fill(0) };
    const bAcc = { requests: 0, errors: 0, buckets: new Array<number>(DEFAULT_BUCKETS.length + 1).fill(0) };
    const cPods = new Map<number, PodTick>();
    const bPods = new Map<number, PodTick>();
    let canaryBad = 0;
    let atBaseline = 0;
    for (const [a, b] of this.cuts(from, to)) {
      const sl = this.slice(a, b, weight);
      canaryBad += sl.canaryBad;
      atBaseline += sl.canaryBadAtBaselineRate;
      const fold = (pods: PodTick[], acc: typeof cAcc, into: Map<number, PodTick>, version: string, buckets?: number[]): void => {
        pods.forEach((p, i) => {
          acc.requests += p.requests;
          acc.errors += p.errors;
          if (p.buckets) addInto(acc.buckets, p.buckets);
          const q = into.get(i) ?? { requests: 0, errors: 0, ...(p.buckets ? { buckets: p.buckets.map(() => 0) } : {}) };
          q.requests += p.requests;
          q.errors += p.errors;
          if (p.buckets) addInto(q.buckets!, p.buckets);
          into.set(i, q);
          this.scraped?.addSlice(version, i, a, b, p);
        });
        if (buckets) addInto(acc.buckets, buckets);
      };
      fold(sl.canary, cAcc, cPods, "canary", sl.canaryBuckets);
      fold(sl.baseline, bAcc, bPods, "baseline", sl.baselineBuckets);
    }
    const counts = (acc: typeof cAcc, pods: Map<number, PodTick>): VersionCounts => ({
      requests: acc.requests,
      errors: acc.errors,
      latencyBuckets: toBuckets(acc.buckets),
      bySeries: [...pods.values()].map((p) => ({ requests: p.requests, errors: p.errors })),
    });
    return {
      canary: counts(cAcc, cPods),
      baseline: counts(bAcc, bPods),
      truth: { canaryRequests: cAcc.requests, canaryBad, canaryBadAtBaselineRate: atBaseline },
    };
  }

  /**
   * The baseline's counts over the {@link REFERENCE_SECONDS} before the rollout (weight 0),
   * as consecutive tick-long intervals (or, with scrapes, as the provider's aligned history).
   */
  reference(): ReferenceWindow | undefined {
    const tick = this.s.plan.tickSeconds;
    const start = -REFERENCE_SECONDS;
    if (this.scraped) {
      // Scraped from a minute before the window on, so every series has samples before it.
      const interval = Math.max(tick, this.s.scrape!.intervalSeconds);
      for (let t = start - 60; t < 0; t += tick) this.generate(t, t + tick, 0);
      return this.s.reference === false ? undefined : this.scraped.history(0, REFERENCE_SECONDS, interval);
    }
    const intervals: VersionCounts[] = [];
    for (let t = start; t < 0; t += tick) intervals.push(this.generate(t, t + tick, 0).baseline);
    return this.s.reference === false ? undefined : { start, end: 0, intervalSeconds: tick, baseline: intervals };
  }

  /** The reading the rollout starts from (the driver's priming read at the first step). */
  prime(): TickMeasurement {
    return this.scraped ? this.scraped.read(0, false) : { kind: "priming", end: 0 };
  }

  /**
   * The measurement at the end of the tick (to − tick, to] at `weight` percent, and the truth.
   * `weight` is what the rollout applied for this tick; a change from the previous tick is a
   * weight change (warm-up starts).
   */
  tick(to: number, weight: number): { measurement: TickMeasurement; truth: TickTruth } {
    const from = to - this.s.plan.tickSeconds;
    if (weight !== this.lastWeight) {
      this.lastWeight = weight;
      this.weightChangedAt = from;
      if (this.s.canary.kind === "aboveWeight" && weight >= this.s.canary.weight && this.badSince === undefined) this.badSince = from;
    }
    const g = this.generate(from, to, weight);
    let measurement: TickMeasurement;
    if (this.scraped) {
      measurement = this.scraped.read(to);
    } else {
      measurement = { kind: "ok", start: from, end: to, canary: g.canary, baseline: g.baseline };
    }
    return { measurement, truth: { ...g.truth, canaryBadNow: this.canaryBadAt(from, weight) } };
  }

  /** Whether the canary is worse than the baseline's normal rate at time t and this weight (scenario truth). */
  canaryBadAt(t: number, weight: number): boolean {
    if ((this.s.canaryLatencyFactor ?? 1) > 1) return true;
    const c = this.s.canary;
    switch (c.kind) {
      case "ratio":
        return c.factor > 1;
      case "rate":
        return c.rate > this.s.baseErrorRate;
      case "bursty":
        return true; // bad on average over any step: the scenario's bursts make it ≥ 2× overall
      case "aboveWeight":
        return weight >= c.weight;
      case "warmup":
        return c.factor > 1;
    }
    void t;
  }
}
