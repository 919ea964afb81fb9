import * as assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { buildIncident, IncidentError, incidentBaseName, renderIncidentMarkdown, writeIncident } from "../../../automation/notify/incident";
import { RolloutNotifications } from "../../../automation/notify/rollout";
import { transition } from "../../../automation/state";
import { EVENTS, fixtureRecord, fixtureTransitions, ROLLBACK_EVIDENCE } from "../../helpers/notifyFixtures";

/** A fresh temporary directory, removed after `f`. */
async function inTmp<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "canary-incident-"));
  try {
    return await f(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe("incident record", () => {
  it("markdown: versions, the decision with its numbers, weights, timeline, post-mortem template", () => {
    assert.equal(
      renderIncidentMarkdown(buildIncident(fixtureRecord(), "checkout")),
      [
      "# Incident: rollback of checkout v2.5.0 on prod",
      "",
      "| | |",
      "|---|---|",
      "| Rollout | 20260101T000000000Z-v2.5.0 |",
      "| Service | checkout |",
      "| Stack | prod (pulumi) |",
      "| Canary | v2.5.0 (registry.example.com/checkout:v2.5.0) |",
      "| Stable | v2.4.0 |",
      "| Started | 2026-01-01T00:00:00.000Z |",
      "| Rollback decided | 2026-01-01T00:06:40.000Z (trigger: analysis) |",
      "| Outcome | rolled back at 2026-01-01T00:07:00.000Z |",
      "",
      "## Why it rolled back",
      "",
      "errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200",
      "",
      "### Judge decision: rollback",
      "",
      "Step time 90s, observed with canary traffic 85s.",
      "",
      "- errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200",
      "",
      "| Metric | Status | Canary rate | Baseline rate | Canary requests | Ratio | Ratio bounds | E-value | Rollback at |",
      "|---|---|---|---|---|---|---|---|---|",
      "| errors | breached | 4.1% | 0.5% | 1200 | 8.2 | [3.1, ∞] | 412 | 200 |",
      "",
      "| Guardrail | Status | Observed | Lower bound | Limit | Requests |",
      "|---|---|---|---|---|---|",
      "| errorRate | ok | 4.1% | 3.2% | 5% | 1200 |",
      "",
      "## Weights",
      "",
      "Plan: 5 → 25 → 100. At the rollback: step 1 at weight 25.",
      "",
      "| Applied at | Step | Weight |",
      "|---|---|---|",
      "| 2026-01-01T00:00:10.000Z | 0 | 5 |",
      "| 2026-01-01T00:05:10.000Z | 1 | 25 |",
      "",
      "## Timeline",
      "",
      "| Time | Event | Phase | Step | Weight | Reason |",
      "|---|---|---|---|---|---|",
      "| 2026-01-01T00:00:00.000Z | start | Idle → Initializing |  |  | rollout of v2.5.0 (registry.example.com/checkout:v2.5.0) through 5 → 25 → 100 |",
      "| 2026-01-01T00:00:10.000Z | advance | Initializing → Progressing | 0 | 5 | canary deployed; first step at weight 5 |",
      "| 2026-01-01T00:05:10.000Z | advance | Progressing → Progressing | 1 | 25 | step 0 passed; weight 25 |",
      "| 2026-01-01T00:06:40.000Z | rollback | Progressing → RollingBack | 1 | 25 | errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200 |",
      "| 2026-01-01T00:07:00.000Z | rolledBack | RollingBack → RolledBack | 1 | 25 | restored the snapshot; canary kept at weight 0 |",
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
      "- The rollback was decided at 2026-01-01T00:06:40.000Z (trigger: analysis), 400s after the rollout started and 90s into step 1 (weight 25).",
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
    ].join("\n"),
    );
  });

  it("JSON: the same evidence as data", () => {
    const i = buildIncident(fixtureRecord(), "checkout");
    assert.deepEqual({ ...i, timeline: i.timeline.map((t) => `${t.at} ${t.type} ${t.from}→${t.to} ${t.step ?? "-"}/${t.weight ?? "-"}`) }, {
      version: 1,
      rollout: "20260101T000000000Z-v2.5.0",
      service: "checkout",
      stack: "prod",
      target: "pulumi",
      canaryVersion: "v2.5.0",
      canaryImage: "registry.example.com/checkout:v2.5.0",
      stableVersion: "v2.4.0",
      outcome: "rolledBack",
      trigger: "analysis",
      reason: "errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200",
      startedAt: "2026-01-01T00:00:00.000Z",
      rollbackAt: "2026-01-01T00:06:40.000Z",
      restoredAt: "2026-01-01T00:07:00.000Z",
      restoreError: null,
      weights: {
        plan: [5, 25, 100],
        stepAtRollback: 1,
        weightAtRollback: 25,
        applied: [
          { at: "2026-01-01T00:00:10.000Z", step: 0, weight: 5 },
          { at: "2026-01-01T00:05:10.000Z", step: 1, weight: 25 },
        ],
      },
      decision: ROLLBACK_EVIDENCE,
      evidence: null,
      timeline: [
        "2026-01-01T00:00:00.000Z start Idle→Initializing -/-",
        "2026-01-01T00:00:10.000Z advance Initializing→Progressing 0/5",
        "2026-01-01T00:05:10.000Z advance Progressing→Progressing 1/25",
        "2026-01-01T00:06:40.000Z rollback Progressing→RollingBack 1/25",
        "2026-01-01T00:07:00.000Z rolledBack RollingBack→RolledBack 1/25",
      ],
    });
    assert.equal(i.timeline[0].reason, EVENTS[0].reason);
  });

  it("a failed restore and an error trigger: outcome, restore error, raw evidence", () => {
    let r = fixtureRecord(3);
    r = transition(r, { type: "rollback", at: "2026-01-01T00:06:00.000Z", reason: "step 1: weight 25 was set but 5 is applied", trigger: "error", evidence: { expected: 25, applied: 5 } });
    r = transition(r, { type: "rollbackFailed", at: "2026-01-01T00:06:30.000Z", reason: "restore of prod failed: stack is locked" });
    const i = buildIncident(r, "checkout");
    assert.deepEqual([i.outcome, i.restoredAt, i.restoreError, i.trigger, i.decision, i.evidence], ["rollbackFailed", null, "restore of prod failed: stack is locked", "error", null, { expected: 25, applied: 5 }]);
    const md = renderIncidentMarkdown(i);
    assert.ok(md.includes("| Outcome | ROLLBACK FAILED: the stack may still route traffic to the canary: restore of prod failed: stack is locked |\n"));
    assert.ok(md.includes('### Evidence\n\n```json\n{\n  "expected": 25,\n  "applied": 5\n}\n```\n'));
  });

  it("refuses a record without a rollback", () => {
    assert.throws(() => buildIncident(fixtureRecord(3), "checkout"), new IncidentError("rollout 20260101T000000000Z-v2.5.0 on prod has no rollback in its history (phase Progressing)"));
  });

  it("file names are safe", () => {
    assert.equal(incidentBaseName("2026-v2.5.0/../../etc passwd"), "incident-2026-v2.5.0_.._.._etc_passwd");
  });

  it("writes exactly the JSON and the markdown, nothing else", async () => {
    await inTmp(async (dir) => {
      const files = await writeIncident(fixtureRecord(), "checkout", path.join(dir, "incidents"));
      assert.deepEqual(files, { json: path.join(dir, "incidents", "incident-20260101T000000000Z-v2.5.0.json"), markdown: path.join(dir, "incidents", "incident-20260101T000000000Z-v2.5.0.md") });
      assert.deepEqual((await fs.readdir(path.join(dir, "incidents"))).sort(), ["incident-20260101T000000000Z-v2.5.0.json", "incident-20260101T000000000Z-v2.5.0.md"]);
      const incident = buildIncident(fixtureRecord(), "checkout");
      assert.equal(await fs.readFile(files.json, "utf8"), `${JSON.stringify(incident, null, 2)}\n`);
      assert.equal(await fs.readFile(files.markdown, "utf8"), renderIncidentMarkdown(incident));
    });
  });

  it("RolloutNotifications: an unwritable incident directory is a log line, not an exception", async () => {
    await inTmp(async (dir) => {
      const blocker = path.join(dir, "file");
      await fs.writeFile(blocker, "");
      const log: string[] = [];
      const n = new RolloutNotifications({ service: "checkout", notifiers: [], incidentDir: path.join(blocker, "incidents"), log: (l) => log.push(l) });
      const t = fixtureTransitions()[3];
      assert.doesNotThrow(() => n.transition(t.record, t.entry));
      assert.deepEqual((await n.flush(10_000)).incidents, []);
      assert.equal(log.length, 1);
      assert.match(log[0], /^notify: cannot write the incident record of rollout 20260101T000000000Z-v2\.5\.0 to .*\/file\/incidents: ENOTDIR/);
    });
  });
});
