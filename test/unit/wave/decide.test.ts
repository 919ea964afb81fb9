/**
 * decideWave(): the wave's whole policy as a pure function. Exact actions for the cases that
 * matter, then random records × observations checked against the rules that must hold
 * everywhere (total, deterministic, stages in order, nothing starts while held, only promoted
 * stacks are restored, the wave ends only for a reason).
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { decideWave, DecisionWave, WaveAction, WaveObservation } from "../../../automation/wave/decide";
import { StackStatus, WAVE_PHASES, WavePhase, WaveRecord, WaveStackState } from "../../../automation/wave/record";

const AT = "2026-01-01T00:10:00.000Z";
const WAVE: DecisionWave = {
  onFailure: "stop",
  stages: [
    { name: "first", bakeSeconds: 60, gate: false },
    { name: "second", bakeSeconds: 0, gate: true },
    { name: "third", bakeSeconds: 0, gate: false },
  ],
};
const ALL: DecisionWave = { ...WAVE, onFailure: "rollbackAll" };

/** A wave record: stages first (a), second (b, c), third (d), with the given statuses. */
function rec(phase: WavePhase, stage: number, statuses: Partial<Record<"a" | "b" | "c" | "d", StackStatus | Partial<WaveStackState>>> = {}, extra: Partial<WaveRecord> = {}): WaveRecord {
  const stack = (name: "a" | "b" | "c" | "d"): WaveStackState => {
    const s = statuses[name] ?? "pending";
    return typeof s === "string" ? { name, status: s, ...(s !== "pending" ? { rollout: `w1-${name}` } : {}) } : { name, status: "pending", rollout: `w1-${name}`, ...s };
  };
  return {
    schema: 1,
    kind: "wave",
    id: "w1",
    name: "checkout",
    identity: "{}",
    phase,
    stage,
    stages: [
      { name: "first", stacks: [stack("a")] },
      { name: "second", stacks: [stack("b"), stack("c")] },
      { name: "third", stacks: [stack("d")] },
    ],
    createdAt: AT,
    updatedAt: AT,
    history: [],
    ...extra,
  };
}

const obs = (more: Partial<WaveObservation> = {}): WaveObservation => ({ at: AT, running: [], ...more });
const approved = (stage: string): Partial<WaveRecord> => ({ controls: [{ id: "c1", verb: "approve", stage, at: AT, by: "bob", reason: "ok", status: "applied" }] });
const failure = (stage: number, stack?: string, all?: boolean): Partial<WaveRecord> => ({ failure: { stage, ...(stack ? { stack } : {}), reason: `${stack ?? "operator"}: bad`, trigger: "analysis", at: AT, ...(all ? { all } : {}) } });

describe("decideWave: exact actions", () => {
  // [name, record, wave, observation, action]
  const rows: [string, WaveRecord, DecisionWave, WaveObservation, WaveAction][] = [
    ["a new wave starts its first stage's stacks", rec("Running", 0), WAVE, obs(), { kind: "StartStacks", stage: 0, stacks: ["a"] }],
    ["a stage whose rollouts run here waits for them", rec("Running", 0, { a: "running" }), WAVE, obs({ running: ["a"] }), { kind: "AwaitStacks" }],
    ["a started stack no process runs (a driver took over) is continued", rec("Running", 1, { a: "promoted", b: "running", c: "promoted" }), WAVE, obs(), { kind: "StartStacks", stage: 1, stacks: ["b"] }],
    ["a rollout paused by a signal is continued by the next run", rec("Running", 0, { a: "paused" }), WAVE, obs(), { kind: "StartStacks", stage: 0, stacks: ["a"] }],
    ["…while the others still run here, it is started beside them", rec("Running", 1, { a: "promoted", b: "running", c: "running" }), WAVE, obs({ running: ["c"] }), { kind: "StartStacks", stage: 1, stacks: ["b"] }],
    [
      "a rolled-back stack fails its stage, with its rollout's trigger",
      rec("Running", 1, { a: "promoted", b: "running", c: { status: "rolledBack", reason: "errors 3x baseline", trigger: "analysis" } }),
      WAVE,
      obs({ running: ["b"] }),
      { kind: "Fail", stage: 1, stack: "c", reason: "c rolled back: errors 3x baseline", trigger: "analysis" },
    ],
    ["a stack that could not run fails its stage (an error)", rec("Running", 0, { a: { status: "failed", reason: "stack busy" } }), WAVE, obs(), { kind: "Fail", stage: 0, stack: "a", reason: "a could not run: stack busy", trigger: "error" }],
    ["a promoted stage bakes before the next", rec("Running", 0, { a: "promoted" }), WAVE, obs(), { kind: "BeginBake", stage: 0 }],
    ["a stage already stable everywhere counts as promoted", rec("Running", 0, { a: "unchanged" }), WAVE, obs(), { kind: "BeginBake", stage: 0 }],
    ["a promoted stage with no bake starts the next", rec("Running", 1, { a: "promoted", b: "promoted", c: "unchanged" }), WAVE, obs(), { kind: "Advance", stage: 2, reason: "stage second promoted (b promoted, c unchanged)" }],
    [
      "…unless the wave is paused",
      rec("Running", 1, { a: "promoted", b: "promoted", c: "promoted" }, { paused: { by: "carol", at: AT, reason: "freeze" } }),
      WAVE,
      obs(),
      { kind: "Wait", reason: "paused by carol: stage third does not start until `canary wave resume`" },
    ],
    ["the last stage promoted: the wave succeeded", rec("Running", 2, { a: "promoted", b: "promoted", c: "promoted", d: "promoted" }), WAVE, obs(), { kind: "Finish", phase: "Succeeded", reason: "every stage promoted; the last, stage third promoted (d promoted)" }],
    ["a gated stage waits for its approval", rec("Running", 1, { a: "promoted" }), WAVE, obs(), { kind: "AwaitGate", stage: 1 }],
    ["…and starts once approved", rec("Running", 1, { a: "promoted" }, approved("second")), WAVE, obs(), { kind: "StartStacks", stage: 1, stacks: ["b", "c"] }],
    ["an approval of another stage does not open it", rec("Running", 1, { a: "promoted" }, approved("third")), WAVE, obs(), { kind: "AwaitGate", stage: 1 }],
    ["a paused wave starts no stage", rec("Running", 2, { a: "promoted", b: "promoted", c: "promoted" }, { paused: { by: "carol", at: AT, reason: "freeze" } }), WAVE, obs(), { kind: "Wait", reason: "paused by carol: stage third does not start until `canary wave resume`" }],
    ["a signal with rollouts running here: wait for them (they roll back or pause per their plans)", rec("Running", 0, { a: "running" }), WAVE, obs({ running: ["a"], interrupted: "interrupted (SIGTERM)" }), { kind: "AwaitStacks" }],
    ["a signal with none running: the wave stops where it is", rec("Running", 1, { a: "promoted" }), WAVE, obs({ interrupted: "interrupted (SIGTERM)" }), { kind: "Done", outcome: "paused", reason: "interrupted (SIGTERM) at stage second; run the wave again to continue" }],
    ["the bake's first reading", rec("Baking", 0, { a: "promoted" }, { bake: { stage: 0, startedAt: AT, observedSeconds: 0 } }), WAVE, obs(), { kind: "Bake", stage: 0, start: true }],
    ["a bake tick when one is due", rec("Baking", 0, { a: "promoted" }, { bake: { stage: 0, startedAt: AT, observedSeconds: 10 } }), WAVE, obs({ baking: 0, tickDue: true }), { kind: "Bake", stage: 0 }],
    ["between bake ticks: wait", rec("Baking", 0, { a: "promoted" }, { bake: { stage: 0, startedAt: AT, observedSeconds: 10 } }), WAVE, obs({ baking: 0 }), { kind: "Wait", reason: "baking after stage first for 60s" }],
    ["a bake that holds says why", rec("Baking", 0, { a: "promoted" }, { bake: { stage: 0, startedAt: AT, observedSeconds: 10, holding: "bake holds: no requests reached a" } }), WAVE, obs({ baking: 0 }), { kind: "Wait", reason: "bake holds: no requests reached a" }],
    ["a resumed bake keeps its observed time but reads again", rec("Baking", 0, { a: "promoted" }, { bake: { stage: 0, startedAt: AT, observedSeconds: 50 } }), WAVE, obs({ tickDue: true }), { kind: "Bake", stage: 0, start: true }],
    ["the bake observed its time: the next stage", rec("Baking", 0, { a: "promoted" }, { bake: { stage: 0, startedAt: AT, observedSeconds: 60 } }), WAVE, obs({ baking: 0 }), { kind: "Advance", stage: 1, reason: "bake after stage first passed: 60s observed with every guardrail clear" }],
    [
      "a guardrail breached during the bake fails the baked stage",
      rec("Baking", 0, { a: "promoted" }, { bake: { stage: 0, startedAt: AT, observedSeconds: 20, breach: { stack: "a", reason: "guardrail errorRate: 9%", at: AT } } }),
      WAVE,
      obs({ baking: 0 }),
      { kind: "Fail", stage: 0, stack: "a", reason: "bake after stage first: a: guardrail errorRate: 9%", trigger: "analysis" },
    ],
    ["a signal during the bake stops the wave where it is", rec("Baking", 0, { a: "promoted" }, { bake: { stage: 0, startedAt: AT, observedSeconds: 20 } }), WAVE, obs({ baking: 0, interrupted: "interrupted (SIGINT)" }), { kind: "Done", outcome: "paused", reason: "interrupted (SIGINT) during the bake after stage first; run the wave again to continue" }],
    [
      "a failed stage: its rollouts running here are asked to abort",
      rec("RollingBack", 1, { a: "promoted", b: "running", c: "rolledBack" }, failure(1, "c")),
      WAVE,
      obs({ running: ["b"] }),
      { kind: "AbortStacks", stage: 1, stacks: ["b"], reason: "wave checkout: c: bad" },
    ],
    ["…once: then the wave waits for them", rec("RollingBack", 1, { a: "promoted", b: { status: "running", abortRequested: AT }, c: "rolledBack" }, failure(1, "c")), WAVE, obs({ running: ["b"] }), { kind: "AwaitStacks" }],
    [
      "a taken-over rollback asks again for the rollouts no process here runs (it finishes them itself)",
      rec("RollingBack", 1, { a: "promoted", b: { status: "running", abortRequested: AT }, c: "rolledBack" }, failure(1, "c")),
      WAVE,
      obs(),
      { kind: "AbortStacks", stage: 1, stacks: ["b"], reason: "wave checkout: c: bad" },
    ],
    ["a rollback whose restore failed under an earlier driver is retried", rec("RollingBack", 1, { a: "promoted", b: "rolledBack", c: "restoreFailed" }, failure(1, "c")), WAVE, obs(), { kind: "AbortStacks", stage: 1, stacks: ["c"], reason: "wave checkout: c: bad" }],
    ["…but not again by the process that just failed it", rec("RollingBack", 1, { a: "promoted", b: "rolledBack", c: "restoreFailed" }, failure(1, "c")), WAVE, obs({ unrestored: ["c"] }), { kind: "Done", outcome: "restoreFailed", reason: "restore failed: c: its rollback failed; run the wave again to retry" }],
    ["the failed stage's promoted stacks are restored", rec("RollingBack", 1, { a: "promoted", b: "promoted", c: "rolledBack" }, failure(1, "c")), WAVE, obs(), { kind: "Revert", stacks: ["b"], reason: "wave checkout: c: bad" }],
    ["with rollbackAll, every promoted stack is", rec("RollingBack", 1, { a: "promoted", b: "promoted", c: "rolledBack" }, failure(1, "c")), ALL, obs(), { kind: "Revert", stacks: ["a", "b"], reason: "wave checkout: c: bad" }],
    ["abort --all restores every promoted stack whatever the policy", rec("RollingBack", 1, { a: "promoted", b: "rolledBack", c: "rolledBack" }, failure(1, undefined, true)), WAVE, obs(), { kind: "Revert", stacks: ["a"], reason: "wave checkout: operator: bad" }],
    ["a bake failure of an earlier stage's stack restores it too", rec("RollingBack", 1, { a: "promoted", b: "promoted", c: "promoted" }, failure(1, "a")), WAVE, obs(), { kind: "Revert", stacks: ["a", "b", "c"], reason: "wave checkout: a: bad" }],
    ["a stack already stable before the wave is never restored (the wave changed nothing there)", rec("RollingBack", 1, { a: "unchanged", b: "rolledBack", c: "rolledBack" }, failure(1, "c")), ALL, obs(), { kind: "Finish", phase: "RolledBack", reason: "c: bad; nothing the wave changed remains (onFailure: rollbackAll)" }],
    [
      "stop: the failed stage rolled back, the earlier ones keep the release",
      rec("RollingBack", 1, { a: "promoted", b: { status: "promoted", revert: { status: "reverted", at: AT, reason: "ok" } }, c: "rolledBack" }, failure(1, "c")),
      WAVE,
      obs(),
      { kind: "Finish", phase: "Stopped", reason: "c: bad; the wave stopped; a keeps the release (onFailure: stop)" },
    ],
    ["a revert that failed here ends the run restoreFailed", rec("RollingBack", 1, { a: "promoted", b: { status: "promoted", revert: { status: "failed", at: AT, reason: "up failed" } }, c: "rolledBack" }, failure(1, "c")), WAVE, obs({ unrestored: ["b"] }), { kind: "Done", outcome: "restoreFailed", reason: "restore failed: b: up failed; run the wave again to retry" }],
    ["…and is retried by the next run", rec("RollingBack", 1, { a: "promoted", b: { status: "promoted", revert: { status: "failed", at: AT, reason: "up failed" } }, c: "rolledBack" }, failure(1, "c")), WAVE, obs(), { kind: "Revert", stacks: ["b"], reason: "wave checkout: c: bad" }],
    ["a signal does not interrupt a rollback", rec("RollingBack", 1, { a: "promoted", b: "promoted", c: "rolledBack" }, failure(1, "c")), WAVE, obs({ interrupted: "interrupted (SIGTERM)" }), { kind: "Revert", stacks: ["b"], reason: "wave checkout: c: bad" }],
    ["a succeeded wave is done", rec("Succeeded", 2, { a: "promoted", b: "promoted", c: "promoted", d: "promoted" }), WAVE, obs(), { kind: "Done", outcome: "succeeded", reason: "every stage promoted" }],
  ];
  for (const [name, r, w, o, expected] of rows) {
    it(name, () => assert.deepEqual(decideWave(r, w, o), expected));
  }
});

describe("decideWave: rules over random records and observations", () => {
  const names = ["a", "b", "c", "d"] as const;
  const stageOf = (n: string): number => ({ a: 0, b: 1, c: 1, d: 2 })[n]!;
  const done: StackStatus[] = ["promoted", "unchanged"];
  const current: StackStatus[] = ["pending", "running", "promoted", "unchanged", "rolledBack", "restoreFailed", "paused", "failed", "cancelled"];
  // Records a wave can be in: stages before the one in force ended promoted (or already stable),
  // stages after it have not started (or were cancelled by a failure).
  const recordArb = fc
    .record({
      phase: fc.constantFrom(...WAVE_PHASES),
      stage: fc.integer({ min: 0, max: 2 }),
      statuses: fc.tuple(...names.map(() => fc.record({ before: fc.constantFrom(...done), now: fc.constantFrom(...current), abortRequested: fc.boolean(), revert: fc.option(fc.constantFrom("reverted" as const, "failed" as const, "skipped" as const), { nil: undefined }) }))),
      paused: fc.boolean(),
      approvals: fc.subarray(["first", "second", "third"]),
      bake: fc.record({ observedSeconds: fc.integer({ min: 0, max: 100 }), breach: fc.boolean(), holding: fc.boolean() }),
      failureStack: fc.option(fc.constantFrom(...names), { nil: undefined }),
      all: fc.boolean(),
    })
    .map((g) => {
      const stage = g.phase === "Baking" ? Math.min(g.stage, 1) : g.stage;
      const stacks = names.map((name, k): WaveStackState => {
        const x = g.statuses[k];
        const i = stageOf(name);
        const status: StackStatus =
          i < stage || (g.phase === "Baking" && i === stage) || g.phase === "Succeeded" ? x.before : i > stage ? (g.phase === "RollingBack" || g.phase === "Stopped" || g.phase === "RolledBack" ? "cancelled" : "pending") : x.now;
        const rolledBackPhase = g.phase === "RollingBack" || g.phase === "Stopped" || g.phase === "RolledBack";
        return {
          name,
          status,
          ...(status !== "pending" && status !== "cancelled" ? { rollout: `w1-${name}` } : {}),
          ...(rolledBackPhase && x.abortRequested && i === stage ? { abortRequested: AT } : {}),
          ...(rolledBackPhase && x.revert && status === "promoted" ? { revert: { status: x.revert, at: AT, reason: "r" } } : {}),
        };
      });
      const [a, b, c, d] = stacks;
      return {
        ...rec(g.phase, stage),
        stages: [
          { name: "first", stacks: [a] },
          { name: "second", stacks: [b, c] },
          { name: "third", stacks: [d] },
        ],
        ...(g.paused && (g.phase === "Running" || g.phase === "Baking") ? { paused: { by: "carol", at: AT, reason: "x" } } : {}),
        controls: g.approvals.map((st, i) => ({ id: `c${i}`, verb: "approve" as const, stage: st, at: AT, by: "bob", reason: "ok", status: "applied" as const })),
        ...(g.phase === "Baking" ? { bake: { stage, startedAt: AT, observedSeconds: g.bake.observedSeconds, ...(g.bake.breach ? { breach: { stack: "a", reason: "x", at: AT } } : {}), ...(g.bake.holding ? { holding: "h" } : {}) } } : {}),
        ...(g.phase === "RollingBack"
          ? { failure: { stage, ...(g.failureStack && stageOf(g.failureStack) <= stage ? { stack: g.failureStack } : {}), reason: "bad", trigger: "analysis" as const, at: AT, ...(g.all ? { all: true } : {}) } }
          : {}),
      } satisfies WaveRecord;
    });
  // A process runs only rollouts its record calls running, of the stage in force.
  const caseArb = recordArb.chain((r) =>
    fc
      .record({
        running: fc.subarray(r.stages[r.stage].stacks.filter((s) => s.status === "running").map((s) => s.name)),
        baking: fc.option(fc.constant(r.stage), { nil: undefined }),
        tickDue: fc.boolean(),
        interrupted: fc.option(fc.constant("interrupted (SIGTERM)"), { nil: undefined }),
        unrestored: fc.subarray([...names]),
      })
      .map((o) => [r, { at: AT, running: o.running, ...(o.baking !== undefined ? { baking: o.baking } : {}), ...(o.tickDue ? { tickDue: true } : {}), ...(o.interrupted ? { interrupted: o.interrupted } : {}), ...(o.unrestored.length ? { unrestored: o.unrestored } : {}) } as WaveObservation] as const),
  );
  const waveArb = fc.record({ onFailure: fc.constantFrom("stop" as const, "rollbackAll" as const), bake: fc.constantFrom(0, 60), gate: fc.boolean() }).map(
    (w): DecisionWave => ({ onFailure: w.onFailure, stages: [{ name: "first", bakeSeconds: w.bake, gate: false }, { name: "second", bakeSeconds: w.bake, gate: w.gate }, { name: "third", bakeSeconds: 0, gate: false }] }),
  );

  it("is total and deterministic, and every action keeps the wave's rules", () => {
    fc.assert(
      fc.property(caseArb, waveArb, ([r, o], w) => {
        const action = decideWave(r, w, o);
        assert.deepEqual(decideWave(structuredClone(r), w, { ...o }), action, "deterministic");
        const here = new Set(o.running);
        const stage = r.stages[r.stage];
        const all = r.stages.flatMap((s) => s.stacks);
        switch (action.kind) {
          case "Done":
            // The wave ends only when it has ended, on a signal, or after a restore that failed here.
            assert.ok(["Succeeded", "Stopped", "RolledBack"].includes(r.phase) || o.interrupted !== undefined || (o.unrestored?.length ?? 0) > 0, JSON.stringify(action));
            if (action.outcome === "paused") assert.ok(stage.stacks.every((s) => !here.has(s.name)), "no rollout of the stage is left running");
            break;
          case "StartStacks":
            assert.equal(r.phase, "Running");
            assert.equal(action.stage, r.stage, "only the stage in force");
            assert.equal(o.interrupted, undefined, "nothing starts on a signal");
            for (const n of action.stacks) {
              assert.ok(stage.stacks.some((s) => s.name === n), `${n} is of the stage`);
              assert.ok(!here.has(n), `${n} is not running here already`);
            }
            assert.ok(!stage.stacks.some((s) => ["rolledBack", "restoreFailed", "failed"].includes(s.status)), "no stack starts in a failing stage");
            if (stage.stacks.every((s) => s.status === "pending" && !here.has(s.name))) {
              assert.ok(!r.paused, "a paused wave starts no stage");
              if (w.stages[r.stage].gate) assert.ok(r.controls!.some((c) => c.stage === stage.name), "a gated stage starts only approved");
            }
            break;
          case "Advance":
            assert.equal(action.stage, r.stage + 1, "stages in order");
            assert.ok(!r.paused);
            assert.ok(stage.stacks.every((s) => s.status === "promoted" || s.status === "unchanged"), "only after the stage promoted everywhere");
            if (r.phase === "Baking") assert.ok((r.bake?.observedSeconds ?? 0) >= w.stages[r.stage].bakeSeconds && !r.bake?.breach, "only after the bake");
            else assert.equal(w.stages[r.stage].bakeSeconds, 0, "never skipping a bake");
            break;
          case "Finish":
            if (action.phase === "Succeeded") {
              assert.equal(r.stage, r.stages.length - 1);
              assert.ok(stage.stacks.every((s) => s.status === "promoted" || s.status === "unchanged"));
            } else {
              assert.equal(r.phase, "RollingBack");
              assert.ok(all.every((s) => !here.has(s.name)), "every rollout of the wave has ended");
            }
            break;
          case "Revert":
            assert.equal(r.phase, "RollingBack");
            for (const n of action.stacks) {
              const s = all.find((x) => x.name === n)!;
              assert.equal(s.status, "promoted", "only a stack the wave promoted is restored");
              assert.ok(!o.unrestored?.includes(n), "not again by the process that failed it");
              assert.ok(s.revert?.status !== "reverted", "not twice");
            }
            if (w.onFailure === "stop" && !r.failure!.all) {
              for (const n of action.stacks) {
                const i = r.stages.findIndex((st) => st.stacks.some((x) => x.name === n));
                assert.ok(i === r.failure!.stage || n === r.failure!.stack, "stop keeps the earlier stages");
              }
            }
            assert.ok(r.stages[r.failure!.stage].stacks.every((s) => !here.has(s.name)), "only once the failed stage's rollouts ended");
            break;
          case "AwaitStacks":
            assert.ok(all.some((s) => here.has(s.name)), "something runs here to wait for");
            break;
          case "AbortStacks":
            assert.equal(r.phase, "RollingBack");
            assert.equal(action.stage, r.failure!.stage);
            break;
          case "Fail":
            assert.ok(r.phase === "Running" || r.phase === "Baking");
            break;
          case "BeginBake":
          case "Bake":
            assert.ok(w.stages[r.stage].bakeSeconds > 0 && r.stage < r.stages.length - 1, "a bake only where the wave has one");
            break;
          default:
            break;
        }
      }),
      { numRuns: 5000 },
    );
  });
});
