/**
 * Where the wave record lives: a JSON file (written atomically, compare-and-swap under a lock,
 * like the sandbox's rollout record), or memory for tests and embedding programs.
 */
import { InfrastructureError } from "../errors";
import { JsonFileStore } from "../record/jsonFile";
import { checkWaveRecord, WaveRecord } from "./record";

/** Durable storage of one wave record (the current or the last wave of a wave file). */
export interface WaveStore {
  /** Where the record is, for messages. */
  readonly description: string;
  /** The stored record, or `undefined` when none was ever saved here. */
  load(): Promise<WaveRecord | undefined>;
  /**
   * Replaces the stored record when its revision is still `record.revision` (compare-and-swap).
   * @returns the record as stored, its revision one higher.
   * @throws WaveConflictError carrying the stored record when another writer saved first.
   */
  save(record: WaveRecord): Promise<WaveRecord>;
}

/** Another writer saved the wave record since it was read: nothing was written. Exit 3. */
export class WaveConflictError extends InfrastructureError {
  constructor(
    public readonly stored: WaveRecord | undefined,
    expected: number,
    where: string,
  ) {
    super(`wave record in ${where} changed since it was read (revision ${stored?.revision ?? 0}, expected ${expected}); nothing was written`);
    this.name = "WaveConflictError";
  }
}

/** A wave record in a JSON file. */
export class FileWaveStore extends JsonFileStore<WaveRecord> implements WaveStore {
  constructor(file: string) {
    super(file, { what: "wave record", check: checkWaveRecord, conflict: (stored, expected, where) => new WaveConflictError(stored, expected, where) });
  }
}

/** A wave record in memory; keeps every save so a test can assert the sequence. */
export class MemoryWaveStore implements WaveStore {
  public readonly description = "memory";
  public readonly saved: WaveRecord[] = [];

  constructor(private current?: WaveRecord) {}

  async load(): Promise<WaveRecord | undefined> {
    return this.current;
  }

  async save(record: WaveRecord): Promise<WaveRecord> {
    const expected = record.revision ?? 0;
    if ((this.current?.revision ?? 0) !== expected) throw new WaveConflictError(this.current, expected, this.description);
    this.current = JSON.parse(JSON.stringify({ ...record, revision: expected + 1 })) as WaveRecord;
    this.saved.push(this.current);
    return this.current;
  }
}
