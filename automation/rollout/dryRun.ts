/**
 * A dry run: the loop's own decisions (decide.ts), walked against a simulated world in which
 * every change takes effect, every step and bake passes, every gate is approved, every hook passes
 * and no alert fires, each action printed instead of executed. Nothing is applied to the target and nothing is written to the store.
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
import { describeHook } from "./hooks";
import { leaseSecondsOf } from "./lease";
import { drive, Executor, RolloutResult } from "./loop";
import { Session } from "./session";

/** One action of a dry run in words (`set the canary weight to 25, then verify it is applied`). */
function describeAction(action: Action, record: Pick<RolloutRecord, "version" | "image" | "phase" | "strategy">, plan: Plan): string | undefined {
  const blueGreen = record.strategy === "blueGreen";
  switch (action.kind) {
    case "SetCanary":
      return blueGreen
        ? `deploy green ${record.version} (${record.image}) beside blue at weight 0, at blue's full size, then verify the applied weight is 0 (green reachable through the override route only)`
        : `deploy canary ${record.version} (${record.image}) at weight 0, then verify the applied weight is 0`;
    case "SetWeight":
      return `set the canary weight to ${action.weight}, then verify it is applied`;
    case "Switch":
      return `switch all traffic to ${record.version} at once (weight 100), then verify it; the previous version stays deployed${plan.blueGreen ? ` for at least ${plan.blueGreen.scaleDownDelaySeconds}s (scaleDownDelay)` : ""} so a rollback switches straight back`;
    case "Judge": {
      if (!action.start) return undefined;
      if (record.phase === "Baking" && plan.bake) {
        const b = plan.bake;
        return (
          `bake: judge ${record.version} every ${plan.tickSeconds}s from its first request: pass after ${b.durationSeconds}s observed with traffic; ` +
          `roll back at once on a guardrail, or on an error or slow-request rate confidently above ${b.maxRatio} × the previous version's pre-rollout rate; at ${b.maxDurationSeconds}s undecided ${plan.inconclusive === "hold" ? "hold" : "roll back"}`
        );
      }
      const step = plan.steps[action.step];
      return (
        `judge every ${plan.tickSeconds}s from the canary's first request: pass after at least ${step.minDurationSeconds}s observed with traffic; ` +
        `at ${step.maxDurationSeconds}s undecided ${plan.inconclusive === "hold" ? "hold the weight" : "roll back"}; on a failed analysis roll back (${plan.rollback.mode}) at once`
      );
    }
    case "MeasureReference":
      return `read the previous version's own rates over the ${plan.bake?.referenceSeconds ?? 0}s before the rollout (the bake's reference)`;
    case "RunHook": {
      const hook = plan.hooks.find((h) => h.name === action.hook);
      const onFailure = hook?.onFailure === "block" ? "on failure hold and run it again every tick" : hook?.onFailure === "ignore" || action.at === "onRollback" || record.phase === "Succeeded" ? "a failure is only recorded" : "on failure roll back";
      return `run hook ${action.hook} (${action.slot}): ${hook ? describeHook(hook) : "?"}; ${hook ? `${hook.timeoutSeconds}s timeout, ${hook.retries} retries, ` : ""}${onFailure}`;
    }
    case "CheckAlerts":
      return action.gate === "bake" ? undefined : `check ${plan.alerts?.description ?? "the alerts"} (${action.gate}): on any, ${plan.alerts?.onFiring === "hold" ? "hold and check again every tick" : "roll back"}`;
    case "AwaitGate":
      return `wait at gate ${action.gate} for an approval (\`${gateWait(plan, action.gate).command}\`)`;
    case "Promote":
      return record.phase === "Baking"
        ? `promote ${record.version} to stable once the bake passed${plan.blueGreen ? " and scaleDownDelay is over" : ""} (the previous version is removed)`
        : `promote ${record.version} to stable (weight ${plan.steps[plan.steps.length - 1].weight})`;
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
  const session = new Session(newRecord({ id: o.id ?? "dry-run", stack: o.target.name, target: o.target.type, version: o.version, image: o.image, steps: plan.steps.map((s) => s.weight), strategy: plan.strategy, gates: gateNames(plan), at }), {
    store: new MemoryRecordStore(),
    clock,
    leaseSeconds: leaseSecondsOf(plan),
    tickSeconds: plan.tickSeconds,
    report,
  });
  session.recordEvent({ type: "start", at, reason: "dry run" });
  // Simulated time: a hold passes a tick at once, so a dry run of a bake with a scaleDownDelay ends.
  let now = clock.now();
  const simClock: Clock = { now: () => now, sleep: async (ms) => void (now += ms) };
  const tick = async (): Promise<{ tickDue: true }> => {
    await simClock.sleep(plan.tickSeconds * 1000);
    return { tickDue: true };
  };
  const simulate: Executor = async (action, record) => {
    const message = describeAction(action, record, plan);
    if (message) say(message);
    const at = isoNow(simClock);
    switch (action.kind) {
      case "SetCanary":
        session.update((r) => ({ ...r, canaryDeployedAt: at }));
        return { applied: 0 };
      case "SetWeight":
        session.recordEvent({ type: "advance", at, step: action.step, weight: action.weight, reason: "dry run" });
        return { applied: action.weight };
      case "Switch":
        session.recordEvent({ type: "switch", at, reason: "dry run" });
        return { applied: record.steps[record.steps.length - 1] };
      case "Judge":
        if (!action.start) session.update((r) => ({ ...r, step: { ...r.step!, passed: { at, reason: "dry run" } } }));
        return { judging: action.step };
      case "MeasureReference":
        session.update((r) => ({ ...r, reference: { version: "stable", from: at, to: at, unavailable: "dry run" } }));
        return {};
      case "RunHook":
        session.update((r) => ({ ...r, hooks: [...(r.hooks ?? []), { hook: action.hook, slot: action.slot, startedAt: at, finishedAt: at, ok: true, attempts: 1, detail: "dry run", runs: 1 }] }));
        return {};
      case "CheckAlerts":
        session.update((r) => ({ ...r, alerts: { gate: action.gate, at, firing: [] } }));
        return { alertsChecked: true, ...(action.tick ? { tickDue: true } : {}) };
      case "AwaitGate":
        session.update((r) => ({ ...r, controls: [...(r.controls ?? []), { id: `dry-run-${action.gate}`, verb: "approve", gate: action.gate, at, by: "dry run", reason: "dry run", status: "applied" }] }));
        return tick();
      case "Hold":
        return tick();
      case "Promote":
        if (record.phase !== "Promoting") session.recordEvent({ type: "promote", at, reason: "dry run" });
        session.recordEvent({ type: "complete", at, reason: "dry run" });
        return {};
      case "ReadBack":
      case "RollBack":
        throw new Error(`a dry run never reaches ${action.kind}`);
    }
  };
  const result = await drive({ session, plan, clock: simClock, execute: simulate });
  return { outcome: "dryRun", record: result.record, reason: "dry run: nothing applied" };
}
