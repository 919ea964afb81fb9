/**
 * The record as a JSON file (the local sandbox target). Writes are atomic: the record is
 * written to a temporary file in the same directory, flushed, and renamed over the old one, so
 * a reader (or a driver killed mid-write) sees the old record or the new one, never half.
 */
import * as fs from "node:fs/promises";
import { writeFileAtomic } from "../atomicFile";
import { checkRecord, RecordError, RolloutRecord } from "../state";
import { RecordStore } from "./types";

/** A rollout record in a JSON file. */
export class FileRecordStore implements RecordStore {
  constructor(public readonly file: string) {}

  get description(): string {
    return `file ${this.file}`;
  }

  async load(): Promise<RolloutRecord | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new RecordError(`rollout record in ${this.description}: not valid JSON: ${(e as Error).message}`);
    }
    return checkRecord(value, this.description);
  }

  async save(record: RolloutRecord): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(record, null, 2)}\n`);
  }
}
