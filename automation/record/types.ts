/** Where the rollout record lives. One interface, one file per implementation. */
import { RolloutRecord } from "../state";

/** Durable storage of one target's rollout record (the current or the last rollout). */
export interface RecordStore {
  /** Where the record is, for messages: a file path, a stack's config key. */
  readonly description: string;
  /** The stored record, or `undefined` when no rollout was ever recorded here. */
  load(): Promise<RolloutRecord | undefined>;
  /** Replaces the stored record. Completes only once the record is durable. */
  save(record: RolloutRecord): Promise<void>;
}
