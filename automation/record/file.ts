/**
 * The rollout record as a JSON file (the local sandbox target): written atomically,
 * compare-and-swap under a lock (./jsonFile.ts).
 */
import { checkRecord, RolloutRecord } from "../state";
import { JsonFileOptions, JsonFileStore } from "./jsonFile";
import { RecordConflictError, RecordStore } from "./types";

/** A rollout record in a JSON file. */
export class FileRecordStore extends JsonFileStore<RolloutRecord> implements RecordStore {
  constructor(file: string, options: JsonFileOptions = {}) {
    super(file, { what: "rollout record", check: checkRecord, conflict: (stored, expected, where) => new RecordConflictError(stored, expected, where) }, options);
  }
}
