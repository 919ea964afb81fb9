/** A rollout record built with the real transition function: two steps, then a rollback on the judge's verdict. */
import { newRecord, RolloutEvent, RolloutRecord, transition } from "../../automation/state";

/** The judge's evidence for the rollback, as the driver records it. */
export const ROLLBACK_EVIDENCE = {
  decision: "rollback",
  reasons: ["errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200"],
  stepElapsedSeconds: 90,
  stepObservedSeconds: 85,
  metrics: [
    { name: "errors", status: "breached", canaryRate: 0.041, baselineRate: 0.005, canaryRequests: 1200, ratio: 8.2, ratioLower: 3.1, ratioUpper: null, eValue: 412, rollbackThreshold: 200 },
  ],
  guardrails: [{ name: "errorRate", status: "ok", observed: 0.041, lowerBound: 0.032, limit: 0.05, requests: 1200 }],
};

/** The events of the fixture rollout, in order. */
export const EVENTS: readonly RolloutEvent[] = [
  { type: "start", at: "2026-01-01T00:00:00.000Z", reason: "rollout of v2.5.0 (registry.example.com/checkout:v2.5.0) through 5 → 25 → 100", evidence: { snapshotOf: "pulumi" } },
  { type: "advance", at: "2026-01-01T00:00:10.000Z", step: 0, weight: 5, reason: "canary deployed; first step at weight 5", evidence: { applied: 5 } },
  {
    type: "advance",
    at: "2026-01-01T00:05:10.000Z",
    step: 1,
    weight: 25,
    reason: "step 0 passed; weight 25",
    evidence: { applied: 25, verdict: { at: "2026-01-01T00:05:00.000Z", decision: "promote", reasons: ["errors: ratio below 1.5"], stepElapsedSeconds: 290, stepObservedSeconds: 280 } },
  },
  { type: "rollback", at: "2026-01-01T00:06:40.000Z", reason: ROLLBACK_EVIDENCE.reasons[0], trigger: "analysis", evidence: ROLLBACK_EVIDENCE },
  { type: "rolledBack", at: "2026-01-01T00:07:00.000Z", reason: "restored the snapshot; canary kept at weight 0", evidence: { applied: 0 } },
];

/** The record after the first `n` events (all of them by default). */
export function fixtureRecord(n = EVENTS.length): RolloutRecord {
  let r: RolloutRecord = {
    ...newRecord({ id: "20260101T000000000Z-v2.5.0", stack: "prod", target: "pulumi", version: "v2.5.0", image: "registry.example.com/checkout:v2.5.0", steps: [5, 25, 100], at: "2026-01-01T00:00:00.000Z" }),
    snapshot: { type: "pulumi", stableVersion: "v2.4.0" },
  };
  for (const e of EVENTS.slice(0, n)) r = transition(r, e);
  return r;
}

/** Every record along the way, with the entry each transition appended. */
export function fixtureTransitions(): { record: RolloutRecord; entry: RolloutRecord["history"][number] }[] {
  return EVENTS.map((_, i) => {
    const record = fixtureRecord(i + 1);
    return { record, entry: record.history[i] };
  });
}
