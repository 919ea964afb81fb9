/** A record store in memory: for dry runs (which must not write anything) and tests. */
import { RolloutRecord } from "../state";
import { nextRevision, RecordStore } from "./types";

/** Keeps every saved record, so a test can assert the exact sequence of persisted phases. */
export class MemoryRecordStore implements RecordStore {
  public readonly description = "memory";
  /** Every record saved, oldest first. */
  public readonly saved: RolloutRecord[] = [];

  constructor(private current?: RolloutRecord) {}

  async load(): Promise<RolloutRecord | undefined> {
    return this.current;
  }

  async save(record: RolloutRecord): Promise<RolloutRecord> {
    // Compared and swapped with no await in between: atomic within the process.
    const next = nextRevision(this.current, record, this.description);
    // A deep copy, so later changes to the caller's object cannot rewrite history.
    this.current = JSON.parse(JSON.stringify(next)) as RolloutRecord;
    this.saved.push(this.current);
    return this.current;
  }
}
