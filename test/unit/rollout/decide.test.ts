/**
 * decide(): the driver's whole policy, as a pure function. Exact actions for the cases that
 * matter, then every phase × control request × verdict × gate state × what the driver has seen,
 * checked against the rules that must hold everywhere (total, deterministic, forward only,
 * gates and freezes honoured, a rollback only for a reason).
 */
import * as assert from "node:assert/strict";
import { Decision } from "../../../automation/analysis/types";
import { parsePlan, Plan } from "../../../automation/plan";
import { Action, decide, Observation } from "../../../automation/rollout/decide";
import { applyControl, ControlInput, newRequest } from "../../../automation/rollout/requests";
import { ControlVerb, newRecord, Phase, PHASES, RolloutRecord, transition } from "../../../automation/state";
import { verdict } from "../../helpers/fakes";

const AT = "2026-01-01T00:10:00.000Z";
const T0 = Date.UTC(2026, 0, 1);
const PLAN = parsePlan("steps: [{weight: 5}, {weight: 25}, {weight: 100}]\ntick: 10s\n");
const GATED = parsePlan("steps: [{weight: 5}, {weight: 25}, {weight: 100}]\ntick: 10s\ngates: { beforeSteps: [0, 1], beforePromotion: true }\n");

/** A record of weights 5, 25 (judged) and 100, in `phase`, at judged step `step`. */
function record(phase: Phase, step?: number, extra: Partial<RolloutRecord> = {}): RolloutRecord {
  const base = newRecord({ id: "r1", stack: "dev", target: "fake", version: "v2", image: "app:v2", steps: [5, 25, 100], at: "2026-01-01T00:00:00.000Z" });
  return {
    ...base,
    snapshot: { type: "fake", weight: 0 },
    phase,
    ...(step !== undefined ? { step: { index: step, weight: base.steps[step], startedAt: "2026-01-01T00:01:00.000Z" } } : {}),
    ...extra,
  };
}

/** The record after a tick of `decision` at its step (`passed` on promote, as the loop records it). */
function judged(r: RolloutRecord, decision: Decision): RolloutRecord {
  const step = r.step!;
  return {
    ...r,
    lastVerdict: { at: AT, decision, reasons: [`tick says ${decision}`], stepElapsedSeconds: 60, stepObservedSeconds: 60, step: step.index },
    step: { ...step, ...(decision === "promote" ? { passed: { at: AT, reason: "tick says promote" } } : {}) },
  };
}

/** What a driver that has been judging step `step` sees right after a tick. */
function afterTick(step: number, weight: number, more: Partial<Observation> = {}): Observation {
  return { at: AT, applied: weight, judging: step, ...more };
}

function approvals(r: RolloutRecord, ...gates: string[]): RolloutRecord {
  return { ...r, controls: gates.map((gate, i) => ({ id: `a${i}`, verb: "approve" as const, gate, at: AT, by: "bob@ops", reason: "ok", status: "applied" as const })) };
}

describe("decide: exact actions", () => {
  // [name, record, plan, observation, action]
  const rows: [string, RolloutRecord, Plan, Observation, Action][] = [
    ["a new rollout deploys the canary", record("Initializing"), PLAN, { at: AT }, { kind: "SetCanary" }],
    ["the canary deployed: the first step's weight", record("Initializing", undefined, { canaryDeployedAt: AT }), PLAN, { at: AT, applied: 0 }, { kind: "SetWeight", step: 0, weight: 5 }],
    ["a gate before the first step waits at weight 0", record("Initializing", undefined, { canaryDeployedAt: AT }), GATED, { at: AT, applied: 0 }, { kind: "AwaitGate", gate: "step 0" }],
    ["…until approved", approvals(record("Initializing", undefined, { canaryDeployedAt: AT }), "step 0"), GATED, { at: AT, applied: 0 }, { kind: "SetWeight", step: 0, weight: 5 }],
    ["a driver that has not seen the target reads it back", record("Progressing", 0), PLAN, { at: AT }, { kind: "ReadBack" }],
    ["a resumed step whose weight is not applied applies it again", record("Progressing", 1), PLAN, { at: AT, applied: 5 }, { kind: "SetWeight", step: 1, weight: 25 }],
    ["the step's judging begins", record("Progressing", 0), PLAN, { at: AT, applied: 5 }, { kind: "Judge", step: 0, start: "begin" }],
    ["a new driver continues the judging in the record", record("Progressing", 0, { judge: { schema: 1 } }), PLAN, { at: AT, applied: 5 }, { kind: "Judge", step: 0, start: "resume" }],
    ["the next step begins its own judging", record("Progressing", 1, { judge: { schema: 1 } }), PLAN, afterTick(0, 25), { kind: "Judge", step: 1, start: "begin" }],
    ["a tick is due: judge", record("Progressing", 0), PLAN, afterTick(0, 5, { tickDue: true }), { kind: "Judge", step: 0 }],
    ["no decision yet: hold", judged(record("Progressing", 0), "continue"), PLAN, afterTick(0, 5), { kind: "Hold" }],
    ["a failing analysis rolls back at once", judged(record("Progressing", 0), "rollback"), PLAN, afterTick(0, 5), { kind: "RollBack", trigger: "analysis", reason: "tick says rollback", evidence: { decision: "rollback", reasons: ["tick says rollback"] }, gradual: [], recorded: false }],
    ["paused: a failing analysis still rolls back", judged(record("Paused", 0), "rollback"), PLAN, afterTick(0, 5), { kind: "RollBack", trigger: "analysis", reason: "tick says rollback", evidence: { decision: "rollback", reasons: ["tick says rollback"] }, gradual: [], recorded: false }],
    ["frozen: a failing analysis holds", judged(record("Frozen", 0), "rollback"), PLAN, afterTick(0, 5), { kind: "Hold" }],
    ["inconclusive, plan rollback: rolls back", judged(record("Progressing", 0), "inconclusive"), PLAN, afterTick(0, 5), { kind: "RollBack", trigger: "analysis", reason: "inconclusive: tick says inconclusive", evidence: { decision: "inconclusive", reasons: ["tick says inconclusive"] }, gradual: [], recorded: false }],
    ["inconclusive, plan hold: holds", judged(record("Progressing", 0), "inconclusive"), { ...PLAN, inconclusive: "hold" }, afterTick(0, 5), { kind: "Hold" }],
    ["inconclusive while paused: holds", judged(record("Paused", 0), "inconclusive"), PLAN, afterTick(0, 5), { kind: "Hold" }],
    ["a verdict of the previous step does not count", { ...judged(record("Progressing", 0), "inconclusive"), step: { index: 1, weight: 25, startedAt: AT } }, PLAN, afterTick(1, 25), { kind: "Hold" }],
    ["a passed step goes to the next weight", judged(record("Progressing", 0), "promote"), PLAN, afterTick(0, 5), { kind: "SetWeight", step: 1, weight: 25 }],
    ["a passed step waits at the gate after it", judged(record("Progressing", 0), "promote"), GATED, afterTick(0, 5), { kind: "AwaitGate", gate: "step 1" }],
    ["…and goes on once it is approved", approvals(judged(record("Progressing", 0), "promote"), "step 1"), GATED, afterTick(0, 5), { kind: "SetWeight", step: 1, weight: 25 }],
    ["…still judging every tick while it waits", judged(record("Progressing", 0), "promote"), GATED, afterTick(0, 5, { tickDue: true }), { kind: "Judge", step: 0 }],
    ["a passed last step promotes", judged(record("Progressing", 1), "promote"), PLAN, afterTick(1, 25), { kind: "Promote", reason: "step 1 passed: tick says promote", evidence: { decision: "promote", reasons: ["tick says promote"] } }],
    ["…after the promotion gate", judged(record("Progressing", 1), "promote"), GATED, afterTick(1, 25), { kind: "AwaitGate", gate: "promotion" }],
    ["a passed step while paused holds", judged(record("Paused", 0), "promote"), PLAN, afterTick(0, 5), { kind: "Hold" }],
    ["a passed step while frozen holds", judged(record("Frozen", 0), "promote"), PLAN, afterTick(0, 5), { kind: "Hold" }],
    ["promoting: promote (again, after a kill)", record("Promoting", 1, { history: [{ at: AT, type: "promoteFull", from: "Progressing", to: "Promoting", reason: "ship it" }] }), PLAN, { at: AT }, { kind: "Promote", reason: "ship it" }],
    ["rolling back: finish it, not recorded twice", record("RollingBack", 1, { history: [{ at: AT, type: "rollback", from: "Progressing", to: "RollingBack", reason: "bad", trigger: "analysis" }] }), PLAN, { at: AT }, { kind: "RollBack", trigger: "analysis", reason: "bad", gradual: [], recorded: true }],
    ["a gradual descent first reads the weight back", record("RollingBack", 1, { gradual: [5] }), PLAN, { at: AT }, { kind: "ReadBack" }],
    ["…and continues below it, never up", record("RollingBack", 1, { gradual: [25, 5] }), PLAN, { at: AT, applied: 5 }, { kind: "RollBack", trigger: "error", reason: "finishing the rollback", gradual: [], recorded: true }],
    ["a failed restore ends the run", record("RollingBack", 1, { history: [{ at: AT, type: "rollbackFailed", from: "RollingBack", to: "RollingBack", reason: "restore failed" }] }), PLAN, { at: AT, restoreFailed: true }, { kind: "Done", outcome: "restoreFailed", reason: "restore failed" }],
    ["succeeded", record("Succeeded", 1, { history: [{ at: AT, type: "promote", from: "Progressing", to: "Promoting", reason: "passed" }] }), PLAN, { at: AT }, { kind: "Done", outcome: "promoted", reason: "passed" }],
    ["rolled back", record("RolledBack", 1, { history: [{ at: AT, type: "rollback", from: "Progressing", to: "RollingBack", reason: "bad", trigger: "analysis" }] }), PLAN, { at: AT }, { kind: "Done", outcome: "rolledBack", reason: "bad" }],
    ["a failed target change rolls back", record("Progressing", 0), PLAN, afterTick(0, 5, { failure: { reason: "boom", evidence: { error: "boom" } } }), { kind: "RollBack", trigger: "error", reason: "boom", evidence: { error: "boom" }, gradual: [], recorded: false }],
    ["a signal rolls back (plan onSignal: rollback)", record("Progressing", 0), PLAN, afterTick(0, 5, { interrupted: "interrupted (SIGTERM)" }), { kind: "RollBack", trigger: "operator", reason: "interrupted (SIGTERM)", gradual: [], recorded: false }],
    [
      "a signal pauses (plan onSignal: pause)",
      record("Progressing", 0),
      { ...PLAN, onSignal: "pause" },
      afterTick(0, 5, { interrupted: "interrupted (SIGTERM)", operator: "ci@runner" }),
      { kind: "Done", outcome: "paused", reason: "interrupted (SIGTERM)", event: { type: "pause", at: AT, reason: "interrupted (SIGTERM); plan onSignal: pause holds the weight", by: "ci@runner" } },
    ],
    ["a signal while paused leaves it paused", record("Paused", 0), { ...PLAN, onSignal: "pause" }, afterTick(0, 5, { interrupted: "interrupted (SIGINT)" }), { kind: "Done", outcome: "paused", reason: "interrupted (SIGINT)" }],
    ["a signal before the first step rolls back even with onSignal: pause", record("Initializing"), { ...PLAN, onSignal: "pause" }, { at: AT, interrupted: "interrupted (SIGTERM)" }, { kind: "RollBack", trigger: "operator", reason: "interrupted (SIGTERM)", gradual: [], recorded: false }],
    ["a signal does not stop a rollback", record("RollingBack", 0), PLAN, { at: AT, interrupted: "interrupted (SIGTERM)" }, { kind: "RollBack", trigger: "error", reason: "finishing the rollback", gradual: [], recorded: true }],
    ["a taken-over rollout with onResume: rollback", record("Progressing", 1), { ...PLAN, onResume: "rollback" }, { at: AT, tookOver: "dave@ci-1:1" }, { kind: "RollBack", trigger: "operator", reason: "the previous driver (dave@ci-1:1) is gone and the plan says onResume: rollback", gradual: [], recorded: false }],
    ["a weight change under way, not yet seen: read back", record("Progressing", 0, { intent: { action: "setWeight", step: 1, weight: 25, at: AT } }), PLAN, { at: AT }, { kind: "ReadBack" }],
    ["…applied already: only recorded", record("Progressing", 0, { intent: { action: "setWeight", step: 1, weight: 25, at: AT } }), PLAN, { at: AT, applied: 25 }, { kind: "SetWeight", step: 1, weight: 25, applied: true }],
    ["…not applied: made again, forward", record("Progressing", 0, { intent: { action: "setWeight", step: 1, weight: 25, at: AT } }), PLAN, { at: AT, applied: 5 }, { kind: "SetWeight", step: 1, weight: 25 }],
    ["the first step's change under way, applied", record("Initializing", undefined, { intent: { action: "setWeight", step: 0, weight: 5, at: AT } }), PLAN, { at: AT, applied: 5 }, { kind: "SetWeight", step: 0, weight: 5, applied: true }],
    ["the canary's deployment under way: deploy again", record("Initializing", undefined, { intent: { action: "setCanary", at: AT } }), PLAN, { at: AT }, { kind: "SetCanary" }],
    ["an Idle record is never driven", record("Idle"), PLAN, { at: AT }, { kind: "Done", outcome: "unchanged", reason: "rollout r1 was never started" }],
  ];
  for (const [name, r, plan, obs, action] of rows) {
    it(name, () => assert.deepEqual(decide(r, plan, obs), action));
  }

  it("uses the full verdict as evidence when it has it", () => {
    const v = { ...verdict("rollback", "errors: ratio above the margin", Date.parse(AT) / 1000) };
    const a = decide(judged(record("Progressing", 0), "rollback"), PLAN, afterTick(0, 5, { verdict: v }));
    assert.equal(a.kind, "RollBack");
    assert.deepEqual((a as { evidence: unknown }).evidence, { decision: "rollback", reasons: ["errors: ratio above the margin"], stepElapsedSeconds: 0, stepObservedSeconds: 0, metrics: [], guardrails: [] });
  });
});

describe("decide: control requests, as the driver applies them before deciding", () => {
  const at = (r: RolloutRecord, input: Omit<ControlInput, "by" | "reason">): RolloutRecord => {
    const c = newRequest({ by: "alice@ops", reason: "drill", ...input }, T0);
    return applyControl({ ...r, controls: [...(r.controls ?? []), c] }, c, AT, "driver").record;
  };
  const cases: [string, RolloutRecord, Omit<ControlInput, "by" | "reason">, Action["kind"], Partial<Action>?][] = [
    ["abort rolls back, as the operator's decision", record("Progressing", 1), { verb: "abort" }, "RollBack", { trigger: "operator", reason: "aborted by alice@ops: drill", recorded: true, gradual: [] }],
    ["abort --gradual steps down through the lower weights", record("Progressing", 1), { verb: "abort", gradual: true }, "RollBack", { gradual: [5], recorded: true }],
    ["abort while frozen still rolls back", record("Frozen", 0), { verb: "abort" }, "RollBack", { trigger: "operator" }],
    ["promote --full promotes now", record("Progressing", 0), { verb: "promoteFull" }, "Promote"],
    ["promote ends the step's wait", record("Progressing", 0), { verb: "promote" }, "SetWeight", { step: 1, weight: 25 }],
    ["promote at the last step promotes", record("Progressing", 1), { verb: "promote" }, "Promote"],
    ["pause holds", judged(record("Progressing", 0), "promote"), { verb: "pause" }, "Hold"],
    ["resume goes on", judged(record("Paused", 0), "promote"), { verb: "resume" }, "SetWeight", { step: 1, weight: 25 }],
    ["freeze holds through a failing analysis", judged(record("Progressing", 0), "rollback"), { verb: "freeze" }, "Hold"],
    ["approve opens the gate", judged(record("Progressing", 0), "promote"), { verb: "approve", gate: "step 1" }, "SetWeight", { step: 1, weight: 25 }],
    ["approve of another gate leaves this one closed", judged(record("Progressing", 0), "promote"), { verb: "approve", gate: "promotion" }, "AwaitGate", { gate: "step 1" }],
    ["an illegal request (resume while progressing) changes nothing", record("Progressing", 0), { verb: "resume" }, "Hold"],
  ];
  for (const [name, r, input, kind, fields] of cases) {
    it(name, () => {
      const a = decide(at(r, input), input.verb === "approve" ? GATED : PLAN, afterTick(r.step?.index ?? 0, r.step?.weight ?? 0));
      assert.equal(a.kind, kind);
      for (const [k, v] of Object.entries(fields ?? {})) assert.deepEqual((a as unknown as Record<string, unknown>)[k], v, k);
    });
  }
});

describe("decide: every phase × control request × verdict × gate state × what the driver has seen", () => {
  const controls: (Omit<ControlInput, "by" | "reason"> | undefined)[] = [
    undefined,
    ...(["promote", "promoteFull", "abort", "pause", "resume", "freeze", "unfreeze"] as ControlVerb[]).map((verb) => ({ verb })),
    { verb: "abort", gradual: true },
    { verb: "approve", gate: "step 1" },
    { verb: "approve", gate: "promotion" },
  ];
  const verdicts: (Decision | undefined)[] = [undefined, "continue", "promote", "rollback", "inconclusive"];
  const gates: [string, Plan, string[]][] = [
    ["no gates", PLAN, []],
    ["gates closed", GATED, []],
    ["gates approved", GATED, ["step 0", "step 1", "promotion"]],
  ];
  const views: [string, (r: RolloutRecord) => Observation][] = [
    ["a new driver", () => ({ at: AT })],
    ["after a tick", (r) => afterTick(r.step?.index ?? 0, r.step?.weight ?? 0)],
    ["a tick due", (r) => afterTick(r.step?.index ?? 0, r.step?.weight ?? 0, { tickDue: true })],
    ["a signal", (r) => afterTick(r.step?.index ?? 0, r.step?.weight ?? 0, { interrupted: "interrupted (SIGTERM)" })],
    ["a failure", (r) => afterTick(r.step?.index ?? 0, r.step?.weight ?? 0, { failure: { reason: "boom", evidence: {} } })],
  ];
  const plans: [string, (p: Plan) => Plan][] = [
    ["defaults", (p) => p],
    ["hold, pause, resume with rollback", (p) => ({ ...p, inconclusive: "hold", onSignal: "pause", onResume: "rollback" })],
  ];

  /** A record in every phase, at each judged step where a step is in force. */
  function records(): RolloutRecord[] {
    const out: RolloutRecord[] = [];
    for (const phase of PHASES) {
      if (phase === "Idle") out.push(record("Idle"));
      else if (phase === "Initializing") out.push(record("Initializing"), record("Initializing", undefined, { canaryDeployedAt: AT }));
      else for (const step of [0, 1]) out.push(record(phase, step, phase === "RollingBack" ? { history: [{ at: AT, type: "rollback", from: "Progressing", to: "RollingBack", reason: "bad", trigger: "analysis" }] } : {}));
    }
    return out;
  }

  type Row = { name: string; before: RolloutRecord; r: RolloutRecord; plan: Plan; obs: Observation; a: Action };
  const rows: Row[] = [];
  for (const base of records()) {
    for (const v of verdicts) {
      const withVerdict = v && base.step ? judged(base, v) : base;
      for (const c of controls) {
        let r = withVerdict;
        if (c) {
          const req = newRequest({ by: "alice@ops", reason: "drill", ...c }, T0);
          r = applyControl({ ...r, controls: [...(r.controls ?? []), req] }, req, AT, "driver").record;
        }
        for (const [gname, gplan, approved] of gates) {
          const rg = approved.length ? { ...r, controls: [...(r.controls ?? []), ...approvals(r, ...approved).controls!] } : r;
          for (const [pname, p] of plans) {
            const plan = p(gplan);
            for (const [vname, view] of views) {
              const obs = view(rg);
              rows.push({ name: `${base.phase}${base.step ? `(${base.step.index})` : ""} ${v ?? "no verdict"} ${c ? `${c.verb}${c.gradual ? " --gradual" : ""}${c.gate ? ` ${c.gate}` : ""}` : "no request"} ${gname} ${pname} ${vname}`, before: base, r: rg, plan, obs, a: decide(rg, plan, obs) });
            }
          }
        }
      }
    }
  }

  it(`covers ${rows.length} combinations, each with exactly one action`, () => {
    assert.ok(rows.length > 5000, String(rows.length));
    const kinds = new Set(rows.map((x) => x.a.kind));
    assert.deepEqual([...kinds].sort(), ["AwaitGate", "Done", "Hold", "Judge", "Promote", "ReadBack", "RollBack", "SetCanary", "SetWeight"]);
  });

  it("is deterministic and depends on nothing but the record's JSON: a resumed driver decides the same", () => {
    for (const x of rows) assert.deepEqual(decide(JSON.parse(JSON.stringify(x.r)) as RolloutRecord, x.plan, x.obs), x.a, x.name);
  });

  it("never moves traffic backwards: a weight is set only to the step in force, the next step, or the change under way", () => {
    for (const x of rows) {
      if (x.a.kind !== "SetWeight") continue;
      const step = x.r.step;
      const allowed = step ? [step.index, step.index + 1] : [0];
      if (x.r.intent?.action === "setWeight") allowed.push(x.r.intent.step);
      assert.ok(allowed.includes(x.a.step), `${x.name}: SetWeight to step ${x.a.step}`);
      assert.equal(x.a.weight, x.r.steps[x.a.step], x.name);
      if (step) assert.ok(x.a.weight >= step.weight, `${x.name}: ${x.a.weight} below ${step.weight}`);
    }
  });

  it("honours gates: nothing passes a closed gate", () => {
    for (const x of rows) {
      const open = (gate: string): boolean => !x.plan.gates.beforeSteps.includes(Number(gate.replace("step ", ""))) || (x.r.controls ?? []).some((c) => c.verb === "approve" && c.gate === gate && c.status !== "refused");
      if (x.a.kind === "SetWeight" && !x.a.applied && x.r.step?.index !== x.a.step && x.r.intent === undefined) assert.ok(open(`step ${x.a.step}`), `${x.name}: past the gate before step ${x.a.step}`);
      if (x.a.kind === "Promote" && x.r.phase === "Progressing") {
        assert.ok(!x.plan.gates.beforePromotion || (x.r.controls ?? []).some((c) => c.verb === "approve" && c.gate === "promotion" && c.status !== "refused"), `${x.name}: past the promotion gate`);
      }
    }
  });

  it("paused and frozen rollouts never advance or promote; frozen ones never roll back on the analysis", () => {
    for (const x of rows) {
      if (x.r.phase !== "Paused" && x.r.phase !== "Frozen") continue;
      assert.ok(x.a.kind !== "Promote", x.name);
      if (x.a.kind === "SetWeight") assert.equal(x.a.step, x.r.step!.index, `${x.name}: advanced while ${x.r.phase}`);
      if (x.r.phase === "Frozen" && x.a.kind === "RollBack") assert.notEqual(x.a.trigger, "analysis", x.name);
    }
  });

  it("rolls back only for a reason: a failing analysis, an inconclusive step the plan rolls back, an operator, a failure, a signal", () => {
    for (const x of rows) {
      if (x.a.kind !== "RollBack" || x.a.recorded) continue;
      const v = x.r.lastVerdict?.step === x.r.step?.index ? x.r.lastVerdict?.decision : undefined;
      const why = x.obs.failure ? "failure" : x.obs.interrupted ? "signal" : x.obs.tookOver ? "resume" : v === "rollback" ? "analysis" : v === "inconclusive" && x.plan.inconclusive === "rollback" ? "inconclusive" : undefined;
      assert.ok(why, `${x.name}: RollBack without a reason`);
    }
  });

  it("finished rollouts are Done, a rollback under way is always finished, a promotion always completed", () => {
    for (const x of rows) {
      if (x.r.phase === "Succeeded") assert.deepEqual([x.a.kind, (x.a as { outcome?: string }).outcome], ["Done", "promoted"], x.name);
      if (x.r.phase === "RolledBack") assert.deepEqual([x.a.kind, (x.a as { outcome?: string }).outcome], ["Done", "rolledBack"], x.name);
      if (x.r.phase === "RollingBack") assert.ok((x.a.kind === "RollBack" && x.a.recorded) || x.a.kind === "ReadBack", x.name);
      if (x.r.phase === "Promoting") assert.ok(x.a.kind === "Promote" || (x.a.kind === "RollBack" && (x.obs.failure || x.obs.interrupted)), x.name);
      if (x.a.kind === "Done" && !["Succeeded", "RolledBack", "Idle"].includes(x.r.phase)) assert.equal(x.a.outcome, "paused", x.name);
    }
  });

  it("a driver that has not seen the target reads it back before changing or judging anything at a step", () => {
    for (const x of rows) {
      if (x.obs.applied !== undefined || x.obs.failure || x.obs.interrupted || !x.r.step) continue;
      if (["Progressing", "Paused", "Frozen"].includes(x.r.phase)) assert.equal(x.a.kind, "ReadBack", x.name);
    }
  });

  it("every control request is applied or refused with why, and a refused one changes nothing else", () => {
    for (const x of rows) {
      for (const c of x.r.controls ?? []) assert.notEqual(c.status, "pending", x.name);
      const refused = (x.r.controls ?? []).filter((c) => c.status === "refused");
      if (refused.length) assert.equal(x.r.phase, x.before.phase, x.name);
    }
  });
});

describe("control requests as transitions", () => {
  it("an illegal request is refused with the transition's own message", () => {
    const c = newRequest({ verb: "resume", by: "a@h", reason: "x" }, T0);
    const { record: r, applied } = applyControl({ ...record("Progressing", 0), controls: [c] }, c, AT, "driver");
    assert.equal(applied, false);
    assert.equal(r.controls![0].result, "cannot resume from Progressing (rollout r1 of v2 on dev); resume is legal from Paused");
    assert.equal(r.history.length, 0);
  });

  it("pause and freeze wait until a weight change under way is resolved by a driver", () => {
    const c = newRequest({ verb: "pause", by: "a@h", reason: "x" }, T0);
    const { applied, record: r } = applyControl({ ...record("Progressing", 0, { intent: { action: "setWeight", step: 1, weight: 25, at: AT } }), controls: [c] }, c, AT, "stopped");
    assert.equal(applied, false);
    assert.equal(r.controls![0].result, "cannot pause rollout r1 while its canary weight is being changed to 25 (step 1); run `canary rollout` to resume it, or `canary abort`");
  });

  it("records who asked: by the driver with the request's id, on a stopped rollout with the call's note", () => {
    const c = newRequest({ verb: "abort", by: "a@h", reason: "x", gradual: true }, T0);
    const live = applyControl({ ...record("Progressing", 1), controls: [c] }, c, AT, "driver").record;
    assert.deepEqual(live.history.at(-1), { at: AT, type: "rollback", from: "Progressing", to: "RollingBack", reason: "aborted by a@h: x", step: 1, weight: 25, trigger: "operator", by: "a@h", evidence: { control: c.id, gradual: [5] } });
    assert.deepEqual(live.gradual, [5]);
    const stopped = applyControl({ ...record("Progressing", 1), controls: [c] }, c, AT, "stopped").record;
    assert.deepEqual(stopped.history.at(-1)!.reason, "abort by a@h: x (no driver running)");
    assert.deepEqual(stopped.history.at(-1)!.evidence, { gradual: [5] });
  });

  it("a skip records the step as passed", () => {
    const r = transition(record("Progressing", 0), { type: "skip", at: AT, reason: "promote by a@h: go" });
    assert.deepEqual(r.step!.passed, { at: AT, reason: "promote by a@h: go" });
  });
});
