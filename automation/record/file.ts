/**
 * The record as a JSON file (the local sandbox target). Writes are atomic: the record is
 * written to a temporary file in the same directory, flushed, and renamed over the old one, so
 * a reader (or a driver killed mid-write) sees the old record or the new one, never half.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
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
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    const handle = await fs.open(tmp, "w");
    try {
      await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.rename(tmp, this.file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }
}
