/**
 * Builds notifications from the rollout record (pure). The driver already records every
 * transition with its reason and evidence; a notification is that history entry seen from
 * outside: which service, stack, step and weight, and the judge's numbers when a decision was
 * behind it.
 */
import { HistoryEntry, RolloutRecord } from "../state";
import { DecisionNumbers, GuardrailNumbers, MetricNumbers, NotificationEvent } from "./types";

/** The stable version from the record's snapshot, when the target recorded one. */
export function stableVersionOf(record: RolloutRecord): string | null {
  const s = record.snapshot as { stableVersion?: unknown } | undefined;
  return typeof s?.stableVersion === "string" ? s.stableVersion : null;
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function list(v: unknown): readonly Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => x !== null && typeof x === "object") : [];
}

/**
 * The judge decision inside a transition's evidence, or `null`. The driver records a full
 * decision (reasons, metric and guardrail reports) for promote and rollback, and the previous
 * step's verdict summary (reasons only) under `verdict` for a step advance.
 */
export function decisionOf(evidence: unknown): DecisionNumbers | null {
  if (evidence === null || typeof evidence !== "object") return null;
  const e = evidence as Record<string, unknown>;
  if (typeof e.decision !== "string") return e.verdict !== undefined ? decisionOf(e.verdict) : null;
  const reasons = Array.isArray(e.reasons) ? e.reasons.filter((r): r is string => typeof r === "string") : [];
  const metrics = list(e.metrics).map(
    (m): MetricNumbers => ({
      name: str(m.name),
      status: str(m.status),
      canaryRate: num(m.canaryRate),
      baselineRate: num(m.baselineRate),
      canaryRequests: num(m.canaryRequests),
      ratio: num(m.ratio),
      ratioLower: num(m.ratioLower),
      ratioUpper: num(m.ratioUpper),
      eValue: num(m.eValue),
      rollbackThreshold: num(m.rollbackThreshold),
    }),
  );
  const guardrails = list(e.guardrails).map(
    (g): GuardrailNumbers => ({ name: str(g.name), status: str(g.status), observed: num(g.observed), lowerBound: num(g.lowerBound), limit: num(g.limit), requests: num(g.requests) }),
  );
  return { decision: e.decision, reasons, stepElapsedSeconds: num(e.stepElapsedSeconds), stepObservedSeconds: num(e.stepObservedSeconds), metrics, guardrails };
}

/**
 * The rolled-back rollout a record retries, from its start entry's evidence: the chain's first
 * (`retryRoot`) when recorded, else the one retried (`retryOf`); `null` when it is no retry.
 */
export function retryOfRecord(record: RolloutRecord): string | null {
  const start = record.history.find((h) => h.type === "start");
  const e = start?.evidence as { retryRoot?: unknown; retryOf?: unknown } | undefined;
  if (typeof e?.retryRoot === "string") return e.retryRoot;
  return typeof e?.retryOf === "string" ? e.retryOf : null;
}

/** The parts of a notification that come from the record alone. */
function base(record: RolloutRecord, service: string): Pick<NotificationEvent, "version" | "rollout" | "service" | "stack" | "target" | "judgedSteps" | "canaryVersion" | "stableVersion" | "retryOf"> {
  return {
    version: 1,
    rollout: record.id,
    service,
    stack: record.stack,
    target: record.target,
    judgedSteps: Math.max(record.steps.length - 1, 0),
    canaryVersion: record.version,
    stableVersion: stableVersionOf(record),
    retryOf: retryOfRecord(record),
  };
}

/** The notification for one transition (a history entry of `record`). */
export function notificationFor(record: RolloutRecord, entry: HistoryEntry, service: string): NotificationEvent {
  return {
    ...base(record, service),
    type: entry.type,
    at: entry.at,
    phase: entry.to,
    previousPhase: entry.from,
    step: entry.step ?? null,
    weight: entry.weight ?? null,
    reason: entry.reason,
    trigger: entry.trigger ?? null,
    gate: null,
    decision: decisionOf(entry.evidence),
  };
}

/** What the driver knows when it starts waiting at a manual gate. */
export interface GateWait {
  /** The gate's name in the plan. */
  readonly gate: string;
  readonly at: string;
  /** What the gate waits for, such as `approval before step 2 (weight 50)`. */
  readonly reason: string;
}

/** The notification that the rollout waits at a manual gate (no phase change). */
export function gateWaitingNotification(record: RolloutRecord, wait: GateWait, service: string): NotificationEvent {
  return {
    ...base(record, service),
    type: "gateWaiting",
    at: wait.at,
    phase: record.phase,
    previousPhase: null,
    step: record.step?.index ?? null,
    weight: record.step?.weight ?? null,
    reason: wait.reason,
    trigger: null,
    gate: wait.gate,
    decision: null,
  };
}
