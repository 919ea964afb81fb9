/**
 * The judge: a pure function from (config, state, one tick of counts) to (new state,
 * verdict). It never reads clocks, files or the network, so a driver can call it every
 * tick, persist the JSON state in the rollout record, and resume on another machine.
 *
 * Decision order within a tick (first match wins):
 *  1. an absolute guardrail breached by the canary alone → rollback (immediately);
 *  2. relative evidence (canary worse than baseline beyond the margin) → rollback;
 *  3. a metrics outage longer than the limit → rollback;
 *  4. every metric passed, every guardrail clear, enough observed time and requests in
 *     the step, and this tick had data → promote;
 *  5. the step ran out of time → inconclusive;
 *  6. otherwise continue (possibly as a hold: no traffic, outage, shared breach).
 */
import { z } from "zod";
import {
  argMax,
  buildRatioGrid,
  dispersionFactor,
  DispersionOptions,
  DispersionState,
  logEValueDown,
  logEValueUp,
  lowerAlternativeLogWeights,
  lowerBoundIndex,
  podDispersion,
  podNoiseFactor,
  PodSpreadState,
  proportionLowerBound,
  proportionUpperBound,
  shareTheta,
  tickLogLikelihood,
  updateDispersion,
  updatePodSpread,
  upperAlternativeLogWeights,
  upperBoundIndex,
} from "./evidence";
import {
  Decision,
  GuardrailReport,
  HoldReason,
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
    .default([{ name: "errors", source: { kind: "errors" }, margin: 1, allowedRatio: 1.5, negligibleRate: 0.001 }]),
  grid: z
    .object({
      minRatio: z.number().positive().default(1 / 64),
      maxRatio: z.number().positive().default(64),
      pointsPerDoubling: z.number().int().min(1).max(48).default(6),
      /** Mixture alternatives span (margin, margin·span]. */
      alternativeSpan: z.number().gt(1).default(8),
    })
    .prefault({}),
  dispersion: z
    .object({
      enabled: z.boolean().default(true),
      prior: z.number().min(1).default(1),
      priorBlocks: z.number().positive().default(3),
      minBlockVariance: z.number().positive().default(5),
      max: z.number().min(1).default(20),
      /**
       * Also estimate overdispersion from the spread of error rates between pods (when the
       * provider reports per-series counts): available from the second tick on, long
       * before the tick-to-tick estimate has seen enough blocks.
       */
      usePodSpread: z.boolean().default(true),
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
      /** A metrics outage (no series, failed queries) longer than this rolls back. */
      maxOutageSeconds: z.number().positive().default(120),
    })
    .prefault({}),
  /**
   * The most evidence a single tick may contribute, as a fraction of the log rollback
   * threshold (so below 1, no single tick can trigger a rollback on its own). Overdispersed
   * traffic has rare, huge one-tick excursions (one pod's bad five seconds) that no
   * dispersion estimate can anticipate before it has seen one; a broken canary keeps
   * producing evidence on the next tick. Capping each tick's likelihood ratio, min(LR, c),
   * only lowers it, so the capped mixture is still an e-process.
   */
  tickEvidenceCap: z.number().gt(0).default(0.75),
  /** Canary requests a step must have seen before it can promote. */
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
  /** No promotion before this much observed (with-traffic) time. */
  readonly minDurationSeconds: number;
  /** At this much wall-clock time without a decision the verdict is inconclusive. */
  readonly maxDurationSeconds: number;
}

/** Per-metric accumulated evidence. */
export interface MetricState {
  readonly name: string;
  /** Tempered log-likelihood on the ratio grid, oriented so that larger is worse. */
  readonly logLik: readonly number[];
  /** Per grid ratio, Σ over ticks of min(tempered tick log-LR against the margin, cap). */
  readonly cappedGain: readonly number[];
  readonly canaryEvents: number;
  readonly canaryRequests: number;
  readonly baselineEvents: number;
  readonly baselineRequests: number;
  readonly dispersion: DispersionState;
  /** Per-pod spread (errors metric only; zeros elsewhere). */
  readonly podSpread: PodSpreadState;
}

/** Guardrail counts of one tick: per guardrail [canary bad, canary total, baseline bad, baseline total]. */
export type GuardWindowEntry = Readonly<Record<string, readonly [number, number, number, number]>>;

/** Everything the judge remembers between ticks. Plain JSON: persist it with the rollout record. */
export interface JudgeState {
  readonly schema: 1;
  readonly step: StepWindow & {
    /** Seconds of ticks with canary traffic in this step. */
    readonly observedSeconds: number;
    readonly canaryRequests: number;
  };
  /** End of the last tick seen, whatever its kind. */
  readonly lastTickEnd?: number;
  /** End of the last tick that had data; an outage is measured from here. */
  readonly lastDataEnd?: number;
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
  private readonly perMetric: readonly {
    readonly cfg: RelativeMetricConfig;
    readonly direction: "higherIsWorse" | "lowerIsWorse";
    readonly marginIndex: number;
    readonly allowedIndex: number;
    readonly upWeights: readonly number[];
    readonly downWeights: readonly number[];
    readonly logRollback: number;
  }[];
  private readonly guardrails: readonly GuardrailSpec[];
  private readonly dispersionOptions: DispersionOptions;

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
    const logRollback = Math.log(c.metrics.length / c.alpha);
    this.perMetric = c.metrics.map((m) => ({
      cfg: m,
      direction: m.direction ?? (m.source.kind === "count" ? "lowerIsWorse" : "higherIsWorse"),
      marginIndex: idx(m.margin),
      allowedIndex: idx(m.allowedRatio),
      upWeights: upperAlternativeLogWeights(this.grid, m.margin, c.grid.alternativeSpan),
      downWeights: lowerAlternativeLogWeights(this.grid, m.allowedRatio, c.grid.alternativeSpan),
      logRollback,
    }));
    const g = c.guardrails;
    const guards: GuardrailSpec[] = [];
    if (g.maxErrorRate !== null) guards.push({ name: "errorRate", limit: g.maxErrorRate, extract: (v) => [v.errors, v.requests] });
    if (g.minSuccessRate !== null) guards.push({ name: "successRate", limit: 1 - g.minSuccessRate, extract: (v) => [v.errors, v.requests] });
    for (const l of g.latency) {
      guards.push({ name: l.name ?? `latencyAbove${l.le}s`, limit: l.maxFraction, extract: (v) => slowerThan(v, l.le) });
    }
    this.guardrails = guards;
    this.dispersionOptions = c.dispersion;
  }

  /** A fresh state for a rollout whose first step is `step`. */
  initialState(step: StepWindow): JudgeState {
    return {
      schema: 1,
      step: { ...step, observedSeconds: 0, canaryRequests: 0 },
      metrics: this.config.metrics.map((m) => ({
        name: m.name,
        logLik: this.grid.map(() => 0),
        cappedGain: this.grid.map(() => 0),
        canaryEvents: 0,
        canaryRequests: 0,
        baselineEvents: 0,
        baselineRequests: 0,
        dispersion: { sumPearson: 0, blocks: 0, open: [] },
        podSpread: { excess: 0, scale: 0, noise: 0 },
      })),
      window: [],
    };
  }

  /**
   * Moves to the next step. The relative evidence carries over (it is valid over the whole
   * rollout: each tick's likelihood already accounts for its own canary share), while the
   * step's clocks restart and the guardrail window is cleared so the new weight is judged
   * on its own traffic.
   */
  startStep(state: JudgeState, step: StepWindow): JudgeState {
    this.checkState(state);
    return { ...state, step: { ...step, observedSeconds: 0, canaryRequests: 0 }, window: [] };
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
    return { ...state, step: { ...step, startedAt, observedSeconds, canaryRequests }, lastTickEnd: at, lastDataEnd: at };
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

    switch (m.kind) {
      case "priming":
        next = { ...next, lastDataEnd: m.end };
        hold = "priming";
        reasons.push("first counter reading: nothing to compare yet");
        break;
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
        hasData = true;
        canaryForGuards = m.canary;
        baselineForGuards = m.baseline;
        next = {
          ...next,
          step: { ...next.step, observedSeconds: next.step.observedSeconds + (m.end - m.start), canaryRequests: next.step.canaryRequests + m.canary.requests },
          metrics: next.metrics.map((ms, i) => this.updateMetric(ms, i, m.canary, m.baseline)),
        };
        break;
      }
    }

    // Guardrails see every tick with canary counts, including one whose baseline is missing:
    // a canary failing half its requests must not wait for the baseline's scrape to recover.
    if (canaryForGuards) {
      const entry: Record<string, readonly [number, number, number, number]> = {};
      for (const g of this.guardrails) {
        const cv = g.extract(canaryForGuards);
        const bv = baselineForGuards ? g.extract(baselineForGuards) : undefined;
        if (cv) entry[g.name] = [cv[0], cv[1], bv?.[0] ?? 0, bv?.[1] ?? 0];
      }
      const window = [...next.window, entry].slice(-c.guardrails.windowTicks);
      next = { ...next, window };
    }
    const guardReports = canaryForGuards ? this.evaluateGuardrails(next.window) : [];
    const metricReports = next.metrics.map((ms, i) => this.reportMetric(ms, i, m));

    let decision: Decision = "continue";
    const breached = guardReports.filter((g) => g.status === "breached");
    const shared = guardReports.filter((g) => g.status === "sharedBreach");
    const badMetrics = metricReports.filter((r) => r.status === "breached");
    if (breached.length > 0) {
      decision = "rollback";
      reasons.unshift(
        ...breached.map((g) =>
          g.name === "successRate"
            ? `guardrail successRate: canary success ≤ ${fmtPct(1 - g.lowerBound)} (observed ${fmtPct(1 - g.observed)} of ${g.requests} requests) below minimum ${fmtPct(1 - g.limit)}`
            : `guardrail ${g.name}: canary bad fraction ≥ ${fmtPct(g.lowerBound)} (observed ${fmtPct(g.observed)} of ${g.requests} requests) exceeds limit ${fmtPct(g.limit)}`,
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
    } else if (hold === "metricsOutage" && outageSeconds >= c.noData.maxOutageSeconds) {
      decision = "rollback";
      reasons.unshift(`metrics unavailable for ${fmtNum(outageSeconds)}s, limit ${c.noData.maxOutageSeconds}s`);
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
          `all metrics within allowed ratios (${metricReports.map((r) => `${r.name} ${r.passedBy === "negligibleRate" ? `rate ≤ ${fmtPct(this.perMetric[metricReports.indexOf(r)].cfg.negligibleRate)}` : `ratio ≤ ${fmtNum(r.ratioUpper)}`}`).join(", ")}) after ${fmtNum(next.step.observedSeconds)}s observed`,
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
    if (state.schema !== 1) throw new JudgeInputError(`unsupported judge state schema ${String(state.schema)}`);
    if (state.metrics.length !== this.config.metrics.length) {
      throw new JudgeInputError(`judge state has ${state.metrics.length} metrics, config has ${this.config.metrics.length}`);
    }
    state.metrics.forEach((ms, i) => {
      if (ms.name !== this.config.metrics[i].name || ms.logLik.length !== this.grid.length) {
        throw new JudgeInputError(`judge state metric ${i} ("${ms.name}") was built for another configuration`);
      }
    });
  }

  /** Extracts (canary events, canary total, baseline events, baseline total) in the original orientation. */
  private counts(i: number, canary: VersionCounts, baseline: VersionCounts): readonly [number, number, number, number] | undefined {
    const src = this.perMetric[i].cfg.source;
    switch (src.kind) {
      case "errors":
        return [clampEvents(canary.errors, canary.requests), canary.requests, clampEvents(baseline.errors, baseline.requests), baseline.requests];
      case "latencyAbove": {
        const c = slowerThan(canary, src.le);
        const b = slowerThan(baseline, src.le);
        return c && b ? [c[0], c[1], b[0], b[1]] : undefined;
      }
      case "count": {
        const ce = canary.counts?.[src.key];
        const be = baseline.counts?.[src.key];
        // A KPI can exceed the request count (items per request), so it is not clamped to it.
        return ce === undefined || be === undefined ? undefined : [Math.max(0, ce), canary.requests, Math.max(0, be), baseline.requests];
      }
    }
  }

  private updateMetric(ms: MetricState, i: number, canary: VersionCounts, baseline: VersionCounts): MetricState {
    const counts = this.counts(i, canary, baseline);
    if (!counts) return ms;
    const [ce, cn, be, bn] = counts;
    const updated = { ...ms, canaryEvents: ms.canaryEvents + ce, canaryRequests: ms.canaryRequests + cn, baselineEvents: ms.baselineEvents + be, baselineRequests: ms.baselineRequests + bn };
    if (cn <= 0 || bn <= 0) return updated;
    // A drop in a KPI is the canary being worse: swapping the roles of the versions maps
    // ψ to 1/ψ exactly (θ becomes 1 − θ), so one upper-tail test serves both directions.
    const lower = this.perMetric[i].direction === "lowerIsWorse";
    const [x, y, nx, ny] = lower ? [be, ce, bn, cn] : [ce, be, cn, bn];
    const rho = nx / (nx + ny);
    const podPhi = this.podPhi(ms, i, canary, baseline, rho, x + y);
    const phi = Math.min(this.dispersionOptions.max, Math.max(dispersionFactor(ms.dispersion, this.dispersionOptions), podPhi));
    const ll = tickLogLikelihood(this.grid, x, y, rho);
    const logLik = ms.logLik.map((t, k) => t + ll[k] / phi);
    const atMargin = ll[this.perMetric[i].marginIndex] / phi;
    const cap = this.config.tickEvidenceCap * this.perMetric[i].logRollback;
    const cappedGain = ms.cappedGain.map((g, k) => g + Math.min(cap, ll[k] / phi - atMargin));
    const psiHat = this.grid[argMax(logLik)];
    const dispersion = updateDispersion(ms.dispersion, { rho, n: x + y, x }, psiHat, this.dispersionOptions);
    // The pod spread is updated after this tick's φ was fixed, so φ stays predictable.
    const podSpread =
      this.perMetric[i].cfg.source.kind === "errors" && canary.bySeries && baseline.bySeries
        ? updatePodSpread(updatePodSpread(ms.podSpread, canary.bySeries), baseline.bySeries)
        : ms.podSpread;
    return { ...updated, logLik, cappedGain, dispersion, podSpread };
  }

  /**
   * φ implied by the per-pod spread seen in earlier ticks, for this tick's split of n bad
   * events (1 without per-series counts). Depends on n and the request counts only, never
   * on how n splits between the versions, so the conditional test stays valid.
   */
  private podPhi(ms: MetricState, i: number, canary: VersionCounts, baseline: VersionCounts, rho: number, n: number): number {
    if (!this.dispersionOptions.enabled || !this.dispersionOptions.usePodSpread || ms.podSpread.scale <= 0) return 1;
    if (this.perMetric[i].cfg.source.kind !== "errors" || !canary.bySeries || !baseline.bySeries) return 1;
    const c = podNoiseFactor(ms.podSpread);
    const psiHat = this.grid[argMax(ms.logLik)];
    const theta = shareTheta(rho, psiHat);
    const canaryPods = Math.max(1, canary.bySeries.filter((p) => p.requests > 0).length);
    const baselinePods = Math.max(1, baseline.bySeries.filter((p) => p.requests > 0).length);
    return podDispersion(c, theta, (n * theta) / canaryPods, (n * (1 - theta)) / baselinePods);
  }

  private lastPodPhi(ms: MetricState, i: number, m: TickMeasurement): number {
    if (m.kind !== "ok") return 1;
    const counts = this.counts(i, m.canary, m.baseline);
    if (!counts || counts[1] <= 0 || counts[3] <= 0) return 1;
    return this.podPhi(ms, i, m.canary, m.baseline, counts[1] / (counts[1] + counts[3]), counts[0] + counts[2]);
  }

  private reportMetric(ms: MetricState, i: number, m: TickMeasurement): RelativeMetricReport {
    const pm = this.perMetric[i];
    const c = this.config;
    const T = ms.logLik;
    // The rollback e-value: the mixture of capped likelihood ratios against the margin
    // (cappedGain is already relative to the margin, whose own entry is 0).
    const logE = logEValueUp(ms.cappedGain, pm.upWeights, pm.marginIndex);
    const logP = logEValueDown(T, pm.downWeights, pm.allowedIndex);
    const lo = lowerBoundIndex(T, pm.upWeights, pm.logRollback);
    const hi = upperBoundIndex(T, pm.downWeights, Math.log(1 / c.promoteAlpha));
    const lowerS = lo >= 0 ? this.grid[lo] : 0;
    const upperS = hi >= 0 ? this.grid[hi] : Infinity;
    const hat = this.grid[argMax(T)];
    const lower = pm.direction === "lowerIsWorse";
    const available = m.kind !== "ok" || m.canary.requests <= 0 || this.counts(i, m.canary, m.baseline) !== undefined;
    const breached = logE >= pm.logRollback;
    const byRatio = logP >= Math.log(1 / c.promoteAlpha);
    const byNegligible =
      !lower && pm.cfg.negligibleRate > 0 && ms.canaryRequests > 0 && proportionUpperBound(ms.canaryEvents, ms.canaryRequests, c.promoteAlpha) <= pm.cfg.negligibleRate;
    const status = breached ? "breached" : !available ? "unavailable" : byRatio || byNegligible ? "passed" : "undecided";
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
      eValue: Math.exp(logE),
      rollbackThreshold: c.metrics.length / c.alpha,
      promoteEValue: Math.exp(logP),
      promoteThreshold: 1 / c.promoteAlpha,
      margin: lower ? 1 / pm.cfg.margin : pm.cfg.margin,
      allowedRatio: lower ? 1 / pm.cfg.allowedRatio : pm.cfg.allowedRatio,
      dispersion: Math.min(this.dispersionOptions.max, Math.max(dispersionFactor(ms.dispersion, this.dispersionOptions), this.lastPodPhi(ms, i, m))),
      status,
      ...(status === "passed" ? { passedBy: byRatio ? ("ratio" as const) : ("negligibleRate" as const) } : {}),
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
        const v = e[spec.name];
        if (!v) continue;
        cb += v[0];
        cn += v[1];
        bb += v[2];
        bn += v[3];
      }
      const observed = cn > 0 ? cb / cn : 0;
      const lowerBound = proportionLowerBound(cb, cn, g.delta);
      const baselineObserved = bn > 0 ? bb / bn : undefined;
      let status: GuardrailReport["status"];
      if (cn < g.minRequests) status = "insufficientSample";
      else if (lowerBound <= spec.limit) status = "ok";
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
      out.push(`${state.step.canaryRequests} canary requests in this step, need ${this.config.minCanaryRequestsToPromote}`);
    }
    for (const r of metrics) {
      if (r.status === "undecided") out.push(`${r.name}: ratio bound ${fmtNum(r.direction === "higherIsWorse" ? r.ratioUpper : r.ratioLower)} not yet within ${fmtNum(r.allowedRatio)}`);
      if (r.status === "unavailable") out.push(`${r.name}: inputs missing from this tick`);
    }
    for (const g of guards) if (g.status !== "ok") out.push(`guardrail ${g.name}: ${g.status}`);
    return out;
  }
}
