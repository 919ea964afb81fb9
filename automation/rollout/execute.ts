/**
 * What each action does in a real rollout: the effects on the target (effects.ts), judging with
 * the metrics, and waiting a tick for control requests.
 */
import { performance } from "node:perf_hooks";
import { TickMeasurement, Verdict } from "../analysis/types";
import { Plan } from "../plan";
import { RolloutRecord } from "../state";
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

/** The executor of a real rollout: the effects on the target, judging with the metrics, and waiting. */
export function rolloutExecutor(ctx: effects.EffectContext, plan: Plan, interrupt: AbortSignal | undefined, judging: { readonly metrics: MetricsSource; readonly analysis: Analysis }): Executor {
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
          const window = { index: i, startedAt: stepStartedAt / 1000, minDurationSeconds: step.minDurationSeconds, maxDurationSeconds: step.maxDurationSeconds, ...(step.warmupSeconds ? { warmupSeconds: step.warmupSeconds } : {}) };
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
        session.update((r) => recordVerdict(r, verdict, judging.analysis.state(), plan));
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
function recordVerdict(record: RolloutRecord, verdict: Verdict, judgeState: unknown, plan: Pick<Plan, "inconclusive">): RolloutRecord {
  const step = record.step;
  if (!step) return record;
  const at = new Date(verdict.at * 1000).toISOString();
  const passed = step.passed ?? (verdict.decision === "promote" ? { at, reason: verdict.reasons[0] ?? "the judge promotes" } : undefined);
  const inconclusive = step.inconclusive === true || (verdict.decision === "inconclusive" && !passed && record.phase === "Progressing" && plan.inconclusive === "hold");
  return { ...record, lastVerdict: summarize(verdict, step.index), judge: judgeState, step: { ...step, ...(passed ? { passed } : {}), ...(inconclusive ? { inconclusive } : {}) } };
}
