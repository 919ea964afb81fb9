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
import { ControlVerb, describePhase, newRecord, Phase, PHASES, RolloutRecord, transition } from "../../../automation/state";
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

describe("decide: blue/green, the bake, hooks and alert gates", () => {
  const BG = parsePlan("strategy: blueGreen\ntick: 10s\nbake: { duration: 20s }\nblueGreen: { scaleDownDelay: 40s }\n");
  const BG_GATED = { ...BG, gates: { beforeSteps: [], beforePromotion: true } };
  const BAKED = parsePlan("steps: [{weight: 5}, {weight: 25}, {weight: 100}]\ntick: 10s\nbake: { duration: 20s }\n");
  const HOOKED = parsePlan(`
steps: [{weight: 5}, {weight: 25}, {weight: 100}]
tick: 10s
hooks:
  - { name: freeze-check, at: preRollout, command: [./check-freeze] }
  - { name: smoke, at: beforeStep, steps: [1], command: [./smoke], onFailure: block }
  - { name: contract, at: beforeStep, steps: [1], http: { url: "https://ci.example.com/contract" }, onFailure: ignore }
  - { name: announce, at: afterPromotion, http: { url: "https://chat.example.com/hook" } }
  - { name: page, at: onRollback, command: [./page] }
`);
  const BG_HOOKED = parsePlan(`
strategy: blueGreen
tick: 10s
bake: { duration: 20s }
hooks:
  - { name: pre-traffic, at: beforePromotion, command: [./smoke] }
  - { name: post-switch, at: afterPromotion, command: [./smoke] }
`);
  const ALERTED = parsePlan("steps: [{weight: 5}, {weight: 25}, {weight: 100}]\ntick: 10s\nalerts: { service: checkout }\n");
  const ALERTS_HOLD = parsePlan("steps: [{weight: 5}, {weight: 25}, {weight: 100}]\ntick: 10s\nalerts: { service: checkout, onFiring: hold }\n");
  const BG_ALERTED = parsePlan("strategy: blueGreen\ntick: 10s\nbake: { duration: 20s }\nblueGreen: { scaleDownDelay: 40s }\nalerts: { service: checkout, onFiring: hold }\n");

  const SWITCHED = "2026-01-01T00:09:00.000Z"; // 60 s before AT: blue has been kept for more than scaleDownDelay
  const JUST_SWITCHED = "2026-01-01T00:09:50.000Z"; // 10 s before AT
  const LATER = "2026-01-01T00:10:10.000Z"; // a tick after AT

  /** A blue/green record (one step: the switch to 100) in `phase`. */
  function bg(phase: Phase, extra: Partial<RolloutRecord> = {}): RolloutRecord {
    const base = newRecord({ id: "r1", stack: "dev", target: "fake", version: "v2", image: "app:v2", steps: [100], strategy: "blueGreen", at: "2026-01-01T00:00:00.000Z" });
    return { ...base, snapshot: { type: "fake", weight: 0, stableVersion: "v1" }, phase, ...(phase === "Baking" ? { step: { index: 0, weight: 100, startedAt: SWITCHED } } : {}), ...extra };
  }
  const reference = { version: "v1", from: AT, to: AT, requests: 1000, errors: 1 };
  const deployed = { canaryDeployedAt: AT, reference };
  const baked = (r: RolloutRecord, decision: Decision, at = AT): RolloutRecord => ({
    ...r,
    lastVerdict: { at, decision, reasons: [`bake says ${decision}`], stepElapsedSeconds: 30, stepObservedSeconds: 30, step: r.step!.index },
    step: { ...r.step!, ...(decision === "promote" ? { passed: { at, reason: "bake says promote" } } : {}) },
  });
  const run = (hook: string, slot: string, ok: boolean, finishedAt = AT) => ({ hook, slot, startedAt: finishedAt, finishedAt, ok, attempts: 1, detail: ok ? "exit 0" : "exit 1", runs: 1 });
  const alerts = (gate: string, firing: string[], at = AT, error?: string, failingSince?: string) => ({ gate, at, firing, ...(error !== undefined ? { error } : {}), ...(failingSince !== undefined ? { failingSince } : {}) });
  const rollBack = (reason: string, evidence?: unknown): Action => ({ kind: "RollBack", trigger: "analysis", reason, ...(evidence !== undefined ? { evidence } : {}), gradual: [], recorded: false });
  const firing = ['CanaryHighErrorRate{service="checkout",version="v2"}'];

  const rows: [string, RolloutRecord, Plan, Observation, Action][] = [
    // Blue/green: reference, green, gates, switch, bake, promotion.
    ["blue/green: the previous version's rates are read before anything is deployed", bg("Initializing"), BG, { at: AT }, { kind: "MeasureReference" }],
    ["…then green is deployed", bg("Initializing", { reference }), BG, { at: AT }, { kind: "SetCanary" }],
    ["…then the switch", bg("Initializing", deployed), BG, { at: AT, applied: 0 }, { kind: "Switch" }],
    ["…after the approval before promotion, when the plan asks for one", bg("Initializing", deployed), BG_GATED, { at: AT, applied: 0 }, { kind: "AwaitGate", gate: "promotion" }],
    ["…after the pre-traffic checks (beforePromotion hooks)", bg("Initializing", deployed), BG_HOOKED, { at: AT, applied: 0 }, { kind: "RunHook", hook: "pre-traffic", at: "beforePromotion", slot: "beforePromotion" }],
    ["…a failed pre-traffic check rolls back", bg("Initializing", { ...deployed, hooks: [run("pre-traffic", "beforePromotion", false)] }), BG_HOOKED, { at: AT, applied: 0 }, rollBack("hook pre-traffic (beforePromotion) failed: exit 1", { hook: run("pre-traffic", "beforePromotion", false) })],
    ["a switch under way, not yet seen: read back", bg("Initializing", { ...deployed, intent: { action: "switch", at: AT } }), BG, { at: AT }, { kind: "ReadBack" }],
    ["…applied already: only recorded", bg("Initializing", { ...deployed, intent: { action: "switch", at: AT } }), BG, { at: AT, applied: 100 }, { kind: "Switch", applied: true }],
    ["…not applied: made again", bg("Initializing", { ...deployed, intent: { action: "switch", at: AT } }), BG, { at: AT, applied: 0 }, { kind: "Switch" }],
    ["baking, not seen the target: read back", bg("Baking"), BG, { at: AT }, { kind: "ReadBack" }],
    ["baking, the target lost the switch: switched again, forward", bg("Baking"), BG, { at: AT, applied: 0 }, { kind: "Switch" }],
    ["baking: post-switch hooks first (afterPromotion, blue still there)", bg("Baking"), BG_HOOKED, { at: AT, applied: 100 }, { kind: "RunHook", hook: "post-switch", at: "afterPromotion", slot: "afterPromotion" }],
    ["…a failed one switches back", bg("Baking", { hooks: [run("post-switch", "afterPromotion", false)] }), BG_HOOKED, { at: AT, applied: 100 }, rollBack("hook post-switch (afterPromotion) failed: exit 1", { hook: run("post-switch", "afterPromotion", false) })],
    ["baking: the bake's judging begins", bg("Baking"), BG, { at: AT, applied: 100 }, { kind: "Judge", step: 0, start: "begin" }],
    ["baking: a tick is due", bg("Baking"), BG, { at: AT, applied: 100, judging: 0, tickDue: true }, { kind: "Judge", step: 0 }],
    ["baking with an alert gate: the alerts first, then the tick", bg("Baking"), BG_ALERTED, { at: AT, applied: 100, judging: 0, tickDue: true }, { kind: "CheckAlerts", gate: "bake", tick: true }],
    ["…checked: judge", bg("Baking"), BG_ALERTED, { at: AT, applied: 100, judging: 0, tickDue: true, alertsChecked: true }, { kind: "Judge", step: 0 }],
    ["baking, no decision yet: hold", baked(bg("Baking"), "continue"), BG, { at: AT, applied: 100, judging: 0 }, { kind: "Hold" }],
    ["a failing bake switches back at once", baked(bg("Baking"), "rollback"), BG, { at: AT, applied: 100, judging: 0 }, rollBack("bake says rollback", { decision: "rollback", reasons: ["bake says rollback"] })],
    ["an inconclusive bake rolls back (plan inconclusive: rollback)", baked(bg("Baking"), "inconclusive"), BG, { at: AT, applied: 100, judging: 0 }, rollBack("inconclusive: bake says inconclusive", { decision: "inconclusive", reasons: ["bake says inconclusive"] })],
    ["…or holds (plan inconclusive: hold)", baked(bg("Baking"), "inconclusive"), { ...BG, inconclusive: "hold" }, { at: AT, applied: 100, judging: 0 }, { kind: "Hold" }],
    ["a passed bake keeps blue until scaleDownDelay is over", baked(bg("Baking", { step: { index: 0, weight: 100, startedAt: JUST_SWITCHED } }), "promote"), BG, { at: AT, applied: 100, judging: 0 }, { kind: "Hold" }],
    ["…then promotes", baked(bg("Baking"), "promote"), BG, { at: AT, applied: 100, judging: 0 }, { kind: "Promote", reason: "bake passed: bake says promote", evidence: { decision: "promote", reasons: ["bake says promote"] } }],
    ["…not while an alert fires (onFiring: hold)", baked(bg("Baking", { alerts: alerts("bake", firing) }), "promote"), BG_ALERTED, { at: AT, applied: 100, judging: 0 }, { kind: "Hold" }],
    ["…nor while the alerts cannot be read", baked(bg("Baking", { alerts: alerts("bake", [], AT, "connection refused", AT) }), "promote"), BG_ALERTED, { at: AT, applied: 100, judging: 0 }, { kind: "Hold" }],
    ["firing alerts in the bake roll back (onFiring: rollback)", baked(bg("Baking", { alerts: alerts("bake", firing) }), "continue"), { ...BG_ALERTED, alerts: { ...BG_ALERTED.alerts!, onFiring: "rollback" } }, { at: AT, applied: 100, judging: 0 }, rollBack(`alerts firing (bake): ${firing[0]}`, { alerts: alerts("bake", firing) })],
    ["a signal in the bake with onSignal: pause leaves it baking", bg("Baking"), { ...BG, onSignal: "pause" }, { at: AT, applied: 100, judging: 0, interrupted: "interrupted (SIGTERM)" }, { kind: "Done", outcome: "paused", reason: "interrupted (SIGTERM)" }],
    ["…and rolls back by default", bg("Baking"), BG, { at: AT, applied: 100, judging: 0, interrupted: "interrupted (SIGTERM)" }, { kind: "RollBack", trigger: "operator", reason: "interrupted (SIGTERM)", gradual: [], recorded: false }],

    // A canary with a bake: the last step's pass switches instead of promoting.
    ["a canary with a bake: its reference before the canary is deployed", record("Initializing"), BAKED, { at: AT }, { kind: "MeasureReference" }],
    ["…its last step passed: all traffic to it, the old stable kept", judged(record("Progressing", 1), "promote"), BAKED, afterTick(1, 25), { kind: "Switch" }],
    ["…without a bake it promotes, as before", judged(record("Progressing", 1), "promote"), PLAN, afterTick(1, 25), { kind: "Promote", reason: "step 1 passed: tick says promote", evidence: { decision: "promote", reasons: ["tick says promote"] } }],
    ["…the bake passed: promote", baked(record("Baking", 2, { step: { index: 2, weight: 100, startedAt: SWITCHED } }), "promote"), BAKED, { at: AT, applied: 100, judging: 2 }, { kind: "Promote", reason: "bake passed: bake says promote", evidence: { decision: "promote", reasons: ["bake says promote"] } }],
    ["…the bake failed: roll back to the kept version", baked(record("Baking", 2, { step: { index: 2, weight: 100, startedAt: SWITCHED } }), "rollback"), BAKED, { at: AT, applied: 100, judging: 2 }, rollBack("bake says rollback", { decision: "rollback", reasons: ["bake says rollback"] })],

    // Hooks.
    ["a pre-rollout hook runs before anything is deployed", record("Initializing"), HOOKED, { at: AT }, { kind: "RunHook", hook: "freeze-check", at: "preRollout", slot: "preRollout" }],
    ["…passed: deploy", record("Initializing", undefined, { hooks: [run("freeze-check", "preRollout", true)] }), HOOKED, { at: AT }, { kind: "SetCanary" }],
    ["…failed (onFailure: rollback by default): roll back, nothing deployed yet", record("Initializing", undefined, { hooks: [run("freeze-check", "preRollout", false)] }), HOOKED, { at: AT }, rollBack("hook freeze-check (preRollout) failed: exit 1", { hook: run("freeze-check", "preRollout", false) })],
    ["a step without hooks goes on", record("Initializing", undefined, { canaryDeployedAt: AT, hooks: [run("freeze-check", "preRollout", true)] }), HOOKED, { at: AT, applied: 0 }, { kind: "SetWeight", step: 0, weight: 5 }],
    ["the hooks before step 1 run once step 0 passed", judged(record("Progressing", 0), "promote"), HOOKED, afterTick(0, 5), { kind: "RunHook", hook: "smoke", at: "beforeStep", slot: "beforeStep 1", step: 1 }],
    ["…a blocking one that failed holds (still judging)…", judged(record("Progressing", 0, { hooks: [run("smoke", "beforeStep 1", false)] }), "promote"), HOOKED, afterTick(0, 5), { kind: "Hold" }],
    ["…and runs again a tick later", judged(record("Progressing", 0, { hooks: [run("smoke", "beforeStep 1", false)] }), "promote"), HOOKED, afterTick(0, 5, { at: LATER }), { kind: "RunHook", hook: "smoke", at: "beforeStep", slot: "beforeStep 1", step: 1 }],
    ["…passed: the next hook", judged(record("Progressing", 0, { hooks: [run("smoke", "beforeStep 1", true)] }), "promote"), HOOKED, afterTick(0, 5), { kind: "RunHook", hook: "contract", at: "beforeStep", slot: "beforeStep 1", step: 1 }],
    ["…an ignored failure does not stop the step", judged(record("Progressing", 0, { hooks: [run("smoke", "beforeStep 1", true), run("contract", "beforeStep 1", false)] }), "promote"), HOOKED, afterTick(0, 5), { kind: "SetWeight", step: 1, weight: 25 }],
    ["after the promotion: the afterPromotion hooks, then done", record("Succeeded", 1, { history: [{ at: AT, type: "promote", from: "Progressing", to: "Promoting", reason: "passed" }] }), HOOKED, { at: AT }, { kind: "RunHook", hook: "announce", at: "afterPromotion", slot: "afterPromotion" }],
    ["…whose failure is only recorded", record("Succeeded", 1, { hooks: [run("announce", "afterPromotion", false)], history: [{ at: AT, type: "promote", from: "Progressing", to: "Promoting", reason: "passed" }] }), HOOKED, { at: AT }, { kind: "Done", outcome: "promoted", reason: "passed" }],
    ["after a rollback: the onRollback hooks", record("RolledBack", 1, { history: [{ at: AT, type: "rollback", from: "Progressing", to: "RollingBack", reason: "bad", trigger: "analysis" }] }), HOOKED, { at: AT }, { kind: "RunHook", hook: "page", at: "onRollback", slot: "onRollback" }],
    ["…then done, whatever they said", record("RolledBack", 1, { hooks: [run("page", "onRollback", false)], history: [{ at: AT, type: "rollback", from: "Progressing", to: "RollingBack", reason: "bad", trigger: "analysis" }] }), HOOKED, { at: AT }, { kind: "Done", outcome: "rolledBack", reason: "bad" }],

    // Alert gates.
    ["before the first step: the alerts", record("Initializing", undefined, { canaryDeployedAt: AT }), ALERTED, { at: AT, applied: 0 }, { kind: "CheckAlerts", gate: "step 0" }],
    ["…none firing: the step", record("Initializing", undefined, { canaryDeployedAt: AT, alerts: alerts("step 0", []) }), ALERTED, { at: AT, applied: 0 }, { kind: "SetWeight", step: 0, weight: 5 }],
    ["…firing: roll back (onFiring: rollback)", record("Initializing", undefined, { canaryDeployedAt: AT, alerts: alerts("step 0", firing) }), ALERTED, { at: AT, applied: 0 }, rollBack(`alerts firing (step 0): ${firing[0]}`, { alerts: alerts("step 0", firing) })],
    ["…firing: hold (onFiring: hold)", record("Initializing", undefined, { canaryDeployedAt: AT, alerts: alerts("step 0", firing) }), ALERTS_HOLD, { at: AT, applied: 0 }, { kind: "Hold" }],
    ["…and check again a tick later", record("Initializing", undefined, { canaryDeployedAt: AT, alerts: alerts("step 0", firing) }), ALERTS_HOLD, { at: LATER, applied: 0 }, { kind: "CheckAlerts", gate: "step 0" }],
    ["a check for another gate does not count", judged(record("Progressing", 0, { alerts: alerts("step 0", []) }), "promote"), ALERTED, afterTick(0, 5), { kind: "CheckAlerts", gate: "step 1" }],
    ["before the promotion too", judged(record("Progressing", 1, { alerts: alerts("step 1", []) }), "promote"), ALERTED, afterTick(1, 25), { kind: "CheckAlerts", gate: "promotion" }],
    ["alerts that cannot be read hold…", record("Initializing", undefined, { canaryDeployedAt: AT, alerts: alerts("step 0", [], AT, "connection refused", "2026-01-01T00:09:00.000Z") }), ALERTED, { at: AT, applied: 0 }, { kind: "Hold" }],
    [
      "…and roll back past the judge's outage limit",
      record("Initializing", undefined, { canaryDeployedAt: AT, alerts: alerts("step 0", [], AT, "connection refused", "2026-01-01T00:07:00.000Z") }),
      ALERTED,
      { at: AT, applied: 0 },
      rollBack("alerts unknown for 180s (limit 120s): connection refused", { alerts: alerts("step 0", [], AT, "connection refused", "2026-01-01T00:07:00.000Z") }),
    ],
  ];
  for (const [name, r, plan, obs, action] of rows) {
    it(name, () => assert.deepEqual(decide(r, plan, obs), action));
  }

  describe("every combination of phase, plan, hook runs, alert checks, verdicts and what the driver has seen", () => {
    const plans: [string, Plan][] = [
      ["blue/green", BG],
      ["blue/green gated", BG_GATED],
      ["blue/green hooked", BG_HOOKED],
      ["blue/green alerted", BG_ALERTED],
      ["baked canary", BAKED],
      ["hooked canary", HOOKED],
      ["alerted canary", ALERTED],
      ["alerts hold", ALERTS_HOLD],
    ];
    const records: RolloutRecord[] = [
      bg("Initializing"),
      bg("Initializing", { reference }),
      bg("Initializing", deployed),
      bg("Initializing", { ...deployed, intent: { action: "switch", at: AT } }),
      bg("Baking"),
      bg("Baking", { step: { index: 0, weight: 100, startedAt: JUST_SWITCHED } }),
      bg("Promoting", { step: { index: 0, weight: 100, startedAt: SWITCHED } }),
      bg("Succeeded", { step: { index: 0, weight: 100, startedAt: SWITCHED } }),
      bg("RolledBack"),
      record("Initializing"),
      record("Initializing", undefined, { canaryDeployedAt: AT, reference }),
      record("Progressing", 0),
      record("Progressing", 1),
      record("Baking", 2, { step: { index: 2, weight: 100, startedAt: SWITCHED } }),
      record("Succeeded", 1),
      record("RolledBack", 1),
    ];
    const hookStates: [string, (r: RolloutRecord) => RolloutRecord][] = [
      ["no hook run", (r) => r],
      ["every hook passed", (r) => ({ ...r, hooks: ["preRollout", "beforeStep 1", "beforePromotion", "afterPromotion", "onRollback"].flatMap((slot) => ["freeze-check", "smoke", "contract", "announce", "page", "pre-traffic", "post-switch"].map((h) => run(h, slot, true))) })],
      ["every hook failed", (r) => ({ ...r, hooks: ["preRollout", "beforeStep 1", "beforePromotion", "afterPromotion", "onRollback"].flatMap((slot) => ["freeze-check", "smoke", "contract", "announce", "page", "pre-traffic", "post-switch"].map((h) => run(h, slot, false))) })],
    ];
    const alertStates: [string, (r: RolloutRecord) => RolloutRecord][] = [
      ["no check", (r) => r],
      ...["step 0", "step 1", "promotion", "bake"].flatMap((gate): [string, (r: RolloutRecord) => RolloutRecord][] => [
        [`${gate} quiet`, (r) => ({ ...r, alerts: alerts(gate, []) })],
        [`${gate} firing`, (r) => ({ ...r, alerts: alerts(gate, firing) })],
        [`${gate} unreadable`, (r) => ({ ...r, alerts: alerts(gate, [], AT, "refused", "2026-01-01T00:00:00.000Z") })],
      ]),
    ];
    const verdicts: (Decision | undefined)[] = [undefined, "continue", "promote", "rollback", "inconclusive"];
    const views: [string, (r: RolloutRecord) => Observation][] = [
      ["a new driver", () => ({ at: AT })],
      ["after a tick", (r) => ({ at: AT, applied: r.step?.weight ?? 0, judging: r.step?.index ?? 0 })],
      ["a tick due", (r) => ({ at: AT, applied: r.step?.weight ?? 0, judging: r.step?.index ?? 0, tickDue: true })],
      ["a tick later", (r) => ({ at: LATER, applied: r.step?.weight ?? 0, judging: r.step?.index ?? 0 })],
      ["a signal", (r) => ({ at: AT, applied: r.step?.weight ?? 0, judging: r.step?.index ?? 0, interrupted: "interrupted (SIGTERM)" })],
    ];
    type Row = { name: string; r: RolloutRecord; plan: Plan; obs: Observation; a: Action };
    const all: Row[] = [];
    for (const base of records) {
      for (const v of verdicts) {
        const withVerdict = v && base.step ? (base.phase === "Baking" ? baked(base, v) : judged(base, v)) : base;
        for (const [hname, h] of hookStates) {
          for (const [aname, al] of alertStates) {
            const r = al(h(withVerdict));
            for (const [pname, plan] of plans) {
              if ((r.strategy === "blueGreen") !== (plan.strategy === "blueGreen")) continue;
              for (const [vname, view] of views) {
                const obs = view(r);
                all.push({ name: `${describePhase(r)} ${v ?? "no verdict"} ${hname} ${aname} ${pname} ${vname}`, r, plan, obs, a: decide(r, plan, obs) });
              }
            }
          }
        }
      }
    }

    it(`covers ${all.length} combinations, reaching every new action`, () => {
      assert.ok(all.length > 10000, String(all.length));
      const kinds = new Set(all.map((x) => x.a.kind));
      for (const k of ["MeasureReference", "RunHook", "CheckAlerts", "Switch", "Promote", "RollBack", "Hold", "Judge", "Done"]) assert.ok(kinds.has(k as Action["kind"]), k);
    });

    it("is deterministic and depends on nothing but the record's JSON", () => {
      for (const x of all) assert.deepEqual(decide(JSON.parse(JSON.stringify(x.r)) as RolloutRecord, x.plan, x.obs), x.a, x.name);
    });

    it("switches only past an open gate, quiet alerts and passed (or ignored) hooks, and only to the plan's last weight", () => {
      for (const x of all) {
        if (x.a.kind !== "Switch" || x.a.applied || x.r.intent?.action === "switch" || x.r.phase === "Baking") continue;
        assert.ok(!x.plan.gates.beforePromotion || (x.r.controls ?? []).some((c) => c.verb === "approve" && c.gate === "promotion"), `${x.name}: past the promotion gate`);
        if (x.plan.alerts) assert.deepEqual([x.r.alerts?.gate, x.r.alerts?.firing, x.r.alerts?.error], ["promotion", [], undefined], `${x.name}: past the alert gate`);
        for (const h of x.plan.hooks.filter((k) => k.at === "beforePromotion")) {
          const ran = x.r.hooks?.find((k) => k.hook === h.name && k.slot === "beforePromotion");
          assert.ok(ran && (ran.ok || h.onFailure === "ignore"), `${x.name}: past hook ${h.name}`);
        }
        assert.ok(x.plan.bake, `${x.name}: a switch without a bake`);
      }
    });

    it("promotes from the bake only once it passed, blue was kept for scaleDownDelay and no alert fires or is unknown", () => {
      for (const x of all) {
        if (x.a.kind !== "Promote" || x.r.phase !== "Baking") continue;
        assert.ok(x.r.step?.passed, `${x.name}: bake not passed`);
        const kept = (Date.parse(x.obs.at) - Date.parse(x.r.step!.startedAt)) / 1000;
        assert.ok(kept >= (x.plan.blueGreen?.scaleDownDelaySeconds ?? 0), `${x.name}: blue kept only ${kept}s`);
        if (x.plan.alerts && x.r.alerts?.gate === "bake") assert.deepEqual([x.r.alerts.firing, x.r.alerts.error], [[], undefined], x.name);
      }
    });

    it("rolls back only for a reason: a failure, a signal, the analysis or the bake, firing or unreadable alerts, a failed hook that may roll back", () => {
      for (const x of all) {
        if (x.a.kind !== "RollBack" || x.a.recorded) continue;
        const v = x.r.lastVerdict?.step === x.r.step?.index ? x.r.lastVerdict?.decision : undefined;
        const hookFailed = (x.r.hooks ?? []).some((h) => !h.ok && x.plan.hooks.some((p) => p.name === h.hook && p.onFailure === "rollback"));
        const alerting = x.plan.alerts && x.r.alerts && (x.r.alerts.error !== undefined || (x.r.alerts.firing.length > 0 && x.plan.alerts.onFiring === "rollback"));
        const why = x.obs.interrupted ? "signal" : v === "rollback" ? "analysis" : v === "inconclusive" ? "inconclusive" : alerting ? "alerts" : hookFailed ? "hook" : undefined;
        assert.ok(why, `${x.name}: RollBack without a reason`);
      }
    });

    it("runs the hooks after the end without letting them undo anything: Succeeded and RolledBack end in RunHook or Done", () => {
      for (const x of all) {
        if (x.r.phase === "Succeeded" || x.r.phase === "RolledBack") assert.ok(x.a.kind === "RunHook" || x.a.kind === "Done", `${x.name}: ${x.a.kind}`);
      }
    });
  });
});
