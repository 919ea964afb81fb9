/**
 * The rollout history: every rollout's record kept after it ends, in a directory that outlives
 * the stack config key (which holds only the current rollout). One JSON file per rollout,
 * `<id>.json`, rewritten atomically after every transition, so a killed driver leaves its
 * rollout in the history too; and next to it `<id>.trace.jsonl`, the judge's tick-by-tick
 * readings that the report charts (automation/report/trace.ts).
 *
 * {@link summarizeRollout} (pure) turns a kept record into the line `canary history` prints.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { writeFileAtomic } from "../atomicFile";
import { readJsonFile } from "../record/jsonFile";
import { checkRecord, RecordError, RolloutRecord } from "../state";

/** A rollout as the history keeps it: the record plus what the record does not know. */
export interface KeptRollout {
  readonly schema: 1;
  /** The service rolled out (the record knows the stack, not the service). */
  readonly service: string;
  /** Who started it: `user@host`, or the operator who asked for a retry. */
  readonly startedBy: string;
  readonly record: RolloutRecord;
}

/** How a kept rollout ended (or stands). */
export type HistoryOutcome = "promoted" | "rolledBack" | "rollbackFailed" | "rollingBack" | "paused" | "running";

/** One line of `canary history`. */
export interface RolloutSummary {
  readonly rollout: string;
  readonly service: string;
  readonly stack: string;
  readonly version: string;
  readonly stableVersion: string | null;
  /** ISO times; `end` is `null` while the rollout is unfinished. */
  readonly start: string;
  readonly end: string | null;
  readonly outcome: HistoryOutcome;
  /** Who or what asked for the rollback (`analysis`, `operator`, `error`); `null` when none was. */
  readonly trigger: string | null;
  /** The deciding transition's reason (the rollback's, the promotion's). */
  readonly reason: string;
  /** Seconds from start to end (to the last change while unfinished). */
  readonly durationSeconds: number;
  /** Who started it, and who else acted on it (control verbs), in order. */
  readonly who: string;
  readonly operators: readonly string[];
}

/** The outcome of a record, from its phase and last transitions. */
export function outcomeOf(record: RolloutRecord): HistoryOutcome {
  switch (record.phase) {
    case "Succeeded":
      return "promoted";
    case "RolledBack":
      return "rolledBack";
    case "RollingBack":
      return record.history[record.history.length - 1]?.type === "rollbackFailed" ? "rollbackFailed" : "rollingBack";
    case "Paused":
    case "Frozen":
      return "paused";
    default:
      return "running";
  }
}

/** The summary line of a kept rollout (pure). */
export function summarizeRollout(k: KeptRollout): RolloutSummary {
  const r = k.record;
  const outcome = outcomeOf(r);
  const finished = outcome === "promoted" || outcome === "rolledBack";
  const last = (type: string) => [...r.history].reverse().find((h) => h.type === type);
  const rollback = last("rollback");
  const deciding = outcome === "promoted" ? last("promote") ?? last("promoteFull") : rollback ?? r.history[r.history.length - 1];
  const operators = [...new Set(r.history.map((h) => h.by).filter((b): b is string => b !== undefined && b !== k.startedBy))];
  const stable = (r.snapshot as { stableVersion?: unknown } | undefined)?.stableVersion;
  return {
    rollout: r.id,
    service: k.service,
    stack: r.stack,
    version: r.version,
    stableVersion: typeof stable === "string" ? stable : null,
    start: r.createdAt,
    end: finished ? r.updatedAt : null,
    outcome,
    trigger: rollback?.trigger ?? null,
    reason: deciding?.reason ?? "",
    durationSeconds: Math.max(0, (Date.parse(r.updatedAt) - Date.parse(r.createdAt)) / 1000),
    who: k.startedBy,
    operators,
  };
}

/** `1h02m`, `3m05s`, `42s`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** The history as a table for people, newest first (pure). */
export function formatHistory(rows: readonly RolloutSummary[]): string {
  if (rows.length === 0) return "no rollouts in the history";
  const header = ["VERSION", "START", "END", "OUTCOME", "TRIGGER", "DURATION", "WHO", "ROLLOUT"];
  const lines = rows.map((r) => [
    r.version,
    r.start.replace(/\.\d+Z$/, "Z"),
    r.end?.replace(/\.\d+Z$/, "Z") ?? "-",
    r.outcome,
    r.trigger ?? "-",
    formatDuration(r.durationSeconds),
    [r.who, ...r.operators].join(", "),
    r.rollout,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

/** A rollout id made safe for a file name. */
export function fileBase(rollout: string): string {
  return rollout.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** The history directory: one file per rollout; see the module comment. */
export class HistoryStore {
  constructor(public readonly dir: string) {}

  /** The record file of a rollout. */
  recordFile(rollout: string): string {
    return path.join(this.dir, `${fileBase(rollout)}.json`);
  }

  /** The trace file of a rollout (the judge's readings, one JSON line per tick). */
  traceFile(rollout: string): string {
    return path.join(this.dir, `${fileBase(rollout)}.trace.jsonl`);
  }

  /** Keeps (or replaces) a rollout; atomic. */
  async save(k: KeptRollout): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true });
    const file = this.recordFile(k.record.id);
    await writeFileAtomic(file, `${JSON.stringify(k, null, 2)}\n`);
    return file;
  }

  /**
   * A kept rollout, or `undefined` when there is none with that id.
   * @throws RecordError when its file is not a kept rollout.
   */
  async load(rollout: string): Promise<KeptRollout | undefined> {
    return this.read(this.recordFile(rollout));
  }

  /**
   * Every kept rollout, newest first (by start).
   * @throws RecordError naming the first file that is not a kept rollout.
   */
  async list(): Promise<KeptRollout[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    const kept: KeptRollout[] = [];
    for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
      const k = await this.read(path.join(this.dir, name));
      if (k) kept.push(k);
    }
    return kept.sort((a, b) => b.record.createdAt.localeCompare(a.record.createdAt) || b.record.id.localeCompare(a.record.id));
  }

  private async read(file: string): Promise<KeptRollout | undefined> {
    const value = await readJsonFile(file, `rollout history file ${file}`);
    if (value === undefined) return undefined;
    const v = value as Partial<KeptRollout> | null;
    if (v === null || typeof v !== "object" || v.schema !== 1 || typeof v.service !== "string" || typeof v.startedBy !== "string") {
      throw new RecordError(`rollout history file ${file}: not a kept rollout (schema 1 with service, startedBy and record)`);
    }
    return { schema: 1, service: v.service, startedBy: v.startedBy, record: checkRecord(v.record, `history file ${file}`) };
  }
}
