/**
 * One process's hold on a wave record, as the rollout's session (automation/rollout/session.ts)
 * is on a rollout record: the record in memory, the single driver's lease, and compare-and-swap
 * saves that merge the control requests other processes appended meanwhile. A save another
 * writer beat for any other reason means the wave is no longer this process's, and it stops
 * ({@link WaveHeldError} before its first save, nothing changed; {@link WaveLostError} after).
 * A store that fails is retried with backoff for as long as the lease last written binds.
 */
import { errorMessage, InfrastructureError } from "../errors";
import { Clock, isoNow } from "../rollout/clock";
import { leaseLive, renewLease } from "../rollout/lease";
import { backoffMs } from "../rollout/session";
import { Lease } from "../state";
import { applyWaveControl, mergeWaveControls, pendingWaveControls } from "./requests";
import { describeWavePhase, isWaveUnfinished, recordWaveEvent, WaveEvent, WaveHistoryEntry, WaveRecord } from "./record";
import { WaveConflictError, WaveStore } from "./store";

/** Conflicting saves (another writer keeps beating this one) before a save gives up. */
const SAVE_CONFLICTS = 5;

/** Another live wave driver holds the wave: nothing was changed. Exit 3. */
export class WaveHeldError extends InfrastructureError {
  constructor(lease: Lease, record: WaveRecord, store: string) {
    super(
      `wave ${record.id} (${record.name}) is driven by ${lease.holder} (lease until ${lease.expiresAt}, in ${store}); ` +
        `refusing to run a second wave driver (use canary wave pause|resume|abort|approve)`,
    );
    this.name = "WaveHeldError";
  }
}

/** The store holds an unfinished wave that is not the one asked for: nothing was changed. Exit 3. */
export class WaveInProgressError extends InfrastructureError {
  constructor(record: WaveRecord, store: string, why: string) {
    super(`wave ${record.id} (${record.name}) is unfinished (${describeWavePhase(record)}, last change ${record.updatedAt}) in ${store}; ${why}`);
    this.name = "WaveInProgressError";
  }
}

/** Another process holds the wave now: this driver stops without changing anything again. Exit 3. */
export class WaveLostError extends InfrastructureError {
  constructor(record: WaveRecord, why: string) {
    super(`lost wave ${record.id} (${record.name}): ${why}; this wave driver stops`);
    this.name = "WaveLostError";
  }
}

/** What a wave session reports: a recorded event, once it is saved. */
export interface WaveSessionEvent {
  readonly record: WaveRecord;
  readonly entry: WaveHistoryEntry;
}

/** What a wave session needs. */
export interface WaveSessionOptions {
  readonly store: WaveStore;
  readonly clock: Clock;
  readonly leaseSeconds: number;
  readonly tickSeconds: number;
  /** The stages that have a gate (for approvals). */
  readonly gates: readonly string[];
  /** Receives each event once it is durable. */
  readonly recorded: (e: WaveSessionEvent) => void;
  readonly log: (line: string) => void;
}

/** A process's hold on one wave record; see the module comment. */
export class WaveSession {
  private current: WaveRecord;
  private readonly holder?: string;
  private dirty = true;
  private held = false;
  private writtenUntil = 0;
  private queued: WaveSessionEvent[] = [];
  private saving: Promise<void> = Promise.resolve();

  constructor(
    record: WaveRecord,
    private readonly o: WaveSessionOptions,
  ) {
    this.current = record;
    this.holder = record.lease?.holder;
    // The events the record was created with (its `start`) are reported once it is saved.
    if (record.history.length === 1) this.queued.push({ record, entry: record.history[0] });
  }

  /** The record as this process has it. */
  get record(): WaveRecord {
    return this.current;
  }

  /** Where the record is, for messages. */
  get storeDescription(): string {
    return this.o.store.description;
  }

  /** Records an event (saved by the next save, then reported). */
  recordEvent(event: WaveEvent): void {
    this.current = recordWaveEvent(this.current, event);
    this.queued.push({ record: this.current, entry: this.current.history[this.current.history.length - 1] });
    this.dirty = true;
  }

  /** Changes the record outside its history (bake progress); saved by the next save. */
  update(f: (r: WaveRecord) => WaveRecord): void {
    this.current = f(this.current);
    this.dirty = true;
  }

  /** Saves when something changed, or when the lease is half gone. */
  async commit(): Promise<void> {
    const lease = this.current.lease;
    const halfGone = lease !== undefined && Date.parse(lease.expiresAt) - this.o.clock.now() < (this.o.leaseSeconds * 1000) / 2;
    if (this.dirty || halfGone) await this.save();
  }

  /** Saves the record (without its lease with `release`: the wave ended or is left for a later driver). */
  save(o: { readonly release?: boolean } = {}): Promise<void> {
    const run = this.saving.then(() => this.write(o.release === true));
    this.saving = run.catch(() => undefined);
    return run;
  }

  private async write(release: boolean): Promise<void> {
    const { store, clock, leaseSeconds } = this.o;
    let conflicts = 0;
    for (let failures = 0; ; ) {
      if (release || !isWaveUnfinished(this.current.phase)) {
        const { lease: _released, ...rest } = this.current;
        void _released;
        this.current = rest;
      } else if (this.current.lease) {
        this.current = { ...this.current, lease: renewLease(this.current.lease, clock.now(), leaseSeconds) };
      }
      try {
        this.current = await store.save(this.current);
        this.held = true;
        if (this.current.lease) this.writtenUntil = Date.parse(this.current.lease.expiresAt);
        this.dirty = false;
        const events = this.queued;
        this.queued = [];
        for (const e of events) this.o.recorded(e);
        return;
      } catch (e) {
        if (e instanceof WaveConflictError) {
          if (++conflicts >= SAVE_CONFLICTS) throw e;
          this.merge(e.stored);
          continue;
        }
        if (!this.held || clock.now() >= this.writtenUntil) throw e;
        const delay = Math.min(backoffMs(++failures, this.o.tickSeconds), Math.max(this.writtenUntil - clock.now(), 1));
        this.o.log(`cannot save the wave record in ${store.description} (${errorMessage(e)}); retrying in ${delay}ms`);
        await clock.sleep(delay);
      }
    }
  }

  /** After a conflict: merges the stored requests, or stops when the wave is not (or no longer) this process's. */
  private merge(stored: WaveRecord | undefined): void {
    const mine = this.current;
    const foreign = stored?.lease && stored.lease.holder !== this.holder && leaseLive(stored.lease, this.o.clock.now()) ? stored.lease : undefined;
    if (!this.held) {
      if (stored && foreign) throw new WaveHeldError(foreign, stored, this.o.store.description);
      if (stored && isWaveUnfinished(stored.phase) && stored.id !== mine.id) throw new WaveInProgressError(stored, this.o.store.description, "refusing to start another");
    } else if (!stored || stored.id !== mine.id || foreign) {
      throw new WaveLostError(mine, stored?.id !== mine.id ? `the record in ${this.o.store.description} now holds ${stored ? `wave ${stored.id}` : "no wave"}` : `${foreign!.holder} holds it now`);
    }
    this.current = { ...(stored?.id === mine.id ? mergeWaveControls(mine, stored) : mine), revision: stored?.revision ?? 0 };
  }

  /**
   * Reads the requests other processes appended to the stored record and applies the new ones. A
   * store that cannot be read is reported and skipped (read again at the next tick).
   */
  async takeControls(): Promise<void> {
    let stored: WaveRecord | undefined;
    try {
      stored = await this.o.store.load();
    } catch (e) {
      this.o.log(`cannot read control requests from ${this.o.store.description}: ${errorMessage(e)}`);
      return;
    }
    this.current = mergeWaveControls(this.current, stored);
    for (const c of pendingWaveControls(this.current)) {
      const before = this.current;
      const { record, applied } = applyWaveControl(before, c, isoNow(this.o.clock), this.o.gates);
      this.current = record;
      this.dirty = true;
      if (!applied) this.o.log(`wave control ${c.verb} by ${c.by} refused: ${record.controls?.find((x) => x.id === c.id)?.result ?? ""}`);
      else if (record.history.length > before.history.length) this.queued.push({ record, entry: record.history[record.history.length - 1] });
    }
  }

  /**
   * Runs a long operation (restoring stacks: several `pulumi up`s) with the lease renewed every
   * third of its length, so no second wave driver takes the wave over meanwhile.
   */
  async renewing<T>(f: () => Promise<T>): Promise<T> {
    let lost: unknown;
    let beat: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      beat = this.save().catch((e: unknown) => {
        if (e instanceof WaveLostError) lost = e;
        else this.o.log(`cannot renew the wave's lease in ${this.o.store.description}: ${errorMessage(e)}`);
      });
    }, (this.o.leaseSeconds * 1000) / 3);
    try {
      const result = await f();
      if (lost) throw lost;
      return result;
    } finally {
      clearInterval(timer);
      await beat;
    }
  }
}
