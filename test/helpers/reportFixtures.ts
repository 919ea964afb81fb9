/**
 * A judged rollout for report tests, made with the real judge and the real transition function
 * (deterministic, no clock), given the baseline's twenty minutes before the rollout as its
 * reference (as the driver's pre-flight gives it): step 0 (5%) with a clean canary passes, an operator pauses and
 * resumes it on the way, step 1 (25%) starts failing 20% of the canary's requests and the judge
 * rolls it back, and the snapshot is restored. Returns the kept rollout and the trace samples the
 * archive would have written.
 */
import { Judge, JudgeConfigInput } from "../../automation/analysis/judge";
import { OkMeasurement, VersionCounts } from "../../automation/analysis/types";
import { KeptRollout } from "../../automation/history/store";
import { TraceSample, traceSample } from "../../automation/report/trace";
import { newRecord, RolloutEvent, RolloutRecord, transition } from "../../automation/state";
import { evidenceOf } from "../../automation/rollout/decide";

/** The judge of the fixture: errors and slow requests, a p95 latency guardrail. */
export const FIXTURE_JUDGE: JudgeConfigInput = {
  metrics: [
    { name: "errors", source: { kind: "errors" }, negligibleRate: 0.01 },
    { name: "latency", source: { kind: "latencyAbove", le: 0.25 }, negligibleRate: 0.01 },
  ],
  guardrails: { latency: [{ name: "p95", le: 0.5, maxFraction: 0.05 }] },
  minCanaryRequestsToPromote: 100,
};

/** When the fixture rollout starts (Unix seconds). */
export const T0 = Date.parse("2026-03-01T10:00:00.000Z") / 1000;
/** The tick length, seconds. */
export const TICK = 5;
const iso = (t: number): string => new Date(t * 1000).toISOString();

/** A small deterministic generator (LCG) so the counts look like traffic, not a staircase. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Counts for a version serving `requests` with an error share and a latency profile. */
function counts(requests: number, errorShare: number, slowShare: number, rnd: () => number): VersionCounts {
  const errors = Math.round(requests * errorShare * (0.7 + 0.6 * rnd()));
  const slow = Math.round(requests * slowShare * (0.5 + rnd()));
  const fast = requests - slow;
  // Cumulative buckets: most requests under 50 ms, the slow ones between 250 ms and 500 ms.
  const b50 = Math.round(fast * (0.8 + 0.1 * rnd()));
  return {
    requests,
    errors,
    latencyBuckets: [
      { le: 0.05, count: b50 },
      { le: 0.1, count: fast - Math.round(fast * 0.02) },
      { le: 0.25, count: fast },
      { le: 0.5, count: requests },
      { le: 1, count: requests },
      { le: Infinity, count: requests },
    ],
  };
}

/** The fixture rollout; see the module comment. */
export function judgedRollout(): { kept: KeptRollout; samples: TraceSample[]; rollbackAt: number; pauseAt: number } {
  const rnd = random(42);
  const judge = new Judge(FIXTURE_JUDGE);
  let record: RolloutRecord = { ...newRecord({ id: "20260301T100000000Z-v4.2.0", stack: "prod-eu", target: "pulumi", version: "v4.2.0", image: "registry.example.com/checkout:v4.2.0", steps: [5, 25, 50, 100], at: iso(T0) }), snapshot: { type: "pulumi", stableVersion: "v4.1.3" } };
  const apply = (e: RolloutEvent): void => {
    record = transition(record, e);
  };
  const samples: TraceSample[] = [];
  apply({ type: "start", at: iso(T0), reason: "rollout of v4.2.0 (registry.example.com/checkout:v4.2.0) through 5 → 25 → 50 → 100", evidence: { snapshotOf: "pulumi" } });
  let t = T0 + 4;
  apply({ type: "advance", at: iso(t), step: 0, weight: 5, reason: "canary deployed; first step at weight 5", evidence: { applied: 5 } });
  // The pre-flight's reference: the baseline's last twenty minutes at full traffic (its own generator, so the rollout's counts are the same).
  const refRnd = random(7);
  const reference = { start: T0 - 1200, end: T0, intervalSeconds: TICK, baseline: Array.from({ length: 1200 / TICK }, () => counts(Math.round(1000 * TICK * (0.9 + 0.2 * refRnd())), 0.004, 0.01, refRnd)) };
  let state = judge.initialState({ index: 0, startedAt: t, minDurationSeconds: 30, maxDurationSeconds: 600 }, { reference });
  let pauseAt = 0;
  for (let step = 0; step < 2; step++) {
    const weight = record.steps[step]!;
    for (let n = 0; n < 40; n++) {
      const start = t;
      t += TICK;
      const total = Math.round(1000 * TICK * (0.9 + 0.2 * rnd()));
      const canaryRequests = Math.round((total * weight) / 100);
      const failing = step === 1 && n >= 2;
      const m: OkMeasurement = { kind: "ok", start, end: t, canary: counts(canaryRequests, failing ? 0.2 : 0.004, 0.01, rnd), baseline: counts(total - canaryRequests, 0.004, 0.01, rnd) };
      const r = judge.tick(state, m);
      state = r.state;
      samples.push(traceSample(r.verdict, record, m));
      if (step === 0 && n === 2) {
        pauseAt = t + 1;
        apply({ type: "pause", at: iso(pauseAt), reason: "pause by alice@laptop: checking a dashboard", by: "alice@laptop", evidence: { control: "c1" } });
        apply({ type: "resume", at: iso(pauseAt + 7), reason: "resume by alice@laptop: looks fine", by: "alice@laptop", evidence: { control: "c2" } });
        record = {
          ...record,
          controls: [
            { id: "c1", verb: "pause", at: iso(pauseAt - 1), by: "alice@laptop", reason: "checking a dashboard", status: "applied", result: "now Paused", doneAt: iso(pauseAt) },
            { id: "c2", verb: "resume", at: iso(pauseAt + 6), by: "alice@laptop", reason: "looks fine", status: "applied", result: "now Progressing", doneAt: iso(pauseAt + 7) },
          ],
        };
      }
      if (r.verdict.decision === "promote" && step === 0) {
        t += 1;
        apply({ type: "advance", at: iso(t), step: 1, weight: 25, reason: "step 0 passed; weight 25", evidence: { applied: 25 } });
        state = judge.startStep(state, { index: 1, startedAt: t, minDurationSeconds: 30, maxDurationSeconds: 600 });
        break;
      }
      if (r.verdict.decision === "rollback") {
        const rollbackAt = t;
        apply({ type: "rollback", at: iso(t), reason: r.verdict.reasons[0] ?? "the analysis failed", trigger: "analysis", evidence: evidenceOf(r.verdict) });
        apply({ type: "rolledBack", at: iso(t + 3), reason: "restored the snapshot; canary kept at weight 0", evidence: { applied: 0 } });
        return { kept: { schema: 1, service: "checkout", startedBy: "deploy-bot@ci-7", record }, samples, rollbackAt, pauseAt };
      }
    }
  }
  throw new Error("the fixture's judge never rolled back: the fixture no longer fits the judge");
}
