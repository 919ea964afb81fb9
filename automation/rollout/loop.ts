/**
 * The driver's loop: observe, ask {@link decide} for the next action, make the record durable
 * (with the target change the action is about to make written ahead), execute the action, and
 * again, until decide says Done. The policy is all in decide.ts; what an action does is the
 * executor's (execute.ts for a rollout, dryRun.ts for a dry run, control.ts for a control verb
 * finishing a stopped rollout); the record, lease and persistence are the session's.
 */
import { errorMessage } from "../errors";
import { RolloutRecord } from "../state";
import { Clock, isoNow } from "./clock";
import { Action, decide, DecisionPlan, Observation, Outcome } from "./decide";
import { LeaseHeldError, LeaseLostError, operatorIdentity } from "./lease";
import { RolloutInProgressError, Session } from "./session";

/** The end of a rollout run. */
export interface RolloutResult {
  readonly outcome: Outcome;
  readonly record: RolloutRecord;
  /** Why it ended that way (the reason of the deciding transition). */
  readonly reason: string;
}

/** Executes one action; returns what it observed. */
export type Executor = (action: Exclude<Action, { kind: "Done" }>, record: RolloutRecord) => Promise<Partial<Observation>>;

/** What the loop runs with. */
export interface Drive {
  readonly session: Session;
  readonly plan: DecisionPlan;
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

/** The change an action is about to make (to the target, or a hook's run), written to the record before it starts. */
function intentOf(action: Action, at: string): RolloutRecord["intent"] {
  if (action.kind === "SetCanary") return { action: "setCanary", at };
  if (action.kind === "SetWeight" && !action.applied) return { action: "setWeight", step: action.step, weight: action.weight, at };
  if (action.kind === "Switch" && !action.applied) return { action: "switch", at };
  if (action.kind === "RunHook") return { action: "hook", hook: action.hook, slot: action.slot, at };
  return undefined;
}
