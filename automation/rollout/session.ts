/**
 * One process's hold on one rollout record: the record in memory, its lease, and its
 * persistence. Changes are made in memory ({@link Session.recordEvent}, {@link Session.update})
 * and written by {@link Session.save}, which
 *  - renews the lease (or releases it once the rollout has ended or is left to a later driver);
 *  - writes compare-and-swap: a save another writer beat is retried over the stored revision
 *    with that writer's control requests merged in (while this process holds the lease,
 *    appending a request is the only change another process makes); anything else means the
 *    rollout is no longer this process's, and it stops: {@link LeaseHeldError} or
 *    {@link RolloutInProgressError} before its first save (nothing was changed),
 *    {@link LeaseLostError} after it;
 *  - retries a store that fails (a flaky disk, an unreachable stack backend) with backoff for as
 *    long as the lease it last wrote still binds: the caller holds the weight meanwhile, and a
 *    record that cannot be written never turns into a rollback;
 *  - reports the transitions and ticks made since the last save only once they are durable.
 *
 * Used by the driver's loop and by control verbs acting on a stopped rollout.
 */
import { errorMessage, InfrastructureError } from "../errors";
import { RecordConflictError, RecordStore, revisionOf } from "../record/types";
import { describePhase, HistoryEntry, Intent, isUnfinished, RolloutEvent, RolloutRecord, transition } from "../state";
import { Clock, isoNow } from "./clock";
import { DriverEvent } from "./events";
import { LeaseHeldError, leaseLive, LeaseLostError, releaseLease, renewLease } from "./lease";
import { applyControl, mergeControls, pendingControls } from "./requests";

/** Conflicting saves (another writer keeps beating this one) before a save gives up. */
const SAVE_CONFLICTS = 5;
/** Backoff before the second attempt of a failing save (or target change), doubling, capped at one tick. */
const RETRY_BACKOFF_MS = 1000;

/** Thrown before anything changes when the store holds an unfinished rollout of something else. */
export class RolloutInProgressError extends InfrastructureError {
  constructor(
    public readonly record: RolloutRecord,
    store: string,
  ) {
    super(
      `rollout ${record.id} of ${record.version} on ${record.stack} is unfinished (${describePhase(record)}, last change ${record.updatedAt}) in ${store}; ` +
        `refusing to start another (if its driver was killed, roll it back or finish it first)`,
    );
    this.name = "RolloutInProgressError";
  }
}

/** What a session needs. */
export interface SessionOptions {
  readonly store: RecordStore;
  readonly clock: Clock;
  /** How long the lease lasts without renewal, seconds. */
  readonly leaseSeconds: number;
  /** The plan's tick, seconds: the longest backoff between two attempts. */
  readonly tickSeconds: number;
  readonly report: (e: DriverEvent) => void;
  /**
   * A conflict on the first write: `merge` the stored control requests and write again (a driver
   * taking over), or `throw` the {@link RecordConflictError} (a control call, which reads the record
   * again and starts over). Defaults to `merge`.
   */
  readonly firstConflict?: "merge" | "throw";
}

/** The exponential backoff of attempt `attempt` (1-based) that failed, capped at one tick. */
export function backoffMs(attempt: number, tickSeconds: number): number {
  return Math.min(RETRY_BACKOFF_MS * 2 ** (attempt - 1), tickSeconds * 1000);
}

/** A process's hold on one rollout record; see the module comment. */
export class Session {
  private current: RolloutRecord;
  /** The lease holder this process writes as (kept when the lease is released). */
  private readonly holder?: string;
  private dirty = true;
  private held = false;
  /** When the lease last written expires (ms): while it binds, a failing store is retried. */
  private writtenUntil = 0;
  private queued: DriverEvent[] = [];
  /** Saves run one at a time (a lease renewal during a target operation may overlap a transition). */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    record: RolloutRecord,
    private readonly o: SessionOptions,
  ) {
    this.current = record;
    this.holder = record.lease?.holder;
  }

  /** The record as this process has it (saved or not). */
  get record(): RolloutRecord {
    return this.current;
  }

  /** Whether this process's record is in the store (from then on it holds the rollout). */
  get holding(): boolean {
    return this.held;
  }

  /** Where the record is, for messages. */
  get storeDescription(): string {
    return this.o.store.description;
  }

  /** Records a transition (saved by the next {@link save}, then reported). */
  recordEvent(event: RolloutEvent): HistoryEntry {
    this.current = transition(this.current, event);
    const entry = this.current.history[this.current.history.length - 1];
    this.emit({ kind: "transition", record: this.current, entry });
    this.dirty = true;
    return entry;
  }

  /** Changes the record (a verdict, the intent, a marker); saved by the next {@link save}. */
  update(f: (r: RolloutRecord) => RolloutRecord): void {
    this.current = f(this.current);
    this.dirty = true;
  }

  /** Changes what only presentation depends on: written with the next save, never a save of its own. */
  note(f: (r: RolloutRecord) => RolloutRecord): void {
    this.current = f(this.current);
  }

  /** Reports `e` once the record as of now is saved. */
  emit(e: DriverEvent): void {
    this.queued.push(e);
  }

  /** Reports `e` now. */
  say(e: DriverEvent): void {
    this.o.report(e);
  }

  /**
   * Makes the record durable before an action: with `intent` (the target change the action is
   * about to make) written ahead, and whatever the last action recorded. Saves only when
   * something changed, or when the lease is half gone (a long wait at a gate).
   */
  async commit(intent?: Intent): Promise<void> {
    if (intent) this.update((r) => ({ ...r, intent }));
    const lease = this.current.lease;
    const halfGone = lease !== undefined && Date.parse(lease.expiresAt) - this.o.clock.now() < (this.o.leaseSeconds * 1000) / 2;
    if (this.dirty || halfGone) await this.save();
  }

  /**
   * Saves the record; see the module comment.
   * @param o.release  write it without a lease (the rollout ended, pauses, or gives up).
   * @param o.bestEffort  one attempt (conflicts still merged): a failure is thrown at once.
   */
  save(o: { readonly release?: boolean; readonly bestEffort?: boolean } = {}): Promise<void> {
    const run = this.saving.then(() => this.write(o.release === true, o.bestEffort === true));
    this.saving = run.catch(() => undefined);
    return run;
  }

  private async write(release: boolean, bestEffort: boolean): Promise<void> {
    const { store, clock, leaseSeconds } = this.o;
    let conflicts = 0;
    for (let failures = 0; ; ) {
      if (release || !isUnfinished(this.current.phase)) this.current = releaseLease(this.current);
      else if (this.current.lease) this.current = { ...this.current, lease: renewLease(this.current.lease, clock.now(), leaseSeconds) };
      try {
        // Nothing changes the record while a save runs: renewals only overlap target operations.
        this.current = await store.save(this.current);
        this.held = true;
        if (this.current.lease) this.writtenUntil = Date.parse(this.current.lease.expiresAt);
        this.dirty = false;
        const events = this.queued;
        this.queued = [];
        for (const e of events) this.o.report(e);
        return;
      } catch (e) {
        if (e instanceof RecordConflictError) {
          if (++conflicts >= SAVE_CONFLICTS || (!this.held && this.o.firstConflict === "throw")) throw e;
          this.merge(e.stored);
          continue;
        }
        if (!this.held || bestEffort || clock.now() >= this.writtenUntil) throw e;
        const delay = Math.min(backoffMs(++failures, this.o.tickSeconds), Math.max(this.writtenUntil - clock.now(), 1));
        this.o.report({ kind: "log", line: `cannot save the rollout record in ${store.description} (${errorMessage(e)}); holding the weight, retrying in ${delay}ms` });
        await clock.sleep(delay);
      }
    }
  }

  /** After a conflict: merges the stored requests, or stops when the rollout is not (or no longer) this process's. */
  private merge(stored: RolloutRecord | undefined): void {
    const { store, clock } = this.o;
    const mine = this.current;
    const foreign = stored?.lease && stored.lease.holder !== this.holder && leaseLive(stored.lease, clock.now()) ? stored.lease : undefined;
    if (!this.held) {
      if (stored && foreign) throw new LeaseHeldError(foreign, stored, store.description);
      if (stored && isUnfinished(stored.phase) && stored.id !== mine.id) throw new RolloutInProgressError(stored, store.description);
    } else if (!stored || stored.id !== mine.id || foreign) {
      throw new LeaseLostError(mine, stored?.id !== mine.id ? `the record in ${store.description} now holds ${stored ? `rollout ${stored.id}` : "no rollout"}` : `${foreign!.holder} holds it now (lease until ${foreign!.expiresAt})`);
    }
    this.current = { ...(stored?.id === mine.id ? mergeControls(mine, stored) : mine), revision: revisionOf(stored) };
  }

  /**
   * Reads the control requests other processes wrote into the stored record and applies the new
   * ones (saved by the next {@link save}). A store that cannot be read is reported and skipped:
   * the requests are read again at the next tick.
   */
  async takeControls(): Promise<void> {
    let stored: RolloutRecord | undefined;
    try {
      stored = await this.o.store.load();
    } catch (e) {
      this.o.report({ kind: "log", line: `cannot read control requests from ${this.o.store.description}: ${errorMessage(e)}` });
      return;
    }
    this.current = mergeControls(this.current, stored);
    for (const c of pendingControls(this.current)) {
      const before = this.current;
      const { record, applied } = applyControl(before, c, isoNow(this.o.clock), "driver");
      this.current = record;
      this.dirty = true;
      if (!applied) {
        this.emit({ kind: "log", line: `control ${c.verb} by ${c.by} refused: ${record.controls?.find((x) => x.id === c.id)?.result ?? ""}` });
      } else if (record.history.length > before.history.length) {
        this.emit({ kind: "transition", record, entry: record.history[record.history.length - 1] });
      }
    }
  }

  /**
   * Runs a target operation, renewing the lease every third of its length while it runs, so a
   * long operation (a `pulumi up` of minutes) does not let the lease lapse and a second driver
   * take the rollout over. Real time: the operation takes real time whatever the clock says.
   * @throws LeaseLostError after the operation (never cutting it short) when the lease was lost meanwhile.
   */
  async renewing<T>(f: () => Promise<T>): Promise<T> {
    let lost: unknown;
    let beat: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      beat = this.save({ bestEffort: true }).catch((e: unknown) => {
        if (e instanceof LeaseLostError) lost = e;
        else this.o.report({ kind: "log", line: `cannot renew the lease in ${this.o.store.description}: ${errorMessage(e)}` });
      });
    }, (this.o.leaseSeconds * 1000) / 3);
    let result: T;
    try {
      result = await f();
    } finally {
      clearInterval(timer);
      await beat;
    }
    if (lost) throw lost;
    return result;
  }
}
