import * as assert from "node:assert/strict";
import { decisionOf, gateWaitingNotification, notificationFor } from "../../../automation/notify/events";
import { NOTIFICATION_TYPES } from "../../../automation/notify/types";
import { fixtureRecord, fixtureTransitions, ROLLBACK_EVIDENCE } from "../../helpers/notifyFixtures";

describe("notify events", () => {
  const t = fixtureTransitions();

  it("lists every transition type and gateWaiting", () => {
    assert.deepEqual(NOTIFICATION_TYPES, ["start", "advance", "switch", "promote", "complete", "rollback", "rolledBack", "rollbackFailed", "pause", "resume", "freeze", "unfreeze", "skip", "promoteFull", "approve", "takeOver", "gateWaiting"]);
  });

  it("a rollback carries the judge's reasons and numbers", () => {
    const { record, entry } = t[3];
    assert.deepEqual(notificationFor(record, entry, "checkout"), {
      version: 1,
      type: "rollback",
      at: "2026-01-01T00:06:40.000Z",
      rollout: "20260101T000000000Z-v2.5.0",
      service: "checkout",
      stack: "prod",
      target: "pulumi",
      phase: "RollingBack",
      previousPhase: "Progressing",
      step: 1,
      judgedSteps: 2,
      weight: 25,
      canaryVersion: "v2.5.0",
      stableVersion: "v2.4.0",
      reason: "errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200",
      trigger: "analysis",
      gate: null,
      decision: {
        decision: "rollback",
        reasons: ["errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200"],
        stepElapsedSeconds: 90,
        stepObservedSeconds: 85,
        metrics: [{ name: "errors", status: "breached", canaryRate: 0.041, baselineRate: 0.005, canaryRequests: 1200, ratio: 8.2, ratioLower: 3.1, ratioUpper: null, eValue: 412, rollbackThreshold: 200 }],
        guardrails: [{ name: "errorRate", status: "ok", observed: 0.041, lowerBound: 0.032, limit: 0.05, requests: 1200 }],
      },
      retryOf: null,
    });
  });

  it("a step carries the previous step's verdict (reasons, no per-metric numbers)", () => {
    const { record, entry } = t[2];
    const n = notificationFor(record, entry, "checkout");
    assert.equal(n.type, "advance");
    assert.equal(n.step, 1);
    assert.equal(n.weight, 25);
    assert.deepEqual(n.decision, { decision: "promote", reasons: ["errors: ratio below 1.5"], stepElapsedSeconds: 290, stepObservedSeconds: 280, metrics: [], guardrails: [] });
  });

  it("a start has no step, weight or decision", () => {
    const { record, entry } = t[0];
    const n = notificationFor(record, entry, "checkout");
    assert.deepEqual([n.type, n.phase, n.previousPhase, n.step, n.weight, n.decision, n.trigger], ["start", "Initializing", "Idle", null, null, null, null]);
  });

  it("gate waiting names the gate and keeps the phase", () => {
    const record = fixtureRecord(3);
    assert.deepEqual(gateWaitingNotification(record, { gate: "sre-approval", at: "2026-01-01T00:06:00.000Z", reason: "approval before step 2 (weight 50)" }, "checkout"), {
      version: 1,
      type: "gateWaiting",
      at: "2026-01-01T00:06:00.000Z",
      rollout: "20260101T000000000Z-v2.5.0",
      service: "checkout",
      stack: "prod",
      target: "pulumi",
      phase: "Progressing",
      previousPhase: null,
      step: 1,
      judgedSteps: 2,
      weight: 25,
      canaryVersion: "v2.5.0",
      stableVersion: "v2.4.0",
      reason: "approval before step 2 (weight 50)",
      trigger: null,
      gate: "sre-approval",
      decision: null,
      retryOf: null,
    });
  });

  const table: [string, unknown, unknown][] = [
    ["no evidence", undefined, null],
    ["an applied weight", { applied: 5 }, null],
    ["a string", "oops", null],
    ["a bare decision", { decision: "continue" }, { decision: "continue", reasons: [], stepElapsedSeconds: null, stepObservedSeconds: null, metrics: [], guardrails: [] }],
    [
      "non-numbers become null, non-strings empty",
      { decision: "rollback", reasons: ["a", 3], stepElapsedSeconds: "x", metrics: [{ name: 1, ratio: Infinity, eValue: 7 }, null], guardrails: "no" },
      {
        decision: "rollback",
        reasons: ["a"],
        stepElapsedSeconds: null,
        stepObservedSeconds: null,
        metrics: [{ name: "", status: "", canaryRate: null, baselineRate: null, canaryRequests: null, ratio: null, ratioLower: null, ratioUpper: null, eValue: 7, rollbackThreshold: null }],
        guardrails: [],
      },
    ],
  ];
  for (const [name, evidence, expected] of table) {
    it(`decisionOf: ${name}`, () => assert.deepEqual(decisionOf(evidence), expected));
  }

  it("decisionOf reads the full rollback evidence unchanged", () => {
    assert.deepEqual(decisionOf(ROLLBACK_EVIDENCE), ROLLBACK_EVIDENCE);
  });
});
