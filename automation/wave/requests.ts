/**
 * Control requests in the wave record (`canary wave abort|pause|resume|approve`): pure functions
 * to create, merge and apply them. A request becomes an event of the record by
 * {@link applyWaveControl}, the same whether the running wave driver applies it at its next tick
 * or a control call applies it to a stopped wave (./control.ts).
 */
import { errorMessage } from "../errors";
import { isWaveUnfinished, recordWaveEvent, WaveControlRequest, WaveControlVerb, WaveEvent, WaveRecord } from "./record";

/** What a wave control call asks for. */
export interface WaveControlInput {
  readonly verb: WaveControlVerb;
  readonly by: string;
  readonly reason: string;
  /** `approve`: the stage whose gate it opens. */
  readonly stage?: string;
  /** `abort`: restore every promoted stage whatever the wave's onFailure. */
  readonly all?: boolean;
}

/** A pending request with a fresh id. */
export function newWaveRequest(input: WaveControlInput, nowMs: number): WaveControlRequest {
  return {
    id: `${nowMs.toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    verb: input.verb,
    at: new Date(nowMs).toISOString(),
    by: input.by,
    reason: input.reason,
    ...(input.stage !== undefined ? { stage: input.stage } : {}),
    ...(input.all ? { all: true } : {}),
    status: "pending",
  };
}

/** The driver's record with the requests of the stored one it has not seen added (pending); its own statuses win. */
export function mergeWaveControls(mine: WaveRecord, stored: WaveRecord | undefined): WaveRecord {
  if (!stored || stored.id !== mine.id || !stored.controls?.length) return mine;
  const known = new Set((mine.controls ?? []).map((c) => c.id));
  const added = stored.controls.filter((c) => !known.has(c.id));
  return added.length ? { ...mine, controls: [...(mine.controls ?? []), ...added] } : mine;
}

/** The pending requests, oldest first. */
export function pendingWaveControls(record: WaveRecord): readonly WaveControlRequest[] {
  return (record.controls ?? []).filter((c) => c.status === "pending");
}

/** The event a request asks for, or why it cannot be applied now. */
function eventOf(record: WaveRecord, c: Pick<WaveControlRequest, "verb" | "by" | "reason" | "stage" | "all">, at: string, gates: readonly string[]): WaveEvent | string {
  const words = `${c.verb}${c.stage !== undefined ? ` (stage ${c.stage})` : ""} by ${c.by}: ${c.reason}`;
  if (!isWaveUnfinished(record.phase)) return `wave ${record.id} is ${record.phase}: nothing to ${c.verb}`;
  if (record.phase === "RollingBack") return `wave ${record.id} is rolling back (${record.failure?.reason ?? "a stage failed"}): nothing to ${c.verb}`;
  switch (c.verb) {
    case "abort":
      return { type: "fail", at, stage: record.stage, trigger: "operator", reason: `aborted by ${c.by}: ${c.reason}`, by: c.by, ...(c.all ? { all: true } : {}) };
    case "pause":
      return record.paused ? `wave ${record.id} is already paused (by ${record.paused.by} at ${record.paused.at})` : { type: "pause", at, reason: words, by: c.by };
    case "resume":
      return record.paused ? { type: "resume", at, reason: words, by: c.by } : `wave ${record.id} is not paused: nothing to resume`;
    case "approve": {
      const index = record.stages.findIndex((s) => s.name === c.stage);
      if (index < 0) return `wave ${record.id} has no stage ${JSON.stringify(c.stage)} (stages: ${record.stages.map((s) => s.name).join(", ")})`;
      if (!gates.includes(c.stage!)) return `stage ${c.stage} has no gate (gates: ${gates.length ? gates.join(", ") : "none"})`;
      const started = index < record.stage || (index === record.stage && (record.phase !== "Running" || record.stages[index].stacks.some((s) => s.status !== "pending")));
      if (started) return `stage ${c.stage} has started already: nothing to approve`;
      return { type: "approve", at, stage: c.stage!, reason: words, by: c.by };
    }
  }
}

/** Why a request cannot be applied to the record now, or `undefined`. */
export function waveRefusalOf(record: WaveRecord, c: Pick<WaveControlRequest, "verb" | "by" | "reason" | "stage" | "all">, at: string, gates: readonly string[]): string | undefined {
  const e = eventOf(record, c, at, gates);
  if (typeof e === "string") return e;
  try {
    recordWaveEvent(record, e);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/**
 * Applies one request: its event recorded (with who asked and why) and the request settled
 * `applied`, or settled `refused` with why and nothing else changed. Pure.
 * @param gates the names of the stages that have a gate (from the wave file).
 */
export function applyWaveControl(record: WaveRecord, c: WaveControlRequest, at: string, gates: readonly string[]): { readonly record: WaveRecord; readonly applied: boolean } {
  const settle = (r: WaveRecord, status: "applied" | "refused", result: string): WaveRecord => ({
    ...r,
    controls: (r.controls ?? []).map((x) => (x.id === c.id ? { ...x, status, result, doneAt: at } : x)),
  });
  const refused = waveRefusalOf(record, c, at, gates);
  if (refused !== undefined) return { record: settle(record, "refused", refused), applied: false };
  const next = recordWaveEvent(record, eventOf(record, c, at, gates) as WaveEvent);
  const result = c.verb === "abort" ? "rolling back" : c.verb === "approve" ? `stage ${c.stage} approved` : c.verb === "pause" ? "paused" : "resumed";
  return { record: settle(next, "applied", result), applied: true };
}
