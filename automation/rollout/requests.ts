/**
 * Control requests in the rollout record (`canary pause`, `abort`, `approve`…): pure functions to
 * create, merge, settle and apply them. A request becomes a transition of the record
 * ({@link applyControl}), the same whether the running driver applies it at its next tick or a
 * control call applies it to a stopped rollout.
 */
import { errorMessage } from "../errors";
import { ControlRequest, ControlVerb, describePhase, RolloutEvent, RolloutRecord, transition } from "../state";

/** What a control call asks for. */
export interface ControlInput {
  readonly verb: ControlVerb;
  readonly by: string;
  readonly reason: string;
  readonly gate?: string;
  readonly gradual?: boolean;
}

/** A pending request with a fresh id. */
export function newRequest(input: ControlInput, nowMs: number): ControlRequest {
  const id = `${nowMs.toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    id,
    verb: input.verb,
    at: new Date(nowMs).toISOString(),
    by: input.by,
    reason: input.reason,
    ...(input.gate !== undefined ? { gate: input.gate } : {}),
    ...(input.gradual ? { gradual: true } : {}),
    status: "pending",
  };
}

/**
 * The driver's record with the stored record's control requests merged in: requests the
 * driver has not seen are added (pending); the driver's own statuses win for the others.
 */
export function mergeControls(mine: RolloutRecord, stored: RolloutRecord | undefined): RolloutRecord {
  if (!stored || stored.id !== mine.id || !stored.controls?.length) return mine;
  const known = new Set((mine.controls ?? []).map((c) => c.id));
  const added = stored.controls.filter((c) => !known.has(c.id));
  return added.length ? { ...mine, controls: [...(mine.controls ?? []), ...added] } : mine;
}

/** Marks one request done. */
export function settle(record: RolloutRecord, id: string, status: "applied" | "refused", result: string, at: string): RolloutRecord {
  return { ...record, controls: (record.controls ?? []).map((c) => (c.id === id ? { ...c, status, result, doneAt: at } : c)) };
}

/** The pending requests, oldest first. */
export function pendingControls(record: RolloutRecord): readonly ControlRequest[] {
  return (record.controls ?? []).filter((c) => c.status === "pending");
}

/** Whether a gate has been approved (applied, or pending and not yet seen by the driver). */
export function approved(record: RolloutRecord, gate: string): boolean {
  return (record.controls ?? []).some((c) => c.verb === "approve" && c.gate === gate && c.status !== "refused");
}

/** `abort --gradual`: the plan's judged weights below the one in force, highest first. */
function gradualWeights(record: RolloutRecord): readonly number[] {
  const current = record.phase === "RollingBack" ? undefined : record.step?.weight;
  return current === undefined ? [] : record.steps.slice(0, -1).filter((w) => w < current).reverse();
}

/** Who applies a request: the running driver, or the control call itself on a stopped rollout. */
export type AppliedBy = "driver" | "stopped";

/**
 * The transition a request asks for, as an event of the record (none for an abort of a
 * rollback already under way, which retries its restore).
 * @throws IllegalTransitionError (from {@link transition}) when the verb is illegal in the record's phase.
 */
function eventOf(record: RolloutRecord, c: ControlRequest, at: string, by: AppliedBy): RolloutEvent | undefined {
  const stopped = by === "stopped" ? " (no driver running)" : "";
  const reason = `${c.verb}${c.gate ? ` (${c.gate})` : ""} by ${c.by}: ${c.reason}${stopped}`;
  const control = by === "driver" ? { control: c.id } : {};
  switch (c.verb) {
    case "abort": {
      if (record.phase === "RollingBack") return undefined;
      const gradual = c.gradual ? gradualWeights(record) : [];
      const evidence = { ...control, ...(gradual.length ? { gradual } : {}) };
      return {
        type: "rollback",
        at,
        reason: by === "driver" ? `aborted by ${c.by}: ${c.reason}` : reason,
        trigger: "operator",
        by: c.by,
        ...(Object.keys(evidence).length ? { evidence } : {}),
        ...(gradual.length ? { gradual } : {}),
      };
    }
    case "promote":
      return { type: "skip", at, reason, by: c.by, ...(by === "driver" ? { evidence: control } : {}) };
    case "approve":
      return { type: "approve", at, reason, by: c.by, gate: c.gate ?? "", ...(by === "driver" ? { evidence: control } : {}) };
    default:
      return { type: c.verb, at, reason, by: c.by, ...(by === "driver" ? { evidence: control } : {}) };
  }
}

/** Why `gate` is not one of the rollout's own gates (its plan's), or `undefined`. */
function gateRefusal(record: RolloutRecord, gate: string | undefined): string | undefined {
  const judged = record.steps.length - 1;
  const m = /^step (\d+)$/.exec(gate ?? "");
  if (m && Number(m[1]) >= judged) {
    return `cannot approve step ${m[1]} of rollout ${record.id}: its plan judges steps 0–${judged - 1} (weights ${record.steps.slice(0, -1).join(", ")}); the final ${record.steps[judged]} is the promotion (\`--promotion\`)`;
  }
  if (!m && gate !== "promotion") return `cannot approve ${JSON.stringify(gate)}: a gate is \`step <n>\` or \`promotion\``;
  if (record.gates && !record.gates.includes(gate as string)) {
    return `cannot approve ${gate} of rollout ${record.id}: its plan has no gate before ${gate === "promotion" ? "promotion" : `step ${m![1]}`} (its gates: ${record.gates.join(", ") || "none"})`;
  }
  return undefined;
}

/** Why a request cannot be applied to the record now, or `undefined`. */
export function refusalOf(record: RolloutRecord, c: Pick<ControlRequest, "verb" | "gate" | "gradual" | "by" | "reason" | "id">, at: string, by: AppliedBy): string | undefined {
  if (c.verb === "approve") {
    const refused = gateRefusal(record, c.gate);
    if (refused !== undefined) return refused;
  }
  if (record.intent?.action === "setWeight" && (c.verb === "pause" || c.verb === "freeze")) {
    // A stopped driver may have applied the weight already: only a driver can find out (it reads the target back).
    return `cannot ${c.verb} rollout ${record.id} while its canary weight is being changed to ${record.intent.weight} (step ${record.intent.step}); run \`canary rollout\` to resume it, or \`canary abort\``;
  }
  try {
    const event = eventOf(record, { ...c, status: "pending", at }, at, by);
    if (event) transition(record, event);
    return undefined;
  } catch (e) {
    return errorMessage(e);
  }
}

/**
 * Applies one request: its transition recorded (with who asked and why) and the request settled
 * `applied`, or the request settled `refused` with why and nothing else changed. Pure.
 */
export function applyControl(record: RolloutRecord, c: ControlRequest, at: string, by: AppliedBy): { readonly record: RolloutRecord; readonly applied: boolean } {
  const refused = refusalOf(record, c, at, by);
  if (refused !== undefined) return { record: settle(record, c.id, "refused", refused, at), applied: false };
  const event = eventOf(record, c, at, by);
  const next = event ? transition(record, event) : record;
  // An abort of a rollback under way: a driver is restoring already; with no driver, the call retries the restore.
  const result = c.verb === "abort" ? (event ? "rolling back" : by === "driver" ? "already rolling back" : "retrying the restore") : `now ${describePhase(next)}`;
  return { record: settle(next, c.id, "applied", result, at), applied: true };
}
