/**
 * Control of a rollout from another process, through the durable record store only (there is no
 * control endpoint to secure: whoever may write the record — the stack config, the record file —
 * may control the rollout, and nobody else).
 *
 * - While a driver holds the rollout's lease, `canary <verb>` appends a pending request to the
 *   record; the driver applies it at its next tick (automation/rollout/session.ts) and marks it
 *   `applied` or `refused`, with why. Every write is compare-and-swap on the record's revision
 *   (automation/record/types.ts), so a request is never overwritten by a save derived from an
 *   older record; where a store's swap is not atomic (the stack config), a lost request is written
 *   again until the driver acknowledges it.
 * - With no driver, the call applies the request itself: the same transition the driver would
 *   record, and for `abort` and `promote --full` the same loop and effects the driver runs
 *   (loop.ts, effects.ts), holding the lease meanwhile.
 */
import { InputError } from "../errors";
import { Plan } from "../plan";
import { RecordConflictError, RecordStore } from "../record/types";
import { ControlRequest, isUnfinished, RolloutRecord } from "../state";
import { Target } from "../targets/types";
import { Clock, isoNow } from "./clock";
import * as effects from "./effects";
import { leaseLive, newLease } from "./lease";
import { leaseSecondsOf } from "./lease";
import { drive, Executor } from "./loop";
import { applyControl, ControlInput, newRequest, refusalOf } from "./requests";
import { Session } from "./session";

/** Thrown for a control call that cannot apply (no rollout, a finished one, an illegal verb). Exit 2. */
export class ControlRefusedError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "ControlRefusedError";
  }
}

/**
 * Appends a request to the stored record (derived from `record`). A save the driver beat is
 * retried over the newer record, as long as it is still the same unfinished rollout.
 * @returns the record as stored.
 * @throws ControlRefusedError when the rollout ended or was replaced meanwhile.
 */
export async function submitControl(store: RecordStore, record: RolloutRecord, request: ControlRequest): Promise<RolloutRecord> {
  let current = record;
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.save({ ...current, controls: [...(current.controls ?? []), request] });
    } catch (e) {
      if (!(e instanceof RecordConflictError) || attempt >= 20) throw e;
      const stored = e.stored;
      if (!stored || stored.id !== record.id || !isUnfinished(stored.phase)) {
        throw new ControlRefusedError(`rollout ${record.id} ${stored?.id === record.id ? `is ${stored.phase}` : "was replaced"} while ${request.verb} was being recorded: nothing to ${request.verb}`);
      }
      current = stored;
    }
  }
}

/**
 * How waiting for a running driver ended: it settled the request (`applied` or `refused`), the
 * rollout ended (or was replaced) without it, or nothing happened within the wait.
 */
export type AwaitedControl =
  | { readonly kind: "settled"; readonly request: ControlRequest }
  | { readonly kind: "ended"; readonly record?: RolloutRecord }
  | { readonly kind: "timeout" };

/**
 * Waits until the running driver settles `request` (applied or refused), writing it again when
 * a concurrent save of the driver dropped it (possible only where the store's compare-and-swap
 * is not atomic: the stack config). Stops as soon as rollout `rolloutId` has ended (or another
 * rollout replaced it): no driver will ever settle the request then.
 */
export async function awaitControl(
  store: RecordStore,
  rolloutId: string,
  request: ControlRequest,
  timeoutMs: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  now: () => number = Date.now,
): Promise<AwaitedControl> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const stored = await store.load();
    const mine = stored?.controls?.find((c) => c.id === request.id);
    if (mine && mine.status !== "pending") return { kind: "settled", request: mine };
    if (!stored || stored.id !== rolloutId || ENDED.has(stored.phase)) return { kind: "ended", ...(stored ? { record: stored } : {}) };
    if (!mine) await submitControl(store, stored, request);
    if (now() >= deadline) return { kind: "timeout" };
    await sleep(Math.min(500, Math.max(deadline - now(), 1)));
  }
}

/** The phases a rollout ends in. */
const ENDED: ReadonlySet<string> = new Set(["Succeeded", "RolledBack"]);

/**
 * What a request the rollout ended without answers: the end it asked for already happened (an
 * abort of a rollout that was rolled back, a promotion of one that was promoted), or there is
 * nothing left to act on.
 */
function endedWithout(verb: ControlInput["verb"], asked: RolloutRecord, ended: RolloutRecord | undefined): ControlOutcome {
  if (!ended || ended.id !== asked.id) {
    return { status: "refused", message: `rollout ${asked.id} of ${asked.version} was ${ended ? `replaced by rollout ${ended.id}` : "removed"} before its driver applied ${verb}: nothing to ${verb}` };
  }
  const cause: readonly string[] = ended.phase === "RolledBack" ? ["rollback"] : ["promote", "promoteFull"];
  const last = [...ended.history].reverse().find((h) => cause.includes(h.type));
  const how = `${ended.phase === "RolledBack" ? "rolled back" : "promoted"}${last ? ` (${last.reason})` : ""}`;
  const done = (verb === "abort" && ended.phase === "RolledBack") || ((verb === "promote" || verb === "promoteFull") && ended.phase === "Succeeded");
  return done
    ? { status: "alreadyDone", message: `rollout ${ended.id} of ${ended.version} was ${how} before its driver applied this ${verb}: nothing left to ${verb}`, record: ended }
    : { status: "refused", message: `rollout ${ended.id} of ${ended.version} was ${how} before its driver applied ${verb}: nothing to ${verb}`, record: ended };
}

/** How a control call ended. */
export interface ControlOutcome {
  /**
   * `applied` (by the running driver, or directly on a stopped rollout), `recorded` (waits for the
   * next driver), `refused`, `timeout`, `rolledBack` (a `promote --full` whose promotion failed
   * was rolled back, as the driver does), `restoreFailed`, `alreadyDone` (the rollout ended as
   * asked before its driver applied the request: an abort of a rollout that was rolled back).
   */
  readonly status: "applied" | "recorded" | "refused" | "timeout" | "rolledBack" | "restoreFailed" | "alreadyDone";
  readonly message: string;
  readonly record?: RolloutRecord;
}

/** What acting on a stopped rollout may need. */
export interface StoppedRolloutAccess {
  /** The target the record's rollout changed (for abort and promote --full of a stopped rollout); built only when needed. */
  target(): Promise<Target>;
  /** The plan (`--plan`): how a rollback leaves the canary, how long `abort --gradual` holds each weight. */
  readonly plan: Plan;
}

/** Options of {@link controlRollout}. */
export interface ControlOptions {
  /** How long to wait for a running driver to apply the request. */
  readonly waitMs: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Receives what the call does to the target (`roll back (keepCanary) through …`). */
  readonly log?: (line: string) => void;
}

/**
 * Acts on the rollout in `store`: through its running driver (a pending request it applies at
 * its next tick; waits up to `waitMs` for the acknowledgement), or directly when no driver holds
 * it. Every change is a transition recorded with who, when and why.
 * @throws ControlRefusedError when there is nothing to act on or the verb is illegal now.
 */
export async function controlRollout(store: RecordStore, input: ControlInput, access: StoppedRolloutAccess, o: ControlOptions = { waitMs: 120_000 }): Promise<ControlOutcome> {
  // A record written by a driver between this call's read and its first write is read again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await controlOnce(store, input, access, o);
    } catch (e) {
      if (!(e instanceof FirstWriteConflict) || attempt >= 5) throw e instanceof FirstWriteConflict ? e.conflict : e;
    }
  }
}

/** The first write of a stopped-rollout control lost to a concurrent writer: nothing was changed. */
class FirstWriteConflict extends Error {
  constructor(readonly conflict: RecordConflictError) {
    super(conflict.message);
  }
}

/** Writes `record` over the revision it was read at; a concurrent writer makes the call start over. */
async function firstWrite<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    throw e instanceof RecordConflictError ? new FirstWriteConflict(e) : e;
  }
}

async function controlOnce(store: RecordStore, input: ControlInput, access: StoppedRolloutAccess, o: ControlOptions): Promise<ControlOutcome> {
  const clock: Clock = { now: o.now ?? Date.now, sleep: o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))) };
  const log = o.log ?? (() => undefined);
  const record = await store.load();
  if (!record) throw new ControlRefusedError(`no rollout recorded in ${store.description}: nothing to ${input.verb}`);
  if (!isUnfinished(record.phase)) throw new ControlRefusedError(`rollout ${record.id} of ${record.version} is ${record.phase}: nothing to ${input.verb}`);
  const request = newRequest(input, clock.now());
  const at = isoNow(clock);
  const driver = record.lease && leaseLive(record.lease, clock.now()) ? record.lease : undefined;
  // Checked here too so an illegal verb is refused at once, not after a tick.
  const refused = refusalOf(record, request, at, driver ? "driver" : "stopped");
  if (refused !== undefined) throw new ControlRefusedError(refused);
  if (driver) {
    await submitControl(store, record, request);
    log(`${input.verb}: requested from the running driver ${driver.holder}; waiting for it to apply the request`);
    const waited = await awaitControl(store, record.id, request, o.waitMs, clock.sleep, clock.now);
    if (waited.kind === "timeout") return { status: "timeout", message: `the driver ${driver.holder} did not acknowledge ${input.verb} within ${Math.round(o.waitMs / 1000)}s; the request stays pending in ${store.description}` };
    if (waited.kind === "ended") return endedWithout(input.verb, record, waited.record);
    const settled = waited.request;
    const after = await store.load();
    return settled.status === "applied"
      ? { status: "applied", message: `${input.verb} applied by ${driver.holder}: ${settled.result ?? ""}`, ...(after ? { record: after } : {}) }
      : { status: "refused", message: `${input.verb} refused by ${driver.holder}: ${settled.result ?? ""}` };
  }
  const requested = { ...record, controls: [...(record.controls ?? []), request] };
  switch (input.verb) {
    case "promote": {
      // Skipping a step's wait only means something to a driver judging it: the next one applies it.
      const saved = await firstWrite(() => store.save(requested));
      return { status: "recorded", message: `promote recorded for rollout ${saved.id}; the next driver (\`canary rollout\` with the same version) applies it at its first tick`, record: saved };
    }
    case "promoteFull":
    case "abort":
      return finishStopped(store, applyControl(requested, request, at, "stopped").record, access, clock, log);
    default: {
      const saved = await firstWrite(() => store.save(applyControl(requested, request, at, "stopped").record));
      return input.verb === "approve"
        ? { status: "applied", message: `approved ${input.gate} of rollout ${saved.id} (recorded; the driver honours it when it reaches the gate)`, record: saved }
        : { status: "applied", message: `${input.verb}: rollout ${saved.id} is now ${saved.phase} (no driver is running; \`canary rollout\` with the same version continues it)`, record: saved };
    }
  }
}

/**
 * A stopped rollout an operator set Promoting or RollingBack: this call holds the lease and runs
 * the driver's own loop and effects until the rollout ends.
 */
async function finishStopped(store: RecordStore, record: RolloutRecord, access: StoppedRolloutAccess, clock: Clock, log: (line: string) => void): Promise<ControlOutcome> {
  // Built before anything is written: a target that cannot be reached changes nothing.
  const target = await access.target();
  const plan = access.plan;
  const leaseSeconds = leaseSecondsOf(plan);
  const session = new Session(
    { ...record, lease: newLease(clock.now(), leaseSeconds) },
    { store, clock, leaseSeconds, tickSeconds: plan.tickSeconds, report: (e) => (e.kind === "log" ? log(e.line) : undefined), firstConflict: "throw" },
  );
  // The first write, compare-and-swap over what was read: a driver that started meanwhile makes the call start over.
  await firstWrite(() => session.save());
  const via = `${target.type} ${target.name}`;
  const ctx: effects.EffectContext = {
    session,
    target,
    clock,
    rollbackMode: plan.rollback.mode,
    tickSeconds: plan.tickSeconds,
    say: (message, detail) => log(`${message} through ${via}${detail?.heldSeconds !== undefined ? `, held ${detail.heldSeconds}s` : ""}`),
    log,
  };
  const execute: Executor = async (action) => {
    if (action.kind === "Promote") return effects.promote(ctx, action);
    if (action.kind === "RollBack") return effects.rollBack(ctx, action);
    throw new Error(`a stopped rollout being promoted or rolled back never needs ${action.kind}`);
  };
  // The call has not read the target: it goes by the weight the record says is applied. Lifecycle
  // hooks are the driver's (their secrets are read by `canary rollout`): a control call runs none.
  const result = await drive({ session, plan: { ...plan, hooks: [] }, clock, execute }, record.step ? { applied: record.step.weight } : {});
  const r = result.record;
  switch (result.outcome) {
    case "promoted":
      return { status: "applied", message: `promoted ${r.version} (rollout ${r.id})`, record: r };
    case "restoreFailed":
      return { status: "restoreFailed", message: result.reason, record: r };
    default:
      return record.phase === "Promoting"
        ? { status: "rolledBack", message: `the promotion of ${r.version} failed and rollout ${r.id} was rolled back: ${result.reason}`, record: r }
        : { status: "applied", message: `rolled back rollout ${r.id} of ${r.version}`, record: r };
  }
}
