/**
 * The judge: a pure function from (config, state, one tick of counts) to (new state,
 * verdict). It never reads clocks, files or the network, so a driver can call it every
 * tick, persist the JSON state in the rollout record, and resume on another machine.
 *
 * Decision order within a tick (first match wins):
 *  1. an absolute guardrail breached by the canary alone → rollback (immediately);
 *  2. relative evidence (canary worse than baseline beyond the margin) → rollback;
 *  3. a metrics outage (or no new samples) longer than the limit → rollback;
 *  4. every metric passed, every guardrail clear (the baseline's too), no baseline episode
 *     in the window, enough observed time and requests in the step, and this tick had data
 *     → promote;
 *  5. the step ran out of time → inconclusive;
 *  6. otherwise continue (possibly as a hold: no traffic, warm-up, awaiting samples,
 *     outage, shared breach).
 *
 * docs/judge.md states what each rule guarantees and why.
 */
import { z } from "zod";
import {
  argMax,
  breakNoiseChain,
  buildRatioGrid,
  chiSquareQuantile,
  emptyNoise,
  heterogeneityStatistic,
  logEValueDown,
  logEValueUp,
  lowerAlternativeLogWeights,
  lowerBoundIndex,
  NoiseState,
  noiseUpperBound,
  podDispersion,
  podNoiseFactor,
  PodSpreadState,
  poissonRateBounds,
  proportionLowerBound,
  rateTickLogLikelihood,
  shareTheta,
  tickLogLikelihood,
  updateNoise,
  updatePodSpread,
  upperAlternativeLogWeights,
  upperBoundIndex,
} from "./evidence";
import {
  Decision,
  GuardrailReport,
  HoldReason,
  ReferenceWindow,
  RelativeMetricReport,
  TickMeasurement,
  Verdict,
  VersionCounts,
} from "./types";
import { formatIssues } from "./validation";
import { InputError } from "../errors";

/** Thrown when a judge configuration does not validate; the message names the exact path. Exit 2. */
export class JudgeConfigError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "JudgeConfigError";
  }
}

/** Thrown when the caller breaks the judge's contract (state from another config, time going backwards). */
export class JudgeInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JudgeInputError";
  }
}

const relativeMetricSchema = z.object({
  /** Name used in reports and reasons. */
  name: z.string().min(1),
  /** Which counts the test compares. */
  source: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("errors") }),
    z.object({ kind: z.literal("latencyAbove"), le: z.number().positive() }),
    z.object({ kind: z.literal("count"), key: z.string().min(1) }),
  ]),
  /** Defaults to "lowerIsWorse" for counts (business KPIs), "higherIsWorse" otherwise. */
  direction: z.enum(["higherIsWorse", "lowerIsWorse"]).optional(),
  /** Rollback needs the ratio beyond this (canary/baseline ≥ margin, or ≤ 1/margin for lowerIsWorse). */
  margin: z.number().min(1).default(1),
  /** Promotion needs the ratio ruled out beyond this (same orientation as margin). */
  allowedRatio: z.number().gt(1).default(1.5),
  /**
   * A higherIsWorse metric also passes when the canary's rate is confidently below this:
   * with (almost) no errors anywhere a ratio cannot be bounded, and need not be. 0 disables.
   */
  negligibleRate: z.number().min(0).max(1).default(0.001),
  /**
   * With a pre-flight reference, promotion also needs the canary's own rate in the step
   * shown below this multiple of the baseline's rate before the rollout (above its inverse
   * for lowerIsWorse): an episode in which the baseline is unusually bad cannot then make a
   * canary this much worse than usual look good. Lower is safer; too close to 1 and shared
   * drifts (the daily load cycle) leave steps undecided.
   */
  referenceRatio: z.number().gt(1).default(2),
});

/** The judge configuration schema (zod); {@link parseJudgeConfig} applies it. */
export const judgeConfigSchema = z.object({
  /** Total false-rollback budget of the relative tests, split equally across metrics. */
  alpha: z.number().gt(0).lt(1).default(0.01),
  /** Error budget of promoting a canary that is worse than allowed (per metric; all must pass). */
  promoteAlpha: z.number().gt(0).lt(1).default(0.05),
  /** Canary-versus-baseline tests. Defaults to errors only. */
  metrics: z
    .array(relativeMetricSchema)
    .min(1)
    .default([{ name: "errors", source: { kind: "errors" }, margin: 1, allowedRatio: 1.5, negligibleRate: 0.001, referenceRatio: 2 }]),
  grid: z
    .object({
      minRatio: z.number().positive().default(1 / 64),
      maxRatio: z.number().positive().default(64),
      pointsPerDoubling: z.number().int().min(1).max(48).default(6),
      /** Mixture alternatives span (margin, margin·span]. */
      alternativeSpan: z.number().gt(1).default(4),
      /** Mixture alternatives per doubling of the ratio (each on the nearest grid point). */
      alternativesPerDoubling: z.number().int().min(1).max(48).default(3),
    })
    .prefault({}),
  dispersion: z
    .object({
      /** Temper the tests for overdispersion at all. false assumes clean binomial noise. */
      enabled: z.boolean().default(true),
      /** Upper limit on φ, so no estimate can switch a test off. */
      max: z.number().min(1).default(20),
      /**
       * The measured extra variance is multiplied by this before tempering. Tempering by a
       * variance ratio is exact for normal-like noise; real swings have heavier tails (a
       * pod's error rate ×4 for five seconds), and simulation with lognormal swings shows
       * E[LR^(1/φ)] ≤ 1 needs about 1.5× the variance ratio at a 2× alternative.
       */
      tailAllowance: z.number().min(1).default(1.5),
      /**
       * Also estimate overdispersion from the spread of error rates between pods (when the
       * provider reports per-series counts): available from the second tick on, long
       * before the tick-to-tick estimate has seen enough blocks.
       */
      usePodSpread: z.boolean().default(true),
      /**
       * Noise shared by all pods of a version (a flaky dependency, a slow node): measured
       * from each version's tick-to-tick swings — the baseline's from the pre-flight
       * reference window on — and, until the data bound it, assumed to be a lognormal swing
       * of `assumedLogSd` per `assumedSeconds`.
       */
      versionNoise: z
        .object({
          enabled: z.boolean().default(true),
          assumedLogSd: z.number().min(0).max(3).default(0.7),
          assumedSeconds: z.number().positive().default(5),
          /** Swings are measured between consecutive windows of at least this many seconds. */
          windowSeconds: z.number().positive().default(30),
        })
        .prefault({}),
    })
    .prefault({}),
  /**
   * Promotion is blocked while the canary/baseline ratio differs between windows of the
   * step (or between this step and the earlier ones) beyond chance: evidence for "no worse"
   * must hold over the step, not come from one episode.
   */
  heterogeneity: z
    .object({
      enabled: z.boolean().default(true),
      /** Observed seconds per window. */
      blockSeconds: z.number().positive().default(30),
      /** Level of the χ² test that blocks promotion. */
      alpha: z.number().gt(0).lt(1).default(0.01),
    })
    .prefault({}),
  /**
   * A tick in which the baseline's count of a metric is far outside its usual range (its
   * pre-flight rate, or the rollout's so far, widened by its measured noise) is a baseline
   * episode: it is set aside from the relative tests of that metric and blocks promotion
   * while it is in the guardrail window.
   */
  episodes: z
    .object({
      enabled: z.boolean().default(true),
      /** How far outside, in standard deviations of the log rate and of the count. */
      z: z.number().positive().default(3.5),
    })
    .prefault({}),
  guardrails: z
    .object({
      /** Canary error rate above this rolls back immediately. null disables. */
      maxErrorRate: z.number().min(0).max(1).nullable().default(0.05),
      /** Canary success rate (1 − error rate) below this rolls back. null disables. */
      minSuccessRate: z.number().min(0).max(1).nullable().default(0.95),
      /** Latency limits as bucket fractions: p99 ≤ le is "fraction above le ≤ 0.01". */
      latency: z
        .array(z.object({ name: z.string().min(1).optional(), le: z.number().positive(), maxFraction: z.number().gt(0).lt(1).default(0.01) }))
        .default([]),
      /** Fewer requests than this in the window never breach a guardrail. */
      minRequests: z.number().int().min(1).default(20),
      /** Chance per evaluation that the lower bound overstates the canary's true bad fraction. */
      delta: z.number().gt(0).lt(1).default(0.001),
      /** Ticks with canary data in the sliding window. */
      windowTicks: z.number().int().min(1).default(6),
      /** When the baseline breaches too, hold instead of rolling back (a shared incident). */
      holdWhenBaselineBreaches: z.boolean().default(true),
    })
    .prefault({}),
  noData: z
    .object({
      /** A metrics outage (no series, failed queries, no new samples) longer than this rolls back. */
      maxOutageSeconds: z.number().positive().default(120),
    })
    .prefault({}),
  /**
   * The most evidence a single tick's counts may contribute (before tempering by φ), as a
   * fraction of the log rollback threshold: below 1, no single tick can trigger a rollback
   * on its own. Overdispersed traffic has rare, huge one-tick excursions (one pod's bad five
   * seconds) whose heavy tails no variance-based tempering absorbs; a broken canary keeps
   * producing evidence on the next tick. Capping each tick's likelihood ratio, min(LR, c)^(1/φ),
   * only lowers it, so the capped mixture is still an e-process.
   */
  tickEvidenceCap: z.number().gt(0).default(0.75),
  /** Canary requests a step must have seen (after its warm-up) before it can promote. */
  minCanaryRequestsToPromote: z.number().int().min(0).default(200),
});

/** Validated judge configuration with every default filled in. */
export type JudgeConfig = z.output<typeof judgeConfigSchema>;
/** What callers may write (defaults optional). */
export type JudgeConfigInput = z.input<typeof judgeConfigSchema>;
/** One canary-versus-baseline test's configuration. */
export type RelativeMetricConfig = JudgeConfig["metrics"][number];

/** Validates a configuration, naming the exact path of the first problems found. */
export function parseJudgeConfig(input: unknown): JudgeConfig {
  const result = judgeConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new JudgeConfigError(`invalid judge config: ${formatIssues(result.error.issues)}`);
  }
  const names = new Set<string>();
  result.data.metrics.forEach((m, i) => {
    if (names.has(m.name)) throw new JudgeConfigError(`invalid judge config: metrics[${i}].name: duplicate name "${m.name}"`);
    names.add(m.name);
  });
  return result.data;
}

/** The time window of the step being judged, as the driver's plan defines it. */
export interface StepWindow {
  /** Index of the step in the plan. */
  readonly index: number;
  /** When the step's weight took effect, Unix seconds. */
  readonly startedAt: number;
  /** No promotion before this much observed (with-traffic, after warm-up) time. */
  readonly minDurationSeconds: number;
  /** At this much wall-clock time without a decision the verdict is inconclusive. */
  readonly maxDurationSeconds: number;
  /**
   * Seconds after `startedAt` whose counts are kept out of the relative tests (the canary's
   * new pods warming up). The absolute guardrails still see them. Defaults to 0.
   */
  readonly warmupSeconds?: number;
}

/** Options of {@link Judge.initialState}. */
export interface InitialStateOptions {
  /** The baseline's counts before the rollout (the pre-flight reading), when they could be read. */
  readonly reference?: ReferenceWindow;
}

/** One heterogeneity window of the current step: tempered event counts and request counts. */
export interface HeterogeneityBlock {
  /** Canary-side and baseline-side events (in the test's orientation), each divided by the tick's φ. */
  readonly x: number;
  readonly y: number;
  readonly nx: number;
  readonly ny: number;
  readonly seconds: number;
}

/** Per-metric accumulated evidence. */
export interface MetricState {
  readonly name: string;
  /** Tempered log-likelihood over the whole rollout on the ratio grid, oriented so that larger is worse. */
  readonly logLik: readonly number[];
  /** The same over the current step only. */
  readonly stepLogLik: readonly number[];
  /** Per grid ratio, Σ over ticks of min(tick log-LR against the margin, cap) / φ. */
  readonly cappedGain: readonly number[];
  /**
   * The level the canary's own rate is tested against in this step (events per request):
   * allowedRatio × the baseline's pre-flight rate (its lower bound), or `negligibleRate`;
   * for a lowerIsWorse metric, the pre-flight rate's upper bound / allowedRatio. Absent: no
   * such test.
   */
  readonly rateLevel?: number;
  /** Tempered Poisson log-likelihood of the canary's events in this step on the grid rateLevel·g. */
  readonly rateLogLik: readonly number[];
  /** The baseline's pre-flight rate, when a reference was read. */
  readonly referenceRate?: number;
  readonly canaryEvents: number;
  readonly canaryRequests: number;
  readonly baselineEvents: number;
  readonly baselineRequests: number;
  readonly stepCanaryEvents: number;
  readonly stepCanaryRequests: number;
  /** The current step's heterogeneity windows, oldest first; the last may still be filling. */
  readonly blocks: readonly HeterogeneityBlock[];
  /** Per-pod spread (errors metric only; zeros elsewhere). */
  readonly podSpread: PodSpreadState;
  /** The baseline's noise shared by all its pods (from the reference on). */
  readonly baselineNoise: NoiseState;
  /** Ticks set aside as baseline episodes, over the rollout. */
  readonly episodes: number;
  /** The φ the last tick was tempered with. */
  readonly lastDispersion: number;
}

/** Guardrail counts of one tick with canary data. */
export interface GuardWindowEntry {
  /** Per guardrail: [canary bad, canary total, baseline bad, baseline total]. */
  readonly guards: Readonly<Record<string, readonly [number, number, number, number]>>;
  /** Names of the metrics for which this tick was a baseline episode. */
  readonly episodes?: readonly string[];
}

/** Everything the judge remembers between ticks. Plain JSON: persist it with the rollout record. */
export interface JudgeState {
  readonly schema: 2;
  readonly step: StepWindow & {
    /** Seconds of ticks with canary traffic in this step (after its warm-up). */
    readonly observedSeconds: number;
    readonly canaryRequests: number;
  };
  /** End of the last tick seen, whatever its kind. */
  readonly lastTickEnd?: number;
  /** End of the last tick that had data; an outage is measured from here. */
  readonly lastDataEnd?: number;
  /** The pre-flight reference window used, if any. */
  readonly reference?: { readonly start: number; readonly end: number; readonly intervals: number };
  /** Evidence is cumulative over the whole rollout, across steps. */
  readonly metrics: readonly MetricState[];
  /** The last `windowTicks` ticks with canary data, oldest first. */
  readonly window: readonly GuardWindowEntry[];
}

/** The result of one tick. */
export interface JudgeStep {
  readonly state: JudgeState;
  readonly verdict: Verdict;
}

interface GuardrailSpec {
  readonly name: string;
  readonly limit: number;
  readonly extract: (v: VersionCounts) => readonly [number, number] | undefined;
}

/** Chance that the reference's rate bound is wrong (the rate test's level is set from it). */
const REFERENCE_DELTA = 0.001;
/** Baseline requests and events the rollout must have seen before its own rate can define an episode. */
const EPISODE_HISTORY = { requests: 2000, events: 30 } as const;

const fmtPct = (x: number): string => `${(100 * x).toFixed(x < 0.001 && x > 0 ? 3 : 2)}%`;
const fmtNum = (x: number): string => (Number.isFinite(x) ? (x >= 1e6 ? x.toExponential(2) : x >= 100 ? x.toFixed(0) : x.toPrecision(3)) : String(x));

/** Errors beyond the request count are a scrape misalignment, not more failures. */
function clampEvents(events: number, requests: number): number {
  return Math.max(0, Math.min(events, requests));
}

/** Bad and total requests above a latency bucket; undefined when the histogram lacks that bucket. */
export function slowerThan(v: VersionCounts, le: number): readonly [number, number] | undefined {
  const buckets = v.latencyBuckets;
  if (!buckets) return undefined;
  const total = buckets.find((b) => b.le === Infinity);
  const at = buckets.find((b) => Math.abs(b.le - le) <= 1e-9 * Math.max(1, le));
  if (!total || !at) return undefined;
  return [Math.max(0, total.count - at.count), total.count];
}

interface PerMetric {
  readonly cfg: RelativeMetricConfig;
  readonly direction: "higherIsWorse" | "lowerIsWorse";
  readonly marginIndex: number;
  readonly allowedIndex: number;
  readonly upWeights: readonly number[];
  readonly downWeights: readonly number[];
  /** Mixture weights of the canary-rate test: below 1 (higherIsWorse) or above 1 (lowerIsWorse). */
  readonly rateWeights: readonly number[];
  readonly logRollback: number;
}

/**
 * Sequential canary-versus-baseline judge. The instance holds only the validated
 * configuration and values derived from it (the ratio grid and prior weights); all
 * evolving state is passed in and returned, so instances are interchangeable.
 */
export class Judge {
  /** The validated configuration. */
  public readonly config: JudgeConfig;
  /** The ratio grid every metric's likelihood lives on. */
  public readonly grid: readonly number[];
  private readonly perMetric: readonly PerMetric[];
  private readonly guardrails: readonly GuardrailSpec[];
  private readonly dispersionOptions: JudgeConfig["dispersion"];
  private readonly oneIndex: number;
  /** Version noise assumed before the data bound it, ν in seconds. */
  private readonly assumedNoise: number;

  constructor(config: JudgeConfigInput | JudgeConfig = {}) {
    this.config = parseJudgeConfig(config);
    const c = this.config;
    const specials = c.metrics.flatMap((m) => [m.margin, m.allowedRatio]);
    for (const [i, m] of c.metrics.entries()) {
      if (m.margin >= m.allowedRatio) {
        throw new JudgeConfigError(`invalid judge config: metrics[${i}].margin: must be < allowedRatio (${m.allowedRatio}), got ${m.margin}`);
      }
      if (m.allowedRatio >= c.grid.maxRatio || m.margin * c.grid.alternativeSpan > c.grid.maxRatio * 1.0001) {
        throw new JudgeConfigError(`invalid judge config: grid.maxRatio: must cover metrics[${i}] margin × alternativeSpan (${m.margin * c.grid.alternativeSpan}), got ${c.grid.maxRatio}`);
      }
    }
    if (c.grid.minRatio * c.grid.alternativeSpan > 1.0001) {
      throw new JudgeConfigError(`invalid judge config: grid.minRatio: must be ≤ 1/alternativeSpan (${1 / c.grid.alternativeSpan}), got ${c.grid.minRatio}`);
    }
    this.grid = buildRatioGrid({ ...c.grid, include: [1, ...specials] });
    const idx = (x: number): number => this.grid.findIndex((p) => Math.abs(Math.log(p / x)) < 1e-9);
    this.oneIndex = idx(1);
    const logRollback = Math.log(c.metrics.length / c.alpha);
    const every = c.grid.alternativesPerDoubling;
    this.perMetric = c.metrics.map((m) => {
      const direction = m.direction ?? (m.source.kind === "count" ? "lowerIsWorse" : "higherIsWorse");
      return {
        cfg: m,
        direction,
        marginIndex: idx(m.margin),
        allowedIndex: idx(m.allowedRatio),
        upWeights: upperAlternativeLogWeights(this.grid, m.margin, c.grid.alternativeSpan, every),
        downWeights: lowerAlternativeLogWeights(this.grid, m.allowedRatio, c.grid.alternativeSpan, every),
        rateWeights:
          direction === "higherIsWorse"
            ? lowerAlternativeLogWeights(this.grid, 1, c.grid.alternativeSpan, every)
            : upperAlternativeLogWeights(this.grid, 1, c.grid.alternativeSpan, every),
        logRollback,
      };
    });
    const g = c.guardrails;
    const guards: GuardrailSpec[] = [];
    if (g.maxErrorRate !== null) guards.push({ name: "errorRate", limit: g.maxErrorRate, extract: (v) => [v.errors, v.requests] });
    if (g.minSuccessRate !== null) guards.push({ name: "successRate", limit: 1 - g.minSuccessRate, extract: (v) => [v.errors, v.requests] });
    for (const l of g.latency) {
      guards.push({ name: l.name ?? `latencyAbove${l.le}s`, limit: l.maxFraction, extract: (v) => slowerThan(v, l.le) });
    }
    this.guardrails = guards;
    this.dispersionOptions = c.dispersion;
    const vn = c.dispersion.versionNoise;
    this.assumedNoise = vn.enabled ? (Math.exp(vn.assumedLogSd * vn.assumedLogSd) - 1) * vn.assumedSeconds : 0;
  }

  /**
   * A fresh state for a rollout whose first step is `step`. With a `reference` (the
   * baseline's counts before the rollout), each metric gets the baseline's usual rate — the
   * level the canary's own rate must stay under for a promotion, and the centre of the
   * baseline-episode range — and the baseline's measured noise, so the first ticks are
   * tempered by what the baseline actually does rather than by an assumption.
   */
  initialState(step: StepWindow, options: InitialStateOptions = {}): JudgeState {
    const ref = options.reference && options.reference.baseline.length > 0 ? options.reference : undefined;
    return {
      schema: 2,
      step: { ...step, observedSeconds: 0, canaryRequests: 0 },
      ...(ref ? { reference: { start: ref.start, end: ref.end, intervals: ref.baseline.length } } : {}),
      metrics: this.config.metrics.map((m, i) => this.initialMetric(m.name, i, ref)),
      window: [],
    };
  }

  private initialMetric(name: string, i: number, ref: ReferenceWindow | undefined): MetricState {
    const pm = this.perMetric[i];
    let baselineNoise = emptyNoise();
    let podSpread: PodSpreadState = { excess: 0, scale: 0, noise: 0 };
    let rateLevel: number | undefined;
    let referenceRate: number | undefined;
    if (ref) {
      let events = 0;
      let requests = 0;
      for (const v of ref.baseline) {
        const e = this.eventsOf(i, v);
        if (!e) {
          baselineNoise = breakNoiseChain(baselineNoise);
          continue;
        }
        events += e[0];
        requests += e[1];
        // The spread between the baseline's pods before the rollout: per-pod noise measured from the first tick on.
        if (pm.cfg.source.kind === "errors" && v.bySeries) podSpread = updatePodSpread(podSpread, v.bySeries, ref.intervalSeconds);
        baselineNoise = updateNoise(baselineNoise, e[0], e[1], ref.intervalSeconds, this.config.dispersion.versionNoise.windowSeconds);
      }
      baselineNoise = breakNoiseChain(baselineNoise);
      if (requests > 0) {
        referenceRate = events / requests;
        // The reference's own swings widen its rate's bounds: counts are deflated by their
        // variance inflation (quasi-likelihood) before the Poisson bound.
        const perInterval = events / ref.baseline.length;
        const inflation = 1 + (perInterval * noiseUpperBound(baselineNoise, this.assumedNoise)) / ref.intervalSeconds;
        const b = poissonRateBounds(events / inflation, requests / inflation, REFERENCE_DELTA);
        if (pm.direction === "higherIsWorse") {
          rateLevel = Math.max(pm.cfg.referenceRatio * b.lower, pm.cfg.negligibleRate);
        } else if (b.upper > 0 && Number.isFinite(b.upper)) {
          rateLevel = b.upper / pm.cfg.referenceRatio;
        }
      }
    } else if (pm.direction === "higherIsWorse" && pm.cfg.negligibleRate > 0) {
      rateLevel = pm.cfg.negligibleRate;
    }
    const zeros = this.grid.map(() => 0);
    return {
      name,
      logLik: zeros,
      stepLogLik: zeros,
      cappedGain: zeros,
      ...(rateLevel !== undefined && rateLevel > 0 ? { rateLevel } : {}),
      rateLogLik: zeros,
      ...(referenceRate !== undefined ? { referenceRate } : {}),
      canaryEvents: 0,
      canaryRequests: 0,
      baselineEvents: 0,
      baselineRequests: 0,
      stepCanaryEvents: 0,
      stepCanaryRequests: 0,
      blocks: [],
      podSpread,
      baselineNoise,
      episodes: 0,
      lastDispersion: 1,
    };
  }

  /**
   * Moves to the next step. The evidence of harm and the rollout-wide likelihood carry over
   * (they are valid over the whole rollout: each tick's likelihood already accounts for its
   * own canary share), so a regression that shows intermittently keeps counting; the step's
   * own likelihood, canary-rate test, heterogeneity windows and clocks restart, and the
   * guardrail window is cleared so the new weight is judged on its own traffic.
   */
  startStep(state: JudgeState, step: StepWindow): JudgeState {
    this.checkState(state);
    const zeros = this.grid.map(() => 0);
    return {
      ...state,
      step: { ...step, observedSeconds: 0, canaryRequests: 0 },
      metrics: state.metrics.map((ms) => ({
        ...ms,
        stepLogLik: zeros,
        rateLogLik: zeros,
        stepCanaryEvents: 0,
        stepCanaryRequests: 0,
        blocks: [],
        // The reading at the weight change is not judged, so consecutive ticks do not pair across it.
        baselineNoise: breakNoiseChain(ms.baselineNoise),
      })),
      window: [],
    };
  }

  /**
   * Continues a step from a state persisted by an earlier driver (the rollout record's `judge`),
   * so a resumed step keeps its evidence and its observed time instead of starting over. The
   * time the earlier driver was gone is neither observed time nor a metrics outage: the
   * returned state's last tick (and last data) end at `at`, the reading the resumed driver
   * starts from. The step's durations come from `step` (the plan now in force).
   * @throws JudgeInputError when `value` is not a state of this configuration at `step.index`.
   */
  resumeStep(value: unknown, step: StepWindow, at: number): JudgeState {
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new JudgeInputError("judge state must be an object");
    const state = value as JudgeState;
    if (!Array.isArray(state.metrics) || !Array.isArray(state.window) || state.step === null || typeof state.step !== "object") {
      throw new JudgeInputError("judge state must have metrics, window and step");
    }
    this.checkState(state);
    const { observedSeconds, canaryRequests, startedAt, index } = state.step;
    if (index !== step.index) throw new JudgeInputError(`judge state is for step ${String(index)}, resuming step ${step.index}`);
    if (![observedSeconds, canaryRequests, startedAt].every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0) || startedAt > at) {
      throw new JudgeInputError("judge state's step clocks are not valid");
    }
    return {
      ...state,
      step: { ...step, startedAt, observedSeconds, canaryRequests },
      lastTickEnd: at,
      lastDataEnd: at,
    };
  }

  /** Judges one tick. Never throws for bad data: outages and gaps are measurements too. */
  tick(state: JudgeState, m: TickMeasurement): JudgeStep {
    this.checkState(state);
    if (state.lastTickEnd !== undefined && m.end <= state.lastTickEnd) {
      throw new JudgeInputError(`tick ending at ${m.end} is not after the previous tick (${state.lastTickEnd})`);
    }
    const c = this.config;
    const elapsed = m.end - state.step.startedAt;
    let next: JudgeState = { ...state, lastTickEnd: m.end };
    const reasons: string[] = [];
    let hold: HoldReason | undefined;
    let canaryForGuards: VersionCounts | undefined;
    let baselineForGuards: VersionCounts | undefined;
    let hasData = false;
    let outageSeconds = 0;
    let episodes: string[] = [];

    switch (m.kind) {
      case "priming":
        next = { ...next, lastDataEnd: m.end };
        hold = "priming";
        reasons.push("first counter reading: nothing to compare yet");
        break;
      case "pending": {
        // Nothing new since the last sample-aligned reading: wait, but not forever (scrapes may have stopped).
        const since = state.lastDataEnd ?? state.step.startedAt;
        outageSeconds = m.end - since;
        hold = "awaitingSamples";
        reasons.push(`no new samples since ${fmtNum(m.since)} (${fmtNum(outageSeconds)}s without data, limit ${c.noData.maxOutageSeconds}s)`);
        break;
      }
      case "queryFailed":
      case "noValues": {
        // A canary no request has reached yet has no series at all: that is no traffic, which
        // holds the step without starting the outage clock. Series that existed and vanished
        // (a crashed or unscraped pod) fall through to the outage below.
        if (m.kind === "noValues" && m.missing.length === 1 && m.missing[0] === "canary" && m.neverSeen.includes("canary")) {
          next = { ...next, lastDataEnd: m.end };
          hold = "noTraffic";
          reasons.push("no canary series yet: no request has reached the canary; holding the step");
          break;
        }
        const since = state.lastDataEnd ?? state.step.startedAt;
        outageSeconds = m.end - since;
        hold = "metricsOutage";
        reasons.push(
          m.kind === "queryFailed"
            ? `metrics query failed (${m.error}); no data for ${fmtNum(outageSeconds)}s (limit ${c.noData.maxOutageSeconds}s)`
            : `no series for ${m.missing.join(" and ")} (${m.detail}); no data for ${fmtNum(outageSeconds)}s (limit ${c.noData.maxOutageSeconds}s)`,
        );
        if (m.kind === "noValues" && m.canary && m.canary.requests > 0) canaryForGuards = m.canary;
        break;
      }
      case "ok": {
        next = { ...next, lastDataEnd: m.end };
        if (m.canary.requests <= 0) {
          hold = "noTraffic";
          reasons.push("no canary requests in this tick: holding the step");
          break;
        }
        canaryForGuards = m.canary;
        baselineForGuards = m.baseline;
        const covers = m.covers ?? { start: m.start, end: m.end };
        const seconds = covers.end - covers.start;
        const warmup = next.step.warmupSeconds ?? 0;
        if (warmup > 0 && covers.start < next.step.startedAt + warmup - 1e-9) {
          // Counts that started inside the warm-up are kept out of the relative tests (and out
          // of the step's observed time); the guardrails below still see them.
          hold = "warmup";
          reasons.push(`warm-up: counts from ${fmtNum(covers.start - next.step.startedAt)}s into the step, warm-up ${fmtNum(warmup)}s: guardrails only`);
          next = { ...next, metrics: next.metrics.map((ms) => ({ ...ms, baselineNoise: breakNoiseChain(ms.baselineNoise) })) };
          break;
        }
        if (!(seconds > 0)) {
          hold = "noTraffic";
          reasons.push("the reading covers no time: holding the step");
          break;
        }
        hasData = true;
        const updated = next.metrics.map((ms, i) => this.updateMetric(ms, i, m.canary, m.baseline, seconds));
        episodes = updated.filter((u) => u.episode).map((u) => u.state.name);
        next = {
          ...next,
          step: { ...next.step, observedSeconds: next.step.observedSeconds + seconds, canaryRequests: next.step.canaryRequests + m.canary.requests },
          metrics: updated.map((u) => u.state),
        };
        break;
      }
    }

    // Guardrails see every tick with canary counts, including one whose baseline is missing:
    // a canary failing half its requests must not wait for the baseline's scrape to recover.
    if (canaryForGuards) {
      const guards: Record<string, readonly [number, number, number, number]> = {};
      for (const g of this.guardrails) {
        const cv = g.extract(canaryForGuards);
        const bv = baselineForGuards ? g.extract(baselineForGuards) : undefined;
        if (cv) guards[g.name] = [cv[0], cv[1], bv?.[0] ?? 0, bv?.[1] ?? 0];
      }
      const window = [...next.window, { guards, ...(episodes.length > 0 ? { episodes } : {}) }].slice(-c.guardrails.windowTicks);
      next = { ...next, window };
    }
    const guardReports = canaryForGuards ? this.evaluateGuardrails(next.window) : [];
    const metricReports = next.metrics.map((ms, i) => this.reportMetric(ms, i, m, next.step.index > 0));

    let decision: Decision = "continue";
    const breached = guardReports.filter((g) => g.status === "breached");
    const shared = guardReports.filter((g) => g.status === "sharedBreach");
    const badMetrics = metricReports.filter((r) => r.status === "breached");
    if (breached.length > 0) {
      decision = "rollback";
      reasons.unshift(
        ...breached.map((g) =>
          g.name === "successRate"
            ? `guardrail successRate: canary success ≤ ${fmtPct(1 - g.lowerBound)} (observed ${fmtPct(1 - g.observed)} of ${fmtNum(g.requests)} requests) below minimum ${fmtPct(1 - g.limit)}`
            : `guardrail ${g.name}: canary bad fraction ≥ ${fmtPct(g.lowerBound)} (observed ${fmtPct(g.observed)} of ${fmtNum(g.requests)} requests) exceeds limit ${fmtPct(g.limit)}`,
        ),
      );
    } else if (badMetrics.length > 0) {
      decision = "rollback";
      for (const r of [...badMetrics].reverse()) {
        // Confidence-sequence bounds are strict: the ratio is above the largest rejected null.
        const bound = r.direction === "higherIsWorse" ? `above ${fmtNum(r.ratioLower)} (margin ${fmtNum(r.margin)})` : `below ${fmtNum(r.ratioUpper)} (margin ${fmtNum(r.margin)})`;
        reasons.unshift(
          `${r.name}: canary/baseline ratio ${bound} (e-value ${fmtNum(r.eValue)} ≥ ${fmtNum(r.rollbackThreshold)}); canary ${fmtPct(r.canaryRate)} vs baseline ${fmtPct(r.baselineRate)}`,
        );
      }
    } else if ((hold === "metricsOutage" || hold === "awaitingSamples") && outageSeconds >= c.noData.maxOutageSeconds) {
      decision = "rollback";
      reasons.unshift(hold === "awaitingSamples" ? `no new samples for ${fmtNum(outageSeconds)}s, limit ${c.noData.maxOutageSeconds}s` : `metrics unavailable for ${fmtNum(outageSeconds)}s, limit ${c.noData.maxOutageSeconds}s`);
    } else {
      if (shared.length > 0) {
        hold = "sharedGuardrailBreach";
        for (const g of shared) {
          reasons.push(`guardrail ${g.name}: canary ${fmtPct(g.observed)} and baseline ${fmtPct(g.baselineObserved ?? 0)} both exceed ${fmtPct(g.limit)}: shared incident, holding`);
        }
      }
      const blockers = this.promoteBlockers(next, hasData, metricReports, guardReports);
      if (blockers.length === 0) {
        decision = "promote";
        reasons.unshift(
          `all metrics within allowed ratios (${metricReports.map((r) => `${r.name} ${r.passedBy === "negligibleRate" ? `rate < ${fmtPct(r.rateLevel ?? 0)}` : `ratio < ${fmtNum(r.direction === "higherIsWorse" ? r.ratioUpper : r.ratioLower)}`}`).join(", ")}) after ${fmtNum(next.step.observedSeconds)}s observed`,
        );
      } else if (elapsed >= next.step.maxDurationSeconds) {
        decision = "inconclusive";
        reasons.unshift(`step ${next.step.index} reached its maximum duration (${next.step.maxDurationSeconds}s) without a decision: ${blockers.join("; ")}`);
      } else if (reasons.length === 0) {
        reasons.push(`collecting evidence: ${blockers.join("; ")}`);
      }
    }

    const verdict: Verdict = {
      decision,
      at: m.end,
      reasons,
      ...(decision === "continue" && hold ? { hold } : {}),
      stepElapsedSeconds: elapsed,
      stepObservedSeconds: next.step.observedSeconds,
      metrics: metricReports,
      guardrails: guardReports,
    };
    return { state: next, verdict };
  }

  private checkState(state: JudgeState): void {
    if (state.schema !== 2) throw new JudgeInputError(`unsupported judge state schema ${String(state.schema)}`);
    if (state.metrics.length !== this.config.metrics.length) {
      throw new JudgeInputError(`judge state has ${state.metrics.length} metrics, config has ${this.config.metrics.length}`);
    }
    state.metrics.forEach((ms, i) => {
      if (ms.name !== this.config.metrics[i].name || ms.logLik.length !== this.grid.length) {
        throw new JudgeInputError(`judge state metric ${i} ("${ms.name}") was built for another configuration`);
      }
    });
  }

  /** One version's (events, requests) for metric i; undefined when the counts lack its inputs. */
  private eventsOf(i: number, v: VersionCounts): readonly [number, number] | undefined {
    const src = this.perMetric[i].cfg.source;
    switch (src.kind) {
      case "errors":
        return [clampEvents(v.errors, v.requests), v.requests];
      case "latencyAbove":
        return slowerThan(v, src.le);
      case "count": {
        const e = v.counts?.[src.key];
        // A KPI can exceed the request count (items per request), so it is not clamped to it.
        return e === undefined ? undefined : [Math.max(0, e), v.requests];
      }
    }
  }

  /**
   * Whether the baseline's count is far outside its usual range for its requests: beyond
   * z standard deviations of its log-rate swings (the measured version noise) and of
   * counting noise. The rule looks only at the baseline and at the past, never at how the
   * tick's events split between the versions given their total — see docs/judge.md for why
   * setting such ticks aside keeps the tests (almost exactly) valid.
   */
  private isEpisode(ms: MetricState, events: number, requests: number, seconds: number): boolean {
    if (!this.config.episodes.enabled) return false;
    const rate =
      ms.referenceRate ??
      (ms.baselineRequests >= EPISODE_HISTORY.requests && ms.baselineEvents >= EPISODE_HISTORY.events ? ms.baselineEvents / ms.baselineRequests : undefined);
    if (rate === undefined || !(rate > 0)) return false;
    const z = this.config.episodes.z;
    const expected = requests * rate;
    const logSd = Math.sqrt(Math.log(1 + noiseUpperBound(ms.baselineNoise, this.assumedNoise) / seconds));
    const high = expected * Math.exp(z * logSd);
    const low = expected * Math.exp(-z * logSd);
    return events > high + z * Math.sqrt(high) || events < low - z * Math.sqrt(low);
  }

  private updateMetric(ms: MetricState, i: number, canary: VersionCounts, baseline: VersionCounts, seconds: number): { state: MetricState; episode: boolean } {
    const ce0 = this.eventsOf(i, canary);
    const be0 = this.eventsOf(i, baseline);
    if (!ce0 || !be0) return { state: ms, episode: false };
    const [ce, cn] = ce0;
    const [be, bn] = be0;
    if (cn <= 0 || bn <= 0) {
      return { state: { ...ms, canaryEvents: ms.canaryEvents + ce, canaryRequests: ms.canaryRequests + cn, baselineEvents: ms.baselineEvents + be, baselineRequests: ms.baselineRequests + bn }, episode: false };
    }
    if (this.isEpisode(ms, be, bn, seconds)) {
      return { state: { ...ms, episodes: ms.episodes + 1, baselineNoise: breakNoiseChain(ms.baselineNoise) }, episode: true };
    }
    const pm = this.perMetric[i];
    // A drop in a KPI is the canary being worse: swapping the roles of the versions maps
    // ψ to 1/ψ exactly (θ becomes 1 − θ), so one upper-tail test serves both directions.
    const lower = pm.direction === "lowerIsWorse";
    const [x, y, nx, ny] = lower ? [be, ce, bn, cn] : [ce, be, cn, bn];
    const rho = nx / (nx + ny);
    // The variance inflation that validity needs is the one under the null, at the margin:
    // θ at ψ0, and the tick's expected total with both versions at the baseline's rate (from
    // the request counts and earlier ticks, not the tick's own events: a tick in which one
    // version happens to fail less has a smaller total and a skewed split, and tempering it
    // less would favour exactly the ticks that mislead).
    const theta = shareTheta(rho, pm.cfg.margin);
    const expected = this.expectedEvents(ms, cn + bn, x + y);
    // Every dispersion estimate uses earlier ticks only, so φ is predictable (see evidence.ts).
    const vn = this.config.dispersion.versionNoise.enabled;
    const noiseB = vn ? noiseUpperBound(ms.baselineNoise, this.assumedNoise) : 0;
    // The canary is assumed as noisy as the baseline: it runs on the same infrastructure and
    // dependencies, and its own swings are too few to measure early (a canary that swings
    // more than the baseline is suspect anyway: its swings may be the regression). What
    // differs between the versions — how many pods share the noise — is the pod spread's part.
    const noiseC = vn ? noiseB : 0;
    const phiShared = 1 + (expected * theta * (1 - theta) * (noiseB + noiseC)) / seconds;
    const phi = this.dispersionOptions.enabled
      ? Math.min(this.dispersionOptions.max, 1 + this.dispersionOptions.tailAllowance * (Math.max(this.podPhi(ms, i, canary, baseline, rho, expected, seconds), phiShared) - 1))
      : 1;
    const ll = tickLogLikelihood(this.grid, x, y, rho);
    const logLik = ms.logLik.map((t, k) => t + ll[k] / phi);
    const stepLogLik = ms.stepLogLik.map((t, k) => t + ll[k] / phi);
    const cap = this.config.tickEvidenceCap * pm.logRollback;
    // The cap applies to what the tick's own counts show, before tempering: a noisier tick
    // (larger φ) can prove less. Heavy-tailed swings (one pod's bad five seconds) are what
    // tempering by a variance ratio cannot fully absorb; the cap bounds each one's effect.
    const cappedGain = ms.cappedGain.map((g, k) => g + Math.min(cap, ll[k] - ll[pm.marginIndex]) / phi);

    // The canary's own rate against its level, tempered by the canary's overdispersion at the
    // level (the null's boundary, where validity is decided).
    let rateLogLik = ms.rateLogLik;
    if (ms.rateLevel !== undefined) {
      const mu = cn * ms.rateLevel;
      const pods = canary.bySeries ? Math.max(1, canary.bySeries.filter((p) => p.requests > 0).length) : 1;
      const podC = this.dispersionOptions.usePodSpread && pm.cfg.source.kind === "errors" ? podNoiseFactor(ms.podSpread) / seconds : 0;
      const phiRate = this.dispersionOptions.enabled ? Math.min(this.dispersionOptions.max, 1 + this.dispersionOptions.tailAllowance * ((mu * noiseC) / seconds + (podC * mu) / pods)) : 1;
      const rl = rateTickLogLikelihood(this.grid, ms.rateLevel, ce, cn);
      rateLogLik = ms.rateLogLik.map((t, k) => t + rl[k] / phiRate);
    }

    // Heterogeneity windows: tempered counts per window of observed time.
    const blocks = [...ms.blocks];
    const open = blocks[blocks.length - 1];
    if (open && open.seconds < this.config.heterogeneity.blockSeconds) {
      blocks[blocks.length - 1] = { x: open.x + x / phi, y: open.y + y / phi, nx: open.nx + nx, ny: open.ny + ny, seconds: open.seconds + seconds };
    } else {
      blocks.push({ x: x / phi, y: y / phi, nx, ny, seconds });
    }

    // The pod spread is updated after this tick's φ was fixed, so φ stays predictable.
    const podSpread =
      pm.cfg.source.kind === "errors" && canary.bySeries && baseline.bySeries ? updatePodSpread(updatePodSpread(ms.podSpread, canary.bySeries, seconds), baseline.bySeries, seconds) : ms.podSpread;
    return {
      state: {
        ...ms,
        logLik,
        stepLogLik,
        cappedGain,
        rateLogLik,
        canaryEvents: ms.canaryEvents + ce,
        canaryRequests: ms.canaryRequests + cn,
        baselineEvents: ms.baselineEvents + be,
        baselineRequests: ms.baselineRequests + bn,
        stepCanaryEvents: ms.stepCanaryEvents + ce,
        stepCanaryRequests: ms.stepCanaryRequests + cn,
        blocks,
        podSpread,
        baselineNoise: updateNoise(ms.baselineNoise, be, bn, seconds, this.config.dispersion.versionNoise.windowSeconds),
        lastDispersion: phi,
      },
      episode: false,
    };
  }

  /** The grid ratio with the largest log-likelihood; 1 while the likelihood is flat (no evidence yet). */
  private mle(logLik: readonly number[]): number {
    const best = argMax(logLik);
    return logLik[best] > logLik[this.oneIndex] ? this.grid[best] : 1;
  }

  /**
   * The tick's expected total of events with both versions at the baseline's rate (the
   * rollout's so far, else the reference's), from `requests`; the realised total only
   * when neither exists yet.
   */
  private expectedEvents(ms: MetricState, requests: number, realised: number): number {
    const rate = ms.baselineRequests > 0 ? ms.baselineEvents / ms.baselineRequests : ms.referenceRate;
    return rate === undefined ? realised : requests * rate;
  }

  /**
   * φ implied by the per-pod spread seen in earlier ticks, for n expected bad events split
   * as under the margin (1 without per-series counts). Depends on the request counts and
   * the past only, never on how the tick's events split between the versions, so the
   * conditional test stays valid.
   */
  private podPhi(ms: MetricState, i: number, canary: VersionCounts, baseline: VersionCounts, rho: number, n: number, seconds: number): number {
    if (!this.dispersionOptions.enabled || !this.dispersionOptions.usePodSpread || ms.podSpread.scale <= 0) return 1;
    if (this.perMetric[i].cfg.source.kind !== "errors" || !canary.bySeries || !baseline.bySeries) return 1;
    const c = podNoiseFactor(ms.podSpread) / seconds;
    const theta = shareTheta(rho, this.perMetric[i].cfg.margin);
    const canaryPods = Math.max(1, canary.bySeries.filter((p) => p.requests > 0).length);
    const baselinePods = Math.max(1, baseline.bySeries.filter((p) => p.requests > 0).length);
    return podDispersion(c, theta, (n * theta) / canaryPods, (n * (1 - theta)) / baselinePods);
  }

  /** The heterogeneity test over the step's windows (and the earlier steps, pooled): statistic, threshold, windows. */
  private heterogeneity(ms: MetricState, laterStep: boolean): { statistic: number; threshold: number; windows: number } {
    const h = this.config.heterogeneity;
    const arrays: number[][] = [];
    for (const b of ms.blocks) {
      // A window still filling counts once it holds half a window of time.
      if (b.seconds < h.blockSeconds / 2 || b.nx <= 0 || b.ny <= 0) continue;
      arrays.push(tickLogLikelihood(this.grid, b.x, b.y, b.nx / (b.nx + b.ny)));
    }
    if (laterStep) {
      const before = ms.logLik.map((t, k) => t - ms.stepLogLik[k]);
      if (before.some((t) => Math.abs(t) > 1e-12)) arrays.push(before);
    }
    const windows = arrays.length;
    if (!h.enabled || windows < 2) return { statistic: 0, threshold: Infinity, windows };
    return { statistic: heterogeneityStatistic(arrays), threshold: chiSquareQuantile(1 - h.alpha, windows - 1), windows };
  }

  private reportMetric(ms: MetricState, i: number, m: TickMeasurement, laterStep: boolean): RelativeMetricReport {
    const pm = this.perMetric[i];
    const c = this.config;
    const T = ms.logLik;
    const logPromote = Math.log(1 / c.promoteAlpha);
    // The rollback e-value: the mixture of capped likelihood ratios against the margin
    // (cappedGain is already relative to the margin, whose own entry is 0).
    const logE = logEValueUp(ms.cappedGain, pm.upWeights, pm.marginIndex);
    const logP = logEValueDown(T, pm.downWeights, pm.allowedIndex);
    const lo = lowerBoundIndex(T, pm.upWeights, pm.logRollback);
    const hi = upperBoundIndex(T, pm.downWeights, logPromote);
    const stepHi = upperBoundIndex(ms.stepLogLik, pm.downWeights, logPromote);
    const lowerS = lo >= 0 ? this.grid[lo] : 0;
    const upperS = hi >= 0 ? this.grid[hi] : Infinity;
    const stepUpperS = stepHi >= 0 ? this.grid[stepHi] : Infinity;
    const hat = this.mle(T);
    const lower = pm.direction === "lowerIsWorse";
    const available = m.kind !== "ok" || m.canary.requests <= 0 || (this.eventsOf(i, m.canary) !== undefined && this.eventsOf(i, m.baseline) !== undefined);
    const breached = logE >= pm.logRollback;
    const het = this.heterogeneity(ms, laterStep);
    const heterogeneous = het.statistic > het.threshold;
    // The ratio passes when both the rollout's and this step's upper bounds (canary/baseline,
    // oriented) are below the allowed ratio and the ratio looks the same across windows.
    const ratioPass = upperS < pm.cfg.allowedRatio && stepUpperS < pm.cfg.allowedRatio && !heterogeneous;
    // The canary's own rate against its level (time-uniform, like the ratio bounds).
    let rateBound: number | undefined;
    let ratePass = false;
    if (ms.rateLevel !== undefined) {
      if (!lower) {
        const j = upperBoundIndex(ms.rateLogLik, pm.rateWeights, logPromote);
        rateBound = j >= 0 ? ms.rateLevel * this.grid[j] : Infinity;
        ratePass = j >= 0 && j <= this.oneIndex;
      } else {
        const j = lowerBoundIndex(ms.rateLogLik, pm.rateWeights, logPromote);
        rateBound = j >= 0 ? ms.rateLevel * this.grid[j] : 0;
        ratePass = j >= 0 && j >= this.oneIndex;
      }
    }
    const negligibleLevel = !lower && ms.rateLevel !== undefined && ms.rateLevel <= pm.cfg.negligibleRate * (1 + 1e-12);
    let passedBy: "ratio" | "negligibleRate" | undefined;
    if (ms.referenceRate !== undefined) {
      // With a reference, promotion needs the canary's own rate under its level as well as the
      // ratio: a baseline that is unusually bad during the step cannot carry the evidence.
      if (ratePass && negligibleLevel) passedBy = "negligibleRate";
      else if (ratePass && ratioPass) passedBy = "ratio";
    } else if (ratioPass) passedBy = "ratio";
    else if (ratePass && negligibleLevel) passedBy = "negligibleRate";
    const status = breached ? "breached" : !available ? "unavailable" : passedBy ? "passed" : "undecided";
    const noiseB = noiseUpperBound(ms.baselineNoise, this.assumedNoise);
    return {
      name: ms.name,
      direction: pm.direction,
      canaryRate: ms.canaryRequests > 0 ? ms.canaryEvents / ms.canaryRequests : 0,
      baselineRate: ms.baselineRequests > 0 ? ms.baselineEvents / ms.baselineRequests : 0,
      canaryRequests: ms.canaryRequests,
      canaryEvents: ms.canaryEvents,
      ratio: lower ? 1 / hat : hat,
      ratioLower: lower ? 1 / upperS : lowerS,
      ratioUpper: lower ? (lowerS > 0 ? 1 / lowerS : Infinity) : upperS,
      stepRatioBound: lower ? 1 / stepUpperS : stepUpperS,
      eValue: Math.exp(logE),
      rollbackThreshold: c.metrics.length / c.alpha,
      promoteEValue: Math.exp(logP),
      promoteThreshold: 1 / c.promoteAlpha,
      margin: lower ? 1 / pm.cfg.margin : pm.cfg.margin,
      allowedRatio: lower ? 1 / pm.cfg.allowedRatio : pm.cfg.allowedRatio,
      ...(ms.referenceRate !== undefined ? { referenceRate: ms.referenceRate } : {}),
      ...(ms.rateLevel !== undefined ? { rateLevel: ms.rateLevel, rateBound: rateBound! } : {}),
      heterogeneity: het,
      episodes: ms.episodes,
      noise: noiseB,
      dispersion: ms.lastDispersion,
      status,
      ...(status === "passed" ? { passedBy } : {}),
    };
  }

  private evaluateGuardrails(window: readonly GuardWindowEntry[]): GuardrailReport[] {
    const g = this.config.guardrails;
    return this.guardrails.map((spec) => {
      let cb = 0;
      let cn = 0;
      let bb = 0;
      let bn = 0;
      for (const e of window) {
        const v = e.guards[spec.name];
        if (!v) continue;
        cb += v[0];
        cn += v[1];
        bb += v[2];
        bn += v[3];
      }
      const observed = cn > 0 ? cb / cn : 0;
      const lowerBound = proportionLowerBound(cb, cn, g.delta);
      const baselineObserved = bn > 0 ? bb / bn : undefined;
      const baselineOver = bn >= g.minRequests && proportionLowerBound(bb, bn, g.delta) > spec.limit;
      let status: GuardrailReport["status"];
      if (cn < g.minRequests) status = baselineOver ? "baselineBreach" : "insufficientSample";
      else if (lowerBound <= spec.limit) status = baselineOver ? "baselineBreach" : "ok";
      else if (g.holdWhenBaselineBreaches && bn >= g.minRequests && baselineObserved !== undefined && baselineObserved > spec.limit) status = "sharedBreach";
      else status = "breached";
      return { name: spec.name, observed, lowerBound, limit: spec.limit, requests: cn, ...(baselineObserved !== undefined ? { baselineObserved } : {}), status };
    });
  }

  private promoteBlockers(state: JudgeState, hasData: boolean, metrics: readonly RelativeMetricReport[], guards: readonly GuardrailReport[]): string[] {
    const out: string[] = [];
    if (!hasData) out.push("no data this tick");
    if (state.step.observedSeconds < state.step.minDurationSeconds) {
      out.push(`observed ${fmtNum(state.step.observedSeconds)}s of the step's minimum ${state.step.minDurationSeconds}s`);
    }
    if (state.step.canaryRequests < this.config.minCanaryRequestsToPromote) {
      out.push(`${fmtNum(state.step.canaryRequests)} canary requests in this step, need ${this.config.minCanaryRequestsToPromote}`);
    }
    for (const r of metrics) {
      if (r.status === "unavailable") out.push(`${r.name}: inputs missing from this tick`);
      if (r.status !== "undecided") continue;
      const bad = r.direction === "higherIsWorse";
      const within = (b: number): boolean => (bad ? b < r.allowedRatio : b > r.allowedRatio);
      const rollout = bad ? r.ratioUpper : r.ratioLower;
      if (!within(rollout)) out.push(`${r.name}: ratio bound ${fmtNum(rollout)} not yet within ${fmtNum(r.allowedRatio)}`);
      else if (!within(r.stepRatioBound)) out.push(`${r.name}: this step's ratio bound ${fmtNum(r.stepRatioBound)} not yet within ${fmtNum(r.allowedRatio)}`);
      if (r.heterogeneity.statistic > r.heterogeneity.threshold) {
        out.push(`${r.name}: the ratio differs between windows (heterogeneity ${fmtNum(r.heterogeneity.statistic)} > ${fmtNum(r.heterogeneity.threshold)} over ${r.heterogeneity.windows} windows)`);
      }
      if (r.referenceRate !== undefined && r.rateLevel !== undefined && r.rateBound !== undefined && !(bad ? r.rateBound <= r.rateLevel : r.rateBound >= r.rateLevel)) {
        out.push(`${r.name}: canary rate bound ${fmtPct(r.rateBound)} not yet ${bad ? "below" : "above"} ${fmtPct(r.rateLevel)} (${fmtNum(this.perMetric[metrics.indexOf(r)].cfg.referenceRatio)} × the baseline's usual ${fmtPct(r.referenceRate)}${bad ? "" : ", inverted"})`);
      }
    }
    for (const g of guards) {
      if (g.status === "baselineBreach") out.push(`guardrail ${g.name}: the baseline breaches it (${fmtPct(g.baselineObserved ?? 0)} > ${fmtPct(g.limit)}): no promotion while it does`);
      else if (g.status !== "ok") out.push(`guardrail ${g.name}: ${g.status}`);
    }
    const episodes = new Set(state.window.flatMap((e) => e.episodes ?? []));
    if (episodes.size > 0) out.push(`baseline episode (${[...episodes].join(", ")} far from its usual rate) within the last ${this.config.guardrails.windowTicks} ticks: no promotion while it lasts`);
    return out;
  }
}
