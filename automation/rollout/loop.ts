/**
 * The rollout driver: a loop that observes, asks {@link decide} for the next action, makes the
 * record durable (with the target change it is about to make written ahead), and executes the
 * action. The policy is all in decide.ts, the target changes in effects.ts, the record, lease and
 * persistence in session.ts; this file only wires them and waits for ticks. A dry run walks the
 * same decisions against simulated observations (every step passes, every gate is approved) and
 * prints each action instead of executing it.
 *
 * Time comes from an injected {@link Clock}, so tests run a whole rollout in milliseconds.
 */
import { performance } from "node:perf_hooks";
import { TickMeasurement, Verdict } from "../analysis/types";
import { errorMessage } from "../errors";
import { Plan } from "../plan";
import { MemoryRecordStore } from "../record/memory";
import { RecordStore, revisionOf } from "../record/types";
import { describePhase, isUnfinished, newRecord, RolloutRecord } from "../state";
import { Target, TargetSnapshot } from "../targets/types";
import { Clock, isoNow, systemClock } from "./clock";
import { Action, decide, Observation, Outcome } from "./decide";
import * as effects from "./effects";
import { DriverEvent } from "./events";
import { Analysis, ComparedVersions, JudgeAnalysis, MetricsSource, summarize } from "./judging";
import { LeaseHeldError, leaseLive, LeaseLostError, newLease, operatorIdentity } from "./lease";
import { RolloutInProgressError, Session } from "./session";

/** The end of a rollout run. */
export interface RolloutResult {
  readonly outcome: Outcome;
  readonly record: RolloutRecord;
  /** Why it ended that way (the reason of the deciding transition). */
  readonly reason: string;
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
   * rollout back (or pauses it, per the plan's `onSignal`) at the next safe point: between two
   * actions, or at once while waiting for a tick. A target operation under way is never cut short.
   */
  readonly interrupt?: AbortSignal;
  /**
   * How long the driver's lease lasts without renewal, seconds. Defaults to
   * {@link leaseSecondsOf} the plan. The lease is renewed on every save and, while a target
   * operation runs (a long `pulumi up`), every third of this.
   */
  readonly leaseSeconds?: number;
  /** This rollout retries a rolled-back one (`canary retry`): recorded on its start. */
  readonly retryOf?: { readonly id: string; readonly by: string; readonly reason: string };
}

/**
 * How long a driver's lease lasts without renewal: three ticks, at least a minute (a target
 * operation such as `pulumi up` may run for a while between two saves).
 */
export function leaseSecondsOf(plan: Pick<Plan, "tickSeconds">): number {
  return Math.max(3 * plan.tickSeconds, 60);
}

/** Whether a stored rollout is the one these options ask for (so a new driver may continue it). */
function sameRollout(r: RolloutRecord, o: RolloutOptions): boolean {
  return r.version === o.version && r.image === o.image && r.target === o.target.type && r.steps.join() === o.plan.steps.map((s) => s.weight).join();
}

/**
 * Runs one rollout to its end: promoted, rolled back, paused (plan onSignal: pause) or (when the
 * restore itself fails) restoreFailed. An unfinished rollout of the same version whose driver is
 * gone is continued from its record (or rolled back, per plan onResume); a finished rollout of the
 * same version and image that succeeded is not repeated (`unchanged`, nothing contacted). Throws
 * only before anything was changed (another live driver, an unfinished rollout of another
 * version, a target that refuses to be prepared), when the rollout is lost to another process, or
 * when the record cannot be written for longer than the lease lasts.
 */
export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const clock = o.clock ?? systemClock;
  const plan = o.plan;
  const dryRun = o.dryRun === true || plan.dryRun;
  const leaseSeconds = o.leaseSeconds ?? leaseSecondsOf(plan);

  const existing = await o.store.load();
  let resumed: RolloutRecord | undefined;
  if (existing && isUnfinished(existing.phase)) {
    if (existing.lease && leaseLive(existing.lease, clock.now())) throw new LeaseHeldError(existing.lease, existing, o.store.description);
    if (!sameRollout(existing, o) || dryRun) throw new RolloutInProgressError(existing, o.store.description);
    resumed = existing;
  } else if (existing?.phase === "Succeeded" && existing.version === o.version && existing.image === o.image && !dryRun && !o.retryOf) {
    return { outcome: "unchanged", record: existing, reason: `${o.version} (${o.image}) is already the stable version: rollout ${existing.id} succeeded at ${existing.updatedAt}; nothing to do` };
  }
  if (dryRun) return dryRunRollout(o);

  // Resuming, the target is still checked (another update in progress is refused), but the
  // snapshot that a rollback restores is the one taken before the rollout changed anything.
  const prepared = await o.target.prepare();
  const snapshot = (resumed ? resumed.snapshot : prepared) as TargetSnapshot;
  // Built before anything changes, so an invalid provider config fails with nothing applied.
  const metrics = typeof o.metrics === "function" ? o.metrics({ canary: o.version, baseline: snapshot.stableVersion }) : o.metrics;
  const analysis = o.analysis ?? new JudgeAnalysis(plan.analysis.judge);
  const report = o.report ?? (() => undefined);
  const lease = newLease(clock.now(), leaseSeconds);
  const options = { store: o.store, clock, leaseSeconds, tickSeconds: plan.tickSeconds, report };

  let session: Session;
  if (resumed) {
    session = new Session({ ...resumed, lease }, options);
    session.recordEvent({
      type: "takeOver",
      at: isoNow(clock),
      reason: `driver ${lease.holder} took over ${describePhase(resumed)} (previous driver ${resumed.lease?.holder ?? "unknown"} is gone)`,
      evidence: { previousLease: resumed.lease ?? null },
    });
  } else {
    const at = isoNow(clock);
    const fresh = newRecord({ id: o.id ?? `${at.replace(/[-:.]/g, "")}-${o.version}`, stack: o.target.name, target: o.target.type, version: o.version, image: o.image, steps: plan.steps.map((s) => s.weight), at });
    // Written over the finished record it replaces (compare-and-swap on its revision).
    session = new Session({ ...fresh, snapshot, lease, revision: revisionOf(existing) }, options);
    const through = `${o.version} (${o.image}) through ${plan.steps.map((s) => s.weight).join(" → ")}`;
    session.recordEvent(
      o.retryOf
        ? { type: "start", at, reason: `retry of rolled-back rollout ${o.retryOf.id} by ${o.retryOf.by}: ${o.retryOf.reason}; rollout of ${through}`, by: o.retryOf.by, evidence: { snapshotOf: snapshot.type, retryOf: o.retryOf.id } }
        : { type: "start", at, reason: `rollout of ${through}`, evidence: { snapshotOf: snapshot.type } },
    );
  }
  const say = (message: string): void => report({ kind: "action", message });
  const ctx: effects.EffectContext = {
    session,
    target: o.target,
    clock,
    rollbackMode: plan.rollback.mode,
    tickSeconds: plan.tickSeconds,
    say,
    log: (line) => report({ kind: "log", line }),
    ...(o.interrupt ? { interrupt: o.interrupt } : {}),
  };
  return drive({ session, plan, clock, interrupt: o.interrupt, execute: executor(ctx, plan, o.interrupt, { metrics, analysis }) }, resumed ? { tookOver: resumed.lease?.holder ?? "unknown" } : {});
}

/** Executes one action; returns what it observed. */
export type Executor = (action: Exclude<Action, { kind: "Done" }>, record: RolloutRecord) => Promise<Partial<Observation>>;

/** What the loop runs with. */
export interface Drive {
  readonly session: Session;
  readonly plan: Plan;
  readonly clock: Clock;
  readonly interrupt?: AbortSignal;
  readonly execute: Executor;
}

/**
 * The loop: observe → decide → persist (the action's intent written ahead) → execute, until
 * {@link decide} says Done. Also finishes a rollout a control verb set Promoting or RollingBack.
 * Persistence failures stop it (after the session's retries): a record that cannot be written is
 * never a reason to roll back.
 */
export async function drive(d: Drive, first: Partial<Observation> = {}): Promise<RolloutResult> {
  const { session, plan, clock, interrupt } = d;
  const operator = operatorIdentity();
  let seen: Partial<Observation> = first;
  for (;;) {
    const obs: Observation = { ...seen, at: isoNow(clock), operator, ...(interrupt?.aborted ? { interrupted: `interrupted (${String(interrupt.reason ?? "aborted")})` } : {}) };
    const action = decide(session.record, plan, obs);
    if (action.kind === "Done") {
      if (action.event) session.recordEvent(action.event);
      await session.save({ release: true });
      return { outcome: action.outcome, record: session.record, reason: action.reason };
    }
    await session.commit(intentOf(action, obs.at));
    // What the process keeps seeing: the weight in effect and the step its judge is on.
    const kept = { ...(obs.applied !== undefined ? { applied: obs.applied } : {}), ...(obs.judging !== undefined ? { judging: obs.judging } : {}) };
    try {
      seen = { ...kept, ...(await d.execute(action, session.record)) };
    } catch (e) {
      // The rollout is another process's now, or the rollback itself broke: nothing more to do here.
      if (!session.holding || e instanceof LeaseHeldError || e instanceof RolloutInProgressError || e instanceof LeaseLostError || session.record.phase === "RollingBack") throw e;
      seen = { ...kept, failure: { reason: errorMessage(e), evidence: { error: errorMessage(e), name: e instanceof Error ? e.name : undefined } } };
    }
  }
}

/** The target change an action is about to make, written to the record before it starts. */
function intentOf(action: Action, at: string): RolloutRecord["intent"] {
  if (action.kind === "SetCanary") return { action: "setCanary", at };
  if (action.kind === "SetWeight" && !action.applied) return { action: "setWeight", step: action.step, weight: action.weight, at };
  return undefined;
}

/** Waits one tick, returning early on an interrupt; then reads control requests. */
async function waitTick(session: Session, clock: Clock, plan: Plan, interrupt: AbortSignal | undefined): Promise<Partial<Observation>> {
  if (interrupt) {
    let onAbort: (() => void) | undefined;
    await Promise.race([clock.sleep(plan.tickSeconds * 1000), new Promise<void>((resolve) => interrupt.addEventListener("abort", (onAbort = () => resolve()), { once: true }))]);
    if (onAbort) interrupt.removeEventListener("abort", onAbort);
    if (interrupt.aborted) return {};
  } else {
    await clock.sleep(plan.tickSeconds * 1000);
  }
  await session.takeControls();
  return { tickDue: true };
}

/** The gate's wait, in words. */
function gateWait(plan: Plan, gate: string): { reason: string; command: string } {
  const step = gate.replace("step ", "");
  return gate === "promotion"
    ? { reason: "approval before promotion", command: "canary approve --promotion" }
    : { reason: `approval before ${gate} (weight ${plan.steps[Number(step)]?.weight})`, command: `canary approve --step ${step}` };
}

/** The executor of a real rollout: the effects on the target, judging with the metrics, and waiting. */
function executor(ctx: effects.EffectContext, plan: Plan, interrupt: AbortSignal | undefined, judging: { readonly metrics: MetricsSource; readonly analysis: Analysis }): Executor {
  const { session, clock } = ctx;
  const measure = (): Promise<TickMeasurement> => judging.metrics.measure(clock.now() / 1000);
  let stepStartedAt = clock.now();
  return async (action) => {
    switch (action.kind) {
      case "SetCanary":
        return effects.setCanary(ctx);
      case "SetWeight":
        return effects.setWeight(ctx, action);
      case "ReadBack":
        return effects.readBack(ctx);
      case "Promote":
        return effects.promote(ctx, action);
      case "RollBack":
        return effects.rollBack(ctx, action);
      case "Hold":
        return waitTick(session, clock, plan, interrupt);
      case "AwaitGate": {
        if (session.record.awaiting !== action.gate) {
          const wait = gateWait(plan, action.gate);
          session.note((r) => ({ ...r, awaiting: action.gate }));
          session.say({ kind: "gateWaiting", record: session.record, wait: { gate: action.gate, at: isoNow(clock), reason: wait.reason } });
          ctx.say(`waiting at gate ${action.gate}: run \`${wait.command}\``);
        }
        return waitTick(session, clock, plan, interrupt);
      }
      case "Judge": {
        const i = action.step;
        const step = plan.steps[i];
        if (action.start) {
          // The reading at the step's start marks the boundary: the ticks after it judge only
          // traffic at this step's weight.
          await measure();
          stepStartedAt = clock.now();
          const window = { index: i, startedAt: stepStartedAt / 1000, minDurationSeconds: step.minDurationSeconds, maxDurationSeconds: step.maxDurationSeconds };
          if (action.start === "begin") judging.analysis.beginStep(window);
          else {
            // A resumed step keeps the evidence and observed time its previous driver persisted.
            const unusable = judging.analysis.resumeStep(session.record.judge, window, stepStartedAt / 1000);
            if (unusable === undefined) ctx.say(`step ${i}: judging continues from the state the previous driver recorded`);
            else {
              ctx.log(`step ${i}: cannot continue the previous driver's judging (${unusable}); the step's judging restarts`);
              judging.analysis.beginStep(window);
            }
          }
          return { judging: i };
        }
        // Wall-clock time, not the injected clock: this measures the metrics backend and the judge.
        const decisionStarted = performance.now();
        const verdict = judging.analysis.tick(await measure());
        const decisionSeconds = (performance.now() - decisionStarted) / 1000;
        const held = session.record.step?.inconclusive === true;
        session.change((r) => recordVerdict(r, verdict, judging.analysis.state(), plan));
        const record = session.record;
        session.emit({ kind: "tick", record, verdict, stepSeconds: (clock.now() - stepStartedAt) / 1000, decisionSeconds });
        if (verdict.decision === "rollback" && record.phase === "Frozen") {
          session.emit({ kind: "log", line: `frozen: the analysis says rollback (${verdict.reasons[0] ?? ""}); holding the weight until an operator unfreezes or aborts` });
        }
        if (!held && record.step?.inconclusive) session.emit({ kind: "action", message: `step ${i} inconclusive; holding weight ${step.weight} (plan: inconclusive: hold)` });
        return { judging: i, verdict };
      }
    }
  };
}

/**
 * The record after a judged tick: the verdict's summary and the judge's state (so a resumed step
 * keeps its evidence), and what the step has come to: passed on a promote verdict; holding, once
 * it is inconclusive with the plan's `inconclusive: hold`. Pure.
 */
export function recordVerdict(record: RolloutRecord, verdict: Verdict, judgeState: unknown, plan: Pick<Plan, "inconclusive">): RolloutRecord {
  const step = record.step;
  if (!step) return record;
  const at = new Date(verdict.at * 1000).toISOString();
  const passed = step.passed ?? (verdict.decision === "promote" ? { at, reason: verdict.reasons[0] ?? "the judge promotes" } : undefined);
  const inconclusive = step.inconclusive === true || (verdict.decision === "inconclusive" && !passed && record.phase === "Progressing" && plan.inconclusive === "hold");
  return { ...record, lastVerdict: summarize(verdict, step.index), judge: judgeState, step: { ...step, ...(passed ? { passed } : {}), ...(inconclusive ? { inconclusive } : {}) } };
}

/** One action of a dry run in words (`set the canary weight to 25, then verify it is applied`). */
export function describeAction(action: Action, record: Pick<RolloutRecord, "version" | "image">, plan: Plan): string | undefined {
  switch (action.kind) {
    case "SetCanary":
      return `deploy canary ${record.version} (${record.image}) at weight 0, then verify the applied weight is 0`;
    case "SetWeight":
      return `set the canary weight to ${action.weight}, then verify it is applied`;
    case "Judge": {
      if (!action.start) return undefined;
      const step = plan.steps[action.step];
      return (
        `judge every ${plan.tickSeconds}s: pass after at least ${step.minDurationSeconds}s observed with traffic; ` +
        `at ${step.maxDurationSeconds}s undecided ${plan.inconclusive === "hold" ? "hold the weight" : "roll back"}; on a failed analysis roll back (${plan.rollback.mode}) at once`
      );
    }
    case "AwaitGate":
      return `wait at gate ${action.gate} for an approval (\`${gateWait(plan, action.gate).command}\`)`;
    case "Promote":
      return `promote ${record.version} to stable (weight ${plan.steps[plan.steps.length - 1].weight})`;
    case "RollBack":
      return `roll back (${plan.rollback.mode})`;
    case "ReadBack":
      return "read the canary weight back";
    case "Hold":
    case "Done":
      return undefined;
  }
}

/**
 * A dry run: the loop's own decisions, walked against a simulated world in which every change
 * takes effect, every step passes and every gate is approved, each action printed; nothing is
 * applied to the target and nothing is written to the store.
 */
async function dryRunRollout(o: RolloutOptions): Promise<RolloutResult> {
  const report = o.report ?? (() => undefined);
  const plan = o.plan;
  const clock = o.clock ?? systemClock;
  const say = (message: string): void => report({ kind: "action", message: `[dry run] would ${message}` });
  say(`snapshot ${o.target.type} target ${o.target.name} and record the rollout in ${o.store.description}`);
  const at = isoNow(clock);
  const session = new Session(newRecord({ id: o.id ?? "dry-run", stack: o.target.name, target: o.target.type, version: o.version, image: o.image, steps: plan.steps.map((s) => s.weight), at }), {
    store: new MemoryRecordStore(),
    clock,
    leaseSeconds: leaseSecondsOf(plan),
    tickSeconds: plan.tickSeconds,
    report,
  });
  session.recordEvent({ type: "start", at, reason: "dry run" });
  const simulate: Executor = async (action, record) => {
    const message = describeAction(action, record, plan);
    if (message) say(message);
    switch (action.kind) {
      case "SetCanary":
        session.change((r) => ({ ...r, canaryDeployedAt: at }));
        return { applied: 0 };
      case "SetWeight":
        session.recordEvent({ type: "advance", at, step: action.step, weight: action.weight, reason: "dry run" });
        return { applied: action.weight };
      case "Judge":
        if (!action.start) session.change((r) => ({ ...r, step: { ...r.step!, passed: { at, reason: "dry run" } } }));
        return { judging: action.step };
      case "AwaitGate":
        session.change((r) => ({ ...r, controls: [...(r.controls ?? []), { id: `dry-run-${action.gate}`, verb: "approve", gate: action.gate, at, by: "dry run", reason: "dry run", status: "applied" }] }));
        return { tickDue: true };
      case "Hold":
        return { tickDue: true };
      case "Promote":
        if (record.phase === "Progressing") session.recordEvent({ type: "promote", at, reason: "dry run" });
        session.recordEvent({ type: "complete", at, reason: "dry run" });
        return {};
      case "ReadBack":
      case "RollBack":
        throw new Error(`a dry run never reaches ${action.kind}`);
    }
  };
  const result = await drive({ session, plan, clock, execute: simulate });
  return { outcome: "dryRun", record: result.record, reason: "dry run: nothing applied" };
}
