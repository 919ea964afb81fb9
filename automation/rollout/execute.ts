/**
 * What each action does in a real rollout: the effects on the target (effects.ts), judging with
 * the metrics (the steps, and the bake against the previous version's reference), the alert
 * gate's queries, and waiting a tick for control requests.
 */
import { performance } from "node:perf_hooks";
import { parseJudgeConfig, StepWindow } from "../analysis/judge";
import { TickMeasurement, Verdict } from "../analysis/types";
import { Plan } from "../plan";
import { AlertCheck, Reference, RolloutRecord } from "../state";
import { TargetSnapshot } from "../targets/types";
import { AlertSource, firingAlerts } from "./alerts";
import { addCounts, bakeVerdict, countsOf, firstTrafficAt, latencyBounds, newVersionCounts, referenceOf } from "./bake";
import { Clock, isoNow } from "./clock";
import { Observation } from "./decide";
import * as effects from "./effects";
import { Analysis, MetricsSource, summarize } from "./judging";
import { Executor } from "./loop";
import { Session } from "./session";

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
export function gateWait(plan: Plan, gate: string): { reason: string; command: string } {
  const step = gate.replace("step ", "");
  return gate === "promotion"
    ? { reason: "approval before promotion", command: "canary approve --promotion" }
    : { reason: `approval before ${gate} (weight ${plan.steps[Number(step)]?.weight})`, command: `canary approve --step ${step}` };
}

/** What judging needs besides the target: the metrics, the judge, and the plan's bake and alert gate. */
export interface Judging {
  readonly metrics: MetricsSource;
  readonly analysis: Analysis;
  /** A fresh source of the previous version's counts (it is the `canary` there), for the bake's reference. */
  readonly reference?: () => MetricsSource;
  /** Where the alert gate asks (plan `alerts`). */
  readonly alerts?: AlertSource;
}

/** The executor of a real rollout: the effects on the target, judging with the metrics, and waiting. */
export function rolloutExecutor(ctx: effects.EffectContext, plan: Plan, interrupt: AbortSignal | undefined, judging: Judging, hooks?: effects.HookAccess): Executor {
  const { session, clock } = ctx;
  const measure = (): Promise<TickMeasurement> => judging.metrics.measure(clock.now() / 1000);
  const judge = parseJudgeConfig(plan.analysis.judge);
  const bounds = latencyBounds(judge);
  const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();
  let stepStartedAt = clock.now();
  /** The judged window of step `i`, or of the bake when the rollout is Baking. */
  const windowOf = (i: number, startedAt: number): StepWindow => {
    const bake = session.record.phase === "Baking" ? plan.bake : undefined;
    const step = plan.steps[i];
    return bake
      ? { index: i, startedAt, minDurationSeconds: bake.durationSeconds, maxDurationSeconds: bake.maxDurationSeconds }
      : { index: i, startedAt, minDurationSeconds: step.minDurationSeconds, maxDurationSeconds: step.maxDurationSeconds, ...(step.warmupSeconds ? { warmupSeconds: step.warmupSeconds } : {}) };
  };
  return async (action) => {
    switch (action.kind) {
      case "SetCanary":
        return effects.setCanary(ctx);
      case "SetWeight":
        return effects.setWeight(ctx, action);
      case "Switch":
        return effects.switchTraffic(ctx, action);
      case "ReadBack":
        return effects.readBack(ctx);
      case "Promote":
        return effects.promote(ctx, action);
      case "RollBack":
        return effects.rollBack(ctx, action);
      case "RunHook":
        if (!hooks) throw new Error(`hook ${action.hook}: this rollout runs no hooks`);
        return effects.runHook(ctx, action, hooks);
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
      case "MeasureReference": {
        const reference = await measureReference(session.record, plan, judging, clock.now() / 1000, bounds);
        session.update((r) => ({ ...r, reference }));
        ctx.say(describeReference(reference));
        return {};
      }
      case "CheckAlerts": {
        const source = judging.alerts;
        if (!source || !plan.alerts) throw new Error("the plan has no alert gate");
        const reading = await firingAlerts(source, plan.alerts.matchers, clock.now() / 1000);
        const at = isoNow(clock);
        const prev = session.record.alerts?.gate === action.gate ? session.record.alerts : undefined;
        const check: AlertCheck =
          "error" in reading
            ? { gate: action.gate, at, firing: [], error: reading.error, failingSince: prev?.error !== undefined ? (prev.failingSince ?? prev.at) : at }
            : { gate: action.gate, at, firing: reading.firing };
        session.update((r) => ({ ...r, alerts: check }));
        const changed = JSON.stringify([prev?.firing, prev?.error]) !== JSON.stringify([check.firing, check.error]);
        if (check.error !== undefined) ctx.log(`alerts (${action.gate}): cannot tell: ${check.error}`);
        else if (check.firing.length > 0 && changed) ctx.say(`alerts firing (${action.gate}): ${check.firing.join(", ")}; plan alerts.onFiring: ${plan.alerts.onFiring}`);
        else if (prev && changed) ctx.log(`alerts (${action.gate}): none firing any more`);
        return { alertsChecked: true, ...(action.tick ? { tickDue: true } : {}) };
      }
      case "Judge": {
        const i = action.step;
        const baking = session.record.phase === "Baking";
        if (action.start) {
          // The reading at the step's start marks the boundary: the ticks after it judge only
          // traffic at this step's weight.
          await measure();
          stepStartedAt = clock.now();
          const window = windowOf(i, stepStartedAt / 1000);
          if (action.start === "begin") {
            judging.analysis.beginStep(window);
            if (baking) session.update(withoutBakeCounts);
          } else {
            // A resumed step keeps the evidence and observed time its previous driver persisted.
            const unusable = judging.analysis.resumeStep(session.record.judge, window, stepStartedAt / 1000);
            if (unusable === undefined) ctx.say(`${baking ? "bake" : `step ${i}`}: judging continues from the state the previous driver recorded`);
            else {
              ctx.log(`${baking ? "bake" : `step ${i}`}: cannot continue the previous driver's judging (${unusable}); the ${baking ? "bake's" : "step's"} judging restarts`);
              judging.analysis.beginStep(window);
              if (baking) session.update(withoutBakeCounts);
            }
          }
          return { judging: i };
        }
        // Wall-clock time, not the injected clock: this measures the metrics backend and the judge.
        const decisionStarted = performance.now();
        const m = await measure();
        // The step's observation begins with the new version's first request, not with the weight.
        if (session.record.step && session.record.step.trafficAt === undefined) {
          // A first tick that began before the weight was set (its start is the previous reading's
          // sample) had traffic from the weight on: the window stays where it is.
          const first = firstTrafficAt(m);
          const seen = first === undefined ? undefined : Math.max(first, stepStartedAt / 1000);
          if (seen !== undefined) {
            if (seen * 1000 - stepStartedAt >= 1) {
              judging.analysis.beginStep(windowOf(i, seen));
              ctx.log(`${baking ? "bake" : `step ${i}`}: the first request of ${session.record.version} came ${((seen * 1000 - stepStartedAt) / 1000).toFixed(1)}s after the weight was set; the observation starts at ${iso(seen)}`);
              stepStartedAt = seen * 1000;
            }
            session.update((r) => ({ ...r, step: { ...r.step!, trafficAt: iso(seen) } }));
          }
        }
        let verdict = judging.analysis.tick(m);
        if (baking && plan.bake) {
          const c = session.record.step?.trafficAt !== undefined ? newVersionCounts(m) : undefined;
          const counts = c ? addCounts(session.record.bake, countsOf(c, bounds)) : session.record.bake;
          const previous = (session.record.snapshot as TargetSnapshot | undefined)?.stableVersion;
          verdict = bakeVerdict(verdict, { bake: plan.bake, judge, ...(counts ? { counts } : {}), ...(session.record.reference ? { reference: session.record.reference } : {}), version: session.record.version, ...(previous ? { previous } : {}) });
          if (counts) session.update((r) => ({ ...r, bake: counts }));
        }
        const decisionSeconds = (performance.now() - decisionStarted) / 1000;
        const held = session.record.step?.inconclusive === true;
        session.update((r) => recordVerdict(r, verdict, judging.analysis.state(), plan));
        const record = session.record;
        session.emit({ kind: "tick", record, verdict, stepSeconds: (clock.now() - stepStartedAt) / 1000, decisionSeconds });
        if (verdict.decision === "rollback" && record.phase === "Frozen") {
          session.emit({ kind: "log", line: `frozen: the analysis says rollback (${verdict.reasons[0] ?? ""}); holding the weight until an operator unfreezes or aborts` });
        }
        if (!held && record.step?.inconclusive) session.emit({ kind: "action", message: `${baking ? "bake" : `step ${i}`} inconclusive; holding weight ${record.step.weight} (plan: inconclusive: hold)` });
        return { judging: i, verdict };
      }
    }
  };
}

/** The record without the bake's counts (a bake whose judging starts over). */
function withoutBakeCounts(r: RolloutRecord): RolloutRecord {
  const { bake: _counts, ...rest } = r;
  void _counts;
  return rest;
}

/**
 * The previous version's counts over the plan's reference window before now, read through a
 * fresh metrics source in which it is the `canary`; unavailable (with why) when it cannot be read.
 */
async function measureReference(record: RolloutRecord, plan: Plan, judging: Judging, now: number, bounds: readonly number[]): Promise<Reference> {
  const from = now - plan.bake!.referenceSeconds;
  const previous = (record.snapshot as TargetSnapshot | undefined)?.stableVersion;
  const window = { version: previous ?? "unknown", from: new Date(from * 1000).toISOString(), to: new Date(now * 1000).toISOString() };
  if (previous === undefined) return { ...window, unavailable: "the target's snapshot does not name the stable version" };
  if (!judging.reference) return { ...window, unavailable: "no metrics source for the previous version" };
  const source = judging.reference();
  await source.measure(from);
  return referenceOf(await source.measure(now), previous, from, now, bounds);
}

/** A reference in words. */
function describeReference(r: Reference): string {
  const seconds = (Date.parse(r.to) - Date.parse(r.from)) / 1000;
  if ("unavailable" in r) return `reference: ${r.version}'s rates over the ${seconds}s before the rollout are unavailable (${r.unavailable}); the bake judges against the guardrails and alerts only`;
  const rate = r.requests > 0 ? `${((100 * r.errors) / r.requests).toFixed(2)}% errors` : "no requests";
  return `reference: ${r.version} over the ${seconds}s before the rollout: ${r.requests} requests, ${rate}`;
}

/**
 * The record after a judged tick: the verdict's summary and the judge's state (so a resumed step
 * keeps its evidence), and what the step has come to: passed on a promote verdict; holding, once
 * it is inconclusive with the plan's `inconclusive: hold`. Pure.
 */
function recordVerdict(record: RolloutRecord, verdict: Verdict, judgeState: unknown, plan: Pick<Plan, "inconclusive">): RolloutRecord {
  const step = record.step;
  if (!step) return record;
  const at = new Date(verdict.at * 1000).toISOString();
  const passed = step.passed ?? (verdict.decision === "promote" ? { at, reason: verdict.reasons[0] ?? "the judge promotes" } : undefined);
  const inconclusive = step.inconclusive === true || (verdict.decision === "inconclusive" && !passed && (record.phase === "Progressing" || record.phase === "Baking") && plan.inconclusive === "hold");
  return { ...record, lastVerdict: summarize(verdict, step.index), judge: judgeState, step: { ...step, ...(passed ? { passed } : {}), ...(inconclusive ? { inconclusive } : {}) } };
}
