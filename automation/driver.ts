/**
 * The rollout driver: orchestration only. For each judged step of the plan it applies the
 * weight through the target, verifies it, then ticks: reads the metrics, feeds the judge and
 * acts on the verdict at once (a rollback never waits for the end of a step). After the last
 * judged step it promotes. Every phase change goes through the pure transition function and is
 * persisted before the driver moves on, so the record always says what was last done.
 *
 * Time comes from an injected {@link Clock}, so tests run a whole rollout in milliseconds.
 */
import { InitialStateOptions, Judge, JudgeConfigInput, JudgeState, StepWindow } from "./analysis/judge";
import { formatPreflight, isPreflightSource, preflight } from "./analysis/preflight";
import { createMetricsProvider, MetricsProvider } from "./analysis/prometheus";
import { TickMeasurement, Verdict } from "./analysis/types";
import { judgedSteps, Plan, PlanError, preflightPlan } from "./plan";
import { MemoryRecordStore } from "./record/memory";
import { RecordConflictError, RecordStore, revisionOf } from "./record/types";
import { describe, HistoryEntry, isUnfinished, newRecord, RollbackTrigger, RolloutEvent, RolloutRecord, transition, VerdictSummary } from "./state";
import { ConcurrentUpdateRefusedError, errorMessage, RestoreError, Target, TargetSnapshot } from "./targets/types";
import { approved, LeaseHeldError, leaseLive, LeaseLostError, mergeControls, newLease, operatorIdentity, pendingControls, release as releaseLease, renewLease, settle } from "./control";
import { GateWait } from "./notify/events";

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
  /** Starts judging a step (the first call starts the rollout's evidence, with the pre-flight's reference). */
  beginStep(step: StepWindow, options?: InitialStateOptions): void;
  /**
   * Continues a step a previous driver was judging, from the state it persisted (`at`: Unix
   * seconds of the reading the resumed judging starts from).
   * @returns `undefined` when resumed, or why the state cannot be used (then call `beginStep`).
   */
  resumeStep(state: unknown, step: StepWindow, at: number): string | undefined;
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

  beginStep(step: StepWindow, options?: InitialStateOptions): void {
    this.current = this.current ? this.judge.startStep(this.current, step) : this.judge.initialState(step, options);
  }

  resumeStep(state: unknown, step: StepWindow, at: number): string | undefined {
    try {
      this.current = this.judge.resumeStep(state, step, at);
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
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
  | { readonly kind: "log"; readonly line: string }
  /** The rollout waits at an approval gate (`step 2`, `promotion`); reported once per gate. */
  | { readonly kind: "gateWaiting"; readonly record: RolloutRecord; readonly wait: GateWait };

/** How a rollout ended. */
export type Outcome = "promoted" | "rolledBack" | "restoreFailed" | "dryRun" | "paused";

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
  /**
   * How long the driver's lease lasts without renewal, seconds. Defaults to
   * {@link leaseSecondsOf} the plan. The lease is renewed on every save and, while a target
   * operation runs (a long \`pulumi up\`), every third of this.
   */
  readonly leaseSeconds?: number;
  /** This rollout retries a rolled-back one (`canary retry`): recorded on its start. */
  readonly retryOf?: { readonly id: string; readonly by: string; readonly reason: string };
}

/** Attempts of one save that another writer keeps beating before the driver gives up. */
const SAVE_ATTEMPTS = 5;

/** Raised inside the loop to leave it for the rollback path. */
class RollbackSignal {
  constructor(
    readonly trigger: RollbackTrigger,
    readonly reason: string,
    readonly evidence?: unknown,
    /** The operator who asked (an abort). */
    readonly by?: string,
    /** The record already says RollingBack (a resumed rollback): do not record it again. */
    readonly already = false,
  ) {}
}

/** Raised to leave the loop holding the weight (SIGINT/SIGTERM with plan onSignal: pause). */
class PauseSignal {
  constructor(readonly reason: string) {}
}

/** Attempts of one target change (and of the restore) before it counts as failed. */
export const APPLY_ATTEMPTS = 3;
/** Backoff before the second attempt, doubling (capped at one tick). */
export const APPLY_BACKOFF_MS = 1000;

/**
 * How long a driver's lease lasts without renewal: three ticks, at least a minute (a target
 * operation such as \`pulumi up\` may run for a while between two saves).
 */
export function leaseSecondsOf(plan: Pick<Plan, "tickSeconds">): number {
  return Math.max(3 * plan.tickSeconds, 60);
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
 * Runs one rollout to its end: promoted, rolled back, paused (plan onSignal: pause) or (when the
 * restore itself fails) restoreFailed. An unfinished rollout of the same version whose driver is
 * gone is resumed (or rolled back, per plan onResume). Throws only before anything was changed
 * (another live driver, an unfinished rollout of another version, a target that refuses to be
 * prepared) or when the store cannot be written.
 */
export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const clock = o.clock ?? systemClock;
  const report = o.report ?? (() => undefined);
  const plan = o.plan;
  const dryRun = o.dryRun === true || plan.dryRun;
  const iso = (): string => new Date(clock.now()).toISOString();
  const leaseSeconds = o.leaseSeconds ?? leaseSecondsOf(plan);

  const existing = await o.store.load();
  let resumed: RolloutRecord | undefined;
  if (existing && isUnfinished(existing.phase)) {
    if (existing.lease && leaseLive(existing.lease, clock.now())) throw new LeaseHeldError(existing.lease, existing, o.store.description);
    const sameRollout = existing.version === o.version && existing.image === o.image && existing.target === o.target.type && existing.steps.join() === plan.steps.map((s) => s.weight).join();
    if (!sameRollout || dryRun) throw new RolloutInProgressError(existing, o.store.description);
    resumed = existing;
  }

  if (dryRun) return dryRunRollout(o, iso);

  // Resuming, the target is still checked (another update in progress is refused), but the
  // snapshot that a rollback restores is the one taken before the rollout changed anything.
  const prepared = await o.target.prepare();
  const snapshot = (resumed ? resumed.snapshot : prepared) as TargetSnapshot;
  // Built before anything changes, so an invalid provider config fails with nothing applied.
  const metrics = typeof o.metrics === "function" ? o.metrics({ canary: o.version, baseline: snapshot.stableVersion }) : o.metrics;
  const measure = (): ReturnType<MetricsSource["measure"]> => metrics.measure(clock.now() / 1000);
  const analysis = o.analysis ?? new JudgeAnalysis(plan.analysis.judge);
  // Before anything changes: the tick against the scrape interval, a forecast of every step at
  // the current traffic (refused, exit 2, where a step cannot decide) and the judge's reference.
  let initial: InitialStateOptions = {};
  if (!resumed && isPreflightSource(metrics)) {
    const pre = await preflight(metrics, preflightPlan(plan), clock.now() / 1000);
    for (const line of formatPreflight(pre)) report({ kind: "log", line: `pre-flight: ${line}` });
    if (pre.refuse) throw new PlanError(pre.findings.filter((f) => f.severity === "refuse").map((f) => ({ path: f.path, message: f.message })), "for the current traffic");
    if (pre.reference) initial = { reference: pre.reference };
  }
  let record: RolloutRecord;
  if (resumed) {
    record = { ...resumed, lease: newLease(clock.now(), leaseSeconds) };
  } else {
    record = newRecord({
      id: o.id ?? `${new Date(clock.now()).toISOString().replace(/[-:.]/g, "")}-${o.version}`,
      stack: o.target.name,
      target: o.target.type,
      version: o.version,
      image: o.image,
      steps: plan.steps.map((s) => s.weight),
      at: iso(),
    });
    // Written over the finished record it replaces (compare-and-swap on its revision).
    record = { ...record, snapshot, lease: newLease(clock.now(), leaseSeconds), revision: revisionOf(existing) };
  }

  /** Whether this driver's record is in the store (from then on it holds the rollout). */
  let holding = false;
  /** Saves run one at a time (a lease renewal during a target operation may overlap a transition). */
  let saving: Promise<void> = Promise.resolve();
  /**
   * Saves the record with the lease renewed (released once the rollout has ended, or when
   * `release`). A save that another writer beat is retried over the stored revision with that
   * writer's control requests merged in: while this driver holds the lease, appending a request
   * is the only change another process makes. Anything else means the rollout is no longer this
   * driver's: before its first save that is {@link LeaseHeldError} or
   * {@link RolloutInProgressError} (nothing was changed), after it {@link LeaseLostError}.
   */
  const persist = (release = false): Promise<void> => {
    const run = saving.then(() => saveRecord(release));
    saving = run.catch(() => undefined);
    return run;
  };
  const saveRecord = async (release: boolean): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      if (release || !isUnfinished(record.phase)) record = releaseLease(record);
      else if (record.lease) record = { ...record, lease: renewLease(record.lease, clock.now(), leaseSeconds) };
      try {
        record = await o.store.save(record);
        holding = true;
        return;
      } catch (e) {
        if (!(e instanceof RecordConflictError) || attempt >= SAVE_ATTEMPTS) throw e;
        const stored = e.stored;
        const foreignLease = stored?.lease && stored.lease.holder !== record.lease?.holder && leaseLive(stored.lease, clock.now()) ? stored.lease : undefined;
        if (!holding) {
          if (stored && foreignLease) throw new LeaseHeldError(foreignLease, stored, o.store.description);
          if (stored && isUnfinished(stored.phase) && stored.id !== record.id) throw new RolloutInProgressError(stored, o.store.description);
        } else if (!stored || stored.id !== record.id || foreignLease) {
          throw new LeaseLostError(record, stored?.id !== record.id ? `the record in ${o.store.description} now holds ${stored ? `rollout ${stored.id}` : "no rollout"}` : `${foreignLease!.holder} holds it now (lease until ${foreignLease!.expiresAt})`);
        }
        record = { ...(stored?.id === record.id ? mergeControls(record, stored) : record), revision: revisionOf(stored) };
      }
    }
  };
  /**
   * Runs a target operation, renewing the lease every third of its length while it runs, so a
   * long operation (a \`pulumi up\` of minutes) does not let the lease lapse and a second driver
   * take the rollout over. Real time: the operation takes real time whatever the clock says.
   */
  const holdingLease = async <T>(f: () => Promise<T>): Promise<T> => {
    let lost: unknown;
    let beat: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      beat = persist().catch((e: unknown) => {
        if (e instanceof LeaseLostError) lost = e;
        else report({ kind: "log", line: `cannot renew the lease in ${o.store.description}: ${errorMessage(e)}` });
      });
    }, (leaseSeconds * 1000) / 3);
    let result: T;
    try {
      result = await f();
    } finally {
      clearInterval(timer);
      await beat;
    }
    // Checked after the operation (it is never cut short), so nothing follows it.
    if (lost) throw lost;
    return result;
  };
  const apply = async (event: RolloutEvent): Promise<void> => {
    record = transition(record, event);
    await persist();
    report({ kind: "transition", record, entry: record.history[record.history.length - 1] });
  };
  /** An interrupt (SIGINT/SIGTERM): roll back, or pause and leave, as the plan says. */
  const checkInterrupt = (): void => {
    if (!o.interrupt?.aborted) return;
    const why = `interrupted (${String(o.interrupt.reason ?? "aborted")})`;
    if (plan.onSignal === "pause" && (record.phase === "Progressing" || record.phase === "Paused" || record.phase === "Frozen")) throw new PauseSignal(why);
    throw new RollbackSignal("operator", why);
  };
  const act = async <T>(message: string, f: () => Promise<T>): Promise<T> => {
    checkInterrupt();
    report({ kind: "action", message });
    return holdingLease(f);
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
  /** Sets the weight unless the target already has it (a resumed driver applies nothing twice). */
  const ensureWeight = async (weight: number, label: string): Promise<number | undefined> => {
    const current = resumed ? await holdingLease(() => o.target.verify()) : undefined;
    if (current === weight) {
      report({ kind: "action", message: `the canary weight is already ${weight} (read back); not applying it again` });
      return current;
    }
    await applyWithRetry(`set the canary weight to ${weight}`, () => o.target.setWeight(weight));
    const applied = await act("verify the applied weight", () => o.target.verify());
    if (applied !== undefined && applied !== weight) throw new RollbackSignal("error", `${label}: weight ${weight} was set but ${applied} is applied`, { expected: weight, applied });
    return applied;
  };
  /** A target change, retried with backoff (a transient failure should not cost the rollout). */
  const applyWithRetry = async (message: string, f: () => Promise<void>): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await act(attempt === 1 ? message : `${message} (attempt ${attempt} of ${APPLY_ATTEMPTS})`, f);
        return;
      } catch (e) {
        if (e instanceof RollbackSignal || e instanceof PauseSignal || e instanceof ConcurrentUpdateRefusedError || attempt >= APPLY_ATTEMPTS) throw e;
        const delay = Math.min(APPLY_BACKOFF_MS * 2 ** (attempt - 1), plan.tickSeconds * 1000);
        report({ kind: "log", line: `${message} failed (${errorMessage(e)}); retrying in ${delay}ms` });
        await sleep(delay);
      }
    }
  };

  /** Pending control requests from other processes, merged from the stored record. */
  let gradualAbort = false;
  const takeControls = async (): Promise<{ skip: boolean; full: boolean }> => {
    const out = { skip: false, full: false };
    try {
      record = mergeControls(record, await o.store.load());
    } catch (e) {
      report({ kind: "log", line: `cannot read control requests from ${o.store.description}: ${errorMessage(e)}` });
      return out;
    }
    for (const c of pendingControls(record)) {
      const by = c.by;
      const reason = `${c.verb}${c.gate ? ` (${c.gate})` : ""} by ${by}: ${c.reason}`;
      try {
        switch (c.verb) {
          case "abort":
            gradualAbort = c.gradual === true;
            record = settle(record, c.id, "applied", "rolling back", iso());
            throw new RollbackSignal("operator", `aborted by ${by}: ${c.reason}`, { control: c.id }, by);
          case "pause":
          case "resume":
          case "freeze":
          case "unfreeze":
            record = transition(record, { type: c.verb, at: iso(), reason, by, evidence: { control: c.id } });
            break;
          case "promote":
            record = transition(record, { type: "skip", at: iso(), reason, by, evidence: { control: c.id } });
            out.skip = true;
            break;
          case "promoteFull":
            out.full = true;
            record = transition(record, { type: "promoteFull", at: iso(), reason, by, evidence: { control: c.id } });
            break;
          case "approve":
            record = transition(record, { type: "approve", at: iso(), reason, by, gate: c.gate ?? "", evidence: { control: c.id } });
            break;
        }
        record = settle(record, c.id, "applied", `now ${describe(record)}`, iso());
        await persist();
        report({ kind: "transition", record, entry: record.history[record.history.length - 1] });
      } catch (e) {
        if (e instanceof RollbackSignal) throw e;
        record = settle(record, c.id, "refused", errorMessage(e), iso());
        await persist();
        report({ kind: "log", line: `control ${c.verb} by ${by} refused: ${errorMessage(e)}` });
      }
    }
    return out;
  };

  let gateNotified = "";
  /** Whether the gate is open; reports the wait once per gate. */
  const gateOpen = (gate: string): boolean => {
    if (approved(record, gate)) return true;
    if (gateNotified !== gate) {
      gateNotified = gate;
      report({ kind: "gateWaiting", record, wait: { gate, at: iso(), reason: gate === "promotion" ? "approval before promotion" : `approval before ${gate} (weight ${plan.steps[Number(gate.replace("step ", ""))]?.weight})` } });
      report({ kind: "action", message: `waiting at gate ${gate}: run \`canary approve${gate === "promotion" ? " --promotion" : ` --step ${gate.replace("step ", "")}`}\`` });
    }
    return false;
  };

  try {
    const steps = judgedSteps(plan);
    let first = 0;
    if (resumed) {
      await apply({ type: "takeOver", at: iso(), reason: `driver ${record.lease!.holder} took over ${describe(resumed)} (previous driver ${resumed.lease?.holder ?? "unknown"} is gone)`, evidence: { previousLease: resumed.lease ?? null } });
      if (resumed.phase === "RollingBack") throw new RollbackSignal(resumed.history[resumed.history.length - 1]?.trigger ?? "error", "finishing the rollback the previous driver started", undefined, undefined, true);
      if (plan.onResume === "rollback") throw new RollbackSignal("operator", `the previous driver (${resumed.lease?.holder ?? "unknown"}) is gone and the plan says onResume: rollback`);
      if (resumed.phase === "Promoting") {
        await act(`promote ${o.version} to stable`, () => o.target.promote());
        await apply({ type: "complete", at: iso(), reason: `${o.version} is the stable version` });
        return { outcome: "promoted", record, reason: "promotion finished by the resuming driver" };
      }
      if (resumed.phase === "Initializing") {
        const w = await o.target.verify();
        if (w !== 0) await act(`deploy canary ${o.version} at weight 0`, () => o.target.setCanary(o.version, o.image));
      } else first = resumed.step?.index ?? 0;
    } else {
      const through = `${o.version} (${o.image}) through ${plan.steps.map((s) => s.weight).join(" → ")}`;
      await apply(
        o.retryOf
          ? { type: "start", at: iso(), reason: `retry of rolled-back rollout ${o.retryOf.id} by ${o.retryOf.by}: ${o.retryOf.reason}; rollout of ${through}`, by: o.retryOf.by, evidence: { snapshotOf: snapshot.type, retryOf: o.retryOf.id } }
          : { type: "start", at: iso(), reason: `rollout of ${through}`, evidence: { snapshotOf: snapshot.type } },
      );
      await applyWithRetry(`deploy canary ${o.version} at weight 0`, () => o.target.setCanary(o.version, o.image));
      const initial = await act("verify the applied weight", () => o.target.verify());
      if (initial !== undefined && initial !== 0) throw new RollbackSignal("error", `canary deployed but the applied weight is ${initial}, expected 0`, { applied: initial });
    }

    let promoteNow = false;
    for (let i = first; i < steps.length && !promoteNow; i++) {
      const step = steps[i];
      const resumingThisStep = resumed !== undefined && i === first && resumed.phase !== "Initializing";
      // A gate before the step: hold the current weight (0 before the first step) until approved.
      if (!resumingThisStep && plan.gates.beforeSteps.includes(i)) {
        while (!gateOpen(`step ${i}`)) {
          await sleep(plan.tickSeconds * 1000);
          const c = await takeControls();
          if (c.full) promoteNow = true;
          if (c.full || c.skip) break;
        }
        if (promoteNow) break;
      }
      const applied = await ensureWeight(step.weight, `step ${i}`);
      if (!resumingThisStep) {
        await apply({
          type: "advance",
          at: iso(),
          step: i,
          weight: step.weight,
          reason: i === 0 ? `canary deployed; first step at weight ${step.weight}` : `step ${i - 1} passed; weight ${step.weight}`,
          evidence: { applied: applied ?? "cannot verify", ...(record.lastVerdict ? { verdict: record.lastVerdict } : {}) },
        });
      }

      // The reading at the step's start marks the boundary: the ticks after it judge only
      // traffic at this step's weight.
      await measure();
      const startedAt = clock.now();
      const window = { index: i, startedAt: startedAt / 1000, minDurationSeconds: step.minDurationSeconds, maxDurationSeconds: step.maxDurationSeconds, ...(step.warmupSeconds ? { warmupSeconds: step.warmupSeconds } : {}) };
      if (!resumingThisStep) analysis.beginStep(window, initial);
      else {
        // A resumed step keeps the evidence and observed time its previous driver persisted.
        const unusable = analysis.resumeStep(resumed!.judge, window, startedAt / 1000);
        if (unusable === undefined) report({ kind: "action", message: `step ${i}: judging continues from the state the previous driver recorded` });
        else {
          report({ kind: "log", line: `step ${i}: cannot continue the previous driver's judging (${unusable}); the step's judging restarts` });
          analysis.beginStep(window);
        }
      }
      let heldInconclusive = false;
      let passed = false;
      const last = i === steps.length - 1;
      const nextGate = last ? (plan.gates.beforePromotion ? "promotion" : undefined) : plan.gates.beforeSteps.includes(i + 1) ? `step ${i + 1}` : undefined;
      for (;;) {
        await sleep(plan.tickSeconds * 1000);
        const c = await takeControls();
        if (c.full) {
          promoteNow = true;
          break;
        }
        if (c.skip) passed = true;
        // Wall-clock time, not the injected clock: this measures the metrics backend and the judge.
        const decisionStarted = performance.now();
        const verdict = analysis.tick(await measure());
        const decisionSeconds = (performance.now() - decisionStarted) / 1000;
        record = { ...record, lastVerdict: summarize(verdict), judge: analysis.state() };
        await persist();
        report({ kind: "tick", record, verdict, stepSeconds: (clock.now() - startedAt) / 1000, decisionSeconds });
        const frozen = record.phase === "Frozen";
        if (verdict.decision === "rollback") {
          if (!frozen) throw new RollbackSignal("analysis", verdict.reasons[0] ?? "the analysis failed", evidenceOf(verdict));
          report({ kind: "log", line: `frozen: the analysis says rollback (${verdict.reasons[0] ?? ""}); holding the weight until an operator unfreezes or aborts` });
        }
        if (verdict.decision === "inconclusive" && !passed && !frozen && record.phase !== "Paused") {
          if (plan.inconclusive === "rollback") throw new RollbackSignal("analysis", `inconclusive: ${verdict.reasons[0] ?? ""}`, evidenceOf(verdict));
          if (!heldInconclusive) report({ kind: "action", message: `step ${i} inconclusive; holding weight ${step.weight} (plan: inconclusive: hold)` });
          heldInconclusive = true;
        }
        if (verdict.decision === "promote") passed = true;
        // Paused or frozen: hold the weight (still judging) until resumed.
        if (!passed || record.phase !== "Progressing") continue;
        // An approval gate after the step: hold the weight, still judging, until approved.
        if (nextGate !== undefined && !gateOpen(nextGate)) continue;
        if (last) await apply({ type: "promote", at: iso(), reason: `step ${i} passed: ${verdict.reasons[0] ?? "skipped by an operator"}`, evidence: evidenceOf(verdict) });
        break;
      }
    }
    await act(`promote ${o.version} to stable`, () => o.target.promote());
    await apply({ type: "complete", at: iso(), reason: `${o.version} is the stable version` });
    return { outcome: "promoted", record, reason: record.history[record.history.length - 2]?.reason ?? "promoted" };
  } catch (e) {
    // Promoted, but the final record could not be saved: nothing to roll back.
    if (record.phase === "Succeeded") throw e;
    // Not this driver's rollout (any more): nothing it may change.
    if (!holding || e instanceof LeaseLostError) throw e;
    if (e instanceof PauseSignal) {
      if (record.phase === "Progressing") await apply({ type: "pause", at: iso(), reason: `${e.reason}; plan onSignal: pause holds the weight`, by: operatorIdentity() });
      await persist(true);
      return { outcome: "paused", record, reason: e.reason };
    }
    const signal = e instanceof RollbackSignal ? e : new RollbackSignal("error", errorMessage(e), { error: errorMessage(e), name: e instanceof Error ? e.name : undefined });
    return rollBack(signal);
  }

  async function rollBack(signal: RollbackSignal): Promise<RolloutResult> {
    if (!signal.already) {
      try {
        await apply({ type: "rollback", at: iso(), reason: signal.reason, trigger: signal.trigger, evidence: signal.evidence, ...(signal.by ? { by: signal.by } : {}) });
      } catch (e) {
        if (e instanceof LeaseLostError) throw e;
        // The target must still be restored even when the record cannot be written.
        report({ kind: "log", line: `cannot record the rollback: ${errorMessage(e)}` });
      }
    }
    try {
      // Not through act(): an interrupt must not stop the rollback it asked for.
      if (gradualAbort && record.step) {
        for (const w of judgedSteps(plan).map((s) => s.weight).filter((w) => w < record.step!.weight).reverse()) {
          report({ kind: "action", message: `gradual abort: set the canary weight to ${w}` });
          await holdingLease(() => o.target.setWeight(w));
          await clock.sleep(plan.tickSeconds * 1000);
        }
      }
      report({ kind: "action", message: `roll back (${plan.rollback.mode})` });
      await restoreWithRetry();
    } catch (e) {
      const message = e instanceof RestoreError ? e.message : `rollback failed: ${errorMessage(e)}`;
      const applied = await o.target.verify().catch(() => undefined);
      await apply({ type: "rollbackFailed", at: iso(), reason: message, evidence: { error: message, appliedWeight: applied ?? "cannot verify" } });
      // This driver gives up: release the lease so the next run (or `canary abort`) retries at once.
      await persist(true);
      return { outcome: "restoreFailed", record, reason: message };
    }
    const applied = await o.target.verify().catch(() => undefined);
    await apply({ type: "rolledBack", at: iso(), reason: `restored the snapshot${plan.rollback.mode === "keepCanary" ? "; canary kept at weight 0" : ""}`, evidence: { applied: applied ?? "cannot verify" } });
    return { outcome: "rolledBack", record, reason: signal.reason };
  }

  /** The restore, retried with backoff before it is declared failed. */
  async function restoreWithRetry(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await holdingLease(() => o.target.rollback(snapshot, plan.rollback.mode));
        return;
      } catch (e) {
        if (attempt >= APPLY_ATTEMPTS || e instanceof ConcurrentUpdateRefusedError) throw e;
        const delay = Math.min(APPLY_BACKOFF_MS * 2 ** (attempt - 1), plan.tickSeconds * 1000);
        report({ kind: "log", line: `restore failed (${errorMessage(e)}); retrying in ${delay}ms (attempt ${attempt + 1} of ${APPLY_ATTEMPTS})` });
        await clock.sleep(delay);
      }
    }
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
    record = await store.save(transition(record, event));
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
