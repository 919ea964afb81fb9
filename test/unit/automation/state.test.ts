import * as assert from "node:assert/strict";
import { EventType, newRecord, Phase, PHASES, RolloutEvent, RolloutRecord, transition, TRANSITIONS, checkRecord, describePhase } from "../../../automation/state";

const T0 = "2026-01-01T00:00:00.000Z";
const base = newRecord({ id: "r1", stack: "dev", target: "pulumi", version: "v2", image: "app:v2", steps: [5, 25, 100], at: T0 });

/** A blue/green record: one step, the switch to 100. */
const blueGreen = newRecord({ id: "r1", stack: "dev", target: "pulumi", version: "v2", image: "app:v2", steps: [100], strategy: "blueGreen", at: T0 });

/** A record in `phase` at step `index` (weights 5, 25, then the final 100). */
function at(phase: Phase, index?: number): RolloutRecord {
  return { ...base, phase, ...(index !== undefined ? { step: { index, weight: base.steps[index], startedAt: T0 } } : {}) };
}

function event(type: EventType, extra: Record<string, unknown> = {}): RolloutEvent {
  return { type, at: "2026-01-01T00:01:00.000Z", reason: `because ${type}`, ...(type === "rollback" ? { trigger: "analysis" } : {}), ...extra } as RolloutEvent;
}

describe("state", () => {
  // [from record, event, expected phase, expected step after]
  const legal: [string, RolloutRecord, RolloutEvent, Phase, number | undefined][] = [
    ["start", at("Idle"), event("start"), "Initializing", undefined],
    ["first step", at("Initializing"), event("advance", { step: 0, weight: 5 }), "Progressing", 0],
    ["next step", at("Progressing", 0), event("advance", { step: 1, weight: 25 }), "Progressing", 1],
    ["promote from the last judged step", at("Progressing", 1), event("promote"), "Promoting", 1],
    ["complete", at("Promoting", 1), event("complete"), "Succeeded", 1],
    ["rollback while initializing", at("Initializing"), event("rollback", { trigger: "error" }), "RollingBack", undefined],
    ["rollback while progressing", at("Progressing", 0), event("rollback"), "RollingBack", 0],
    ["rollback while paused", at("Paused", 0), event("rollback"), "RollingBack", 0],
    ["operator rollback while frozen", at("Frozen", 0), event("rollback", { trigger: "operator" }), "RollingBack", 0],
    ["rollback while promoting", at("Promoting", 1), event("rollback", { trigger: "error" }), "RollingBack", 1],
    ["a succeeded rollout rolled back (a later stage of its wave failed)", at("Succeeded", 1), event("rollback", { trigger: "operator" }), "RollingBack", 1],
    ["rolled back", at("RollingBack", 0), event("rolledBack"), "RolledBack", 0],
    ["rollback failed stays rolling back", at("RollingBack", 0), event("rollbackFailed"), "RollingBack", 0],
    ["pause", at("Progressing", 0), event("pause"), "Paused", 0],
    ["resume", at("Paused", 0), event("resume"), "Progressing", 0],
    ["freeze while progressing", at("Progressing", 0), event("freeze"), "Frozen", 0],
    ["freeze while paused", at("Paused", 0), event("freeze"), "Frozen", 0],
    ["unfreeze", at("Frozen", 0), event("unfreeze"), "Progressing", 0],
    ["skip the step's wait", at("Progressing", 0), event("skip"), "Progressing", 0],
    ["full promotion while progressing", at("Progressing", 0), event("promoteFull"), "Promoting", 0],
    ["full promotion while paused", at("Paused", 0), event("promoteFull"), "Promoting", 0],
    ["approve a gate before the first step", at("Initializing"), event("approve", { gate: "step 0" }), "Initializing", undefined],
    ["approve a gate while progressing", at("Progressing", 0), event("approve", { gate: "step 1" }), "Progressing", 0],
    ["approve a gate while paused", at("Paused", 0), event("approve", { gate: "promotion" }), "Paused", 0],
    ["approve a gate while frozen", at("Frozen", 0), event("approve", { gate: "promotion" }), "Frozen", 0],
    ["take over a progressing rollout", at("Progressing", 1), event("takeOver"), "Progressing", 1],
    ["take over an unfinished rollback", at("RollingBack", 0), event("takeOver"), "RollingBack", 0],
    ["the last judged step passed, all traffic on the canary for its bake", at("Progressing", 1), event("switch"), "Baking", 2],
    ["blue/green: the switch", { ...blueGreen, phase: "Initializing" }, event("switch"), "Baking", 0],
    ["the bake passed: promote", at("Baking", 2), event("promote"), "Promoting", 2],
    ["the bake failed: roll back", at("Baking", 2), event("rollback"), "RollingBack", 2],
    ["an operator ends the bake's wait", at("Baking", 2), event("skip"), "Baking", 2],
    ["an operator promotes now, skipping the bake", at("Baking", 2), event("promoteFull"), "Promoting", 2],
    ["approve while baking", at("Baking", 2), event("approve", { gate: "promotion" }), "Baking", 2],
    ["take over a bake", at("Baking", 2), event("takeOver"), "Baking", 2],
  ];
  for (const [name, record, ev, phase, step] of legal) {
    it(`legal: ${name} → ${phase}`, () => {
      const next = transition(record, ev);
      assert.equal(next.phase, phase);
      assert.equal(next.step?.index, step);
      assert.equal(next.updatedAt, ev.at);
      assert.deepEqual(next.history, [
        {
          at: ev.at,
          type: ev.type,
          from: record.phase,
          to: phase,
          reason: `because ${ev.type}`,
          ...(next.step ? { step: next.step.index, weight: next.step.weight } : {}),
          ...(ev.type === "rollback" ? { trigger: ev.trigger } : {}),
          ...(ev.type === "approve" ? { gate: ev.gate } : {}),
        },
      ]);
      assert.equal(record.history.length, 0, "the input record is not modified");
    });
  }

  it("every (phase, event) pair the table does not list is refused", () => {
    for (const phase of PHASES) {
      for (const [type, rule] of Object.entries(TRANSITIONS) as [EventType, (typeof TRANSITIONS)[EventType]][]) {
        if (rule.from.includes(phase)) continue;
        assert.throws(() => transition(at(phase, phase === "Idle" || phase === "Initializing" ? undefined : 0), event(type, { step: 0, weight: 5 })), {
          name: "IllegalTransitionError",
          message: `cannot ${type} from ${phase} (rollout r1 of v2 on dev); ${type} is legal from ${rule.from.join(", ")}`,
        });
      }
    }
  });

  const illegal: [string, RolloutRecord, RolloutEvent, string][] = [
    ["skipping a step", at("Progressing", 0), event("advance", { step: 2, weight: 100 }), "cannot advance to step 2 from Progressing(step 0, weight 5) (rollout r1 of v2 on dev); the next step is 1"],
    ["starting at step 1", at("Initializing"), event("advance", { step: 1, weight: 25 }), "cannot advance to step 1 from Initializing (rollout r1 of v2 on dev); the next step is 0"],
    ["a weight other than the plan's", at("Initializing"), event("advance", { step: 0, weight: 10 }), "cannot advance to step 0 at weight 10 (rollout r1 of v2 on dev): the plan's weight is 5"],
    [
      "advancing to the final 100",
      at("Progressing", 1),
      event("advance", { step: 2, weight: 100 }),
      "cannot advance to step 2 (rollout r1 of v2 on dev): the plan judges steps 0–1; the final 100 is the promotion",
    ],
    ["promoting before the last judged step", at("Progressing", 0), event("promote"), "cannot promote from Progressing(step 0, weight 5) (rollout r1 of v2 on dev): the last judged step is 1"],
    ["switching before the last judged step", at("Progressing", 0), event("switch"), "cannot switch all traffic from Progressing(step 0, weight 5) (rollout r1 of v2 on dev): the last judged step is 1"],
    ["a canary switching from Initializing", at("Initializing"), event("switch"), "cannot switch all traffic from Initializing (rollout r1 of v2 on dev): only a blue/green rollout (a single step of 100) switches from Initializing"],
    [
      "an analysis rollback while frozen",
      at("Frozen", 0),
      event("rollback", { trigger: "analysis" }),
      "cannot rollback from Frozen on the analysis' verdict (rollout r1 of v2 on dev); a frozen rollout only rolls back when an operator asks",
    ],
  ];
  for (const [name, record, ev, message] of illegal) {
    it(`illegal: ${name}`, () => assert.throws(() => transition(record, ev), { name: "IllegalTransitionError", message }));
  }

  it("records who asked for an operator event", () => {
    const r = transition(at("Progressing", 0), { type: "pause", at: "t1", reason: "DB migration", by: "alice@ci-7" });
    assert.deepEqual(r.history[0], { at: "t1", type: "pause", from: "Progressing", to: "Paused", reason: "DB migration", step: 0, weight: 5, by: "alice@ci-7" });
  });

  it("appends evidence and keeps the history in order", () => {
    let r = transition(at("Idle"), event("start"));
    r = transition(r, { type: "advance", at: "t2", reason: "first", step: 0, weight: 5, evidence: { applied: 5 } });
    r = transition(r, { type: "rollback", at: "t3", reason: "errors", trigger: "analysis", evidence: { eValue: 150 } });
    assert.deepEqual(
      r.history.map((h) => [h.type, h.from, h.to, h.evidence]),
      [
        ["start", "Idle", "Initializing", undefined],
        ["advance", "Initializing", "Progressing", { applied: 5 }],
        ["rollback", "Progressing", "RollingBack", { eValue: 150 }],
      ],
    );
    assert.equal(describePhase(r), "RollingBack(step 0, weight 5)");
  });

  it("describes a bake by its weight, and the switch ends a switch under way", () => {
    assert.equal(describePhase(at("Baking", 2)), "Baking(weight 100)");
    const r = transition({ ...at("Progressing", 1), intent: { action: "switch", at: T0 } }, event("switch"));
    assert.equal(r.intent, undefined);
    assert.deepEqual(r.step, { index: 2, weight: 100, startedAt: "2026-01-01T00:01:00.000Z" });
  });

  it("checks a stored record's shape", () => {
    assert.deepEqual(checkRecord(JSON.parse(JSON.stringify(base)), "f"), base);
    assert.throws(() => checkRecord({ ...base, schema: 2 }, "file x"), { name: "RecordError", message: "rollout record in file x: unsupported schema 2; this driver reads schema 1" });
    assert.throws(() => checkRecord({ ...base, phase: "Done" }, "file x"), { name: "RecordError", message: 'rollout record in file x: unknown phase "Done"' });
    assert.throws(() => checkRecord([], "file x"), { name: "RecordError", message: "rollout record in file x: must be a JSON object" });
  });
});
