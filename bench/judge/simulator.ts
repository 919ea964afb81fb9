/**
 * Seeded simulator of what a canary judge sees: per-tick counts for canary and baseline,
 * produced pod by pod the way a Prometheus scrape would count them.
 *
 * Per tick and version: traffic is Poisson at the current weight of the total load
 * (optionally diurnal), split over pods; each pod's error probability is the version's
 * rate times a per-pod, per-tick lognormal factor (overdispersion: one noisy pod, a bad
 * minute); latencies are lognormal and binned into Prometheus's default buckets. Shared
 * incidents scale both versions. In the "messy metrics" mode the counts additionally go
 * through cumulative per-pod counters with restarts, stale readings (a missed scrape
 * shifts increments into the next tick) and failed queries, decoded by the provider's
 * own counterDelta.
 */
import { counterDelta, SeriesReading } from "../../automation/analysis/counters";
import { LatencyBucket, TickMeasurement, VersionCounts } from "../../automation/analysis/types";
import { normalCdf, Rng } from "./random";

/** Prometheus client libraries' default histogram buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Everything that defines one simulated situation. */
export interface Scenario {
  readonly name: string;
  /** True when the canary is as good as the baseline: any rollback is a false rollback. */
  readonly healthy: boolean;
  /** What "bad responses" means for the excess count (and what the canary breaks). */
  readonly badKind: "errors" | "latency";
  readonly totalRps: number;
  /** Canary weight schedule: weight (0–1) from time `at` (seconds) on. */
  readonly weights: readonly { readonly at: number; readonly weight: number }[];
  readonly baseErrorRate: number;
  /** Canary error rate = base × factor (or `canaryErrorRate` when set). */
  readonly canaryErrorFactor: number;
  readonly canaryErrorRate?: number;
  /** Canary latencies are multiplied by this. */
  readonly canaryLatencyFactor: number;
  /** Log-sd of the per-pod, per-tick error-rate factor; 0 is clean binomial noise. */
  readonly noiseSigma: number;
  /** Relative amplitude of the (compressed) daily load cycle; error rate rises with load. */
  readonly diurnalAmplitude: number;
  readonly incident?: { readonly start: number; readonly end: number; readonly errorFactor: number; readonly latencyFactor: number };
  /** Counter restarts, missed scrapes and failed queries. */
  readonly messyMetrics: boolean;
  readonly durationSeconds: number;
  readonly tickSeconds: number;
}

/** Latency model shared by both versions: lognormal with this median (s) and log-sd. */
export const LATENCY = { median: 0.1, sigma: 0.5 } as const;
/** The SLO bucket whose "slower than" counts the relative latency test compares. */
export const SLO_BUCKET = 0.25;

/** One simulated tick: the measurement the judges see, and the truth for scoring. */
export interface SimTick {
  readonly end: number;
  readonly weight: number;
  readonly measurement: TickMeasurement;
  /** True canary requests and bad responses in the tick (independent of metric glitches). */
  readonly canaryRequests: number;
  readonly canaryBad: number;
  /** Bad responses the canary would have served at the baseline's true rate. */
  readonly canaryBadAtBaselineRate: number;
}

const BASELINE_PODS = 10;

function weightAt(s: Scenario, t: number): number {
  let w = 0;
  for (const step of s.weights) if (t >= step.at) w = step.weight;
  return w;
}

/** Cumulative probabilities P(latency ≤ le) for the default buckets. */
function bucketProbabilities(factor: number): number[] {
  return DEFAULT_BUCKETS.map((le) => normalCdf(Math.log(le / (LATENCY.median * factor)) / LATENCY.sigma));
}

interface PodTick {
  readonly requests: number;
  readonly errors: number;
  /** Cumulative bucket counts for DEFAULT_BUCKETS, then +Inf (= requests). */
  readonly buckets: number[];
}

function simulatePod(rng: Rng, meanRequests: number, errorRate: number, cumProb: readonly number[]): PodTick {
  const requests = rng.poisson(meanRequests);
  const errors = rng.binomial(requests, Math.min(1, errorRate));
  // Multinomial over bucket intervals as a chain of conditional binomials.
  const buckets: number[] = [];
  let remaining = requests;
  let prevP = 0;
  let cum = 0;
  for (const p of cumProb) {
    const interval = p - prevP;
    const rest = 1 - prevP;
    const k = rest > 0 && remaining > 0 ? rng.binomial(remaining, Math.min(1, interval / rest)) : 0;
    cum += k;
    remaining -= k;
    prevP = p;
    buckets.push(cum);
  }
  buckets.push(requests);
  return { requests, errors, buckets };
}

function sumPods(pods: readonly PodTick[]): VersionCounts {
  let requests = 0;
  let errors = 0;
  const b = new Array<number>(DEFAULT_BUCKETS.length + 1).fill(0);
  for (const p of pods) {
    requests += p.requests;
    errors += p.errors;
    p.buckets.forEach((x, i) => (b[i] += x));
  }
  return { requests, errors, latencyBuckets: toBuckets(b), bySeries: pods.map((p) => ({ requests: p.requests, errors: p.errors })) };
}

function toBuckets(cumulative: readonly number[]): LatencyBucket[] {
  return cumulative.map((count, i) => ({ le: i < DEFAULT_BUCKETS.length ? DEFAULT_BUCKETS[i] : Infinity, count }));
}

/**
 * Cumulative per-pod counters as Prometheus would hold them, read at tick boundaries
 * with occasional restarts and stale readings.
 */
class MessyCounters {
  private readonly cum = new Map<string, number[]>(); // pod → [ok, err, buckets…]
  private previous = new Map<string, SeriesReading>();

  constructor(private readonly rng: Rng, private readonly version: string) {}

  /** Adds a tick's increments and returns the reading at the tick's end boundary. */
  advance(pods: readonly PodTick[]): Map<string, SeriesReading> {
    const readings = new Map<string, SeriesReading>();
    pods.forEach((p, i) => {
      const pod = `${this.version}-${i}`;
      const inc = [p.requests - p.errors, p.errors, ...p.buckets];
      let cur = this.cum.get(pod) ?? inc.map(() => 0);
      // A restart: the process comes back with counters at zero.
      if (this.rng.next() < 0.003) cur = inc.map(() => 0);
      const before = cur;
      cur = cur.map((x, k) => x + inc[k]);
      this.cum.set(pod, cur);
      // A missed scrape: the value read at the boundary is one scraped earlier in the tick;
      // the rest of the tick's increments then show up in the next tick.
      // One scrape is one consistent snapshot, so a single fraction applies to every counter.
      const u = this.rng.next() < 0.05 ? this.rng.next() : 1;
      const read = u < 1 ? before.map((x, k) => x + Math.floor(u * inc[k])) : cur;
      // Keys only need to be unique per series; cheap ones keep the simulator fast.
      readings.set(`${pod}|ok`, { labels: { pod, code: "200" }, value: read[0] });
      readings.set(`${pod}|err`, { labels: { pod, code: "500" }, value: read[1] });
      for (let k = 2; k < read.length; k++) {
        readings.set(`${pod}|${k}`, { labels: { pod, le: k - 2 < DEFAULT_BUCKETS.length ? String(DEFAULT_BUCKETS[k - 2]) : "+Inf" }, value: read[k] });
      }
    });
    return readings;
  }

  /** Decodes increments since the last decoded reading (a failed query keeps the old one). */
  decode(snapshot: Map<string, SeriesReading>): VersionCounts {
    const d = counterDelta(this.previous, snapshot);
    this.previous = snapshot;
    let requests = 0;
    let errors = 0;
    const b = new Array<number>(DEFAULT_BUCKETS.length + 1).fill(0);
    const byPod = new Map<string, { requests: number; errors: number }>();
    for (const s of d.increments) {
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
        const le = s.labels.le === "+Inf" ? DEFAULT_BUCKETS.length : DEFAULT_BUCKETS.indexOf(Number(s.labels.le));
        b[le] += s.value;
      }
    }
    return { requests, errors, latencyBuckets: toBuckets(b), bySeries: [...byPod.values()] };
  }
}

/** Simulates one run of a scenario; deterministic for a given generator state. */
export function simulateRun(s: Scenario, rng: Rng): SimTick[] {
  const ticks: SimTick[] = [];
  const messy = s.messyMetrics ? { canary: new MessyCounters(rng, "canary"), baseline: new MessyCounters(rng, "baseline") } : undefined;
  const n = Math.round(s.durationSeconds / s.tickSeconds);
  // The diurnal phase is random per run so that peaks fall at different points of the rollout.
  const phase = rng.next() * 2 * Math.PI;
  for (let i = 1; i <= n; i++) {
    const t0 = (i - 1) * s.tickSeconds;
    const end = i * s.tickSeconds;
    const w = weightAt(s, t0);
    const load = 1 + s.diurnalAmplitude * Math.sin(phase + (2 * Math.PI * t0) / s.durationSeconds);
    const inIncident = s.incident !== undefined && t0 >= s.incident.start && t0 < s.incident.end;
    const sharedErr = (inIncident ? s.incident!.errorFactor : 1) * load;
    const sharedLat = inIncident ? s.incident!.latencyFactor : 1;
    const baseRate = s.baseErrorRate * sharedErr;
    const canaryRate = s.canaryErrorRate ?? baseRate * s.canaryErrorFactor;
    const rps = s.totalRps * load;
    const canaryPods = w > 0 ? Math.min(BASELINE_PODS, Math.max(1, Math.round((BASELINE_PODS * w) / (1 - w)))) : 0;
    const baseProbs = bucketProbabilities(sharedLat);
    const canaryProbs = bucketProbabilities(sharedLat * s.canaryLatencyFactor);
    const pods = (count: number, total: number, rate: number, probs: number[]): PodTick[] =>
      Array.from({ length: count }, () => simulatePod(rng, total / count, rate * rng.lognormalMeanOne(s.noiseSigma), probs));
    const cPods = canaryPods > 0 ? pods(canaryPods, rps * w * s.tickSeconds, canaryRate, canaryProbs) : [];
    const bPods = pods(BASELINE_PODS, rps * (1 - w) * s.tickSeconds, baseRate, baseProbs);
    const truthC = sumPods(cPods);
    const sloIndex = DEFAULT_BUCKETS.indexOf(SLO_BUCKET);
    const slowC = truthC.requests - (truthC.latencyBuckets?.[sloIndex].count ?? 0);
    const baseSlowP = 1 - baseProbs[sloIndex];
    const canaryBad = s.badKind === "errors" ? truthC.errors : slowC;
    const canaryBadAtBaselineRate = truthC.requests * (s.badKind === "errors" ? baseRate : baseSlowP);

    let measurement: TickMeasurement;
    if (messy) {
      const cs = messy.canary.advance(cPods);
      const bs = messy.baseline.advance(bPods);
      if (rng.next() < 0.02) {
        measurement = { kind: "queryFailed", end, error: "simulated timeout" };
      } else {
        measurement = { kind: "ok", start: t0, end, canary: messy.canary.decode(cs), baseline: messy.baseline.decode(bs) };
      }
    } else {
      measurement = { kind: "ok", start: t0, end, canary: truthC, baseline: sumPods(bPods) };
    }
    ticks.push({ end, weight: w, measurement, canaryRequests: truthC.requests, canaryBad, canaryBadAtBaselineRate });
  }
  return ticks;
}

const base: Omit<Scenario, "name" | "healthy"> = {
  badKind: "errors",
  totalRps: 1000,
  weights: [{ at: 0, weight: 0.05 }],
  baseErrorRate: 0.01,
  canaryErrorFactor: 1,
  canaryLatencyFactor: 1,
  noiseSigma: 0,
  diurnalAmplitude: 0,
  messyMetrics: false,
  durationSeconds: 600,
  tickSeconds: 5,
};

/** The benchmark's scenarios: healthy ones measure false rollbacks, bad ones detection. */
export const SCENARIOS: readonly Scenario[] = [
  { ...base, name: "healthy-steady", healthy: true },
  { ...base, name: "healthy-shared-incident", healthy: true, incident: { start: 180, end: 300, errorFactor: 8, latencyFactor: 1.5 } },
  { ...base, name: "healthy-overdispersed-0.3", healthy: true, noiseSigma: 0.3 },
  { ...base, name: "healthy-overdispersed-0.6", healthy: true, noiseSigma: 0.6 },
  { ...base, name: "healthy-weight-steps", healthy: true, weights: [{ at: 0, weight: 0.05 }, { at: 200, weight: 0.25 }, { at: 400, weight: 0.5 }] },
  { ...base, name: "healthy-diurnal", healthy: true, diurnalAmplitude: 0.5 },
  { ...base, name: "healthy-low-traffic", healthy: true, totalRps: 100 },
  { ...base, name: "healthy-messy-metrics", healthy: true, messyMetrics: true },
  { ...base, name: "errors-2x", healthy: false, canaryErrorFactor: 2 },
  { ...base, name: "errors-2x-overdispersed-0.3", healthy: false, canaryErrorFactor: 2, noiseSigma: 0.3 },
  { ...base, name: "errors-2x-overdispersed-0.6", healthy: false, canaryErrorFactor: 2, noiseSigma: 0.6 },
  { ...base, name: "errors-5x", healthy: false, canaryErrorFactor: 5 },
  { ...base, name: "errors-50pct", healthy: false, canaryErrorRate: 0.5 },
  { ...base, name: "latency-p95+50%", healthy: false, badKind: "latency", canaryLatencyFactor: 1.5 },
];
