/**
 * The rollout driver: orchestration only. For each judged step of the plan it applies the
 * weight through the target, verifies it, then ticks: reads the metrics, feeds the judge and
 * acts on the verdict at once (a rollback never waits for the end of a step). After the last
 * judged step it promotes. Every phase change goes through the pure transition function and is
 * persisted before the driver moves on, so the record always says what was last done.
 *
 * Time comes from an injected {@link Clock}, so tests run a whole rollout in milliseconds.
 */
import { Judge, JudgeConfigInput, JudgeState, StepWindow } from "./analysis/judge";
import { createMetricsProvider, MetricsProvider } from "./analysis/prometheus";
import { TickMeasurement, Verdict } from "./analysis/types";
import { judgedSteps, Plan } from "./plan";
import { MemoryRecordStore } from "./record/memory";
import { RecordStore } from "./record/types";
import { describe, HistoryEntry, isUnfinished, newRecord, RollbackTrigger, RolloutEvent, RolloutRecord, transition, VerdictSummary } from "./state";
import { errorMessage, RestoreError, Target, TargetSnapshot } from "./targets/types";

/** Wall-clock time and waiting, injected so tests need not wait. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Where tick measurements come from: the analysis module's provider interface (Prometheus, or a
 * fake). `measure` never rejects: an unreachable backend is a `queryFailed` measurement, so the
 * judge can hold and, past its limit, roll back. The first reading primes the counters.
 */
export type MetricsSource = Pick<MetricsProvider, "measure">;

/** The versions the metrics compare: the canary being rolled out and the stable baseline. */
export interface ComparedVersions {
  readonly canary: string;
  /** The stable version, when the target knows it (from its snapshot). */
  readonly baseline?: string;
}

/** What the rollout knows that the plan's metrics settings may leave out. */
export interface MetricsDefaults extends ComparedVersions {
  /** The Prometheus URL, when the target brings one (the sandbox's). */
  readonly url?: string;
}

/**
 * Builds the plan's metrics provider (`analysis.metrics`), filling in the canary and baseline
 * label values from the rollout when the plan does not set them.
 * @throws ProviderConfigError naming the invalid field.
 */
export function metricsFromPlan(plan: Plan, versions: MetricsDefaults): MetricsProvider {
  const m = plan.analysis.metrics;
  return createMetricsProvider({
    type: "prometheus",
    ...(versions.url !== undefined ? { url: versions.url } : {}),
    ...m,
    ...(m.canary === undefined ? { canary: versions.canary } : {}),
    ...(m.baseline === undefined && versions.baseline !== undefined ? { baseline: versions.baseline } : {}),
  });
}

/**
 * The judge as the driver sees it: stateful across ticks, its state exportable as JSON for the
 * record. {@link JudgeAnalysis} adapts the pure {@link Judge}.
 */
export interface Analysis {
  /** Starts judging a step (the first call starts the rollout's evidence). */
  beginStep(step: StepWindow): void;
  /** Judges one tick. */
  tick(m: TickMeasurement): Verdict;
  /** The state to persist with the record. */
  state(): unknown;
}

/** The pure judge with its state held between ticks. */
export class JudgeAnalysis implements Analysis {
  private readonly judge: Judge;
  private current?: JudgeState;

  constructor(config: JudgeConfigInput = {}) {
    this.judge = new Judge(config);
  }

  beginStep(step: StepWindow): void {
    this.current = this.current ? this.judge.startStep(this.current, step) : this.judge.initialState(step);
  }

  tick(m: TickMeasurement): Verdict {
    if (!this.current) throw new Error("JudgeAnalysis.tick before beginStep");
    const { state, verdict } = this.judge.tick(this.current, m);
    this.current = state;
    return verdict;
  }

  state(): unknown {
    return this.current;
  }
}

/** What the driver reports while it runs; the CLI renders it (live on a TTY, lines otherwise). */
export type DriverEvent =
  | { readonly kind: "action"; readonly message: string }
  | { readonly kind: "transition"; readonly record: RolloutRecord; readonly entry: HistoryEntry }
  | {
      readonly kind: "tick";
      readonly record: RolloutRecord;
      readonly verdict: Verdict;
      readonly stepSeconds: number;
      /** Time to reach this verdict: reading the metrics and judging the tick, seconds (wall clock). */
      readonly decisionSeconds: number;
    }
  | { readonly kind: "log"; readonly line: string };

/** How a rollout ended. */
export type Outcome = "promoted" | "rolledBack" | "restoreFailed" | "dryRun";

/** The end of a rollout. */
export interface RolloutResult {
  readonly outcome: Outcome;
  readonly record: RolloutRecord;
  /** Why it ended that way (the reason of the deciding transition). */
  readonly reason: string;
}

/** Thrown before anything changes when the store holds an unfinished rollout. */
export class RolloutInProgressError extends Error {
  constructor(public readonly record: RolloutRecord, store: string) {
    super(
      `rollout ${record.id} of ${record.version} on ${record.stack} is unfinished (${describe(record)}, last change ${record.updatedAt}) in ${store}; ` +
        `refusing to start another (if its driver was killed, roll it back or finish it first)`,
    );
    this.name = "RolloutInProgressError";
  }
}

/** Everything a rollout needs. */
export interface RolloutOptions {
  readonly plan: Plan;
  readonly version: string;
  readonly image: string;
  readonly target: Target;
  readonly store: RecordStore;
  /**
   * The metrics, or a factory called once the target is prepared with the versions to compare
   * (the baseline comes from the target's snapshot).
   */
  readonly metrics: MetricsSource | ((versions: ComparedVersions) => MetricsSource);
  /** Defaults to the judge configured by `plan.analysis.judge`. */
  readonly analysis?: Analysis;
  readonly clock?: Clock;
  readonly report?: (e: DriverEvent) => void;
  /** Overrides `plan.dryRun` when true. */
  readonly dryRun?: boolean;
  /** The rollout id. Defaults to one built from the start time. */
  readonly id?: string;
  /**
   * Aborting it (the CLI does on SIGINT/SIGTERM, e.g. a cancelled pipeline job) rolls the
   * rollout back at the next safe point: before the next target action, or at once while
   * waiting for a tick. A target operation under way is never cut short.
   */
  readonly interrupt?: AbortSignal;
}

/** Raised inside the loop to leave it for the rollback path. */
class RollbackSignal {
  constructor(
    readonly trigger: RollbackTrigger,
    readonly reason: string,
    readonly evidence?: unknown,
  ) {}
}

/** The verdict without its bulky per-metric details: what the record keeps. */
function summarize(v: Verdict): VerdictSummary {
  return {
    at: new Date(v.at * 1000).toISOString(),
    decision: v.decision,
    reasons: v.reasons,
    ...(v.hold ? { hold: v.hold } : {}),
    stepElapsedSeconds: v.stepElapsedSeconds,
    stepObservedSeconds: v.stepObservedSeconds,
  };
}

/** The evidence recorded for a decision: the verdict with its metric and guardrail reports. */
function evidenceOf(v: Verdict): unknown {
  return {
    decision: v.decision,
    reasons: v.reasons,
    stepElapsedSeconds: v.stepElapsedSeconds,
    stepObservedSeconds: v.stepObservedSeconds,
    metrics: v.metrics.map((m) => ({
      name: m.name,
      status: m.status,
      canaryRate: m.canaryRate,
      baselineRate: m.baselineRate,
      canaryRequests: m.canaryRequests,
      ratio: m.ratio,
      ratioLower: m.ratioLower,
      ratioUpper: Number.isFinite(m.ratioUpper) ? m.ratioUpper : null,
      eValue: m.eValue,
      rollbackThreshold: m.rollbackThreshold,
    })),
    guardrails: v.guardrails.map((g) => ({ name: g.name, status: g.status, observed: g.observed, lowerBound: g.lowerBound, limit: g.limit, requests: g.requests })),
  };
}

/**
 * Runs one rollout to its end: promoted, rolled back, or (when the restore itself fails)
 * restoreFailed. Throws only before anything was changed (an unfinished rollout in the store,
 * a target that refuses to be prepared) or when the store cannot be written.
 */
export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const clock = o.clock ?? systemClock;
  const report = o.report ?? (() => undefined);
  const plan = o.plan;
  const dryRun = o.dryRun === true || plan.dryRun;
  const iso = (): string => new Date(clock.now()).toISOString();

  const existing = await o.store.load();
  if (existing && isUnfinished(existing.phase)) throw new RolloutInProgressError(existing, o.store.description);

  if (dryRun) return dryRunRollout(o, iso);

  const snapshot = await o.target.prepare();
  // Built before anything changes, so an invalid provider config fails with nothing applied.
  const metrics = typeof o.metrics === "function" ? o.metrics({ canary: o.version, baseline: snapshot.stableVersion }) : o.metrics;
  const measure = (): ReturnType<MetricsSource["measure"]> => metrics.measure(clock.now() / 1000);
  const analysis = o.analysis ?? new JudgeAnalysis(plan.analysis.judge);
  let record = newRecord({
    id: o.id ?? `${new Date(clock.now()).toISOString().replace(/[-:.]/g, "")}-${o.version}`,
    stack: o.target.name,
    target: o.target.type,
    version: o.version,
    image: o.image,
    steps: plan.steps.map((s) => s.weight),
    at: iso(),
  });
  record = { ...record, snapshot };

  const apply = async (event: RolloutEvent): Promise<void> => {
    record = transition(record, event);
    await o.store.save(record);
    report({ kind: "transition", record, entry: record.history[record.history.length - 1] });
  };
  const checkInterrupt = (): void => {
    if (o.interrupt?.aborted) throw new RollbackSignal("operator", `interrupted (${String(o.interrupt.reason ?? "aborted")})`);
  };
  const act = async <T>(message: string, f: () => Promise<T>): Promise<T> => {
    checkInterrupt();
    report({ kind: "action", message });
    return f();
  };
  /** Waits for the next tick, returning early when interrupted. */
  const sleep = async (ms: number): Promise<void> => {
    const interrupt = o.interrupt;
    if (!interrupt) return clock.sleep(ms);
    let onAbort: (() => void) | undefined;
    await Promise.race([clock.sleep(ms), new Promise<void>((resolve) => interrupt.addEventListener("abort", (onAbort = () => resolve()), { once: true }))]);
    if (onAbort) interrupt.removeEventListener("abort", onAbort);
    checkInterrupt();
  };

  await apply({ type: "start", at: iso(), reason: `rollout of ${o.version} (${o.image}) through ${plan.steps.map((s) => s.weight).join(" → ")}`, evidence: { snapshotOf: snapshot.type } });

  try {
    await act(`deploy canary ${o.version} at weight 0`, () => o.target.setCanary(o.version, o.image));
    const initial = await act("verify the applied weight", () => o.target.verify());
    if (initial !== undefined && initial !== 0) throw new RollbackSignal("error", `canary deployed but the applied weight is ${initial}, expected 0`, { applied: initial });

    const steps = judgedSteps(plan);
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      await act(`set the canary weight to ${step.weight}`, () => o.target.setWeight(step.weight));
      const applied = await act("verify the applied weight", () => o.target.verify());
      if (applied !== undefined && applied !== step.weight) {
        throw new RollbackSignal("error", `step ${i}: weight ${step.weight} was set but ${applied} is applied`, { expected: step.weight, applied });
      }
      await apply({
        type: "advance",
        at: iso(),
        step: i,
        weight: step.weight,
        reason: i === 0 ? `canary deployed; first step at weight ${step.weight}` : `step ${i - 1} passed; weight ${step.weight}`,
        evidence: { applied: applied ?? "cannot verify", ...(record.lastVerdict ? { verdict: record.lastVerdict } : {}) },
      });

      // The reading at the step's start marks the boundary: the ticks after it judge only
      // traffic at this step's weight.
      await measure();
      const startedAt = clock.now();
      analysis.beginStep({ index: i, startedAt: startedAt / 1000, minDurationSeconds: step.minDurationSeconds, maxDurationSeconds: step.maxDurationSeconds });
      let heldInconclusive = false;
      for (;;) {
        await sleep(plan.tickSeconds * 1000);
        // Wall-clock time, not the injected clock: this measures the metrics backend and the judge.
        const decisionStarted = performance.now();
        const verdict = analysis.tick(await measure());
        const decisionSeconds = (performance.now() - decisionStarted) / 1000;
        record = { ...record, lastVerdict: summarize(verdict), judge: analysis.state() };
        await o.store.save(record);
        report({ kind: "tick", record, verdict, stepSeconds: (clock.now() - startedAt) / 1000, decisionSeconds });
        if (verdict.decision === "rollback") throw new RollbackSignal("analysis", verdict.reasons[0] ?? "the analysis failed", evidenceOf(verdict));
        if (verdict.decision === "inconclusive") {
          if (plan.inconclusive === "rollback") throw new RollbackSignal("analysis", `inconclusive: ${verdict.reasons[0] ?? ""}`, evidenceOf(verdict));
          if (!heldInconclusive) report({ kind: "action", message: `step ${i} inconclusive; holding weight ${step.weight} (plan: inconclusive: hold)` });
          heldInconclusive = true;
          continue;
        }
        if (verdict.decision === "promote") {
          if (i === steps.length - 1) {
            await apply({ type: "promote", at: iso(), reason: `step ${i} passed: ${verdict.reasons[0] ?? ""}`, evidence: evidenceOf(verdict) });
          }
          break;
        }
      }
    }
    await act(`promote ${o.version} to stable`, () => o.target.promote());
    await apply({ type: "complete", at: iso(), reason: `${o.version} is the stable version` });
    return { outcome: "promoted", record, reason: record.history[record.history.length - 2]?.reason ?? "promoted" };
  } catch (e) {
    // Promoted, but the final record could not be saved: nothing to roll back.
    if (record.phase === "Succeeded") throw e;
    const signal = e instanceof RollbackSignal ? e : new RollbackSignal("error", errorMessage(e), { error: errorMessage(e), name: e instanceof Error ? e.name : undefined });
    return rollBack(signal);
  }

  async function rollBack(signal: RollbackSignal): Promise<RolloutResult> {
    try {
      await apply({ type: "rollback", at: iso(), reason: signal.reason, trigger: signal.trigger, evidence: signal.evidence });
    } catch (e) {
      // The target must still be restored even when the record cannot be written.
      report({ kind: "log", line: `cannot record the rollback: ${errorMessage(e)}` });
    }
    try {
      // Not through act(): an interrupt must not stop the rollback it asked for.
      report({ kind: "action", message: `roll back (${plan.rollback.mode})` });
      await o.target.rollback(snapshot as TargetSnapshot, plan.rollback.mode);
    } catch (e) {
      const message = e instanceof RestoreError ? e.message : `rollback failed: ${errorMessage(e)}`;
      await apply({ type: "rollbackFailed", at: iso(), reason: message, evidence: { error: message } });
      return { outcome: "restoreFailed", record, reason: message };
    }
    const applied = await o.target.verify().catch(() => undefined);
    await apply({ type: "rolledBack", at: iso(), reason: `restored the snapshot${plan.rollback.mode === "keepCanary" ? "; canary kept at weight 0" : ""}`, evidence: { applied: applied ?? "cannot verify" } });
    return { outcome: "rolledBack", record, reason: signal.reason };
  }
}

/**
 * A dry run: every action the rollout would take, reported in order, with nothing applied to
 * the target and nothing written to the store.
 */
async function dryRunRollout(o: RolloutOptions, iso: () => string): Promise<RolloutResult> {
  const report = o.report ?? (() => undefined);
  const plan = o.plan;
  const say = (message: string): void => report({ kind: "action", message: `[dry run] would ${message}` });
  const store = new MemoryRecordStore();
  let record = newRecord({ id: o.id ?? "dry-run", stack: o.target.name, target: o.target.type, version: o.version, image: o.image, steps: plan.steps.map((s) => s.weight), at: iso() });
  const apply = async (event: RolloutEvent): Promise<void> => {
    record = transition(record, event);
    await store.save(record);
    report({ kind: "transition", record, entry: record.history[record.history.length - 1] });
  };
  say(`snapshot ${o.target.type} target ${o.target.name} and record the rollout in ${o.store.description}`);
  await apply({ type: "start", at: iso(), reason: "dry run" });
  say(`deploy canary ${o.version} (${o.image}) at weight 0, then verify the applied weight is 0`);
  const steps = judgedSteps(plan);
  for (const [i, step] of steps.entries()) {
    say(`set the canary weight to ${step.weight}, then verify it is applied`);
    await apply({ type: "advance", at: iso(), step: i, weight: step.weight, reason: "dry run" });
    say(
      `judge every ${plan.tickSeconds}s: pass after at least ${step.minDurationSeconds}s observed with traffic; ` +
        `at ${step.maxDurationSeconds}s undecided ${plan.inconclusive === "hold" ? "hold the weight" : "roll back"}; on a failed analysis roll back (${plan.rollback.mode}) at once`,
    );
  }
  await apply({ type: "promote", at: iso(), reason: "dry run" });
  say(`promote ${o.version} to stable (weight ${plan.steps[plan.steps.length - 1].weight})`);
  await apply({ type: "complete", at: iso(), reason: "dry run" });
  return { outcome: "dryRun", record, reason: "dry run: nothing applied" };
}
