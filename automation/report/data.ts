/**
 * What the rollout report shows, computed from the kept record, the trace of judged ticks and,
 * when Prometheus was reachable, its raw series (pure). The HTML renderer (html.ts) only draws
 * this: every number, marker and sentence in the report is decided here, and tested here.
 */
import { JudgeConfig } from "../analysis/judge";
import { KeptRollout, RolloutSummary, summarizeRollout, formatDuration } from "../history/store";
import { decisionOf } from "../notify/events";
import { fmt, pct } from "../notify/format";
import { DecisionNumbers } from "../notify/types";
import { HistoryEntry } from "../state";
import { CountSeries } from "./prometheus";
import { TraceCounts, TraceSample } from "./trace";

/** A vertical line on every chart. */
export interface Marker {
  /** Unix seconds. */
  readonly t: number;
  /** `transition`: a phase change; `control`: an operator's request; `decision`: a judge decision worth seeing (not `continue`). */
  readonly kind: "transition" | "control" | "decision";
  /** The event, verb or decision (`rollback`, `pause`, `promote`, `hold`). */
  readonly type: string;
  /** A short label drawn on the chart. */
  readonly label: string;
  /** One line for the list under the charts. */
  readonly detail: string;
}

/** One line chart: shared time axis, one or more series, optional horizontal limit lines. */
export interface Chart {
  readonly id: string;
  readonly title: string;
  /** What the chart says, in one sentence under its title. */
  readonly caption: string;
  /** The y axis: unit for labels, and log scale for ratios and e-values. */
  readonly unit: "percent" | "seconds" | "ratio" | "evidence" | "weight";
  readonly log: boolean;
  /** Unix seconds. */
  readonly t: readonly number[];
  readonly series: readonly { readonly label: string; readonly role: "canary" | "baseline" | "estimate" | "lower" | "upper" | "weight" | "evidence" | "observed"; readonly values: readonly (number | null)[] }[];
  readonly limits: readonly { readonly label: string; readonly value: number }[];
}

/** The report's content. */
export interface ReportData {
  readonly title: string;
  readonly summary: RolloutSummary;
  readonly target: string;
  readonly image: string;
  readonly steps: readonly number[];
  readonly phase: string;
  /** The verdict's evidence in words: a headline and paragraphs. */
  readonly verdict: { readonly headline: string; readonly paragraphs: readonly string[] };
  /** The time axis every chart shares, Unix seconds. */
  readonly window: { readonly start: number; readonly end: number };
  readonly charts: readonly Chart[];
  readonly markers: readonly Marker[];
  readonly timeline: readonly { readonly at: string; readonly type: string; readonly phases: string; readonly step: string; readonly by: string; readonly reason: string }[];
  /** Where the data came from and what is missing. */
  readonly notes: readonly string[];
  readonly generatedAt: string;
}

/** Options of {@link buildReportData}. */
export interface ReportInputs {
  readonly kept: KeptRollout;
  readonly samples: readonly TraceSample[];
  /** Raw series from Prometheus; without them the charts use the judge's tick counts. */
  readonly raw?: CountSeries;
  /** Why there are no raw series (Prometheus unreachable, no settings), for the notes. */
  readonly rawMissing?: string;
  /** The judge's settings, for the latency guardrail's threshold line. */
  readonly judge?: JudgeConfig;
  readonly now: Date;
}

const unix = (iso: string): number => Date.parse(iso) / 1000;

/** The q-quantile of cumulative latency buckets, interpolated within its bucket like Prometheus' histogram_quantile; `null` without requests. */
export function bucketQuantile(buckets: TraceCounts["latency"], q: number): number | null {
  if (!buckets || buckets.length === 0) return null;
  const sorted = [...buckets].sort((a, b) => (a.le ?? Infinity) - (b.le ?? Infinity));
  const total = sorted[sorted.length - 1]!.count;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      // In the +Inf bucket the best answer is the highest finite bound, as histogram_quantile gives.
      if (b.le === null) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket > 0 ? prevLe + (b.le - prevLe) * ((rank - prevCount) / inBucket) : b.le;
    }
    if (b.le !== null) prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** The counts series: Prometheus' when given, else the judge's ticks. */
function countSeries(samples: readonly TraceSample[], raw: CountSeries | undefined): CountSeries {
  if (raw) return raw;
  const gaps = samples.slice(1).map((s, i) => s.at - samples[i]!.at).filter((g) => g > 0).sort((a, b) => a - b);
  return { source: "ticks", stepSeconds: gaps[Math.floor(gaps.length / 2)] ?? 0, points: samples.filter((s) => s.canary || s.baseline).map((s) => ({ t: s.at, canary: s.canary, baseline: s.baseline })) };
}

const rate = (c: TraceCounts | null): number | null => (c && c.requests > 0 ? c.errors / c.requests : null);

/** The weight in force over time: a step function from the history (0 before the first step and after a restore; a switch, all traffic at once). */
function weightSeries(history: readonly HistoryEntry[], end: number): { t: number[]; w: number[] } {
  const t: number[] = [];
  const w: number[] = [];
  let current = 0;
  const push = (at: number, weight: number): void => {
    t.push(at, at);
    w.push(current, weight);
    current = weight;
  };
  for (const h of history) {
    const at = unix(h.at);
    if (h.type === "start") {
      t.push(at);
      w.push(0);
    } else if ((h.type === "advance" || h.type === "switch") && h.weight !== undefined) push(at, h.weight);
    else if (h.type === "complete") push(at, 100);
    else if (h.type === "rolledBack") push(at, 0);
  }
  if (t.length > 0) {
    t.push(end);
    w.push(current);
  }
  return { t, w };
}

/** The decision behind the rollout's outcome: the rollback's, or the promotion's. */
function decidingEntry(history: readonly HistoryEntry[]): HistoryEntry | undefined {
  return [...history].reverse().find((h) => h.type === "rollback" || h.type === "promote" || h.type === "promoteFull");
}

/** The verdict's evidence in words (pure). */
export function verdictWords(s: RolloutSummary, history: readonly HistoryEntry[], steps: readonly number[]): { headline: string; paragraphs: string[] } {
  const deciding = decidingEntry(history);
  const where = deciding?.step !== undefined ? `step ${deciding.step + 1} of ${Math.max(steps.length - 1, 0)} (canary weight ${deciding.weight}%)` : "before the first step";
  const since = deciding?.step !== undefined ? history.find((h) => h.type === "advance" && h.step === deciding.step) : undefined;
  const into = deciding && since ? `, ${formatDuration(unix(deciding.at) - unix(since.at))} into the step` : "";
  const what = `${s.service} ${s.version} on ${s.stack}`;
  const headlines: Record<RolloutSummary["outcome"], string> = {
    promoted: `Promoted: ${what} is the stable version`,
    rolledBack: `Rolled back: ${what}, decided at ${where}${into}`,
    rollbackFailed: `ROLLBACK FAILED: ${what}; the stack may still send traffic to the canary`,
    rollingBack: `Rolling back: ${what}, decided at ${where}${into}`,
    paused: `Paused: ${what} holds at ${where}`,
    running: `Running: ${what}`,
  };
  const paragraphs: string[] = [];
  if (deciding?.type === "rollback") {
    const trig = deciding.trigger === "analysis" ? "The judge rolled it back" : deciding.trigger === "operator" ? `${deciding.by ?? "An operator"} aborted it` : "The driver rolled it back after an error";
    paragraphs.push(`${trig}: ${deciding.reason}.`);
  } else if (deciding) {
    paragraphs.push(`${deciding.type === "promoteFull" ? `${deciding.by ?? "An operator"} promoted it at once` : "The judge let it through"}: ${deciding.reason}.`);
  }
  const d: DecisionNumbers | null = deciding ? decisionOf(deciding.evidence) : null;
  for (const m of d?.metrics ?? []) {
    if (m.canaryRate === 0 && m.baselineRate === 0) {
      paragraphs.push(`${m.name}: no such events in either version over ${fmt(m.canaryRequests)} canary requests (${m.status}).`);
      continue;
    }
    const bounds = `[${fmt(m.ratioLower)}, ${fmt(m.ratioUpper, "∞")}]`;
    const base = `${m.name}: the canary's rate was ${pct(m.canaryRate)} over ${fmt(m.canaryRequests)} requests against the baseline's ${pct(m.baselineRate)}; the canary/baseline ratio is estimated at ${fmt(m.ratio)}, with always-valid confidence bounds ${bounds}`;
    const tail =
      m.status === "breached"
        ? `: the evidence against the canary (e-value ${fmt(m.eValue)}) reached the rollback threshold ${fmt(m.rollbackThreshold)}.`
        : m.status === "passed"
          ? `: the canary is ruled out as worse than allowed (e-value against it ${fmt(m.eValue)}, rollback at ${fmt(m.rollbackThreshold)}).`
          : ` (${m.status}; e-value ${fmt(m.eValue)}, rollback at ${fmt(m.rollbackThreshold)}).`;
    paragraphs.push(base + tail);
  }
  for (const g of d?.guardrails ?? []) {
    const state = g.status === "breached" ? "breached" : g.status === "sharedBreach" ? "breached by both versions (held, not rolled back)" : g.status === "insufficientSample" ? "not judged yet (too few requests)" : "within its limit";
    paragraphs.push(`Guardrail ${g.name}: ${pct(g.observed)} bad over the last ${fmt(g.requests)} canary requests (lower confidence bound ${pct(g.lowerBound)}, limit ${pct(g.limit)}): ${state}.`);
  }
  const failed = [...history].reverse().find((h) => h.type === "rollbackFailed");
  if (s.outcome === "rollbackFailed" && failed) paragraphs.push(`The restore failed: ${failed.reason}. A person must look at the stack.`);
  if (s.outcome === "rolledBack") {
    const restored = [...history].reverse().find((h) => h.type === "rolledBack");
    const took = restored && deciding ? unix(restored.at) - unix(deciding.at) : 0;
    if (restored && deciding) paragraphs.push(`The snapshot taken before the rollout was restored ${took < 10 ? `${fmt(took)} s` : formatDuration(took)} after the decision (${restored.reason}).`);
  }
  return { headline: headlines[s.outcome], paragraphs };
}

/** Builds the report's content (pure); see the module comment. */
export function buildReportData(i: ReportInputs): ReportData {
  const r = i.kept.record;
  const summary = summarizeRollout(i.kept);
  const samples = [...i.samples].sort((a, b) => a.at - b.at);
  const start = unix(r.createdAt);
  const lastChange = unix(r.updatedAt);
  const end = Math.max(lastChange, samples[samples.length - 1]?.at ?? lastChange, ...(i.raw ? i.raw.points.map((p) => p.t) : []));
  const notes: string[] = [];

  // Markers: every transition, every control request, and each judge decision that is not a plain continue.
  const markers: Marker[] = r.history.map((h) => ({
    t: unix(h.at),
    kind: "transition",
    type: h.type,
    label: h.type === "advance" ? `step ${(h.step ?? 0) + 1}: ${h.weight}%` : h.type,
    detail: `${h.at} ${h.type}${h.by ? ` by ${h.by}` : ""}: ${h.reason}`,
  }));
  for (const c of r.controls ?? []) {
    markers.push({ t: unix(c.at), kind: "control", type: c.verb, label: `${c.verb} (${c.by})`, detail: `${c.at} control request ${c.verb}${c.gate ? ` (${c.gate})` : ""} by ${c.by}: ${c.reason} → ${c.status}${c.result ? `: ${c.result}` : ""}` });
  }
  let lastHold: string | null = null;
  for (const s of samples) {
    if (s.decision !== "continue") {
      markers.push({ t: s.at, kind: "decision", type: s.decision, label: `judge: ${s.decision}`, detail: `${new Date(s.at * 1000).toISOString()} judge: ${s.decision}: ${s.reason}` });
    } else if (s.hold !== null && s.hold !== lastHold) {
      markers.push({ t: s.at, kind: "decision", type: "hold", label: `hold: ${s.hold}`, detail: `${new Date(s.at * 1000).toISOString()} judge holds (${s.hold}): ${s.reason}` });
    }
    lastHold = s.decision === "continue" ? s.hold : null;
  }
  // At the same instant the judge's decision comes before the transition it caused.
  const order = { decision: 0, control: 1, transition: 2 } as const;
  markers.sort((a, b) => a.t - b.t || order[a.kind] - order[b.kind]);

  const charts: Chart[] = [];
  const weight = weightSeries(r.history, end);
  charts.push({ id: "weight", title: "Canary weight", caption: `The share of traffic sent to the canary: the plan's steps ${r.steps.join(" → ")}, as applied.`, unit: "weight", log: false, t: weight.t, series: [{ label: "canary weight", role: "weight", values: weight.w }], limits: [] });

  const counts = countSeries(samples, i.raw);
  if (i.raw) notes.push(`Error rate and latency: Prometheus' raw counters, differenced per ${counts.stepSeconds} s step.`);
  else notes.push(`Error rate and latency: the counts the judge read at each tick${i.rawMissing ? ` (no Prometheus series: ${i.rawMissing})` : ""}.`);
  const ct = counts.points.map((p) => p.t);
  const guard = samples.find((s) => s.guardrails.length > 0)?.guardrails;
  const errorLimit = guard?.find((g) => g.name === "errorRate")?.limit;
  charts.push({
    id: "errors",
    title: "Error rate",
    caption: "Failed requests per request, canary against baseline, per step of the series.",
    unit: "percent",
    log: false,
    t: ct,
    series: [
      // The canary last, so it is drawn on top where the two coincide.
      { label: `baseline ${summary.stableVersion ?? "stable"}`, role: "baseline", values: counts.points.map((p) => rate(p.baseline)) },
      { label: `canary ${r.version}`, role: "canary", values: counts.points.map((p) => rate(p.canary)) },
    ],
    limits: errorLimit !== undefined ? [{ label: `guardrail errorRate ${pct(errorLimit)}`, value: errorLimit }] : [],
  });

  const hasLatency = counts.points.some((p) => p.canary?.latency || p.baseline?.latency);
  if (hasLatency) {
    const g = i.judge?.guardrails.latency[0];
    const q = g ? 1 - g.maxFraction : 0.95;
    const qName = `p${fmt(q * 100)}`;
    charts.push({
      id: "latency",
      title: `Latency ${qName}`,
      caption: `The ${qName} request duration of each version, interpolated within the histogram's buckets.`,
      unit: "seconds",
      log: false,
      t: ct,
      series: [
        { label: `baseline ${summary.stableVersion ?? "stable"}`, role: "baseline", values: counts.points.map((p) => bucketQuantile(p.baseline?.latency, q)) },
        { label: `canary ${r.version}`, role: "canary", values: counts.points.map((p) => bucketQuantile(p.canary?.latency, q)) },
      ],
      limits: g ? [{ label: `guardrail ${g.name ?? ""} ${qName} ≤ ${fmt(g.le)} s`.replace("  ", " "), value: g.le }] : [],
    });
  } else {
    notes.push("No latency histogram in the series: no latency chart.");
  }

  const st = samples.map((s) => s.at);
  const metricNames = [...new Set(samples.flatMap((s) => s.metrics.map((m) => m.name)))];
  for (const name of metricNames) {
    const at = samples.map((s) => s.metrics.find((m) => m.name === name));
    const first = at.find((m) => m !== undefined)!;
    // A bound at 0 or ∞ excludes nothing yet: it is not drawn rather than drawn at the axis' edge.
    const bound = (v: number | null | undefined): number | null => (v !== null && v !== undefined && v > 0 && Number.isFinite(v) ? v : null);
    charts.push({
      id: `bounds-${name}`,
      title: `${name}: canary/baseline ratio`,
      caption: `The estimated ratio of the canary's ${name} rate to the baseline's, with its always-valid confidence bounds as they narrowed. Rollback when the evidence says the ratio exceeds ${fmt(first.margin)}; promotion when the upper bound is below ${fmt(first.allowedRatio)}.`,
      unit: "ratio",
      log: true,
      t: st,
      series: [
        // With no events in either version there is no estimate (the likelihood is flat).
        { label: "estimate", role: "estimate", values: at.map((m) => (m && (m.canaryRate > 0 || m.baselineRate > 0) ? bound(m.ratio) : null)) },
        { label: "lower bound", role: "lower", values: at.map((m) => bound(m?.ratioLower)) },
        { label: "upper bound", role: "upper", values: at.map((m) => bound(m?.ratioUpper)) },
      ],
      limits: [
        { label: `margin ${fmt(first.margin)}`, value: first.margin },
        { label: `allowed ${fmt(first.allowedRatio)}`, value: first.allowedRatio },
      ],
    });
    charts.push({
      id: `evidence-${name}`,
      title: `${name}: evidence against the canary`,
      caption: `The e-value of the sequential test; it rolls back when it reaches ${fmt(first.rollbackThreshold)}.`,
      unit: "evidence",
      log: true,
      t: st,
      series: [{ label: "e-value", role: "evidence", values: at.map((m) => (m && m.eValue > 0 ? m.eValue : null)) }],
      limits: [{ label: `rollback at ${fmt(first.rollbackThreshold)}`, value: first.rollbackThreshold }],
    });
  }
  const guardNames = [...new Set(samples.flatMap((s) => s.guardrails.map((g) => g.name)))];
  for (const name of guardNames) {
    const at = samples.map((s) => s.guardrails.find((g) => g.name === name));
    const limit = at.find((g) => g !== undefined)!.limit;
    charts.push({
      id: `guardrail-${name}`,
      title: `Guardrail ${name}`,
      caption: `The canary's bad fraction over the guardrail's window and its lower confidence bound, which must stay under ${pct(limit)}.`,
      unit: "percent",
      log: false,
      t: st,
      series: [
        { label: "observed", role: "observed", values: at.map((g) => g?.observed ?? null) },
        { label: "lower bound", role: "lower", values: at.map((g) => g?.lowerBound ?? null) },
      ],
      limits: [{ label: `limit ${pct(limit)}`, value: limit }],
    });
  }
  if (samples.length === 0) notes.push("No trace of the judge's ticks was kept for this rollout: no confidence bounds, evidence or guardrail charts.");

  return {
    title: `Rollout report: ${summary.service} ${r.version} on ${r.stack}`,
    summary,
    target: r.target,
    image: r.image,
    steps: r.steps,
    phase: r.phase,
    verdict: verdictWords(summary, r.history, r.steps),
    window: { start, end: Math.max(end, start + 1) },
    charts,
    markers,
    timeline: r.history.map((h) => ({ at: h.at, type: h.type, phases: `${h.from} → ${h.to}`, step: h.step !== undefined ? `${h.step + 1} (${h.weight}%)` : "", by: h.by ?? "", reason: h.reason })),
    notes,
    generatedAt: i.now.toISOString(),
  };
}
