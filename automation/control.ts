/**
 * Control of a rollout from another process, through the durable record store only (there is no
 * control endpoint to secure: whoever may write the record — the stack config, the record file —
 * may control the rollout, and nobody else).
 *
 * - The running driver holds a {@link Lease} in the record (holder `user@host:pid`, expiry),
 *   renewed on every save. A second driver is refused with the holder's identity; a lease that
 *   has expired, or whose holder process is gone (same host, pid not alive), may be taken over.
 * - `canary <verb>` appends a pending {@link ControlRequest} to the record. The driver merges the
 *   stored requests into its own record every tick, applies them as transitions and marks them
 *   `applied` (or `refused`, with why). Every write is compare-and-swap on the record's
 *   revision (automation/record/types.ts), so a request is never overwritten by a save derived
 *   from an older record; where a store's swap is not atomic (the stack config), a lost request
 *   is written again until the driver acknowledges it.
 */
import * as os from "node:os";
import { RecordConflictError, RecordStore } from "./record/types";
import { ControlRequest, ControlVerb, isUnfinished, Lease, RolloutEvent, RolloutRecord, transition } from "./state";
import { RollbackMode, Target, TargetSnapshot } from "./targets/types";

/** Who is running this process: `$USER@hostname`. */
export function operatorIdentity(): string {
  let user = process.env.USER ?? process.env.USERNAME;
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      user = "unknown";
    }
  }
  return `${user}@${os.hostname()}`;
}

/** A new lease for this process, valid `ttlSeconds` from `nowMs`. */
export function newLease(nowMs: number, ttlSeconds: number, holder = `${operatorIdentity()}:${process.pid}`): Lease {
  return { holder, host: os.hostname(), pid: process.pid, acquiredAt: new Date(nowMs).toISOString(), expiresAt: new Date(nowMs + ttlSeconds * 1000).toISOString() };
}

/** The lease renewed until `nowMs + ttlSeconds`. */
export function renewLease(lease: Lease, nowMs: number, ttlSeconds: number): Lease {
  return { ...lease, expiresAt: new Date(nowMs + ttlSeconds * 1000).toISOString() };
}

/** Whether a process with this pid exists on this machine. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether the lease still binds: not expired, and (when the holder ran on this machine) its
 * process still alive. A lease of this very process is not "held by another".
 */
export function leaseLive(lease: Lease | undefined, nowMs: number, alive: (pid: number) => boolean = processAlive): boolean {
  if (!lease) return false;
  if (Date.parse(lease.expiresAt) <= nowMs) return false;
  if (lease.host === os.hostname() && !alive(lease.pid)) return false;
  return true;
}

/** Thrown when another live driver holds the rollout. */
export class LeaseHeldError extends Error {
  constructor(
    public readonly lease: Lease,
    record: RolloutRecord,
    store: string,
  ) {
    super(
      `rollout ${record.id} of ${record.version} on ${record.stack} is driven by ${lease.holder} (lease until ${lease.expiresAt}, in ${store}); ` +
        `refusing to run a second driver (use the control verbs: canary pause|resume|promote|abort)`,
    );
    this.name = "LeaseHeldError";
  }
}

/**
 * Thrown by a running driver that finds another process now holds its rollout (its lease
 * expired and another driver took over, or an operator acted on it as a stopped rollout). The
 * driver stops at once without touching the target again: the new holder is in charge.
 */
export class LeaseLostError extends Error {
  constructor(record: RolloutRecord, why: string) {
    super(`lost rollout ${record.id} of ${record.version} on ${record.stack}: ${why}; this driver stops without changing the target again`);
    this.name = "LeaseLostError";
  }
}

/** What a control call asks for. */
export interface ControlInput {
  readonly verb: ControlVerb;
  readonly by: string;
  readonly reason: string;
  readonly gate?: string;
  readonly gradual?: boolean;
}

/** A pending request with a fresh id. */
export function newRequest(input: ControlInput, nowMs: number): ControlRequest {
  const id = `${nowMs.toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    id,
    verb: input.verb,
    at: new Date(nowMs).toISOString(),
    by: input.by,
    reason: input.reason,
    ...(input.gate !== undefined ? { gate: input.gate } : {}),
    ...(input.gradual ? { gradual: true } : {}),
    status: "pending",
  };
}

/**
 * The driver's record with the stored record's control requests merged in: requests the
 * driver has not seen are added (pending); the driver's own statuses win for the others.
 */
export function mergeControls(mine: RolloutRecord, stored: RolloutRecord | undefined): RolloutRecord {
  if (!stored || stored.id !== mine.id || !stored.controls?.length) return mine;
  const known = new Set((mine.controls ?? []).map((c) => c.id));
  const added = stored.controls.filter((c) => !known.has(c.id));
  return added.length ? { ...mine, controls: [...(mine.controls ?? []), ...added] } : mine;
}

/** Marks one request done. */
export function settle(record: RolloutRecord, id: string, status: "applied" | "refused", result: string, at: string): RolloutRecord {
  return { ...record, controls: (record.controls ?? []).map((c) => (c.id === id ? { ...c, status, result, doneAt: at } : c)) };
}

/** The pending requests, oldest first. */
export function pendingControls(record: RolloutRecord): readonly ControlRequest[] {
  return (record.controls ?? []).filter((c) => c.status === "pending");
}

/** Whether a gate has been approved (applied, or pending and not yet seen by the driver). */
export function approved(record: RolloutRecord, gate: string): boolean {
  return (record.controls ?? []).some((c) => c.verb === "approve" && c.gate === gate && c.status !== "refused");
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
 * Waits until the running driver settles `request` (applied or refused), writing it again when
 * a concurrent save of the driver dropped it (possible only where the store's compare-and-swap
 * is not atomic: the stack config). Resolves with the settled request, or `undefined`
 * after `timeoutMs`.
 */
export async function awaitControl(
  store: RecordStore,
  request: ControlRequest,
  timeoutMs: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  now: () => number = Date.now,
): Promise<ControlRequest | undefined> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const stored = await store.load();
    const mine = stored?.controls?.find((c) => c.id === request.id);
    if (mine && mine.status !== "pending") return mine;
    if (stored && !mine) await submitControl(store, stored, request);
    if (now() >= deadline) return undefined;
    await sleep(Math.min(500, Math.max(deadline - now(), 1)));
  }
}

/** How a control call ended. */
export interface ControlOutcome {
  /** `applied` (by the running driver, or directly on a stopped rollout), `recorded` (waits for the next driver), `refused`, `timeout`, `restoreFailed`. */
  readonly status: "applied" | "recorded" | "refused" | "timeout" | "restoreFailed";
  readonly message: string;
  readonly record?: RolloutRecord;
}

/** What acting on a stopped rollout may need: the target, built only when the verb needs it. */
export interface StoppedRolloutAccess {
  /** The target the record's rollout changed (for abort and promote --full of a stopped rollout). */
  target(): Promise<Target>;
  /** How a rollback leaves the canary (the plan's `rollback.mode`). */
  readonly rollbackMode: RollbackMode;
  /** `abort --gradual`: the plan's judged weights, stepped down through before the restore. */
  readonly stepWeights?: readonly number[];
  /** `abort --gradual`: how long each lower weight is held, seconds (the plan's tick). */
  readonly tickSeconds?: number;
}

/** Thrown for a control call that cannot apply (no rollout, a finished one, an illegal verb). */
export class ControlRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ControlRefusedError";
  }
}

/**
 * Acts on the rollout in `store`: through its running driver (a pending request it applies at
 * its next tick; waits up to `waitMs` for the acknowledgement), or directly when no driver holds
 * it. Every change is a transition recorded with who, when and why.
 * @throws ControlRefusedError when there is nothing to act on or the verb is illegal now.
 */
export async function controlRollout(
  store: RecordStore,
  input: ControlInput,
  access: StoppedRolloutAccess,
  o: { readonly waitMs: number; readonly now?: () => number; readonly sleep?: (ms: number) => Promise<void>; readonly log?: (line: string) => void } = { waitMs: 120_000 },
): Promise<ControlOutcome> {
  // A record written by the driver between this call's read and its write is read again.
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

async function controlOnce(
  store: RecordStore,
  input: ControlInput,
  access: StoppedRolloutAccess,
  o: { readonly waitMs: number; readonly now?: () => number; readonly sleep?: (ms: number) => Promise<void>; readonly log?: (line: string) => void },
): Promise<ControlOutcome> {
  const now = o.now ?? Date.now;
  const log = o.log ?? (() => undefined);
  const record = await store.load();
  if (!record) throw new ControlRefusedError(`no rollout recorded in ${store.description}: nothing to ${input.verb}`);
  if (!isUnfinished(record.phase)) throw new ControlRefusedError(`rollout ${record.id} of ${record.version} is ${record.phase}: nothing to ${input.verb}`);
  const request = newRequest(input, now());
  if (record.lease && leaseLive(record.lease, now())) {
    // Checked here too so an illegal verb is refused at once, not after a tick.
    const dryCheck = checkLegal(record, input, now());
    if (dryCheck) throw new ControlRefusedError(dryCheck);
    await submitControl(store, record, request);
    log(`${input.verb}: requested from the running driver ${record.lease.holder}; waiting for it to apply the request`);
    const settled = await awaitControl(store, request, o.waitMs, o.sleep, now);
    if (!settled) return { status: "timeout", message: `the driver ${record.lease.holder} did not acknowledge ${input.verb} within ${Math.round(o.waitMs / 1000)}s; the request stays pending in ${store.description}` };
    const after = await store.load();
    return settled.status === "applied"
      ? { status: "applied", message: `${input.verb} applied by ${record.lease.holder}: ${settled.result ?? ""}`, ...(after ? { record: after } : {}) }
      : { status: "refused", message: `${input.verb} refused by ${record.lease.holder}: ${settled.result ?? ""}` };
  }
  return applyStopped(store, record, input, request, access, now, log, o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))));
}

/** Why the verb is illegal in the record's phase, or `undefined`. */
function checkLegal(record: RolloutRecord, input: ControlInput, nowMs: number): string | undefined {
  // Aborting an unfinished rollback (a failed restore) tries the restore again.
  if (input.verb === "abort" && record.phase === "RollingBack") return undefined;
  const at = new Date(nowMs).toISOString();
  const type = input.verb === "promote" ? "skip" : input.verb === "abort" ? "rollback" : input.verb;
  try {
    const event = type === "rollback" ? { type, at, reason: input.reason, trigger: "operator" as const } : type === "approve" ? { type, at, reason: input.reason, gate: input.gate ?? "" } : { type, at, reason: input.reason };
    transition(record, event as RolloutEvent);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

async function applyStopped(
  store: RecordStore,
  stored: RolloutRecord,
  input: ControlInput,
  request: ControlRequest,
  access: StoppedRolloutAccess,
  now: () => number,
  log: (line: string) => void,
  sleep: (ms: number) => Promise<void>,
): Promise<ControlOutcome> {
  const iso = (): string => new Date(now()).toISOString();
  const by = input.by;
  const reason = `${input.verb}${input.gate ? ` (${input.gate})` : ""} by ${by}: ${input.reason} (no driver running)`;
  const problem = checkLegal(stored, input, now());
  if (problem) throw new ControlRefusedError(problem);
  let record: RolloutRecord = stored;
  const done = (r: RolloutRecord): RolloutRecord => ({ ...r, controls: [...(r.controls ?? []), { ...request, status: "applied", result: `now ${r.phase}`, doneAt: iso() }] });
  /** The first write, compare-and-swap over what was read: a driver that started meanwhile makes the call start over. */
  const first = async (r: RolloutRecord): Promise<RolloutRecord> => {
    try {
      return await store.save(r);
    } catch (e) {
      throw e instanceof RecordConflictError ? new FirstWriteConflict(e) : e;
    }
  };
  switch (input.verb) {
    case "pause":
    case "resume":
    case "freeze":
    case "unfreeze":
      record = await first(done(transition(record, { type: input.verb, at: iso(), reason, by })));
      return { status: "applied", message: `${input.verb}: rollout ${record.id} is now ${record.phase} (no driver is running; \`canary rollout\` with the same version continues it)`, record };
    case "approve":
      record = await first(done(transition(record, { type: "approve", at: iso(), reason, by, gate: input.gate ?? "" })));
      return { status: "applied", message: `approved ${input.gate} of rollout ${record.id} (recorded; the driver honours it when it reaches the gate)`, record };
    case "promote":
      // Skipping a step's wait only means something to a driver judging it: the next one applies it.
      record = await first({ ...record, controls: [...(record.controls ?? []), request] });
      return { status: "recorded", message: `promote recorded for rollout ${record.id}; the next driver (\`canary rollout\` with the same version) applies it at its first tick`, record };
    case "promoteFull":
    case "abort": {
      // abort --gradual: the plan's lower weights, highest first, each held one tick.
      const current = record.phase === "RollingBack" ? undefined : record.step?.weight;
      const gradual = input.verb === "abort" && input.gradual && current !== undefined ? (access.stepWeights ?? []).filter((w) => w < current).reverse() : [];
      const holdMs = (access.tickSeconds ?? 0) * 1000;
      // Hold the rollout while acting, so a driver started meanwhile is refused.
      record = await first({ ...record, lease: newLease(now(), 600 + (gradual.length * holdMs) / 1000) });
      const target = await access.target();
      if (input.verb === "promoteFull") {
        record = await store.save(transition(record, { type: "promoteFull", at: iso(), reason, by }));
        log(`promote ${record.version} to stable through ${target.type} ${target.name}`);
        await target.promote();
        record = await store.save(release(done(transition(record, { type: "complete", at: iso(), reason: `${record.version} is the stable version` }))));
        return { status: "applied", message: `promoted ${record.version} (rollout ${record.id})`, record };
      }
      if (record.phase !== "RollingBack") record = transition(record, { type: "rollback", at: iso(), reason, trigger: "operator", by, ...(gradual.length ? { evidence: { gradual } } : {}) });
      record = await store.save(record);
      try {
        for (const w of gradual) {
          log(`gradual abort: set the canary weight to ${w} through ${target.type} ${target.name}, held ${holdMs / 1000}s`);
          await target.setWeight(w);
          await sleep(holdMs);
        }
        log(`roll back (${access.rollbackMode}) through ${target.type} ${target.name}`);
        await target.rollback(record.snapshot as TargetSnapshot, access.rollbackMode);
      } catch (e) {
        const message = `rollback failed: ${e instanceof Error ? e.message : String(e)}`;
        const applied = await target.verify().catch(() => undefined);
        record = await store.save(release(transition(record, { type: "rollbackFailed", at: iso(), reason: message, evidence: { error: message, appliedWeight: applied ?? "cannot verify" } })));
        return { status: "restoreFailed", message, record };
      }
      const applied = await target.verify().catch(() => undefined);
      record = await store.save(release(done(transition(record, { type: "rolledBack", at: iso(), reason: `restored the snapshot (abort by ${by})`, evidence: { applied: applied ?? "cannot verify" } }))));
      return { status: "applied", message: `rolled back rollout ${record.id} of ${record.version}`, record };
    }
  }
}

/** The record without its lease: no process holds the rollout. */
export function release(r: RolloutRecord): RolloutRecord {
  const { lease: _released, ...rest } = r;
  void _released;
  return rest;
}
