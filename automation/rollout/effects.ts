/**
 * Every change the rollout makes to its target, written once: deploying the canary, setting and
 * verifying a step's weight, reading the weight back, promoting, and rolling back (gradually,
 * then restoring the snapshot with retries, then verifying). Each effect records its outcome in
 * the session's record and returns what it observed; it never decides what comes next
 * (decide.ts does). Used by the driver's loop and by control verbs acting on a stopped rollout,
 * so both roll back and promote the same way.
 *
 * A target change is retried with backoff (a transient failure should not cost the rollout), except
 * a refused concurrent update; the restore likewise before it counts as failed. Every target
 * operation runs with the lease renewed (a `pulumi up` may take minutes).
 */
import { errorMessage } from "../errors";
import { HookRun, RolloutRecord } from "../state";
import { ConcurrentUpdateRefusedError, RestoreError, RollbackMode, Target, TargetSnapshot } from "../targets/types";
import { Clock, isoNow } from "./clock";
import { Action } from "./decide";
import { describeHook, HookRunner, HookSpec, HookVariables } from "./hooks";
import { LeaseLostError } from "./lease";
import { backoffMs, Session } from "./session";

/** Attempts of one target change (and of the restore) before it counts as failed. */
const APPLY_ATTEMPTS = 3;

/** What an effect observed: the weight in effect afterwards, or why it failed. */
export interface EffectResult {
  /** The canary weight in effect: read back, or set (`"unknown"`: the target cannot tell). */
  readonly applied?: number | "unknown";
  /** The effect failed after its retries: why, and the evidence to record with the rollback. */
  readonly failure?: { readonly reason: string; readonly evidence: unknown };
  /** The restore failed; the record holds the `rollbackFailed` event. */
  readonly restoreFailed?: boolean;
}

/** What the effects act with. */
export interface EffectContext {
  readonly session: Session;
  readonly target: Target;
  readonly clock: Clock;
  readonly rollbackMode: RollbackMode;
  /** The plan's tick, seconds: the longest retry backoff, and how long `abort --gradual` holds each weight. */
  readonly tickSeconds: number;
  /** Says what is being done to the target (`set the canary weight to 25`); `heldSeconds`: how long the weight is then held. */
  readonly say: (message: string, detail?: { readonly heldSeconds?: number }) => void;
  /** Says something that is not an action (a retry). */
  readonly log: (line: string) => void;
  /** Once aborted (SIGINT/SIGTERM), changes are not retried any more: the caller decides what follows. */
  readonly interrupt?: AbortSignal;
}

/** Why a target change failed, as a rollback's evidence. */
function failureOf(e: unknown): EffectResult["failure"] {
  return { reason: errorMessage(e), evidence: { error: errorMessage(e), name: e instanceof Error ? e.name : undefined } };
}

/**
 * A target change, retried with backoff; undefined when it was made, the failure otherwise. An
 * interrupt ends the retries early (reported as neither done nor failed: `interrupted`).
 */
async function changeTarget(ctx: EffectContext, message: string, f: () => Promise<void>): Promise<{ failed?: unknown; interrupted?: true }> {
  for (let attempt = 1; ; attempt++) {
    ctx.say(attempt === 1 ? message : `${message} (attempt ${attempt} of ${APPLY_ATTEMPTS})`);
    try {
      await ctx.session.renewing(f);
      return {};
    } catch (e) {
      if (e instanceof LeaseLostError) throw e;
      if (attempt >= APPLY_ATTEMPTS || e instanceof ConcurrentUpdateRefusedError) return { failed: e };
      const delay = backoffMs(attempt, ctx.tickSeconds);
      ctx.log(`${message} failed (${errorMessage(e)}); retrying in ${delay}ms`);
      await ctx.clock.sleep(delay);
      if (ctx.interrupt?.aborted) return { interrupted: true };
    }
  }
}

/** Reads the applied weight back (`"unknown"` when the target cannot tell). */
async function verify(ctx: EffectContext, message?: string): Promise<number | "unknown"> {
  if (message) ctx.say(message);
  return (await ctx.session.renewing(() => ctx.target.verify())) ?? "unknown";
}

/** Deploys the canary at weight 0 and verifies it; records it deployed. */
export async function setCanary(ctx: EffectContext): Promise<EffectResult> {
  const { version, image, strategy } = ctx.session.record;
  const what = strategy === "blueGreen" ? `deploy green ${version} beside blue at weight 0, at full size` : `deploy canary ${version} at weight 0`;
  const made = await changeTarget(ctx, what, () => (strategy ? ctx.target.setCanary(version, image, strategy) : ctx.target.setCanary(version, image)));
  if (made.failed) return { failure: failureOf(made.failed) };
  if (made.interrupted) return {};
  try {
    const initial = await verify(ctx, "verify the applied weight");
    if (initial !== "unknown" && initial !== 0) {
      return { failure: { reason: `canary deployed but the applied weight is ${initial}, expected 0`, evidence: { applied: initial } } };
    }
  } catch (e) {
    if (e instanceof LeaseLostError) throw e;
    return { failure: failureOf(e) };
  }
  const at = isoNow(ctx.clock);
  ctx.session.update((r) => ({ ...withoutIntent(r), canaryDeployedAt: at }));
  return { applied: 0 };
}

/** The record once the change under way is done. */
function withoutIntent(r: RolloutRecord): RolloutRecord {
  const { intent: _done, ...rest } = r;
  void _done;
  return rest;
}

/**
 * Sets the target's weight and reads it back: the weight applied ("unknown" when the target cannot
 * say), or the effect's result when the change failed, was interrupted, or another weight is
 * applied (`label` names the step or the switch in that failure).
 */
async function setAndVerify(ctx: EffectContext, what: string, weight: number, label: string): Promise<{ applied: number | "unknown" } | { result: EffectResult }> {
  const made = await changeTarget(ctx, what, () => ctx.target.setWeight(weight));
  if (made.failed) return { result: { failure: failureOf(made.failed) } };
  if (made.interrupted) return { result: {} };
  let applied: number | "unknown";
  try {
    applied = await verify(ctx, "verify the applied weight");
  } catch (e) {
    if (e instanceof LeaseLostError) throw e;
    return { result: { failure: failureOf(e) } };
  }
  if (applied !== "unknown" && applied !== weight) return { result: { failure: { reason: `${label}: weight ${weight} was set but ${applied} is applied`, evidence: { expected: weight, applied } } } };
  return { applied };
}

/**
 * Sets judged step `step`'s weight, verifies it and records the step (unless it is the step in
 * force already: a resumed step whose weight is applied again). With `applied`, the target was
 * read back at this weight: only the step is recorded.
 */
export async function setWeight(ctx: EffectContext, a: Extract<Action, { kind: "SetWeight" }>): Promise<EffectResult> {
  let applied: number | "unknown" = a.weight;
  if (!a.applied) {
    const set = await setAndVerify(ctx, `set the canary weight to ${a.weight}`, a.weight, `step ${a.step}`);
    if ("result" in set) return set.result;
    applied = set.applied;
  }
  const record = ctx.session.record;
  if (record.step?.index === a.step) ctx.session.update(withoutIntent);
  else {
    ctx.session.recordEvent({
      type: "advance",
      at: isoNow(ctx.clock),
      step: a.step,
      weight: a.weight,
      reason: a.step === 0 ? `canary deployed; first step at weight ${a.weight}` : `step ${a.step - 1} passed; weight ${a.weight}`,
      evidence: { applied: applied === "unknown" ? "cannot verify" : applied, ...(record.lastVerdict ? { verdict: record.lastVerdict } : {}) },
    });
  }
  // The target carries the weight set even when it cannot verify it.
  return { applied: applied === "unknown" ? a.weight : applied };
}

/**
 * Sends all traffic to the new version at once, the previous version kept deployed, verifies it and
 * records the `switch` (Baking): a blue/green switch, or a canary's last step passed with a bake to
 * follow. With `applied` (a resumed switch read back at 100), only the switch is recorded; a switch
 * made again during the bake (the target read back otherwise) only clears the intent.
 */
export async function switchTraffic(ctx: EffectContext, a: Extract<Action, { kind: "Switch" }>): Promise<EffectResult> {
  const record = ctx.session.record;
  const full = record.steps[record.steps.length - 1];
  const previous = (record.snapshot as TargetSnapshot | undefined)?.stableVersion;
  let applied: number | "unknown" = full;
  if (!a.applied) {
    const set = await setAndVerify(ctx, `switch all traffic to ${record.version} (weight ${full}), ${previous ?? "the previous version"} kept deployed`, full, "switch");
    if ("result" in set) return set.result;
    applied = set.applied;
  }
  if (record.phase === "Baking") ctx.session.update(withoutIntent);
  else {
    const blueGreen = record.strategy === "blueGreen";
    ctx.session.recordEvent({
      type: "switch",
      at: isoNow(ctx.clock),
      reason: blueGreen
        ? `all traffic switched to green ${record.version}; blue ${previous ?? "(the previous version)"} kept deployed for the bake`
        : `step ${record.step?.index ?? 0} passed; all traffic on ${record.version}, ${previous ?? "the previous version"} kept deployed until the bake ends`,
      evidence: { applied: applied === "unknown" ? "cannot verify" : applied, ...(record.intent?.action === "switch" ? { requestedAt: record.intent.at } : {}), ...(record.lastVerdict ? { verdict: record.lastVerdict } : {}) },
    });
  }
  return { applied: applied === "unknown" ? full : applied };
}

/** What running a hook needs: the runner (with the hooks' secrets) and the values of the hook variables. */
export interface HookAccess {
  readonly runner: Pick<HookRunner, "run">;
  readonly hooks: readonly HookSpec[];
  /** The variables as of now (the override route is read from the target each time: it exists once the new version is deployed). */
  readonly variables: (a: Extract<Action, { kind: "RunHook" }>) => Promise<HookVariables>;
}

/**
 * Runs a lifecycle hook (with its retries) and records the run in the record (the latest run of
 * each hook at each point), clearing the intent written ahead. A hook a killed driver had started
 * (its intent written, no run recorded) is run again by the next one: at least once, never lost.
 */
export async function runHook(ctx: EffectContext, a: Extract<Action, { kind: "RunHook" }>, access: HookAccess): Promise<EffectResult> {
  const s = ctx.session;
  const hook = access.hooks.find((h) => h.name === a.hook);
  if (!hook) return { failure: { reason: `hook ${a.hook} is not in the plan`, evidence: { hook: a.hook } } };
  const previous = s.record.hooks?.find((r) => r.hook === a.hook && r.slot === a.slot);
  ctx.say(`run hook ${a.hook} (${a.slot}): ${describeHook(hook)}`);
  const startedAt = isoNow(ctx.clock);
  const outcome = await s.renewing(async () => access.runner.run(hook, await access.variables(a)));
  const run: HookRun = {
    hook: a.hook,
    slot: a.slot,
    startedAt,
    finishedAt: isoNow(ctx.clock),
    ok: outcome.ok,
    attempts: outcome.attempts,
    detail: outcome.detail,
    ...(outcome.excerpt !== undefined ? { excerpt: outcome.excerpt } : {}),
    runs: (previous?.runs ?? 0) + 1,
  };
  s.update((r) => ({ ...withoutIntent(r), hooks: [...(r.hooks ?? []).filter((x) => !(x.hook === a.hook && x.slot === a.slot)), run] }));
  const consequence = outcome.ok ? "" : hook.onFailure === "ignore" || a.at === "onRollback" || s.record.phase === "Succeeded" ? " (recorded; the rollout goes on)" : hook.onFailure === "block" ? "; holding, running it again next tick" : "; rolling back";
  ctx.log(`hook ${a.hook} (${a.slot}) ${outcome.ok ? "passed" : "FAILED"}: ${outcome.detail}${consequence}`);
  return {};
}

/** The weight the record expects the target to carry: the change under way, or the step in force. */
function expectedWeight(record: RolloutRecord): number | undefined {
  if (record.intent?.action === "setWeight") return record.intent.weight;
  if (record.intent?.action === "switch") return record.steps[record.steps.length - 1];
  if (record.phase === "Initializing" || record.phase === "RollingBack") return undefined;
  return record.step?.weight;
}

/** Reads the weight back (a driver that has not seen the target yet, such as one that took a rollout over). */
export async function readBack(ctx: EffectContext): Promise<EffectResult> {
  try {
    const applied = await verify(ctx);
    if (applied !== "unknown" && applied === expectedWeight(ctx.session.record)) ctx.say(`the canary weight is already ${applied} (read back); not applying it again`);
    return { applied };
  } catch (e) {
    if (e instanceof LeaseLostError) throw e;
    return { failure: failureOf(e) };
  }
}

/** Promotes the canary: `promote` recorded (and saved) first unless the record is Promoting already, then `complete`. */
export async function promote(ctx: EffectContext, a: Extract<Action, { kind: "Promote" }>): Promise<EffectResult> {
  const s = ctx.session;
  if (s.record.phase !== "Promoting") {
    s.recordEvent({ type: "promote", at: isoNow(ctx.clock), reason: a.reason, ...(a.evidence !== undefined ? { evidence: a.evidence } : {}) });
    await s.save();
  }
  ctx.say(`promote ${s.record.version} to stable`);
  try {
    await s.renewing(() => ctx.target.promote());
  } catch (e) {
    if (e instanceof LeaseLostError) throw e;
    return { failure: failureOf(e) };
  }
  s.recordEvent({ type: "complete", at: isoNow(ctx.clock), reason: `${s.record.version} is the stable version` });
  return {};
}

/**
 * Rolls back: `rollback` recorded first (unless already), then the gradual descent (each weight
 * held a tick), the restore (retried) and a verification; `rolledBack`, or `rollbackFailed` with
 * the error and the weight read back. A record that cannot be written does not stop the
 * restore. Signals are ignored: nothing interrupts the rollback it asked for.
 */
export async function rollBack(ctx: EffectContext, a: Extract<Action, { kind: "RollBack" }>): Promise<EffectResult> {
  const s = ctx.session;
  if (!a.recorded) {
    s.recordEvent({
      type: "rollback",
      at: isoNow(ctx.clock),
      reason: a.reason,
      trigger: a.trigger,
      ...(a.evidence !== undefined ? { evidence: a.evidence } : {}),
      ...(a.by ? { by: a.by } : {}),
      ...(a.gradual.length ? { gradual: a.gradual } : {}),
    });
    try {
      await s.save({ bestEffort: true });
    } catch (e) {
      if (e instanceof LeaseLostError) throw e;
      ctx.log(`cannot record the rollback: ${errorMessage(e)}`);
    }
  }
  const snapshot = s.record.snapshot as TargetSnapshot;
  const verified = (): Promise<number | undefined> => ctx.target.verify().catch(() => undefined);
  // One renewal for the whole descent and restore, so the lease outlives every hold in between;
  // the record changes only after it (a renewal writes the record while it runs).
  const outcome = await s.renewing(async (): Promise<{ readonly failed?: true; readonly error?: unknown; readonly applied?: number }> => {
    try {
      for (const w of a.gradual) {
        ctx.say(`gradual abort: set the canary weight to ${w}`, { heldSeconds: ctx.tickSeconds });
        await ctx.target.setWeight(w);
        await ctx.clock.sleep(ctx.tickSeconds * 1000);
      }
      ctx.say(`roll back (${ctx.rollbackMode})`);
      await restore(ctx, snapshot);
    } catch (e) {
      return { failed: true, error: e, applied: await verified() };
    }
    return { applied: await verified() };
  });
  const at = isoNow(ctx.clock);
  if (outcome.failed) {
    const e = outcome.error;
    const message = e instanceof RestoreError ? e.message : `rollback failed: ${errorMessage(e)}`;
    s.recordEvent({ type: "rollbackFailed", at, reason: message, evidence: { error: message, appliedWeight: outcome.applied ?? "cannot verify" } });
    return { restoreFailed: true };
  }
  s.recordEvent({
    type: "rolledBack",
    at,
    reason: `restored the snapshot${ctx.rollbackMode === "keepCanary" ? "; canary kept at weight 0" : ""}`,
    evidence: { applied: outcome.applied ?? "cannot verify" },
  });
  return { applied: outcome.applied ?? "unknown" };
}

/** The restore, retried with backoff before it is declared failed. */
async function restore(ctx: EffectContext, snapshot: TargetSnapshot): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.target.rollback(snapshot, ctx.rollbackMode);
      return;
    } catch (e) {
      if (attempt >= APPLY_ATTEMPTS || e instanceof ConcurrentUpdateRefusedError) throw e;
      const delay = backoffMs(attempt, ctx.tickSeconds);
      ctx.log(`restore failed (${errorMessage(e)}); retrying in ${delay}ms (attempt ${attempt + 1} of ${APPLY_ATTEMPTS})`);
      await ctx.clock.sleep(delay);
    }
  }
}
