import * as assert from "node:assert/strict";
import { Decision, TickMeasurement } from "../../../automation/analysis/types";
import { DriverEvent } from "../../../automation/rollout/events";
import { runRollout } from "../../../automation/rollout/run";
import { parsePlan, Plan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { newRecord, transition } from "../../../automation/state";
import { RestoreError, TargetError } from "../../../automation/targets/types";
import { FakeClock, FakeMetrics, FakeTarget, ScriptedAnalysis } from "../../helpers/fakes";

const PLAN = parsePlan(`
steps:
  - { weight: 5, minDuration: 20s, maxDuration: 5m }
  - { weight: 25, minDuration: 20s, maxDuration: 5m }
  - { weight: 100 }
tick: 10s
`);

function render(e: DriverEvent): string {
  switch (e.kind) {
    case "action":
      return `action ${e.message}`;
    case "transition":
      return `${e.entry.from} → ${e.entry.to}${e.entry.step !== undefined ? ` [${e.entry.step}@${e.entry.weight}]` : ""}: ${e.entry.reason}`;
    case "tick":
      return `tick ${e.verdict.decision} at ${e.stepSeconds}s`;
    case "log":
      return `log ${e.line}`;
    case "gateWaiting":
      return `gate ${e.wait.gate}`;
  }
}

async function run(script: Decision[][], opts: { plan?: Plan; target?: FakeTarget; store?: MemoryRecordStore; dryRun?: boolean; onEvent?: (e: DriverEvent) => void; interrupt?: AbortSignal } = {}) {
  const clock = new FakeClock();
  const target = opts.target ?? new FakeTarget();
  const store = opts.store ?? new MemoryRecordStore();
  const analysis = new ScriptedAnalysis(script);
  const metrics = new FakeMetrics();
  const events: string[] = [];
  const result = await runRollout({ plan: opts.plan ?? PLAN, version: "v2", image: "app:v2", target, store, metrics, analysis, clock, report: (e) => (events.push(render(e)), opts.onEvent?.(e)), id: "r1", dryRun: opts.dryRun, interrupt: opts.interrupt });
  return { result, events, target, store, analysis, metrics, clock };
}

describe("driver", () => {
  it("steps through every judged step and promotes, persisting every transition", async () => {
    const { result, events, target, store, analysis } = await run([["continue", "promote"], ["promote"]]);
    assert.equal(result.outcome, "promoted");
    assert.deepEqual(events, [
      "Idle → Initializing: rollout of v2 (app:v2) through 5 → 25 → 100",
      "action deploy canary v2 at weight 0",
      "action verify the applied weight",
      "action set the canary weight to 5",
      "action verify the applied weight",
      "Initializing → Progressing [0@5]: canary deployed; first step at weight 5",
      "tick continue at 10s",
      "tick promote at 20s",
      "action set the canary weight to 25",
      "action verify the applied weight",
      "Progressing → Progressing [1@25]: step 0 passed; weight 25",
      "tick promote at 10s",
      "Progressing → Promoting [1@25]: step 1 passed: step 1 tick 1: promote",
      "action promote v2 to stable",
      "Promoting → Succeeded [1@25]: v2 is the stable version",
    ]);
    assert.deepEqual(target.calls, ["prepare", "setCanary:v2", "verify", "setWeight:5", "verify", "setWeight:25", "verify", "promote"]);
    // One save per transition and one per tick, in order; the first step's weight change is
    // written ahead on its own (the save before it recorded the canary's deployment as under way).
    assert.deepEqual(
      store.saved.map((r) => r.phase),
      ["Initializing", "Initializing", "Progressing", "Progressing", "Progressing", "Progressing", "Progressing", "Promoting", "Succeeded"],
    );
    assert.deepEqual(
      store.saved.map((r) => (r.intent?.action === "setWeight" ? `setWeight ${r.intent.weight}` : r.intent?.action ?? "-")),
      ["setCanary", "setWeight 5", "-", "-", "setWeight 25", "-", "-", "-", "-"],
      "each target change is in the record before it is made",
    );
    const final = store.saved[store.saved.length - 1];
    assert.deepEqual(final.history.map((h) => h.type), ["start", "advance", "advance", "promote", "complete"]);
    assert.deepEqual(final.snapshot, { type: "fake", weight: 0 });
    assert.deepEqual(final.history[1].evidence, { applied: 5 });
    assert.deepEqual(final.judge, { steps: 2, ticks: 3 });
    assert.deepEqual(
      analysis.steps.map((s) => [s.index, s.minDurationSeconds, s.maxDurationSeconds]),
      [
        [0, 20, 300],
        [1, 20, 300],
      ],
    );
    // The step's boundary reading is not judged: every judged tick is an "ok" tick.
    assert.deepEqual(analysis.ticks.map((t) => t.kind), ["ok", "ok", "ok"]);
  });

  it("rolls back mid-step as soon as the analysis says so, keeping the canary at weight 0", async () => {
    const { result, events, target, store, clock } = await run([["continue", "continue", "rollback"]]);
    assert.equal(result.outcome, "rolledBack");
    assert.equal(result.reason, "step 0 tick 3: rollback");
    assert.deepEqual(events.slice(5), [
      "Initializing → Progressing [0@5]: canary deployed; first step at weight 5",
      "tick continue at 10s",
      "tick continue at 20s",
      "tick rollback at 30s",
      "Progressing → RollingBack [0@5]: step 0 tick 3: rollback",
      "action roll back (keepCanary)",
      "RollingBack → RolledBack [0@5]: restored the snapshot; canary kept at weight 0",
    ]);
    assert.deepEqual(target.calls, ["prepare", "setCanary:v2", "verify", "setWeight:5", "verify", "rollback:keepCanary", "verify"]);
    const final = store.saved[store.saved.length - 1];
    assert.equal(final.phase, "RolledBack");
    assert.equal(final.history[2].trigger, "analysis");
    assert.deepEqual((final.history[2].evidence as { decision: string }).decision, "rollback");
    assert.deepEqual(final.history[3].evidence, { applied: 0 });
    // 30 s into a step allowed 5 minutes: the rollback did not wait for the end of the step.
    assert.equal(clock.ms - Date.UTC(2026, 0, 1), 30_000);
  });

  it("rolls back on an inconclusive step when the plan says rollback", async () => {
    const { result, store } = await run([["continue", "inconclusive"]]);
    assert.equal(result.outcome, "rolledBack");
    assert.equal(result.reason, "inconclusive: step 0 tick 2: inconclusive");
    assert.deepEqual(store.saved[store.saved.length - 1].history.map((h) => h.type), ["start", "advance", "rollback", "rolledBack"]);
  });

  it("holds an inconclusive step when the plan says hold, and acts on the next decision", async () => {
    const plan = { ...PLAN, inconclusive: "hold" as const };
    const { result, events } = await run([["inconclusive", "inconclusive", "promote"], ["promote"]], { plan });
    assert.equal(result.outcome, "promoted");
    assert.deepEqual(events.slice(6, 10), ["tick inconclusive at 10s", "action step 0 inconclusive; holding weight 5 (plan: inconclusive: hold)", "tick inconclusive at 20s", "tick promote at 30s"]);
  });

  it("retries a failing target change with backoff, then rolls back, recording the error", async () => {
    const target = new FakeTarget();
    target.fail.set("setWeight:25", new TargetError("stack dev: cannot run pulumi up (canary: weight 25): boom"));
    const { result, store } = await run([["promote"], ["promote"]], { target });
    assert.equal(result.outcome, "rolledBack");
    assert.deepEqual(target.calls, ["prepare", "setCanary:v2", "verify", "setWeight:5", "verify", "setWeight:25", "setWeight:25", "setWeight:25", "rollback:keepCanary", "verify"]);
    const rollback = store.saved[store.saved.length - 1].history[2];
    assert.deepEqual([rollback.type, rollback.trigger, rollback.reason], ["rollback", "error", "stack dev: cannot run pulumi up (canary: weight 25): boom"]);
    assert.deepEqual(rollback.evidence, { error: "stack dev: cannot run pulumi up (canary: weight 25): boom", name: "TargetError" });
  });

  it("rolls back when the applied weight differs from the one set", async () => {
    const target = new FakeTarget();
    const original = target.verify.bind(target);
    target.verify = async () => ((await original()) === 5 ? 4 : original());
    const { result } = await run([["promote"]], { target });
    assert.equal(result.outcome, "rolledBack");
    assert.equal(result.reason, "step 0: weight 5 was set but 4 is applied");
  });

  it("carries on when the target cannot verify, recording that it could not", async () => {
    const target = new FakeTarget();
    target.verifyMode = "unknown";
    const { result, store } = await run([["promote"], ["promote"]], { target });
    assert.equal(result.outcome, "promoted");
    assert.deepEqual(store.saved[store.saved.length - 1].history[1].evidence, { applied: "cannot verify" });
  });

  it("reports a failed restore as its own outcome and leaves the record RollingBack", async () => {
    const target = new FakeTarget();
    target.fail.set("rollback", new RestoreError("stack dev: rollback failed: backend unreachable"));
    const { result, store, events } = await run([["rollback"]], { target });
    assert.equal(result.outcome, "restoreFailed");
    assert.equal(events[events.length - 1], "RollingBack → RollingBack [0@5]: stack dev: rollback failed: backend unreachable");
    const final = store.saved[store.saved.length - 1];
    assert.equal(final.phase, "RollingBack");
    assert.deepEqual(final.history.map((h) => h.type), ["start", "advance", "rollback", "rollbackFailed"]);
  });

  it("refuses to start over an unfinished rollout, touching nothing", async () => {
    const unfinished = transition(newRecord({ id: "r0", stack: "fake-target", target: "fake", version: "v1", image: "app:v1", steps: [5, 100], at: "2026-01-01T00:00:00.000Z" }), {
      type: "start",
      at: "2026-01-01T00:00:00.000Z",
      reason: "r0",
    });
    const store = new MemoryRecordStore(unfinished);
    const target = new FakeTarget();
    await assert.rejects(run([["promote"]], { store, target }), {
      name: "RolloutInProgressError",
      message:
        "rollout r0 of v1 on fake-target is unfinished (Initializing, last change 2026-01-01T00:00:00.000Z) in memory; refusing to start another (if its driver was killed, roll it back or finish it first)",
    });
    assert.deepEqual(target.calls, []);
    assert.equal(store.saved.length, 0);
  });

  it("changes and records nothing when the target cannot be prepared", async () => {
    const target = new FakeTarget();
    target.fail.set("prepare", new TargetError("stack dev: an update is in progress"));
    const store = new MemoryRecordStore();
    await assert.rejects(run([["promote"]], { target, store }), { name: "TargetError", message: "stack dev: an update is in progress" });
    assert.deepEqual(target.calls, ["prepare"]);
    assert.equal(store.saved.length, 0);
  });

  it("dry run prints every action and applies none", async () => {
    const { result, events, target, store, metrics } = await run([], { dryRun: true });
    assert.equal(result.outcome, "dryRun");
    assert.deepEqual(
      events.filter((e) => e.startsWith("action")),
      [
        "action [dry run] would snapshot fake target fake-target and record the rollout in memory",
        "action [dry run] would deploy canary v2 (app:v2) at weight 0, then verify the applied weight is 0",
        "action [dry run] would set the canary weight to 5, then verify it is applied",
        "action [dry run] would judge every 10s from the canary's first request: pass after at least 20s observed with traffic; at 300s undecided roll back; on a failed analysis roll back (keepCanary) at once",
        "action [dry run] would set the canary weight to 25, then verify it is applied",
        "action [dry run] would judge every 10s from the canary's first request: pass after at least 20s observed with traffic; at 300s undecided roll back; on a failed analysis roll back (keepCanary) at once",
        "action [dry run] would promote v2 to stable (weight 100)",
      ],
    );
    assert.deepEqual(target.calls, []);
    assert.equal(store.saved.length, 0);
    assert.equal(metrics.reads, 0);
    assert.equal(result.record.phase, "Succeeded");
  });

  it("a promotion whose final record cannot be saved is not rolled back: the store error is thrown", async () => {
    const store = new MemoryRecordStore();
    const save = store.save.bind(store);
    store.save = async (r) => {
      if (r.phase === "Succeeded") throw new Error("disk full");
      return save(r);
    };
    const target = new FakeTarget();
    await assert.rejects(run([["promote"], ["promote"]], { store, target }), { message: "disk full" });
    assert.equal(target.calls.at(-1), "promote");
    assert.equal(store.saved.at(-1)!.phase, "Promoting");
  });

  it("an interrupt (SIGTERM) while waiting for a tick rolls back at once, as the operator's decision", async () => {
    const interrupt = new AbortController();
    let ticks = 0;
    const onEvent = (e: DriverEvent): void => {
      if (e.kind === "tick" && ++ticks === 2) interrupt.abort("SIGTERM");
    };
    const { result, events, target, store } = await run([["continue"]], { onEvent, interrupt: interrupt.signal });
    assert.equal(result.outcome, "rolledBack");
    assert.deepEqual(events.slice(5), [
      "Initializing → Progressing [0@5]: canary deployed; first step at weight 5",
      "tick continue at 10s",
      "tick continue at 20s",
      "Progressing → RollingBack [0@5]: interrupted (SIGTERM)",
      "action roll back (keepCanary)",
      "RollingBack → RolledBack [0@5]: restored the snapshot; canary kept at weight 0",
    ]);
    assert.deepEqual(target.calls.slice(-2), ["rollback:keepCanary", "verify"]);
    assert.equal(store.saved[store.saved.length - 1].history[2].trigger, "operator");
  });

  describe("with the real judge", () => {
    /** Ticks of fixed counts: `canary` and `baseline` are [requests, errors] per tick. */
    class CountsMetrics {
      private last?: number;
      constructor(
        private readonly canary: [number, number],
        private readonly baseline: [number, number],
      ) {}
      async measure(at: number): Promise<TickMeasurement> {
        const start = this.last;
        this.last = at;
        if (start === undefined) return { kind: "priming", end: at };
        return { kind: "ok", start, end: at, canary: { requests: this.canary[0], errors: this.canary[1] }, baseline: { requests: this.baseline[0], errors: this.baseline[1] } };
      }
    }
    const plan = parsePlan("steps: [{weight: 5, minDuration: 20s}, {weight: 50, minDuration: 20s}, {weight: 100}]\ntick: 10s");
    const go = (metrics: CountsMetrics) =>
      runRollout({ plan, version: "v2", image: "app:v2", target: new FakeTarget(), store: new MemoryRecordStore(), metrics, clock: new FakeClock(), id: "r1" });

    it("promotes a clean canary once the evidence allows it", async () => {
      const r = await go(new CountsMetrics([1500, 0], [15000, 15]));
      assert.equal(r.outcome, "promoted");
      assert.deepEqual(r.record.history.map((h) => h.type), ["start", "advance", "advance", "promote", "complete"]);
      assert.match(r.record.history[3].reason, /^step 1 passed: all metrics within allowed ratios/);
      assert.equal((r.record.judge as { schema: number }).schema, 2, "the judge's state is kept in the record");
    });

    it("rolls back a canary failing 10% of its requests as soon as the guardrail's bound is over 5%", async () => {
      const r = await go(new CountsMetrics([200, 20], [3800, 4]));
      assert.equal(r.outcome, "rolledBack");
      assert.match(r.reason, /^guardrail errorRate: canary bad fraction ≥ [\d.]+% \(observed 10\.00% of 400 requests\) exceeds limit 5\.00%$/);
      const rollback = r.record.history[2];
      // 20 errors of 200 cannot yet exclude 5%; 40 of 400 do, on the second tick.
      assert.equal(rollback.at, "2026-01-01T00:00:20.000Z");
      assert.deepEqual((rollback.evidence as { guardrails: { name: string; status: string }[] }).guardrails.map((g) => [g.name, g.status]), [
        ["errorRate", "breached"],
        ["successRate", "breached"],
      ]);
    });
  });
});
