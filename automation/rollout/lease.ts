/**
 * The single-driver lease: the process driving a rollout holds a {@link Lease} in its record
 * (holder `user@host:pid`, expiry), renewed on every save. A second driver is refused naming the
 * holder; a lease that has expired, or whose holder process on this host is gone, may be taken
 * over. Pure functions, except for asking the OS whether a process exists.
 */
import * as os from "node:os";
import { InfrastructureError } from "../errors";
import { Plan } from "../plan";
import { Lease, RolloutRecord } from "../state";

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

/**
 * How long a driver's lease lasts without renewal: three ticks, at least a minute (a target
 * operation such as `pulumi up` may run for a while between two saves).
 */
export function leaseSecondsOf(plan: Pick<Plan, "tickSeconds">): number {
  return Math.max(3 * plan.tickSeconds, 60);
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
 * process still alive.
 */
export function leaseLive(lease: Lease | undefined, nowMs: number, alive: (pid: number) => boolean = processAlive): boolean {
  if (!lease) return false;
  if (Date.parse(lease.expiresAt) <= nowMs) return false;
  if (lease.host === os.hostname() && !alive(lease.pid)) return false;
  return true;
}

/** The record without its lease: no process holds the rollout. */
export function releaseLease(r: RolloutRecord): RolloutRecord {
  const { lease: _released, ...rest } = r;
  void _released;
  return rest;
}

/** Thrown when another live driver holds the rollout. */
export class LeaseHeldError extends InfrastructureError {
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
export class LeaseLostError extends InfrastructureError {
  constructor(record: RolloutRecord, why: string) {
    super(`lost rollout ${record.id} of ${record.version} on ${record.stack}: ${why}; this driver stops without changing the target again`);
    this.name = "LeaseLostError";
  }
}
