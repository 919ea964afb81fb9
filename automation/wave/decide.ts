/**
 * The wave's next action, decided purely from the wave record, the wave file and what the wave
 * driver has seen since it started. {@link decideWave} is the whole policy of a wave, in the
 * style of the rollout's decide (automation/rollout/decide.ts): the loop (./run.ts) only
 * observes, asks, executes and persists. Everything the wave remembers between two actions is in
 * the record (each stack's status and rollout, the bake's progress, the failure being handled,
 * the approvals), so a wave driver that takes over a record decides as the one that wrote it
 * would have; the observation carries only what this process has seen: which stacks' rollouts it
 * is running, whether it is watching a bake, a tick, a signal, a revert that failed.
 *
 * ```
 * Running(i)   [AwaitGate] → StartStacks → AwaitStacks … → all promoted → BeginBake | Advance | Finish(Succeeded)
 *              a stack rolled back or failed → Fail
 * Baking(i)    Bake (start) → Wait → Bake … → observed ≥ bake → Advance;  a guardrail breached → Fail
 * RollingBack  AbortStacks (the failed stage's rollouts still under way) → AwaitStacks
 *              → Revert (the stage's promoted stacks; with rollbackAll, every promoted stack) → Finish
 * ```
 */
import { RollbackTrigger } from "../state";
import { FailurePolicy } from "./file";
import { SETTLED_STATUSES, StackStatus, WaveRecord, WaveStackState } from "./record";

/** How a wave run ended. */
export type WaveOutcome = "succeeded" | "stopped" | "rolledBack" | "restoreFailed" | "paused" | "unchanged";

/** What the wave driver does next. */
export type WaveAction =
  /** Start (or, for a driver that took the wave over, resume) the rollouts of these stacks of `stage`. */
  | { readonly kind: "StartStacks"; readonly stage: number; readonly stacks: readonly string[] }
  /** Wait until a rollout this process runs ends, or a tick passes (reading control requests). */
  | { readonly kind: "AwaitStacks" }
  /** Ask the rollouts of these stacks of the failed stage to roll back (`canary abort` through their records). */
  | { readonly kind: "AbortStacks"; readonly stage: number; readonly stacks: readonly string[]; readonly reason: string }
  /** Record the failure of `stage`: the wave rolls back from here. */
  | { readonly kind: "Fail"; readonly stage: number; readonly stack?: string; readonly reason: string; readonly trigger: RollbackTrigger }
  /** Restore the snapshots of these promoted stacks (their rollouts roll back from Succeeded). */
  | { readonly kind: "Revert"; readonly stacks: readonly string[]; readonly reason: string }
  /** Start the bake after `stage`. */
  | { readonly kind: "BeginBake"; readonly stage: number }
  /** Watch the promoted stacks' guardrails: `start` takes the first reading; otherwise judge one tick. */
  | { readonly kind: "Bake"; readonly stage: number; readonly start?: boolean }
  /** Wait one tick at the gate before `stage`, reading control requests. */
  | { readonly kind: "AwaitGate"; readonly stage: number }
  /** Wait one tick, reading control requests (`reason`: what holds the wave). */
  | { readonly kind: "Wait"; readonly reason: string }
  /** Start stage `stage` (the one after the stage in force). */
  | { readonly kind: "Advance"; readonly stage: number; readonly reason: string }
  /** Record the wave's end. */
  | { readonly kind: "Finish"; readonly phase: "Succeeded" | "Stopped" | "RolledBack"; readonly reason: string }
  /** Stop: the wave ended, or is left for a later driver. */
  | { readonly kind: "Done"; readonly outcome: WaveOutcome; readonly reason: string };

/** What the wave driver has seen since it started, as of this decision. */
export interface WaveObservation {
  /** The current time, ISO. */
  readonly at: string;
  /** The stacks whose rollouts this process is running now. */
  readonly running: readonly string[];
  /** The stage whose bake this process is watching (it has taken the first reading). */
  readonly baking?: number;
  /** A tick has passed since the last bake reading. */
  readonly tickDue?: boolean;
  /** SIGINT/SIGTERM arrived: why. */
  readonly interrupted?: string;
  /**
   * Stacks this process failed to restore (a rollout whose rollback failed, a revert that
   * failed): not tried again by this process; the wave ends restoreFailed and a rerun retries them.
   */
  readonly unrestored?: readonly string[];
}

/** The parts of the wave file decisions depend on. */
export interface DecisionWave {
  readonly onFailure: FailurePolicy;
  readonly stages: readonly { readonly name: string; readonly bakeSeconds: number; readonly gate: boolean }[];
}

/** Whether the gate before stage `name` has been approved (applied, or pending and not yet seen). */
export function stageApproved(record: Pick<WaveRecord, "controls">, name: string): boolean {
  return (record.controls ?? []).some((c) => c.verb === "approve" && c.stage === name && c.status !== "refused");
}

/** The reason of the newest history entry of one of `types`. */
function lastReason(record: WaveRecord, types: readonly string[]): string | undefined {
  return [...record.history].reverse().find((h) => types.includes(h.type))?.reason;
}

/** How a failing stack's status reads in the failure's reason. */
const FAILED_WORDS: Readonly<Partial<Record<StackStatus, string>>> = { rolledBack: "rolled back", restoreFailed: "failed to restore", failed: "could not run", cancelled: "was cancelled" };

/** Whether a stack fails its stage (a cancelled one can never complete it either). */
function failing(s: WaveStackState): boolean {
  return s.status === "rolledBack" || s.status === "restoreFailed" || s.status === "failed" || s.status === "cancelled";
}

/** A stack whose rollout is under way, per the record. */
function inFlight(s: WaveStackState): boolean {
  return !SETTLED_STATUSES.includes(s.status) && s.status !== "pending";
}

/** The stacks a failure restores: the failed stage's promoted ones, and with rollbackAll (or abort --all) every promoted one. */
export function stacksToRevert(record: WaveRecord, policy: FailurePolicy): readonly WaveStackState[] {
  const f = record.failure;
  if (!f) return [];
  const all = policy === "rollbackAll" || f.all === true;
  return record.stages.flatMap((s, i) => s.stacks.filter((k) => k.status === "promoted" && (i === f.stage || k.name === f.stack || (all && i < f.stage))));
}

/**
 * The next action. Pure and total: every record, wave and observation gives exactly one action,
 * and the same inputs always give the same action.
 */
export function decideWave(record: WaveRecord, wave: DecisionWave, obs: WaveObservation): WaveAction {
  const here = new Set(obs.running);
  switch (record.phase) {
    case "Succeeded":
      return { kind: "Done", outcome: "succeeded", reason: lastReason(record, ["succeed"]) ?? "every stage promoted" };
    case "Stopped":
      return { kind: "Done", outcome: "stopped", reason: lastReason(record, ["stop"]) ?? record.failure?.reason ?? "stopped" };
    case "RolledBack":
      return { kind: "Done", outcome: "rolledBack", reason: lastReason(record, ["rolledBack"]) ?? record.failure?.reason ?? "rolled back" };
    case "RollingBack":
      return rollingBack(record, wave, obs, here);
    default:
      break;
  }

  const i = record.stage;
  const stage = record.stages[i];
  const spec = wave.stages[i];

  if (record.phase === "Baking") {
    const bake = record.bake;
    if (bake?.breach) return { kind: "Fail", stage: i, stack: bake.breach.stack, reason: `bake after stage ${stage.name}: ${bake.breach.stack}: ${bake.breach.reason}`, trigger: "analysis" };
    if (obs.interrupted) return { kind: "Done", outcome: "paused", reason: `${obs.interrupted} during the bake after stage ${stage.name}; run the wave again to continue` };
    const observed = bake?.observedSeconds ?? 0;
    if (observed >= spec.bakeSeconds) {
      if (record.paused) return { kind: "Wait", reason: `paused by ${record.paused.by}: stage ${wave.stages[i + 1].name} does not start until \`canary wave resume\`` };
      return { kind: "Advance", stage: i + 1, reason: `bake after stage ${stage.name} passed: ${Math.round(observed)}s observed with every guardrail clear` };
    }
    if (obs.baking !== i) return { kind: "Bake", stage: i, start: true };
    if (obs.tickDue) return { kind: "Bake", stage: i };
    return { kind: "Wait", reason: bake?.holding ?? `baking after stage ${stage.name} for ${spec.bakeSeconds}s` };
  }

  // Running: stage i's rollouts.
  const failed = stage.stacks.find(failing);
  if (failed) return { kind: "Fail", stage: i, stack: failed.name, reason: `${failed.name} ${FAILED_WORDS[failed.status]}${failed.reason ? `: ${failed.reason}` : ""}`, trigger: failed.trigger ?? "error" };
  const running = stage.stacks.filter((s) => here.has(s.name));
  if (obs.interrupted) {
    // The signal reached the rollouts this process runs: wait for them (each rolls back or pauses per its plan).
    if (running.length > 0) return { kind: "AwaitStacks" };
    return { kind: "Done", outcome: "paused", reason: `${obs.interrupted} at stage ${stage.name}; run the wave again to continue` };
  }
  // Stacks to start; or, for a driver that took the wave over, rollouts started by a driver that
  // is gone (or paused by a signal), which are continued.
  const idle = stage.stacks.filter((s) => (s.status === "pending" || inFlight(s)) && !here.has(s.name));
  if (idle.length > 0) {
    if (running.length === 0 && stage.stacks.every((s) => s.status === "pending")) {
      // The stage has not begun: a pause or its gate holds it.
      if (record.paused) return { kind: "Wait", reason: `paused by ${record.paused.by}: stage ${stage.name} does not start until \`canary wave resume\`` };
      if (spec.gate && !stageApproved(record, stage.name)) return { kind: "AwaitGate", stage: i };
    }
    return { kind: "StartStacks", stage: i, stacks: idle.map((s) => s.name) };
  }
  if (running.length > 0) return { kind: "AwaitStacks" };

  // Every stack of the stage promoted (or already had the release).
  const promoted = `stage ${stage.name} promoted (${stage.stacks.map((s) => `${s.name} ${s.status}`).join(", ")})`;
  if (i === record.stages.length - 1) return { kind: "Finish", phase: "Succeeded", reason: `every stage promoted; the last, ${promoted}` };
  if (spec.bakeSeconds > 0) return { kind: "BeginBake", stage: i };
  if (record.paused) return { kind: "Wait", reason: `paused by ${record.paused.by}: stage ${wave.stages[i + 1].name} does not start until \`canary wave resume\`` };
  return { kind: "Advance", stage: i + 1, reason: promoted };
}

/** RollingBack: the failed stage's rollouts are stopped, then the promoted stacks restored. */
function rollingBack(record: WaveRecord, wave: DecisionWave, obs: WaveObservation, here: ReadonlySet<string>): WaveAction {
  const f = record.failure!;
  const stage = record.stages[f.stage];
  const given = new Set(obs.unrestored ?? []);
  const reason = `wave ${record.name}: ${f.reason}`;
  // Rollouts of the failed stage still under way are asked to abort, once each; a driver that
  // took the wave over asks again for those it does not run (it finishes their rollback itself),
  // and retries a restore that failed under an earlier driver.
  const toAbort = stage.stacks.filter((s) => !given.has(s.name) && ((inFlight(s) && (!here.has(s.name) || s.abortRequested === undefined)) || s.status === "restoreFailed"));
  if (toAbort.length > 0) return { kind: "AbortStacks", stage: f.stage, stacks: toAbort.map((s) => s.name), reason };
  if (stage.stacks.some((s) => here.has(s.name))) return { kind: "AwaitStacks" };
  const revert = stacksToRevert(record, wave.onFailure).filter((s) => s.revert?.status !== "reverted" && s.revert?.status !== "skipped" && !given.has(s.name));
  if (revert.length > 0) return { kind: "Revert", stacks: revert.map((s) => s.name), reason };
  if (given.size > 0) return { kind: "Done", outcome: "restoreFailed", reason: restoreFailedReason(record) };
  const kept = record.stages.flatMap((s) => s.stacks).filter((s) => s.status === "promoted" && s.revert?.status !== "reverted");
  const policy = f.all ? "abort --all" : `onFailure: ${wave.onFailure}`;
  return kept.length === 0
    ? { kind: "Finish", phase: "RolledBack", reason: `${f.reason}; nothing the wave changed remains (${policy})` }
    : { kind: "Finish", phase: "Stopped", reason: `${f.reason}; the wave stopped; ${kept.map((s) => s.name).join(", ")} keep${kept.length === 1 ? "s" : ""} the release (${policy})` };
}

function restoreFailedReason(record: WaveRecord): string {
  const stacks = record.stages.flatMap((s) => s.stacks);
  const bad = [...stacks.filter((s) => s.status === "restoreFailed").map((s) => `${s.name}: ${s.reason ?? "its rollback failed"}`), ...stacks.filter((s) => s.revert?.status === "failed").map((s) => `${s.name}: ${s.revert!.reason}`)];
  return `restore failed: ${bad.join("; ") || "see the stacks' records"}; run the wave again to retry`;
}
