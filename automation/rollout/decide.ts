/**
 * The rollout's next action, decided purely from the record, the plan and what the driver has
 * just observed. {@link decide} is the whole policy of the driver: the loop (loop.ts) only
 * observes, asks, executes the action (effects.ts) and persists. Everything the loop remembers
 * between two actions lives in the record (the step's progress, the target change under way, the
 * gradual descent of an abort), so a driver that resumes a record decides exactly as the one
 * that wrote it would have; the observation carries only what the running process has seen of
 * the world since it started (the weight it read back or set, the step its judge is on, a tick
 * that has passed, a signal, a failure).
 *
 * ```
 * Initializing   SetCanary → [AwaitGate "step 0"] → SetWeight(0)
 * Progressing    Judge (begin) → Hold → Judge → … → passed → [AwaitGate] → SetWeight(i+1) | Promote
 * Paused/Frozen  Hold and keep judging; Frozen ignores the judge's rollback
 * Promoting      Promote            RollingBack    RollBack            terminal   Done
 * ```
 */
import { Verdict } from "../analysis/types";
import { Plan } from "../plan";
import { HistoryEntry, Phase, RollbackTrigger, RolloutEvent, RolloutRecord } from "../state";
import { approved } from "./requests";

/** How a rollout run ended. */
export type Outcome = "promoted" | "rolledBack" | "restoreFailed" | "dryRun" | "paused" | "unchanged";

/** What the driver does next. */
export type Action =
  /** Deploy the canary at weight 0 and verify it (Initializing). */
  | { readonly kind: "SetCanary" }
  /**
   * Send `weight` percent to the canary for judged step `step`, verify it, and record the step.
   * `applied`: the target was read back at this weight already (a resumed change): only record it.
   */
  | { readonly kind: "SetWeight"; readonly step: number; readonly weight: number; readonly applied?: boolean }
  /** Read the canary weight back from the target: a driver that has not seen the target yet. */
  | { readonly kind: "ReadBack" }
  /**
   * Judge the step: `start` takes the step's boundary reading and starts (or, from the judge state
   * in the record, continues) its judging; otherwise read the metrics and judge one tick.
   */
  | { readonly kind: "Judge"; readonly step: number; readonly start?: "begin" | "resume" }
  /** Wait one tick at an approval gate (`step 2`, `promotion`), reading control requests. */
  | { readonly kind: "AwaitGate"; readonly gate: string }
  /** Wait one tick holding the weight, reading control requests. */
  | { readonly kind: "Hold" }
  /** Make the canary the stable version (recording `promote` first unless the record is Promoting already). */
  | { readonly kind: "Promote"; readonly reason: string; readonly evidence?: unknown }
  /**
   * Roll back: record it (unless `recorded`: the record is RollingBack already), step down through
   * `gradual` (highest first, a tick each), restore the snapshot and verify.
   */
  | {
      readonly kind: "RollBack";
      readonly trigger: RollbackTrigger;
      readonly reason: string;
      readonly evidence?: unknown;
      readonly by?: string;
      readonly gradual: readonly number[];
      readonly recorded: boolean;
    }
  /** Stop: the rollout ended, or is left for a later driver. `event` is recorded first (a pause on a signal). */
  | { readonly kind: "Done"; readonly outcome: Outcome; readonly reason: string; readonly event?: RolloutEvent };

/** What the driver has seen since it started, as of this decision. */
export interface Observation {
  /** The current time, ISO (for the events a decision carries). */
  readonly at: string;
  /**
   * The canary weight in effect as this process last saw it: read back, or set and verified
   * (`"unknown"`: the target cannot tell). Absent until the process has seen the target.
   */
  readonly applied?: number | "unknown";
  /** The step this process's judge is judging; absent before it judged any. */
  readonly judging?: number;
  /** A tick has passed since the last reading: time to judge. */
  readonly tickDue?: boolean;
  /** The verdict of the last tick, in full (the record keeps a summary): evidence for what it leads to. */
  readonly verdict?: Verdict;
  /** SIGINT/SIGTERM arrived: why (`interrupted (SIGTERM)`). */
  readonly interrupted?: string;
  /** This process took the rollout over from a driver that is gone (its holder). */
  readonly tookOver?: string;
  /** The last action failed (after its retries): why, and the evidence to record. */
  readonly failure?: { readonly reason: string; readonly evidence: unknown };
  /** The last restore failed: the record holds the `rollbackFailed` event. */
  readonly restoreFailed?: boolean;
  /** Who acts for an operator (recorded with a pause on a signal). */
  readonly operator?: string;
}

/** The plan settings decisions depend on. */
export type DecisionPlan = Pick<Plan, "gates" | "inconclusive" | "onResume" | "onSignal">;

/** The reason of the latest history entry of one of `types`. */
function lastReason(record: RolloutRecord, types: readonly HistoryEntry["type"][]): string | undefined {
  return [...record.history].reverse().find((h) => types.includes(h.type))?.reason;
}

/** The gate after judged step `i` (before step i+1, or before promotion), if the plan has one. */
function gateAfter(plan: Pick<Plan, "gates">, record: Pick<RolloutRecord, "steps">, i: number): string | undefined {
  const last = i === record.steps.length - 2;
  if (last) return plan.gates.beforePromotion ? "promotion" : undefined;
  return plan.gates.beforeSteps.includes(i + 1) ? `step ${i + 1}` : undefined;
}

/** The verdict summary's evidence, when the full verdict is not at hand (a resumed driver). */
function evidenceOfSummary(record: RolloutRecord): unknown {
  return record.lastVerdict ? { decision: record.lastVerdict.decision, reasons: record.lastVerdict.reasons } : undefined;
}

const HOLDING_PHASES: readonly Phase[] = ["Progressing", "Paused", "Frozen"];

/**
 * The next action. Pure and total: every record, plan and observation gives exactly one action,
 * and the same inputs always give the same action.
 */
export function decide(record: RolloutRecord, plan: DecisionPlan, obs: Observation): Action {
  const phase = record.phase;
  // Finished, or nothing to drive.
  if (phase === "Succeeded") return { kind: "Done", outcome: "promoted", reason: lastReason(record, ["promote", "promoteFull"]) ?? `${record.version} is the stable version` };
  if (phase === "RolledBack") return { kind: "Done", outcome: "rolledBack", reason: lastReason(record, ["rollback"]) ?? "rolled back" };
  if (phase === "Idle") return { kind: "Done", outcome: "unchanged", reason: `rollout ${record.id} was never started` };

  // A rollback under way is finished whatever else happens (a signal must not stop the rollback it asked for).
  if (phase === "RollingBack") {
    if (obs.restoreFailed) return { kind: "Done", outcome: "restoreFailed", reason: record.history.at(-1)?.reason ?? "the restore failed" };
    const gradual = record.gradual ?? [];
    if (gradual.length > 0 && obs.applied === undefined) return { kind: "ReadBack" };
    const below = typeof obs.applied === "number" ? gradual.filter((w) => w < (obs.applied as number)) : gradual;
    const entry = [...record.history].reverse().find((h) => h.type === "rollback");
    return { kind: "RollBack", trigger: entry?.trigger ?? "error", reason: entry?.reason ?? "finishing the rollback", gradual: below, recorded: true };
  }

  const rollBack = (trigger: RollbackTrigger, reason: string, evidence?: unknown): Action => ({ kind: "RollBack", trigger, reason, ...(evidence !== undefined ? { evidence } : {}), gradual: [], recorded: false });

  if (obs.failure) return rollBack("error", obs.failure.reason, obs.failure.evidence);
  if (obs.interrupted) {
    if (plan.onSignal === "pause" && HOLDING_PHASES.includes(phase)) {
      const reason = `${obs.interrupted}; plan onSignal: pause holds the weight`;
      return {
        kind: "Done",
        outcome: "paused",
        reason: obs.interrupted,
        ...(phase === "Progressing" ? { event: { type: "pause", at: obs.at, reason, ...(obs.operator ? { by: obs.operator } : {}) } } : {}),
      };
    }
    return rollBack("operator", obs.interrupted);
  }
  if (obs.tookOver !== undefined && plan.onResume === "rollback") return rollBack("operator", `the previous driver (${obs.tookOver}) is gone and the plan says onResume: rollback`);

  if (phase === "Promoting") return { kind: "Promote", reason: lastReason(record, ["promote", "promoteFull"]) ?? "promoting" };

  // A weight change under way when the previous driver stopped: finish it, forward only.
  const intent = record.intent;
  if (intent?.action === "setWeight") {
    if (obs.applied === undefined) return { kind: "ReadBack" };
    return { kind: "SetWeight", step: intent.step, weight: intent.weight, ...(obs.applied === intent.weight ? { applied: true } : {}) };
  }

  if (phase === "Initializing") {
    if (record.canaryDeployedAt === undefined) return { kind: "SetCanary" };
    const first = record.steps[0];
    if (plan.gates.beforeSteps.includes(0) && !approved(record, "step 0")) return { kind: "AwaitGate", gate: "step 0" };
    return { kind: "SetWeight", step: 0, weight: first };
  }

  // Progressing, Paused, Frozen: a step is in force.
  const step = record.step!;
  const i = step.index;
  // The target should carry the step's weight: a driver that has not seen it reads it back, and a
  // weight that differs (a resumed step whose change did not happen) is applied again.
  if (obs.applied === undefined) return { kind: "ReadBack" };
  if (obs.applied !== step.weight) return { kind: "SetWeight", step: i, weight: step.weight };
  if (obs.judging !== i) return { kind: "Judge", step: i, start: obs.judging === undefined && record.judge !== undefined ? "resume" : "begin" };
  if (obs.tickDue) return { kind: "Judge", step: i };

  const verdict = record.lastVerdict?.step === i ? record.lastVerdict : undefined;
  const full = obs.verdict && verdict && new Date(obs.verdict.at * 1000).toISOString() === verdict.at ? obs.verdict : undefined;
  const evidence = (): unknown => (full ? evidenceOf(full) : evidenceOfSummary(record));
  if (verdict?.decision === "rollback" && phase !== "Frozen") return rollBack("analysis", verdict.reasons[0] ?? "the analysis failed", evidence());
  if (verdict?.decision === "inconclusive" && !step.passed && phase === "Progressing" && plan.inconclusive === "rollback") {
    return rollBack("analysis", `inconclusive: ${verdict.reasons[0] ?? ""}`, evidence());
  }
  if (step.passed && phase === "Progressing") {
    const gate = gateAfter(plan, record, i);
    if (gate !== undefined && !approved(record, gate)) return { kind: "AwaitGate", gate };
    if (i === record.steps.length - 2) return { kind: "Promote", reason: `step ${i} passed: ${verdict?.reasons[0] ?? "skipped by an operator"}`, evidence: evidence() };
    return { kind: "SetWeight", step: i + 1, weight: record.steps[i + 1] };
  }
  return { kind: "Hold" };
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
