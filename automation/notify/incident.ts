/**
 * The incident record of a rolled-back rollout: a JSON file for tools and a markdown file for
 * people, with the evidence (the timeline, the decision that triggered the rollback with its
 * numbers, the weights, the versions) and a post-mortem template. Rendering is pure; writing is
 * atomic, and is repeated as the rollback completes so the files always show its latest state.
 */
import * as path from "node:path";
import { HistoryEntry, Phase, RollbackTrigger, RolloutRecord } from "../state";
import { writeFileAtomic } from "../atomicFile";
import { decisionOf, stableVersionOf } from "./events";
import { fmt, pct } from "./format";
import { DecisionNumbers } from "./types";

/** How the rollback stands. */
export type IncidentOutcome = "rollingBack" | "rolledBack" | "rollbackFailed";

/** One line of the timeline: a history entry without its bulky evidence. */
export interface TimelineEntry {
  readonly at: string;
  readonly type: string;
  readonly from: Phase;
  readonly to: Phase;
  readonly reason: string;
  readonly step: number | null;
  readonly weight: number | null;
}

/** The JSON incident record (schema version 1). */
export interface Incident {
  readonly version: 1;
  readonly rollout: string;
  readonly service: string;
  readonly stack: string;
  readonly target: string;
  readonly canaryVersion: string;
  readonly canaryImage: string;
  readonly stableVersion: string | null;
  readonly outcome: IncidentOutcome;
  readonly trigger: RollbackTrigger | null;
  /** The rollback's reason. */
  readonly reason: string;
  readonly startedAt: string;
  readonly rollbackAt: string;
  /** When the snapshot was restored (`rolledBack`), or `null`. */
  readonly restoredAt: string | null;
  /** The restore's error when it failed, or `null`. */
  readonly restoreError: string | null;
  readonly weights: {
    /** Every weight of the plan; all but the last are judged. */
    readonly plan: readonly number[];
    /** The step and weight in force when the rollback was decided. */
    readonly stepAtRollback: number | null;
    readonly weightAtRollback: number | null;
    /** Each weight applied, in order. */
    readonly applied: readonly { readonly at: string; readonly step: number; readonly weight: number }[];
  };
  /** The judge decision that triggered the rollback, with its numbers (`null` for an operator or an error). */
  readonly decision: DecisionNumbers | null;
  /** The rollback's evidence as recorded, for a trigger other than the judge (an error, an applied weight). */
  readonly evidence: unknown;
  readonly timeline: readonly TimelineEntry[];
}

/** Thrown for a record without a rollback. */
export class IncidentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IncidentError";
  }
}

function lastOf(history: readonly HistoryEntry[], type: string): HistoryEntry | undefined {
  for (let i = history.length - 1; i >= 0; i--) if (history[i].type === type) return history[i];
  return undefined;
}

/**
 * The incident of a record that rolled back (or is rolling back).
 * @throws IncidentError when the record has no rollback in its history.
 */
export function buildIncident(record: RolloutRecord, service: string): Incident {
  const rollback = lastOf(record.history, "rollback");
  if (!rollback) throw new IncidentError(`rollout ${record.id} on ${record.stack} has no rollback in its history (phase ${record.phase})`);
  const after = record.history.slice(record.history.indexOf(rollback) + 1);
  const restored = after.find((h) => h.type === "rolledBack");
  const failed = after.filter((h) => h.type === "rollbackFailed").pop();
  const outcome: IncidentOutcome = restored ? "rolledBack" : failed ? "rollbackFailed" : "rollingBack";
  const decision = decisionOf(rollback.evidence);
  return {
    version: 1,
    rollout: record.id,
    service,
    stack: record.stack,
    target: record.target,
    canaryVersion: record.version,
    canaryImage: record.image,
    stableVersion: stableVersionOf(record),
    outcome,
    trigger: rollback.trigger ?? null,
    reason: rollback.reason,
    startedAt: record.createdAt,
    rollbackAt: rollback.at,
    restoredAt: restored?.at ?? null,
    restoreError: !restored && failed ? failed.reason : null,
    weights: {
      plan: record.steps,
      stepAtRollback: rollback.step ?? null,
      weightAtRollback: rollback.weight ?? null,
      applied: record.history.filter((h) => h.type === "advance" && h.step !== undefined && h.weight !== undefined).map((h) => ({ at: h.at, step: h.step!, weight: h.weight! })),
    },
    decision,
    evidence: decision ? null : (rollback.evidence ?? null),
    timeline: record.history.map((h) => ({ at: h.at, type: h.type, from: h.from, to: h.to, reason: h.reason, step: h.step ?? null, weight: h.weight ?? null })),
  };
}

/** A table cell: pipes escaped, one line. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

const OUTCOME_TEXT: Readonly<Record<IncidentOutcome, string>> = {
  rollingBack: "rolling back (the restore has not finished)",
  rolledBack: "rolled back",
  rollbackFailed: "ROLLBACK FAILED: the stack may still route traffic to the canary",
};

/** The markdown incident record (pure). */
export function renderIncidentMarkdown(i: Incident): string {
  const lines: string[] = [
    `# Incident: rollback of ${i.service} ${i.canaryVersion} on ${i.stack}`,
    "",
    "| | |",
    "|---|---|",
    `| Rollout | ${cell(i.rollout)} |`,
    `| Service | ${cell(i.service)} |`,
    `| Stack | ${cell(i.stack)} (${cell(i.target)}) |`,
    `| Canary | ${cell(i.canaryVersion)} (${cell(i.canaryImage)}) |`,
    `| Stable | ${cell(i.stableVersion ?? "unknown")} |`,
    `| Started | ${i.startedAt} |`,
    `| Rollback decided | ${i.rollbackAt} (trigger: ${i.trigger ?? "unknown"}) |`,
    `| Outcome | ${OUTCOME_TEXT[i.outcome]}${i.restoredAt ? ` at ${i.restoredAt}` : ""}${i.restoreError ? `: ${cell(i.restoreError)}` : ""} |`,
    "",
    "## Why it rolled back",
    "",
    i.reason,
    "",
  ];
  if (i.decision) {
    const d = i.decision;
    lines.push(`### Judge decision: ${d.decision}`, "");
    lines.push(`Step time ${fmt(d.stepElapsedSeconds)}s, observed with canary traffic ${fmt(d.stepObservedSeconds)}s.`, "");
    if (d.reasons.length > 0) lines.push(...d.reasons.map((r) => `- ${r}`), "");
    if (d.metrics.length > 0) {
      lines.push("| Metric | Status | Canary rate | Baseline rate | Canary requests | Ratio | Ratio bounds | E-value | Rollback at |", "|---|---|---|---|---|---|---|---|---|");
      for (const m of d.metrics) {
        lines.push(
          `| ${cell(m.name)} | ${m.status} | ${pct(m.canaryRate)} | ${pct(m.baselineRate)} | ${fmt(m.canaryRequests)} | ${fmt(m.ratio)} | [${fmt(m.ratioLower)}, ${fmt(m.ratioUpper, "∞")}] | ${fmt(m.eValue)} | ${fmt(m.rollbackThreshold)} |`,
        );
      }
      lines.push("");
    }
    if (d.guardrails.length > 0) {
      lines.push("| Guardrail | Status | Observed | Lower bound | Limit | Requests |", "|---|---|---|---|---|---|");
      for (const g of d.guardrails) lines.push(`| ${cell(g.name)} | ${g.status} | ${pct(g.observed)} | ${pct(g.lowerBound)} | ${pct(g.limit)} | ${fmt(g.requests)} |`);
      lines.push("");
    }
  } else if (i.evidence !== null) {
    lines.push("### Evidence", "", "```json", JSON.stringify(i.evidence, null, 2), "```", "");
  }
  lines.push(
    "## Weights",
    "",
    `Plan: ${i.weights.plan.join(" → ")}. At the rollback: ${i.weights.weightAtRollback === null ? "no step applied yet" : `step ${i.weights.stepAtRollback} at weight ${i.weights.weightAtRollback}`}.`,
    "",
    "| Applied at | Step | Weight |",
    "|---|---|---|",
    ...i.weights.applied.map((a) => `| ${a.at} | ${a.step} | ${a.weight} |`),
    "",
    "## Timeline",
    "",
    "| Time | Event | Phase | Step | Weight | Reason |",
    "|---|---|---|---|---|---|",
    ...i.timeline.map((t) => `| ${t.at} | ${t.type} | ${t.from} → ${t.to} | ${t.step ?? ""} | ${t.weight ?? ""} | ${cell(t.reason)} |`),
    "",
    "## Post-mortem",
    "",
    "_To be completed by the owning team._",
    "",
    "### Impact",
    "",
    "- Requests served by the canary while it failed: ",
    "- Users or tenants affected: ",
    "",
    "### Root cause",
    "",
    "### Detection",
    "",
    `- The rollback was decided at ${i.rollbackAt} (trigger: ${i.trigger ?? "unknown"}), ${fmt((Date.parse(i.rollbackAt) - Date.parse(i.startedAt)) / 1000)}s after the rollout started` +
      `${i.decision?.stepElapsedSeconds != null && i.weights.stepAtRollback !== null ? ` and ${fmt(i.decision.stepElapsedSeconds)}s into step ${i.weights.stepAtRollback} (weight ${i.weights.weightAtRollback})` : ""}.`,
    "- Was that fast enough? Would a different plan or judge setting have caught it earlier?",
    "",
    "### What went well",
    "",
    "### What went wrong",
    "",
    "### Action items",
    "",
    "| Action | Owner | Due |",
    "|---|---|---|",
    "| | | |",
    "",
  );
  return lines.join("\n");
}

/** The base file name of a rollout's incident files (its id, made safe for a file name). */
export function incidentBaseName(rollout: string): string {
  return `incident-${rollout.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}

/**
 * Writes `<dir>/incident-<rollout>.json` and `.md` atomically and returns their paths.
 * @throws IncidentError when the record has no rollback; file system errors as they are.
 */
export async function writeIncident(record: RolloutRecord, service: string, dir: string): Promise<{ json: string; markdown: string }> {
  const incident = buildIncident(record, service);
  const base = path.join(dir, incidentBaseName(record.id));
  const files = { json: `${base}.json`, markdown: `${base}.md` };
  await writeFileAtomic(files.json, `${JSON.stringify(incident, null, 2)}\n`);
  await writeFileAtomic(files.markdown, renderIncidentMarkdown(incident));
  return files;
}
