/**
 * The pre-flight planner: before the first step, from the traffic and rates Prometheus holds
 * for the baseline right now (the reference window), forecast for every judged step how long
 * the judge needs to promote a canary as good as the baseline, and to roll back one that is
 * twice as bad on a metric — and say where a step's `maxDuration` cannot decide.
 *
 * Pure. The forecast runs the real {@link Judge} on expected counts (each tick's requests at
 * the step's weight of the current traffic, events at the reference rates, or at twice them),
 * so every rule the judge applies — thresholds, the reference-rate test, minimum duration and
 * requests, warm-up, the noise the reference shows — is in the forecast. Expected counts make
 * it the typical (about median) path: a real step is sometimes faster and sometimes slower.
 */
import { Judge, JudgeConfigInput, StepWindow } from "./judge";
import { LatencyBucket, ReferenceWindow, VersionCounts } from "./types";

/** One judged step as the planner sees it (durations in seconds). */
export interface PlannerStep {
  readonly weight: number;
  readonly minDurationSeconds: number;
  readonly maxDurationSeconds: number;
  readonly warmupSeconds?: number;
}

/** Everything the planner needs. */
export interface PlannerInput {
  /** The judged steps, in order (not the final 100). */
  readonly steps: readonly PlannerStep[];
  readonly tickSeconds: number;
  readonly judge: JudgeConfigInput;
  /** What the plan does with an inconclusive step. */
  readonly inconclusive: "hold" | "rollback";
  /** The baseline's recent counts (the pre-flight reading): current traffic, rates and noise. */
  readonly reference: ReferenceWindow;
  /** How much worse a regression the forecast must catch (events per request × this). Defaults to 2. */
  readonly regressionFactor?: number;
}

/** The forecast for one judged step. */
export interface StepForecast {
  readonly index: number;
  readonly weight: number;
  readonly maxDurationSeconds: number;
  /** Seconds into the step at which a canary as good as the baseline is expected to pass; undefined: not within the forecast horizon. */
  readonly promoteSeconds: number | undefined;
  /** Per relative metric: seconds into the step to roll back a canary `regressionFactor` times worse on it alone; undefined: not within the horizon. */
  readonly detectSeconds: Readonly<Record<string, number | undefined>>;
  /** ok: decides within maxDuration; warn: it may not (see messages); refuse: it cannot. */
  readonly verdict: "ok" | "warn" | "refuse";
  readonly messages: readonly string[];
}

/** A problem the planner found, with the plan path it concerns. */
export interface PlanFinding {
  readonly severity: "refuse" | "warn";
  readonly path: string;
  readonly message: string;
}

/** The whole forecast. */
export interface PlanForecast {
  /** Requests per second to the service now (both versions), from the reference. */
  readonly requestsPerSecond: number;
  /** Per relative metric: the baseline's events per request in the reference. */
  readonly rates: Readonly<Record<string, number>>;
  readonly steps: readonly StepForecast[];
  readonly findings: readonly PlanFinding[];
  /** True when any finding refuses the plan (the CLI exits 2). */
  readonly refuse: boolean;
}

/** How far past a step's maxDuration the forecast looks (to say how long a step would need). */
const HORIZON_FACTOR = 4;

const fmt = (s: number): string => (s >= 3600 ? `${(s / 3600).toFixed(1)}h` : s >= 120 ? `${Math.round(s / 60)}m` : `${Math.round(s)}s`);

/** Totals of the reference: requests, and per metric name its events. */
function referenceTotals(reference: ReferenceWindow): { requests: number; errors: number; buckets: Map<number, number>; counts: Map<string, number>; seconds: number } {
  let requests = 0;
  let errors = 0;
  const buckets = new Map<number, number>();
  const counts = new Map<string, number>();
  for (const v of reference.baseline) {
    requests += v.requests;
    errors += v.errors;
    for (const b of v.latencyBuckets ?? []) buckets.set(b.le, (buckets.get(b.le) ?? 0) + b.count);
    for (const [k, x] of Object.entries(v.counts ?? {})) counts.set(k, (counts.get(k) ?? 0) + x);
  }
  return { requests, errors, buckets, counts, seconds: reference.baseline.length * reference.intervalSeconds };
}

/** Expected counts of a version serving `requests` at the reference's rates, one metric's events scaled by `factor`. */
function expectedCounts(totals: ReturnType<typeof referenceTotals>, requests: number, regress?: { readonly source: Judge["config"]["metrics"][number]["source"]; readonly factor: number }): VersionCounts {
  const share = totals.requests > 0 ? requests / totals.requests : 0;
  let errors = totals.errors * share;
  if (regress?.source.kind === "errors") errors = Math.min(requests, errors * regress.factor);
  let latencyBuckets: LatencyBucket[] | undefined;
  if (totals.buckets.size > 0) {
    latencyBuckets = [...totals.buckets.entries()].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: le === Infinity ? requests : c * share }));
    if (regress?.source.kind === "latencyAbove") {
      const le = regress.source.le;
      const at = latencyBuckets.find((b) => Math.abs(b.le - le) <= 1e-9 * Math.max(1, le));
      if (at) {
        const slow = Math.min(requests, (requests - at.count) * regress.factor);
        const target = requests - slow;
        // Lower the bucket at le and any below it that now exceed it, keeping them cumulative.
        latencyBuckets = latencyBuckets.map((b) => (b.le <= le ? { le: b.le, count: Math.min(b.count, target) } : b));
      }
    }
  }
  let counts: Record<string, number> | undefined;
  if (totals.counts.size > 0) {
    counts = {};
    for (const [k, x] of totals.counts) counts[k] = x * share * (regress?.source.kind === "count" && regress.source.key === k ? regress.factor : 1);
  }
  return { requests, errors, ...(latencyBuckets ? { latencyBuckets } : {}), ...(counts ? { counts } : {}) };
}

/**
 * Runs the judge on expected ticks of one step from `state` until `stop` says so or the
 * horizon passes; returns the seconds into the step of the decision (and the state at the
 * end of the step, for the next one).
 */
function runStep(
  judge: Judge,
  state: ReturnType<Judge["initialState"]>,
  step: StepWindow,
  tick: number,
  perTick: (t: number) => { canary: VersionCounts; baseline: VersionCounts },
  stop: (decision: string) => boolean,
  horizon: number,
): { at: number | undefined; state: ReturnType<Judge["initialState"]> } {
  let s = state;
  for (let t = tick; t <= horizon + 1e-9; t += tick) {
    const { canary, baseline } = perTick(t);
    const r = judge.tick(s, { kind: "ok", start: step.startedAt + t - tick, end: step.startedAt + t, canary, baseline });
    s = r.state;
    if (stop(r.verdict.decision)) return { at: t, state: s };
  }
  return { at: undefined, state: s };
}

/**
 * Forecasts every judged step. Never throws for traffic it cannot judge: that is a refusal
 * with its reason.
 */
export function forecastPlan(input: PlannerInput): PlanForecast {
  const judge = new Judge(input.judge);
  const factor = input.regressionFactor ?? 2;
  const totals = referenceTotals(input.reference);
  const rps = totals.seconds > 0 ? totals.requests / totals.seconds : 0;
  const rates: Record<string, number> = {};
  const base = expectedCounts(totals, totals.requests);
  judge.config.metrics.forEach((m) => {
    const c = m.source.kind === "errors" ? base.errors : m.source.kind === "count" ? (base.counts?.[m.source.key] ?? 0) : undefined;
    if (c !== undefined) rates[m.name] = totals.requests > 0 ? c / totals.requests : 0;
    else if (m.source.kind === "latencyAbove") {
      const le = m.source.le;
      const at = base.latencyBuckets?.find((b) => Math.abs(b.le - le) <= 1e-9 * Math.max(1, le));
      rates[m.name] = at && totals.requests > 0 ? (totals.requests - at.count) / totals.requests : NaN;
    }
  });
  const findings: PlanFinding[] = [];
  if (!(rps > 0)) {
    findings.push({ severity: "refuse", path: "analysis.metrics", message: `the baseline served no requests in the ${fmt(totals.seconds)} before the rollout: nothing can be judged` });
    return { requestsPerSecond: 0, rates, steps: [], findings, refuse: true };
  }
  const tick = input.tickSeconds;
  const steps: StepForecast[] = [];
  let healthy = judge.initialState({ index: 0, startedAt: 0, minDurationSeconds: 0, maxDurationSeconds: 0 }, { reference: input.reference });
  let clock = 0;
  input.steps.forEach((st, i) => {
    const w = st.weight / 100;
    const window = (startedAt: number): StepWindow => ({ index: i, startedAt, minDurationSeconds: st.minDurationSeconds, maxDurationSeconds: st.maxDurationSeconds, ...(st.warmupSeconds ? { warmupSeconds: st.warmupSeconds } : {}) });
    const horizon = Math.max(st.maxDurationSeconds, HORIZON_FACTOR * st.maxDurationSeconds);
    const ticks = (regress?: Parameters<typeof expectedCounts>[2]) => () => ({
      canary: expectedCounts(totals, rps * w * tick, regress),
      baseline: expectedCounts(totals, rps * (1 - w) * tick),
    });
    // Promotion: the healthy canary carries its evidence from step to step, as in a rollout.
    healthy = judge.startStep(healthy, window(clock));
    const p = runStep(judge, healthy, window(clock), tick, ticks(), (d) => d === "promote" || d === "rollback", horizon);
    const promoteSeconds = p.at;
    healthy = p.state;
    clock += promoteSeconds ?? horizon;
    // Detection: a canary `factor` times worse on one metric, judged from the start of this step.
    const detectSeconds: Record<string, number | undefined> = {};
    for (const m of judge.config.metrics) {
      const lower = (m.direction ?? (m.source.kind === "count" ? "lowerIsWorse" : "higherIsWorse")) === "lowerIsWorse";
      const fresh = judge.initialState(window(0), { reference: input.reference });
      detectSeconds[m.name] = runStep(judge, fresh, window(0), tick, ticks({ source: m.source, factor: lower ? 1 / factor : factor }), (d) => d === "rollback", horizon).at;
    }
    const messages: string[] = [];
    let verdict: StepForecast["verdict"] = "ok";
    const path = `steps[${i}].maxDuration`;
    if (promoteSeconds === undefined || promoteSeconds > st.maxDurationSeconds) {
      const need = promoteSeconds === undefined ? `more than ${fmt(horizon)}` : fmt(promoteSeconds);
      if (input.inconclusive === "rollback" || promoteSeconds === undefined) {
        verdict = "refuse";
        const what =
          input.inconclusive === "rollback"
            ? `it would end inconclusive and, with inconclusive: rollback, roll back a good canary`
            : `it would hold at ${st.weight}% without ever deciding`;
        const fix = input.inconclusive === "rollback" ? `Raise steps[${i}].maxDuration or the weight, or set inconclusive: hold` : `Raise the weight, or roll out when there is more traffic`;
        const message = `at ${st.weight}% of ${rps.toFixed(1)} requests/s a canary as good as the baseline needs ${need} to pass (maxDuration ${fmt(st.maxDurationSeconds)}): ${what}. ${fix}`;
        messages.push(message);
        findings.push({ severity: "refuse", path, message });
      } else {
        verdict = "warn";
        const message = `at ${st.weight}% a canary as good as the baseline needs ${need} to pass, past maxDuration ${fmt(st.maxDurationSeconds)}: with inconclusive: hold the step holds until then`;
        messages.push(message);
        findings.push({ severity: "warn", path, message });
      }
    }
    for (const [name, d] of Object.entries(detectSeconds)) {
      if (d !== undefined && d <= st.maxDurationSeconds) continue;
      if (verdict === "ok") verdict = "warn";
      const need = d === undefined ? `more than ${fmt(horizon)}` : fmt(d);
      const consequence =
        input.inconclusive === "hold"
          ? `such a canary would stay at ${st.weight}% (inconclusive: hold) until an operator acts`
          : `such a canary is rolled back only when the step runs out`;
      const message = `at ${st.weight}% a ${factor}× regression of ${name} needs ${need} to detect (maxDuration ${fmt(st.maxDurationSeconds)}): ${consequence}; the guardrails still stop large failures at once`;
      messages.push(message);
      findings.push({ severity: "warn", path, message });
    }
    steps.push({ index: i, weight: st.weight, maxDurationSeconds: st.maxDurationSeconds, promoteSeconds, detectSeconds, verdict, messages });
  });
  return { requestsPerSecond: rps, rates, steps, findings, refuse: findings.some((f) => f.severity === "refuse") };
}

/** What the scrape-interval check needs. */
export interface ScrapeCheckInput {
  readonly tickSeconds: number;
  /** The targets' scrape interval, seconds; undefined when it could not be read. */
  readonly scrapeIntervalSeconds: number | undefined;
  /** Whether the provider aligns readings to the samples' timestamps. */
  readonly alignsToSamples: boolean;
  /** The judge's outage limit (no new samples for this long rolls back). */
  readonly maxOutageSeconds: number;
  /** The provider's sample window (range of each query), when it has one. */
  readonly sampleWindowSeconds?: number;
}

/**
 * Checks the plan's tick against the targets' scrape interval. A tick shorter than the
 * scrape interval is refused unless the provider aligns its readings to the samples — then it
 * is safe (readings without a new sample are pending and lose nothing) and only noted. Also
 * refused: an outage limit or a sample window too short for the interval.
 */
export function checkScrapeInterval(c: ScrapeCheckInput): PlanFinding[] {
  const s = c.scrapeIntervalSeconds;
  if (s === undefined) {
    return [{ severity: "warn", path: "tick", message: "cannot read the targets' scrape interval from Prometheus (/api/v1/targets): the tick is not checked against it" }];
  }
  const out: PlanFinding[] = [];
  if (c.tickSeconds < s) {
    out.push(
      c.alignsToSamples
        ? { severity: "warn", path: "tick", message: `tick ${fmt(c.tickSeconds)} is shorter than the scrape interval ${fmt(s)}: readings are aligned to the samples, so nothing is lost, but some ticks carry no new samples and decisions lag by up to ${fmt(s)}` }
        : { severity: "refuse", path: "tick", message: `must be ≥ the targets' scrape interval (${fmt(s)}) for a provider that does not align readings to samples, got ${fmt(c.tickSeconds)}` },
    );
  }
  if (c.maxOutageSeconds < 2 * s) {
    out.push({ severity: "refuse", path: "analysis.judge.noData.maxOutageSeconds", message: `must be ≥ 2 × the scrape interval (${fmt(2 * s)}), or waiting for one sample rolls back; got ${fmt(c.maxOutageSeconds)}` });
  }
  if (c.sampleWindowSeconds !== undefined && c.sampleWindowSeconds < 2 * s + c.tickSeconds) {
    out.push({ severity: "refuse", path: "analysis.metrics.sampleWindowSeconds", message: `must be ≥ 2 × the scrape interval + tick (${fmt(2 * s + c.tickSeconds)}) to hold two samples of every target, got ${fmt(c.sampleWindowSeconds)}` });
  }
  return out;
}
