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
 * Initializing   [RunHook preRollout] → [MeasureReference] → SetCanary
 *                → [AwaitGate] → [CheckAlerts] → [RunHook beforeStep 0] → SetWeight(0)
 *                  (blue/green: … → [RunHook beforePromotion] → Switch)
 * Progressing    Judge (begin) → Hold → Judge → … → passed → [AwaitGate] → [CheckAlerts] → [RunHook]
 *                → SetWeight(i+1) | Promote | Switch (a plan with a bake)
 * Baking         [RunHook afterPromotion] → Judge (begin) → [CheckAlerts] → Judge → … → passed,
 *                blue kept long enough → Promote
 * Paused/Frozen  Hold and keep judging; Frozen ignores the judge's rollback
 * Promoting      Promote            RollingBack    RollBack
 * Succeeded      [RunHook afterPromotion] → Done          RolledBack   [RunHook onRollback] → Done
 * ```
 */
import { Verdict } from "../analysis/types";
import { Plan } from "../plan";
import { AlertCheck, HistoryEntry, HookPoint, Phase, RollbackTrigger, RolloutEvent, RolloutRecord } from "../state";
import { hooksAt, hookSlot } from "./hooks";
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
  /**
   * Send all traffic to the new version, the previous version kept deployed, verify it, and record
   * the `switch` (Baking): a blue/green switch, or a canary's last step passed with a bake to follow.
   * `applied`: read back at 100 already (a resumed switch): only record it.
   */
  | { readonly kind: "Switch"; readonly applied?: boolean }
  /** Read the canary weight back from the target: a driver that has not seen the target yet. */
  | { readonly kind: "ReadBack" }
  /**
   * Judge the step (or the bake): `start` takes the boundary reading and starts (or, from the judge
   * state in the record, continues) its judging; otherwise read the metrics and judge one tick.
   */
  | { readonly kind: "Judge"; readonly step: number; readonly start?: "begin" | "resume" }
  /** Read the previous version's own rates before the rollout changes anything (a plan with a bake). */
  | { readonly kind: "MeasureReference" }
  /** Run lifecycle hook `hook` at `slot` (`beforeStep 2`, `beforePromotion`…) and record how it went. */
  | { readonly kind: "RunHook"; readonly hook: string; readonly at: HookPoint; readonly slot: string; readonly step?: number }
  /**
   * Ask which of the service's alerts fire, for `gate` (`step 1`, `promotion`, `bake`). `tick`: a
   * bake tick is due, judged right after.
   */
  | { readonly kind: "CheckAlerts"; readonly gate: string; readonly tick?: boolean }
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
  /** The alerts were just checked for the tick that is due (a bake tick: judge it next). */
  readonly alertsChecked?: boolean;
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
export type DecisionPlan = Pick<Plan, "gates" | "inconclusive" | "onResume" | "onSignal" | "strategy" | "blueGreen" | "bake" | "hooks" | "alerts" | "tickSeconds">;

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

/** Phases in which a signal with `onSignal: pause` leaves the rollout as it is. */
const HOLDING_PHASES: readonly Phase[] = ["Progressing", "Paused", "Frozen", "Baking"];

type RollBackAction = Extract<Action, { kind: "RollBack" }>;
const rollBackFor = (trigger: RollbackTrigger, reason: string, evidence?: unknown): RollBackAction => ({ kind: "RollBack", trigger, reason, ...(evidence !== undefined ? { evidence } : {}), gradual: [], recorded: false });

/** Whether a recheck is due: a tick has passed since `at` (ISO). */
function tickSince(obs: Observation, at: string, plan: Pick<Plan, "tickSeconds">): boolean {
  return Date.parse(obs.at) - Date.parse(at) >= plan.tickSeconds * 1000;
}

/**
 * The hooks at a point, in plan order: the next one to run, a failure's consequence, or
 * `undefined` once every one has run (passed, or failed with `ignore`). `final`: a point after
 * which nothing can be undone (after a promotion, after a rollback): failures are only recorded.
 */
function hookAction(record: RolloutRecord, plan: DecisionPlan, obs: Observation, at: HookPoint, step?: number, final = false): Action | undefined {
  const slot = hookSlot(at, step);
  for (const h of hooksAt(plan.hooks, at, step)) {
    const run = record.hooks?.find((r) => r.hook === h.name && r.slot === slot);
    const runIt: Action = { kind: "RunHook", hook: h.name, at, slot, ...(at === "beforeStep" ? { step: step ?? 0 } : {}) };
    if (!run) return runIt;
    if (run.ok || final || h.onFailure === "ignore") continue;
    if (h.onFailure === "rollback") return rollBackFor("analysis", `hook ${h.name} (${slot}) failed: ${run.detail}`, { hook: run });
    // block: hold, and run it again once a tick has passed since it last failed.
    return tickSince(obs, run.finishedAt, plan) ? runIt : { kind: "Hold" };
  }
  return undefined;
}

/**
 * The alert gate for `gate`: check the alerts (first at this gate, or again a tick after a hold),
 * roll back or hold on firing ones or on a query outage, or `undefined` when none fires.
 */
function alertAction(record: RolloutRecord, plan: DecisionPlan, obs: Observation, gate: string): Action | undefined {
  const a = plan.alerts;
  if (!a) return undefined;
  const check = record.alerts?.gate === gate ? record.alerts : undefined;
  if (!check) return { kind: "CheckAlerts", gate };
  const blocked = alertsBlock(check, plan);
  if (blocked) return blocked;
  if (check.error === undefined && check.firing.length === 0) return undefined;
  return tickSince(obs, check.at, plan) ? { kind: "CheckAlerts", gate } : { kind: "Hold" };
}

/** What a check's firing alerts (or its query outage) lead to at once: a rollback, or nothing (hold or go on). */
function alertsBlock(check: AlertCheck, plan: DecisionPlan): RollBackAction | undefined {
  const a = plan.alerts!;
  if (check.error !== undefined) {
    const since = check.failingSince ?? check.at;
    const down = (Date.parse(check.at) - Date.parse(since)) / 1000;
    return down >= a.maxOutageSeconds ? rollBackFor("analysis", `alerts unknown for ${down}s (limit ${a.maxOutageSeconds}s): ${check.error}`, { alerts: check }) : undefined;
  }
  if (check.firing.length > 0 && a.onFiring === "rollback") return rollBackFor("analysis", `alerts firing (${check.gate}): ${check.firing.join(", ")}`, { alerts: check });
  return undefined;
}

/**
 * What comes before a step's weight (or the switch, or the promotion) is applied, in order: the
 * approval gate, the alert gate, the hooks. `undefined` when everything lets it through.
 */
function beforeChange(record: RolloutRecord, plan: DecisionPlan, obs: Observation, gate: string | undefined, alertGate: string, hooks: HookPoint, step?: number): Action | undefined {
  if (gate !== undefined && !approved(record, gate)) return { kind: "AwaitGate", gate };
  return alertAction(record, plan, obs, alertGate) ?? hookAction(record, plan, obs, hooks, step);
}

/**
 * The next action. Pure and total: every record, plan and observation gives exactly one action,
 * and the same inputs always give the same action.
 */
export function decide(record: RolloutRecord, plan: DecisionPlan, obs: Observation): Action {
  const phase = record.phase;
  // Finished, or nothing to drive (the hooks after the end run first; their failures are only recorded).
  if (phase === "Succeeded") {
    return hookAction(record, plan, obs, "afterPromotion", undefined, true) ?? { kind: "Done", outcome: "promoted", reason: lastReason(record, ["promote", "promoteFull"]) ?? `${record.version} is the stable version` };
  }
  if (phase === "RolledBack") return hookAction(record, plan, obs, "onRollback", undefined, true) ?? { kind: "Done", outcome: "rolledBack", reason: lastReason(record, ["rollback"]) ?? "rolled back" };
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

  if (obs.failure) return rollBackFor("error", obs.failure.reason, obs.failure.evidence);
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
    return rollBackFor("operator", obs.interrupted);
  }
  if (obs.tookOver !== undefined && plan.onResume === "rollback") return rollBackFor("operator", `the previous driver (${obs.tookOver}) is gone and the plan says onResume: rollback`);

  if (phase === "Promoting") return { kind: "Promote", reason: lastReason(record, ["promote", "promoteFull"]) ?? "promoting" };

  // A weight change (or switch) under way when the previous driver stopped: finish it, forward only.
  const intent = record.intent;
  if (intent?.action === "setWeight") {
    if (obs.applied === undefined) return { kind: "ReadBack" };
    return { kind: "SetWeight", step: intent.step, weight: intent.weight, ...(obs.applied === intent.weight ? { applied: true } : {}) };
  }
  const last = record.steps.length - 1;
  const full = record.steps[last];
  if (intent?.action === "switch") {
    if (obs.applied === undefined) return { kind: "ReadBack" };
    return { kind: "Switch", ...(obs.applied === full ? { applied: true } : {}) };
  }

  if (phase === "Initializing") {
    if (record.canaryDeployedAt === undefined) {
      const pre = hookAction(record, plan, obs, "preRollout");
      if (pre) return pre;
      if (plan.bake && record.reference === undefined) return { kind: "MeasureReference" };
      return { kind: "SetCanary" };
    }
    if (plan.strategy === "blueGreen") return beforeChange(record, plan, obs, plan.gates.beforePromotion ? "promotion" : undefined, "promotion", "beforePromotion") ?? { kind: "Switch" };
    return beforeChange(record, plan, obs, plan.gates.beforeSteps.includes(0) ? "step 0" : undefined, "step 0", "beforeStep", 0) ?? { kind: "SetWeight", step: 0, weight: record.steps[0] };
  }

  // Progressing, Paused, Frozen, Baking: a step (or the bake) is in force.
  const step = record.step!;
  const i = step.index;
  // The target should carry the step's weight: a driver that has not seen it reads it back, and a
  // weight that differs (a resumed step whose change did not happen) is applied again.
  if (obs.applied === undefined) return { kind: "ReadBack" };
  if (obs.applied !== step.weight) return phase === "Baking" ? { kind: "Switch" } : { kind: "SetWeight", step: i, weight: step.weight };
  if (phase === "Baking") {
    const after = hookAction(record, plan, obs, "afterPromotion");
    if (after) return after;
  }
  if (obs.judging !== i) return { kind: "Judge", step: i, start: obs.judging === undefined && record.judge !== undefined ? "resume" : "begin" };
  if (obs.tickDue) return phase === "Baking" && plan.alerts && !obs.alertsChecked ? { kind: "CheckAlerts", gate: "bake", tick: true } : { kind: "Judge", step: i };

  const verdict = record.lastVerdict?.step === i ? record.lastVerdict : undefined;
  const fullVerdict = obs.verdict && verdict && new Date(obs.verdict.at * 1000).toISOString() === verdict.at ? obs.verdict : undefined;
  const evidence = (): unknown => (fullVerdict ? evidenceOf(fullVerdict) : evidenceOfSummary(record));
  if (verdict?.decision === "rollback" && phase !== "Frozen") return rollBackFor("analysis", verdict.reasons[0] ?? "the analysis failed", evidence());
  const alerts = phase === "Baking" && plan.alerts && record.alerts?.gate === "bake" ? record.alerts : undefined;
  if (alerts) {
    const blocked = alertsBlock(alerts, plan);
    if (blocked) return blocked;
  }
  if (verdict?.decision === "inconclusive" && !step.passed && (phase === "Progressing" || phase === "Baking") && plan.inconclusive === "rollback") {
    return rollBackFor("analysis", `inconclusive: ${verdict.reasons[0] ?? ""}`, evidence());
  }
  if (phase === "Baking") {
    // Blue stays deployed (and green watched) for scaleDownDelay after the switch, even once the bake passed.
    const kept = (Date.parse(obs.at) - Date.parse(step.startedAt)) / 1000 >= (plan.blueGreen?.scaleDownDelaySeconds ?? 0);
    const quiet = !alerts || (alerts.error === undefined && alerts.firing.length === 0);
    if (step.passed && kept && quiet) return { kind: "Promote", reason: `bake passed: ${step.passed.reason}`, evidence: evidence() };
    return { kind: "Hold" };
  }
  if (step.passed && phase === "Progressing") {
    const lastJudged = i === last - 1;
    const gate = gateAfter(plan, record, i);
    if (lastJudged) {
      const before = beforeChange(record, plan, obs, gate, "promotion", "beforePromotion");
      if (before) return before;
      if (plan.bake) return { kind: "Switch" };
      return { kind: "Promote", reason: `step ${i} passed: ${verdict?.reasons[0] ?? "skipped by an operator"}`, evidence: evidence() };
    }
    return beforeChange(record, plan, obs, gate, `step ${i + 1}`, "beforeStep", i + 1) ?? { kind: "SetWeight", step: i + 1, weight: record.steps[i + 1] };
  }
  return { kind: "Hold" };
}

/** The evidence recorded for a decision: the verdict with its metric and guardrail reports. */
export function evidenceOf(v: Verdict): unknown {
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
