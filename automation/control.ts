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
 *   `applied` (or `refused`, with why). A request lost to a concurrent save (the driver read the
 *   record just before it was written) is written again until the driver acknowledges it.
 */
import * as os from "node:os";
import { RecordStore } from "./record/types";
import { ControlRequest, ControlVerb, Lease, RolloutRecord } from "./state";

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

/** Appends a request to the stored record. @returns the request written. */
export async function submitControl(store: RecordStore, record: RolloutRecord, request: ControlRequest): Promise<void> {
  await store.save({ ...record, controls: [...(record.controls ?? []), request] });
}

/**
 * Waits until the running driver settles `request` (applied or refused), writing it again when
 * a concurrent save of the driver dropped it. Resolves with the settled request, or `undefined`
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
