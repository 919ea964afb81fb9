/**
 * The trace of a rollout: one sample per judged tick, with the counts the judge read and what it
 * concluded (the decision, the ratio's confidence bounds, the evidence, the guardrails). The
 * record keeps only transitions and the last verdict; the report's charts need every tick. The
 * samples are plain JSON, appended one line each to `<id>.trace.jsonl` next to the kept record.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { LatencyBucket, TickMeasurement, Verdict, VersionCounts } from "../analysis/types";
import { MAX_TRACE_BYTES, readBoundedIfExists } from "../inputFile";
import { RecordError, RolloutRecord } from "../state";

/** What one version served during a tick. */
export interface TraceCounts {
  readonly requests: number;
  readonly errors: number;
  /** Cumulative latency buckets of the tick (`le` in seconds; `null` for +Inf). */
  readonly latency?: readonly { readonly le: number | null; readonly count: number }[];
}

/** One canary-versus-baseline metric as of a tick. */
export interface TraceMetric {
  readonly name: string;
  readonly status: string;
  readonly canaryRate: number;
  readonly baselineRate: number;
  readonly canaryRequests: number;
  readonly ratio: number;
  readonly ratioLower: number;
  /** `null`: unbounded. */
  readonly ratioUpper: number | null;
  readonly eValue: number;
  readonly rollbackThreshold: number;
  readonly margin: number;
  readonly allowedRatio: number;
}

/** One guardrail as of a tick. */
export interface TraceGuardrail {
  readonly name: string;
  readonly status: string;
  readonly observed: number;
  readonly lowerBound: number;
  readonly limit: number;
  readonly requests: number;
}

/** One judged tick. */
export interface TraceSample {
  /** The tick's end, Unix seconds. */
  readonly at: number;
  /** The tick's start, Unix seconds, when it had counts. */
  readonly start: number | null;
  readonly step: number | null;
  readonly weight: number | null;
  /** The measurement's kind (`ok`, `priming`, `noValues`, `queryFailed`). */
  readonly kind: TickMeasurement["kind"] | "unknown";
  readonly canary: TraceCounts | null;
  readonly baseline: TraceCounts | null;
  readonly decision: string;
  readonly hold: string | null;
  /** The verdict's first reason. */
  readonly reason: string;
  readonly metrics: readonly TraceMetric[];
  readonly guardrails: readonly TraceGuardrail[];
}

function counts(v: VersionCounts | undefined): TraceCounts | null {
  if (!v) return null;
  const latency = v.latencyBuckets?.map((b: LatencyBucket) => ({ le: Number.isFinite(b.le) ? b.le : null, count: b.count }));
  return { requests: v.requests, errors: v.errors, ...(latency ? { latency } : {}) };
}

/** The sample of a tick (pure): the verdict, the step in force, and the measurement judged when it is known. */
export function traceSample(verdict: Verdict, record: Pick<RolloutRecord, "step">, measurement?: TickMeasurement): TraceSample {
  const m = measurement;
  return {
    at: verdict.at,
    start: m && (m.kind === "ok" || m.kind === "noValues") ? (m.start ?? null) : null,
    step: record.step?.index ?? null,
    weight: record.step?.weight ?? null,
    kind: m?.kind ?? "unknown",
    canary: m && (m.kind === "ok" || m.kind === "noValues") ? counts(m.canary) : null,
    baseline: m && m.kind === "ok" ? counts(m.baseline) : null,
    decision: verdict.decision,
    hold: verdict.hold ?? null,
    reason: verdict.reasons[0] ?? "",
    metrics: verdict.metrics.map((x) => ({
      name: x.name,
      status: x.status,
      canaryRate: x.canaryRate,
      baselineRate: x.baselineRate,
      canaryRequests: x.canaryRequests,
      ratio: x.ratio,
      ratioLower: x.ratioLower,
      ratioUpper: Number.isFinite(x.ratioUpper) ? x.ratioUpper : null,
      eValue: x.eValue,
      rollbackThreshold: x.rollbackThreshold,
      margin: x.margin,
      allowedRatio: x.allowedRatio,
    })),
    guardrails: verdict.guardrails.map((g) => ({ name: g.name, status: g.status, observed: g.observed, lowerBound: g.lowerBound, limit: g.limit, requests: g.requests })),
  };
}

/** Appends a sample as one JSON line. */
export async function appendSample(file: string, sample: TraceSample): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.appendFile(file, `${JSON.stringify(sample)}\n`);
}

/**
 * The samples of a trace file; `[]` when there is none. A line that is not a sample (a write cut
 * short by a killed driver) is skipped and counted, not fatal: the rest still draws.
 */
export async function readTrace(file: string): Promise<{ readonly samples: TraceSample[]; readonly skipped: number }> {
  const text = readBoundedIfExists(file, MAX_TRACE_BYTES, (m) => new RecordError(`judge trace ${file}: ${m}`));
  if (text === undefined) return { samples: [], skipped: 0 };
  const samples: TraceSample[] = [];
  let skipped = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const v = JSON.parse(line) as TraceSample;
      if (typeof v.at === "number" && typeof v.decision === "string" && Array.isArray(v.metrics)) samples.push(v);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { samples, skipped };
}
