/**
 * The record as a JSON file (the local sandbox target). Writes are atomic: the record is
 * written to a temporary file in the same directory, flushed, and renamed over the old one, so
 * a reader (or a driver killed mid-write) sees the old record or the new one, never half.
 * Saves are compare-and-swap under a lock (`<file>.lock`, proper-lockfile), so two processes
 * (the driver and a control verb) cannot both write over the same revision.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import * as lockfile from "proper-lockfile";
import { writeFileAtomic } from "../atomicFile";
import { checkRecord, RecordError, RolloutRecord } from "../state";
import { nextRevision, RecordStore } from "./types";

/**
 * The lock is held only to read, compare and rename (milliseconds); one older than this was
 * left by a killed process and is taken over.
 */
const LOCK_STALE_MS = 10_000;
/** Longest wait between two attempts to take the lock. */
const LOCK_POLL_MS = 200;

/** Options of a {@link FileRecordStore}. */
export interface FileRecordStoreOptions {
  /**
   * Age in ms after which a lock is taken to be a killed process's and taken over. Defaults to
   * 10 s: far longer than a save holds it, short enough for a rerun after a kill. The lock
   * library takes nothing under 2 s.
   */
  readonly lockStaleMs?: number;
}

/** A rollout record in a JSON file. */
export class FileRecordStore implements RecordStore {
  private readonly lockStaleMs: number;

  constructor(
    public readonly file: string,
    options: FileRecordStoreOptions = {},
  ) {
    this.lockStaleMs = Math.max(options.lockStaleMs ?? LOCK_STALE_MS, 2_000);
  }

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

  async save(record: RolloutRecord): Promise<RolloutRecord> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    let release: () => Promise<void>;
    try {
      // A writer waits up to twice the staleness for the lock: long enough to take over a lock a
      // process killed mid-save left behind, however soon after the kill it starts (a wait only
      // as long as the staleness gave up just before the lock went stale).
      const retries = Math.ceil((2 * this.lockStaleMs) / LOCK_POLL_MS);
      release = await lockfile.lock(this.file, { realpath: false, stale: this.lockStaleMs, retries: { retries, minTimeout: 10, maxTimeout: LOCK_POLL_MS } });
    } catch (e) {
      throw new RecordError(`cannot lock the rollout record in ${this.description} (${this.file}.lock): ${(e as Error).message}`);
    }
    try {
      const next = nextRevision(await this.load(), record, this.description);
      await writeFileAtomic(this.file, `${JSON.stringify(next, null, 2)}\n`);
      return next;
    } finally {
      await release();
    }
  }
}
