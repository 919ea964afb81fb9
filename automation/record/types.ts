/** Where the rollout record lives. One interface, one file per implementation. */
import { InfrastructureError } from "../errors";
import { RolloutRecord } from "../state";

/** Durable storage of one target's rollout record (the current or the last rollout). */
export interface RecordStore {
  /** Where the record is, for messages: a file path, a stack's config key. */
  readonly description: string;
  /** The stored record, or `undefined` when no rollout was ever recorded here. */
  load(): Promise<RolloutRecord | undefined>;
  /**
   * Replaces the stored record, compare-and-swap: only when the stored record's `revision` is
   * still `record.revision` (the revision it was loaded or last saved at; absent, and no stored
   * record, count as 0). Completes only once the record is durable.
   * @returns the record as stored, its `revision` one higher: derive the next save from it.
   * @throws RecordConflictError carrying the stored record when another writer saved first.
   */
  save(record: RolloutRecord): Promise<RolloutRecord>;
}

/** Another writer saved the record since it was read: nothing was written. Exit 3. */
export class RecordConflictError extends InfrastructureError {
  constructor(
    /** The record as stored now (`undefined`: it was removed). */
    public readonly stored: RolloutRecord | undefined,
    expected: number,
    where: string,
  ) {
    super(`rollout record in ${where} changed since it was read (revision ${stored?.revision ?? 0}, expected ${expected}); nothing was written`);
    this.name = "RecordConflictError";
  }
}

/** The revision a record was derived from (0 for a record never saved). */
export function revisionOf(record: RolloutRecord | undefined): number {
  return record?.revision ?? 0;
}

/**
 * The compare-and-swap every store applies: the record to write (revision one higher), or the
 * conflict. Pure, so each store only adds its own atomicity around it.
 */
export function nextRevision(stored: RolloutRecord | undefined, record: RolloutRecord, where: string): RolloutRecord {
  const expected = revisionOf(record);
  if (revisionOf(stored) !== expected) throw new RecordConflictError(stored, expected, where);
  return { ...record, revision: expected + 1 };
}
