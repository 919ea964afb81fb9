/**
 * A dry run: the loop's own decisions (decide.ts), walked against a simulated world in which
 * every change takes effect, every step passes and every gate is approved, each action printed
 * instead of executed. Nothing is applied to the target and nothing is written to the store.
 */
import { gateNames, Plan } from "../plan";
import { RecordStore } from "../record/types";
import { MemoryRecordStore } from "../record/memory";
import { newRecord, RolloutRecord } from "../state";
import { Target } from "../targets/types";
import { Clock, isoNow, systemClock } from "./clock";
import { Action } from "./decide";
import { DriverEvent } from "./events";
import { gateWait } from "./execute";
import { leaseSecondsOf } from "./lease";
import { drive, Executor, RolloutResult } from "./loop";
import { Session } from "./session";

/** One action of a dry run in words (`set the canary weight to 25, then verify it is applied`). */
function describeAction(action: Action, record: Pick<RolloutRecord, "version" | "image">, plan: Plan): string | undefined {
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

/** What a dry run needs: the rollout's options, of which the target and the store only name themselves. */
export interface DryRunOptions {
  readonly plan: Plan;
  readonly version: string;
  readonly image: string;
  readonly target: Pick<Target, "type" | "name">;
  readonly store: Pick<RecordStore, "description">;
  readonly clock?: Clock;
  readonly report?: (e: DriverEvent) => void;
  readonly id?: string;
}

/**
 * A dry run: the loop's own decisions, walked against a simulated world in which every change
 * takes effect, every step passes and every gate is approved, each action printed; nothing is
 * applied to the target and nothing is written to the store.
 */
export async function dryRunRollout(o: DryRunOptions): Promise<RolloutResult> {
  const report = o.report ?? (() => undefined);
  const plan = o.plan;
  const clock = o.clock ?? systemClock;
  const say = (message: string): void => report({ kind: "action", message: `[dry run] would ${message}` });
  say(`snapshot ${o.target.type} target ${o.target.name} and record the rollout in ${o.store.description}`);
  const at = isoNow(clock);
  const session = new Session(newRecord({ id: o.id ?? "dry-run", stack: o.target.name, target: o.target.type, version: o.version, image: o.image, steps: plan.steps.map((s) => s.weight), gates: gateNames(plan), at }), {
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
        session.update((r) => ({ ...r, canaryDeployedAt: at }));
        return { applied: 0 };
      case "SetWeight":
        session.recordEvent({ type: "advance", at, step: action.step, weight: action.weight, reason: "dry run" });
        return { applied: action.weight };
      case "Judge":
        if (!action.start) session.update((r) => ({ ...r, step: { ...r.step!, passed: { at, reason: "dry run" } } }));
        return { judging: action.step };
      case "AwaitGate":
        session.update((r) => ({ ...r, controls: [...(r.controls ?? []), { id: `dry-run-${action.gate}`, verb: "approve", gate: action.gate, at, by: "dry run", reason: "dry run", status: "applied" }] }));
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
