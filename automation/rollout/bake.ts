/**
 * The bake: all traffic on the new version, the previous version kept deployed, and the new
 * version watched before it is promoted. There is no concurrent baseline left (the previous
 * version serves nothing), so the canary-versus-baseline test cannot decide; the bake judges the
 * new version against
 *  - the judge's absolute guardrails (error rate, success rate, latency bounds) and its metrics
 *    outage limit, tick by tick, exactly as during the steps;
 *  - the previous version's own rates from before the rollout (the {@link Reference}): roll back
 *    when the new version's error (or slow-request) rate is, with confidence, more than `maxRatio`
 *    times the previous version's worst plausible rate;
 *  - the firing alerts (decide.ts), when the plan gates on them.
 * It passes once it has observed `duration` with traffic and enough requests, with none of these
 * breached. Pure functions; execute.ts feeds them.
 *
 * The reference comparison uses the judge's one-sided proportion bounds at the guardrails' δ on
 * each look (like the guardrails themselves), not an always-valid test: it is a guard against a
 * clear regression, not a fine-grained comparison.
 */
import { proportionLowerBound } from "../analysis/evidence";
import { JudgeConfig, slowerThan } from "../analysis/judge";
import { TickMeasurement, Verdict, VersionCounts } from "../analysis/types";
import { BakePlan } from "../plan";
import { BakeCounts, Reference } from "../state";

/** The latency bounds (seconds) the judge's relative metrics count slow requests above. */
export function latencyBounds(judge: JudgeConfig): number[] {
  return judge.metrics.flatMap((m) => (m.source.kind === "latencyAbove" ? [m.source.le] : []));
}

/** One version's counts as the bake keeps them: requests, errors, and requests slower than each bound. */
export function countsOf(v: VersionCounts, bounds: readonly number[]): BakeCounts {
  const slower: Record<string, number> = {};
  for (const le of bounds) {
    const s = slowerThan(v, le);
    if (s) slower[String(le)] = s[0];
  }
  return { requests: v.requests, errors: Math.min(v.errors, v.requests), ...(Object.keys(slower).length ? { slower } : {}) };
}

/** The new version's counts in a tick, when it has any (`ok`, or only the previous version missing). */
export function newVersionCounts(m: TickMeasurement): VersionCounts | undefined {
  if (m.kind === "ok") return m.canary;
  if (m.kind === "noValues" && m.canary) return m.canary;
  return undefined;
}

/**
 * When the new version's first request of a step was seen: the start of the first tick that
 * counts requests of it (the reading before it had none). Undefined when the tick has none.
 */
export function firstTrafficAt(m: TickMeasurement): number | undefined {
  const c = newVersionCounts(m);
  if (!c || c.requests <= 0) return undefined;
  if (m.kind === "ok") return m.start;
  return m.kind === "noValues" ? (m.start ?? m.end) : m.end;
}

/** The mirror of {@link proportionLowerBound}: P(bound < true rate) ≤ δ. 1 without requests. */
export function proportionUpperBound(k: number, n: number, delta: number): number {
  if (n <= 0 || k >= n) return 1;
  return 1 - proportionLowerBound(n - k, n, delta);
}

/** Two counts added. */
export function addCounts(a: BakeCounts | undefined, b: BakeCounts): BakeCounts {
  if (!a) return b;
  const slower: Record<string, number> = { ...(a.slower ?? {}) };
  for (const [k, v] of Object.entries(b.slower ?? {})) slower[k] = (slower[k] ?? 0) + v;
  return { requests: a.requests + b.requests, errors: a.errors + b.errors, ...(Object.keys(slower).length ? { slower } : {}) };
}

/**
 * The previous version's reference from a measurement over [from, to] in which it is the
 * `canary` (the provider was built with the versions swapped: only its counts matter).
 */
export function referenceOf(m: TickMeasurement, version: string, from: number, to: number, bounds: readonly number[]): Reference {
  const at = { version, from: new Date(from * 1000).toISOString(), to: new Date(to * 1000).toISOString() };
  const c = newVersionCounts(m);
  if (!c) {
    const why = m.kind === "queryFailed" ? m.error : m.kind === "noValues" ? m.detail : "the first reading only primes the counters";
    return { ...at, unavailable: why };
  }
  const counts = countsOf(c, bounds);
  return { ...at, requests: counts.requests, errors: counts.errors, ...(counts.slower ? { slower: counts.slower } : {}) };
}

/** One comparison of the new version's rate with the previous version's. */
export interface ReferenceComparison {
  /** The judge metric's name (`errors`, `latency`). */
  readonly name: string;
  readonly requests: number;
  readonly events: number;
  /** The new version's rate's lower bound: what the decision uses. */
  readonly lowerBound: number;
  /** The previous version's rate over the reference window, and its upper bound. */
  readonly referenceRate: number;
  readonly referenceUpper: number;
  /** maxRatio × the reference's upper bound, at least the metric's negligible rate. */
  readonly limit: number;
  readonly status: "breached" | "ok" | "insufficientSample";
}

const pct = (x: number): string => `${(100 * x).toFixed(x < 0.001 && x > 0 ? 3 : 2)}%`;

/**
 * The new version's rates against the reference, one per error or latency metric of the judge
 * (business counts have no reference and are left to the guardrails). Empty without a usable
 * reference.
 */
export function compareWithReference(counts: BakeCounts | undefined, reference: Reference | undefined, judge: JudgeConfig, maxRatio: number): ReferenceComparison[] {
  if (!reference || "unavailable" in reference || reference.requests <= 0) return [];
  const delta = judge.guardrails.delta;
  const out: ReferenceComparison[] = [];
  for (const m of judge.metrics) {
    if (m.source.kind === "count") continue;
    const key = m.source.kind === "latencyAbove" ? String(m.source.le) : undefined;
    const refEvents = key === undefined ? reference.errors : reference.slower?.[key];
    if (refEvents === undefined) continue;
    const requests = counts?.requests ?? 0;
    const events = key === undefined ? (counts?.errors ?? 0) : (counts?.slower?.[key] ?? 0);
    const referenceUpper = proportionUpperBound(refEvents, reference.requests, delta);
    const limit = Math.min(1, Math.max(maxRatio * referenceUpper, m.negligibleRate));
    const lowerBound = proportionLowerBound(events, requests, delta);
    const status = requests < judge.guardrails.minRequests ? "insufficientSample" : lowerBound > limit ? "breached" : "ok";
    out.push({ name: m.name, requests, events, lowerBound, referenceRate: refEvents / reference.requests, referenceUpper, limit, status });
  }
  return out;
}

/** What the bake knows besides the judge's verdict of the tick. */
export interface BakeInput {
  readonly bake: BakePlan;
  readonly judge: JudgeConfig;
  /** The new version's counts since the bake's observation began, this tick included. */
  readonly counts?: BakeCounts;
  readonly reference?: Reference;
  /** The new and previous versions, for reasons. */
  readonly version: string;
  readonly previous?: string;
}

/**
 * The bake's verdict for a tick, from the judge's verdict of the same tick: the judge's rollback
 * (a guardrail, an outage) stands; a breach of the reference rolls back; the bake passes
 * (`promote`) once `duration` is observed with enough requests and nothing breached; past its
 * maximum duration undecided it is inconclusive. Everything else continues. Pure.
 */
export function bakeVerdict(v: Verdict, o: BakeInput): Verdict {
  const comparisons = compareWithReference(o.counts, o.reference, o.judge, o.bake.maxRatio);
  const previous = o.previous ?? "the previous version";
  const refWindow = o.reference && !("unavailable" in o.reference) ? `${o.reference.requests} requests before the rollout` : "";
  const breached = comparisons.filter((c) => c.status === "breached");
  const requests = o.counts?.requests ?? 0;
  const base = { ...v, reasons: [...v.reasons] };
  if (v.decision === "rollback") return base;
  const { hold: _hold, ...settled } = base;
  void _hold;
  if (breached.length > 0) {
    return {
      ...settled,
      decision: "rollback",
      reasons: [
        ...breached.map(
          (c) =>
            `bake: ${c.name} rate of ${o.version} ≥ ${pct(c.lowerBound)} (observed ${pct(c.events / Math.max(c.requests, 1))} of ${c.requests} requests) exceeds ${o.bake.maxRatio} × ${previous}'s ${pct(c.referenceRate)} (≤ ${pct(c.referenceUpper)} over ${refWindow}): limit ${pct(c.limit)}`,
        ),
        ...v.reasons,
      ],
    };
  }
  const guardsClear = v.guardrails.every((g) => g.status === "ok" || g.status === "insufficientSample");
  const observed = v.stepObservedSeconds;
  const blockers: string[] = [];
  if (observed < o.bake.durationSeconds) blockers.push(`observed ${observed.toFixed(1)}s of the bake's ${o.bake.durationSeconds}s`);
  if (requests < o.judge.minCanaryRequestsToPromote) blockers.push(`${requests} requests on ${o.version}, need ${o.judge.minCanaryRequestsToPromote}`);
  if (v.hold !== undefined) blockers.push(`this tick holds (${v.hold})`);
  if (!guardsClear) blockers.push("a guardrail is not clear");
  const against = comparisons.length > 0 ? comparisons.map((c) => `${c.name} ≤ ${pct(c.limit)} (${c.status})`).join(", ") : o.reference && "unavailable" in o.reference ? `no reference (${o.reference.unavailable})` : "no reference";
  if (blockers.length === 0) {
    return { ...settled, decision: "promote", reasons: [`${observed.toFixed(1)}s observed with ${requests} requests on ${o.version}; guardrails clear; against ${previous}: ${against}`] };
  }
  if (v.decision === "inconclusive" || v.stepElapsedSeconds >= o.bake.maxDurationSeconds) {
    return { ...settled, decision: "inconclusive", reasons: [`the bake reached its maximum duration (${o.bake.maxDurationSeconds}s) without passing: ${blockers.join("; ")}`] };
  }
  return { ...base, decision: "continue", reasons: v.hold !== undefined ? base.reasons : [`baking: ${blockers.join("; ")}`] };
}
