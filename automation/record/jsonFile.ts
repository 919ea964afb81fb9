/**
 * A JSON document in a file, as the driver's records are kept locally (the rollout record of the
 * sandbox target, the wave record). Writes are atomic: the document is written to a temporary
 * file in the same directory, flushed, and renamed over the old one, so a reader (or a process
 * killed mid-write) sees the old document or the new one, never half. Saves are compare-and-swap
 * on the document's `revision` under a lock (`<file>.lock`, proper-lockfile), so two processes (a
 * driver and a control verb) cannot both write over the same revision.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import * as lockfile from "proper-lockfile";
import { writeFileAtomic } from "../atomicFile";
import { RecordError } from "../state";

/**
 * The lock is held only to read, compare and rename (milliseconds); one older than this was
 * left by a killed process and is taken over.
 */
const LOCK_STALE_MS = 10_000;
/** Longest wait between two attempts to take the lock. */
const LOCK_POLL_MS = 200;

/** Options of a {@link JsonFileStore}. */
export interface JsonFileOptions {
  /**
   * Age in ms after which a lock is taken to be a killed process's and taken over. Defaults to
   * 10 s: far longer than a save holds it, short enough for a rerun after a kill. The lock
   * library takes nothing under 2 s.
   */
  readonly lockStaleMs?: number;
}

/** A document saved compare-and-swap: `revision` counts its saves (absent: never saved). */
export interface Revisioned {
  readonly revision?: number;
}

/** What a {@link JsonFileStore} stores. */
export interface JsonDocumentKind<T extends Revisioned> {
  /** What the document is, for messages (`rollout record`). */
  readonly what: string;
  /** Checks parsed JSON is such a document. @throws RecordError naming the problem. */
  check(value: unknown, source: string): T;
  /** The error of a save another writer beat (nothing was written). */
  conflict(stored: T | undefined, expected: number, where: string): Error;
}

/**
 * The parsed JSON in `file`; undefined when there is no such file.
 * @param what the document, for the error (`rollout history file …`).
 * @throws RecordError when the file is not valid JSON.
 */
export async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new RecordError(`${what}: not valid JSON: ${(e as Error).message}`);
  }
}

/** One document in a JSON file; see the module comment. */
export class JsonFileStore<T extends Revisioned> {
  private readonly lockStaleMs: number;

  constructor(
    public readonly file: string,
    private readonly kind: JsonDocumentKind<T>,
    options: JsonFileOptions = {},
  ) {
    this.lockStaleMs = Math.max(options.lockStaleMs ?? LOCK_STALE_MS, 2_000);
  }

  get description(): string {
    return `file ${this.file}`;
  }

  async load(): Promise<T | undefined> {
    const value = await readJsonFile(this.file, `${this.kind.what} in ${this.description}`);
    return value === undefined ? undefined : this.kind.check(value, this.description);
  }

  /**
   * Replaces the stored document when its revision is still `doc.revision`.
   * @returns the document as stored, its revision one higher.
   * @throws the kind's conflict error when another writer saved first.
   */
  async save(doc: T): Promise<T> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    let release: () => Promise<void>;
    try {
      // A writer waits up to twice the staleness for the lock: long enough to take over a lock a
      // process killed mid-save left behind, however soon after the kill it starts (a wait only
      // as long as the staleness gave up just before the lock went stale).
      const retries = Math.ceil((2 * this.lockStaleMs) / LOCK_POLL_MS);
      release = await lockfile.lock(this.file, { realpath: false, stale: this.lockStaleMs, retries: { retries, minTimeout: 10, maxTimeout: LOCK_POLL_MS } });
    } catch (e) {
      throw new RecordError(`cannot lock the ${this.kind.what} in ${this.description} (${this.file}.lock): ${(e as Error).message}`);
    }
    try {
      const stored = await this.load();
      const expected = doc.revision ?? 0;
      if ((stored?.revision ?? 0) !== expected) throw this.kind.conflict(stored, expected, this.description);
      const next = { ...doc, revision: expected + 1 };
      await writeFileAtomic(this.file, `${JSON.stringify(next, null, 2)}\n`);
      return next;
    } finally {
      await release();
    }
  }
}
