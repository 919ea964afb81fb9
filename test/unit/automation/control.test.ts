/**
 * Control verbs, approval gates, the single-driver lease and resuming after a lost driver: the
 * real driver with a fake target, scripted judge and a clock that does not wait. Control
 * requests reach the driver only through the record store, as they do from another process.
 */
import * as assert from "node:assert/strict";
import * as os from "node:os";
import { Decision, TickMeasurement } from "../../../automation/analysis/types";
import { awaitControl, submitControl } from "../../../automation/rollout/control";
import { DriverEvent } from "../../../automation/rollout/events";
import { JudgeAnalysis, MetricsSource } from "../../../automation/rollout/judging";
import { leaseLive, LeaseHeldError, newLease } from "../../../automation/rollout/lease";
import { runRollout } from "../../../automation/rollout/run";
import { approved, mergeControls, newRequest } from "../../../automation/rollout/requests";
import { parsePlan, Plan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { ControlVerb, newRecord, RolloutRecord, transition } from "../../../automation/state";
import { FakeClock, FakeMetrics, FakeTarget, ScriptedAnalysis } from "../../helpers/fakes";

const T0 = Date.UTC(2026, 0, 1);
const PLAN = parsePlan(`
steps:
  - { weight: 5, minDuration: 20s, maxDuration: 5m }
  - { weight: 25, minDuration: 20s, maxDuration: 5m }
  - { weight: 100 }
tick: 10s
`);

/** A store on which a control request is written before the driver's Nth save (as another process would). */
class ScriptedStore extends MemoryRecordStore {
  private saves = 0;
  constructor(private readonly at: Map<number, (r: RolloutRecord) => RolloutRecord>) {
    super();
  }
  async save(record: RolloutRecord): Promise<RolloutRecord> {
    const saved = await super.save(record);
    const f = this.at.get(++this.saves);
    // Written over the driver's save, so the driver's next save conflicts and must merge it.
    if (f) await super.save(f(JSON.parse(JSON.stringify(saved)) as RolloutRecord));
    return saved;
  }
}

/** Adds a pending control request to a record, as `canary <verb>` does. */
function withControl(verb: ControlVerb, extra: { gate?: string; gradual?: boolean } = {}): (r: RolloutRecord) => RolloutRecord {
  return (r) => ({ ...r, controls: [...(r.controls ?? []), newRequest({ verb, by: "alice@ops-1", reason: `please ${verb}`, ...extra }, T0)] });
}

async function run(script: Decision[][], o: { plan?: Plan; store?: MemoryRecordStore; target?: FakeTarget; interrupt?: AbortSignal; maxEvents?: number } = {}) {
  const target = o.target ?? new FakeTarget();
  const store = o.store ?? new MemoryRecordStore();
  const events: string[] = [];
  const report = (e: DriverEvent): void => {
    if (e.kind === "transition") events.push(`${e.entry.type} ${e.entry.from}→${e.entry.to}${e.entry.by ? ` by ${e.entry.by}` : ""}`);
    if (e.kind === "gateWaiting") events.push(`gateWaiting ${e.wait.gate}`);
    if (events.length > (o.maxEvents ?? 200)) throw new Error(`runaway rollout: ${events.join(", ")}`);
  };
  const result = await runRollout({ plan: o.plan ?? PLAN, version: "v2", image: "app:v2", target, store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis(script), clock: new FakeClock(), report, id: "r1", interrupt: o.interrupt });
  return { result, events, target, store };
}

describe("control verbs through the record store", () => {
  it("promote skips the current step's wait; the skip is recorded with who asked", async () => {
    // Save 4 is the first tick of step 0 (start, step 0's weight written ahead, advance, tick): the judge keeps saying continue.
    const { result, events, store } = await run([["continue"], ["promote"]], { store: new ScriptedStore(new Map([[4, withControl("promote")]])) });
    assert.equal(result.outcome, "promoted");
    assert.deepEqual(events, ["start Idle→Initializing", "advance Initializing→Progressing", "skip Progressing→Progressing by alice@ops-1", "advance Progressing→Progressing", "promote Progressing→Promoting", "complete Promoting→Succeeded"]);
    const c = (await store.load())!.controls![0];
    assert.deepEqual([c.verb, c.status, c.by, c.reason], ["promote", "applied", "alice@ops-1", "please promote"]);
  });

  it("promote --full goes straight to promotion, skipping the remaining steps", async () => {
    const { result, events, target } = await run([["continue"]], { store: new ScriptedStore(new Map([[4, withControl("promoteFull")]])) });
    assert.equal(result.outcome, "promoted");
    assert.deepEqual(events, ["start Idle→Initializing", "advance Initializing→Progressing", "promoteFull Progressing→Promoting by alice@ops-1", "complete Promoting→Succeeded"]);
    assert.equal(target.calls.includes("setWeight:25"), false);
  });

  it("abort rolls back at once, as the operator's decision", async () => {
    const { result, events } = await run([["continue"]], { store: new ScriptedStore(new Map([[4, withControl("abort")]])) });
    assert.equal(result.outcome, "rolledBack");
    assert.equal(result.reason, "aborted by alice@ops-1: please abort");
    assert.deepEqual(events.slice(-2), ["rollback Progressing→RollingBack by alice@ops-1", "rolledBack RollingBack→RolledBack"]);
    assert.equal(result.record.history.at(-2)!.trigger, "operator");
  });

  it("abort --gradual steps the weight down through the plan's steps before restoring", async () => {
    const { result, target } = await run([["promote"], ["continue"]], { store: new ScriptedStore(new Map([[6, withControl("abort", { gradual: true })]])) });
    assert.equal(result.outcome, "rolledBack");
    assert.deepEqual(target.calls.filter((c) => c.startsWith("setWeight") || c.startsWith("rollback")), ["setWeight:5", "setWeight:25", "setWeight:5", "rollback:keepCanary"]);
  });

  it("pause holds the weight (a promote verdict does not advance) until resume", async () => {
    const { result, events, target } = await run([["promote"], ["promote"]], { store: new ScriptedStore(new Map([[3, withControl("pause")], [6, withControl("resume")]])) });
    assert.equal(result.outcome, "promoted");
    assert.deepEqual(events.slice(0, 4), ["start Idle→Initializing", "advance Initializing→Progressing", "pause Progressing→Paused by alice@ops-1", "resume Paused→Progressing by alice@ops-1"]);
    assert.deepEqual(target.calls.filter((c) => c.startsWith("setWeight")), ["setWeight:5", "setWeight:25"]);
  });

  it("a rollback verdict while paused still rolls back", async () => {
    const { result, events } = await run([["continue", "rollback"]], { store: new ScriptedStore(new Map([[3, withControl("pause")]])) });
    assert.equal(result.outcome, "rolledBack");
    assert.deepEqual(events.slice(-3), ["pause Progressing→Paused by alice@ops-1", "rollback Paused→RollingBack", "rolledBack RollingBack→RolledBack"]);
  });

  it("freeze holds the weight and ignores a rollback verdict; abort still rolls back", async () => {
    const { result, events } = await run([["rollback"]], { store: new ScriptedStore(new Map([[3, withControl("freeze")], [7, withControl("abort")]])) });
    assert.equal(result.outcome, "rolledBack");
    assert.deepEqual(events.slice(2), ["freeze Progressing→Frozen by alice@ops-1", "rollback Frozen→RollingBack by alice@ops-1", "rolledBack RollingBack→RolledBack"]);
    assert.equal(result.reason, "aborted by alice@ops-1: please abort");
  });

  it("an illegal request is refused with why, recorded on the request, and the rollout carries on", async () => {
    const { result, store } = await run([["continue", "promote"], ["promote"]], { store: new ScriptedStore(new Map([[4, withControl("resume")]])) });
    assert.equal(result.outcome, "promoted");
    const c = (await store.load())!.controls![0];
    assert.equal(c.status, "refused");
    assert.equal(c.result, "cannot resume from Progressing (rollout r1 of v2 on fake-target); resume is legal from Paused");
  });
});

describe("approval gates", () => {
  const GATED = parsePlan(`
steps: [{ weight: 5, minDuration: 20s, maxDuration: 5m }, { weight: 25, minDuration: 20s, maxDuration: 5m }, { weight: 100 }]
tick: 10s
gates: { beforeSteps: [1], beforePromotion: true }
`);

  it("waits (still judging) at each gate until the approval is in the record, notifying once per gate", async () => {
    const store = new ScriptedStore(
      new Map([
        [7, withControl("approve", { gate: "step 1" })],
        [13, withControl("approve", { gate: "promotion" })],
      ]),
    );
    const { result, events, target } = await run([["promote"], ["promote"]], { plan: GATED, store });
    assert.equal(result.outcome, "promoted");
    assert.deepEqual(events, [
      "start Idle→Initializing",
      "advance Initializing→Progressing",
      "gateWaiting step 1",
      "approve Progressing→Progressing by alice@ops-1",
      "advance Progressing→Progressing",
      "gateWaiting promotion",
      "approve Progressing→Progressing by alice@ops-1",
      "promote Progressing→Promoting",
      "complete Promoting→Succeeded",
    ]);
    assert.deepEqual(target.calls.filter((c) => c.startsWith("setWeight")), ["setWeight:5", "setWeight:25"]);
    assert.ok(approved((await store.load())!, "promotion"));
  });

  it("a rollback verdict while waiting at a gate still rolls back", async () => {
    const { result, events } = await run([["promote", "promote", "rollback"]], { plan: GATED });
    assert.equal(result.outcome, "rolledBack");
    assert.deepEqual(events, ["start Idle→Initializing", "advance Initializing→Progressing", "gateWaiting step 1", "rollback Progressing→RollingBack", "rolledBack RollingBack→RolledBack"]);
  });

  it("an approval written before the driver restarts is honoured by the next driver (it lives in the record)", () => {
    const r = { ...newRecord({ id: "r1", stack: "s", target: "fake", version: "v2", image: "app:v2", steps: [5, 100], at: "t" }), controls: [newRequest({ verb: "approve", by: "bob@laptop", reason: "ok", gate: "promotion" }, T0)] };
    assert.equal(approved(JSON.parse(JSON.stringify(r)) as RolloutRecord, "promotion"), true);
    assert.equal(approved(r, "step 1"), false);
  });
});

describe("single driver lease and resume", () => {
  function unfinished(phase: "Progressing" | "RollingBack" | "Promoting", lease?: ReturnType<typeof newLease>): RolloutRecord {
    let r = newRecord({ id: "r0", stack: "fake-target", target: "fake", version: "v2", image: "app:v2", steps: [5, 25, 100], at: new Date(T0).toISOString() });
    r = { ...r, snapshot: { type: "fake", weight: 0 } };
    r = transition(r, { type: "start", at: "t1", reason: "go" });
    r = transition(r, { type: "advance", at: "t2", reason: "step 0", step: 0, weight: 5 });
    r = transition(r, { type: "advance", at: "t3", reason: "step 1", step: 1, weight: 25 });
    if (phase === "RollingBack") r = transition(r, { type: "rollback", at: "t4", reason: "bad", trigger: "analysis" });
    if (phase === "Promoting") r = transition(r, { type: "promote", at: "t4", reason: "passed" });
    return lease ? { ...r, lease } : r;
  }

  it("refuses a second driver while the holder's lease is live, naming the holder; nothing is touched", async () => {
    const lease = { holder: "carol@ci-9:4242", host: "ci-9", pid: 4242, acquiredAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + 60_000).toISOString() };
    const store = new MemoryRecordStore(unfinished("Progressing", lease));
    const target = new FakeTarget();
    await assert.rejects(run([["promote"]], { store, target }), {
      name: "LeaseHeldError",
      message:
        "rollout r0 of v2 on fake-target is driven by carol@ci-9:4242 (lease until 2026-01-01T00:01:00.000Z, in memory); refusing to run a second driver (use the control verbs: canary pause|resume|promote|abort)",
    });
    assert.deepEqual(target.calls, []);
    assert.equal(store.saved.length, 0);
    assert.ok(new LeaseHeldError(lease, unfinished("Progressing"), "x") instanceof Error);
  });

  it("a lease is stale once expired, or when its holder process on this host is gone", () => {
    const lease = newLease(T0, 60);
    assert.equal(leaseLive(lease, T0 + 59_000), true);
    assert.equal(leaseLive(lease, T0 + 60_000), false);
    assert.equal(leaseLive({ ...lease, host: os.hostname(), pid: 999_999_999 }, T0, () => false), false);
    assert.equal(leaseLive({ ...lease, host: "elsewhere" }, T0, () => false), true);
  });

  it("resumes a rollout whose driver was killed at step 1: reads the weight back and does not apply it again", async () => {
    const expired = { holder: "dave@ci-1:1", host: "ci-1", pid: 1, acquiredAt: "2025-12-31T23:00:00.000Z", expiresAt: "2025-12-31T23:01:00.000Z" };
    const store = new MemoryRecordStore(unfinished("Progressing", expired));
    const target = new FakeTarget();
    target.weight = 25; // what the killed driver had applied
    const { result, events } = await run([[], ["promote"]], { store, target });
    assert.equal(result.outcome, "promoted");
    assert.equal(result.record.id, "r0");
    assert.deepEqual(target.calls, ["prepare", "verify", "promote"]);
    assert.deepEqual(events, ["takeOver Progressing→Progressing", "promote Progressing→Promoting", "complete Promoting→Succeeded"]);
    assert.equal(result.record.lease, undefined, "the lease is released at the end");
  });

  it("resuming re-applies the step's weight only when the target does not have it", async () => {
    const store = new MemoryRecordStore(unfinished("Progressing"));
    const target = new FakeTarget();
    target.weight = 5;
    const { result } = await run([[], ["promote"]], { store, target });
    assert.equal(result.outcome, "promoted");
    assert.deepEqual(target.calls, ["prepare", "verify", "setWeight:25", "verify", "promote"]);
  });

  it("with onResume: rollback, a taken-over rollout is rolled back from the recorded snapshot", async () => {
    const store = new MemoryRecordStore(unfinished("Progressing"));
    const target = new FakeTarget();
    target.weight = 25;
    const { result } = await run([], { store, target, plan: { ...PLAN, onResume: "rollback" } });
    assert.equal(result.outcome, "rolledBack");
    assert.match(result.reason, /the plan says onResume: rollback/);
    assert.deepEqual(target.calls, ["prepare", "rollback:keepCanary", "verify"]);
    assert.equal(target.weight, 0);
  });

  it("an unfinished rollback is finished by the next driver without recording a second rollback", async () => {
    const store = new MemoryRecordStore(unfinished("RollingBack"));
    const { result } = await run([], { store });
    assert.equal(result.outcome, "rolledBack");
    assert.deepEqual(result.record.history.map((h) => h.type).slice(-3), ["rollback", "takeOver", "rolledBack"]);
  });

  it("a killed promotion is finished, not rolled back", async () => {
    const { result, target } = await run([], { store: new MemoryRecordStore(unfinished("Promoting")) });
    assert.equal(result.outcome, "promoted");
    assert.deepEqual(target.calls, ["prepare", "promote"]);
  });

  it("SIGTERM with onSignal: pause holds the weight and leaves the rollout Paused without a lease", async () => {
    const interrupt = new AbortController();
    const store = new ScriptedStore(new Map([[4, (r) => (interrupt.abort("SIGTERM"), r)]]));
    const { result, target } = await run([["continue"]], { store, interrupt: interrupt.signal, plan: { ...PLAN, onSignal: "pause" } });
    assert.equal(result.outcome, "paused");
    assert.equal(result.record.phase, "Paused");
    assert.equal(result.record.lease, undefined);
    assert.equal(target.weight, 5);
    assert.equal(target.calls.some((c) => c.startsWith("rollback")), false);
  });
});

describe("control requests: merging and acknowledgement", () => {
  it("merges requests the driver has not seen, keeping its own statuses", () => {
    const base = newRecord({ id: "r1", stack: "s", target: "fake", version: "v2", image: "i", steps: [5, 100], at: "t" });
    const a = newRequest({ verb: "pause", by: "a@h", reason: "x" }, T0);
    const b = newRequest({ verb: "resume", by: "a@h", reason: "y" }, T0 + 1);
    const mine = { ...base, controls: [{ ...a, status: "applied" as const }] };
    const merged = mergeControls(mine, { ...base, controls: [a, b] });
    assert.deepEqual(merged.controls!.map((c) => [c.verb, c.status]), [["pause", "applied"], ["resume", "pending"]]);
    assert.equal(mergeControls(mine, { ...base, id: "other", controls: [b] }), mine, "another rollout's requests are ignored");
  });

  it("awaitControl writes a request again when a concurrent save dropped it, and returns once settled", async () => {
    const store = new MemoryRecordStore(newRecord({ id: "r1", stack: "s", target: "fake", version: "v2", image: "i", steps: [5, 100], at: "t" }));
    const req = newRequest({ verb: "pause", by: "a@h", reason: "x" }, T0);
    await submitControl(store, (await store.load())!, req);
    // The driver's save that raced with it: the request is gone.
    await store.save({ ...(await store.load())!, controls: [] });
    let rounds = 0;
    const settled = await awaitControl(store, req, 10_000, async () => {
      rounds++;
      const r = (await store.load())!;
      if (r.controls?.some((c) => c.id === req.id)) await store.save({ ...r, controls: r.controls.map((c) => ({ ...c, status: "applied" as const })) });
    });
    assert.equal(settled?.status, "applied");
    assert.equal(rounds, 1);
  });
});

describe("record conflicts, lease renewal and resumed judging", () => {
  it("a control request written between the driver's read and its save is merged, not overwritten", async () => {
    // Written after save 4: the driver's save 5 (derived from save 4) conflicts and must merge it.
    const store = new ScriptedStore(new Map([[4, withControl("promote")]]));
    const { result } = await run([["continue"], ["promote"]], { store });
    assert.equal(result.outcome, "promoted");
    const stored = (await store.load())!;
    assert.deepEqual(stored.controls!.map((c) => [c.verb, c.status]), [["promote", "applied"]]);
    // Every revision was written once, in order: no save went over an older one.
    assert.deepEqual(store.saved.map((r) => r.revision), store.saved.map((_, i) => i + 1));
  });

  it("a driver that finds another holder's live lease in the record stops at once, without touching the target again", async () => {
    const foreign = { holder: "eve@ci-2:77", host: "ci-2", pid: 77, acquiredAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + 3_600_000).toISOString() };
    const store = new ScriptedStore(new Map([[4, (r) => ({ ...r, lease: foreign })]]));
    const target = new FakeTarget();
    await assert.rejects(run([["continue"]], { store, target }), {
      name: "LeaseLostError",
      message: "lost rollout r1 of v2 on fake-target: eve@ci-2:77 holds it now (lease until 2026-01-01T01:00:00.000Z); this driver stops without changing the target again",
    });
    assert.deepEqual(target.calls, ["prepare", "setCanary:v2", "verify", "setWeight:5", "verify"], "no rollback after the lease was lost");
    assert.equal((await store.load())!.lease!.holder, "eve@ci-2:77");
  });

  it("two drivers taking over the same stale rollout: the one whose save lands second is refused, having changed nothing", async () => {
    const expired = { holder: "dave@ci-1:1", host: "ci-1", pid: 1, acquiredAt: "2025-12-31T23:00:00.000Z", expiresAt: "2025-12-31T23:01:00.000Z" };
    let r = newRecord({ id: "r0", stack: "fake-target", target: "fake", version: "v2", image: "app:v2", steps: [5, 25, 100], at: new Date(T0).toISOString() });
    r = transition(transition({ ...r, snapshot: { type: "fake", weight: 0 } }, { type: "start", at: "t1", reason: "go" }), { type: "advance", at: "t2", reason: "step 0", step: 0, weight: 5 });
    const store = new MemoryRecordStore({ ...r, lease: expired, revision: 4 });
    const stale = await store.load();
    // The other driver took it over after this one read the record.
    const winner = { holder: "frank@ci-3:88", host: "ci-3", pid: 88, acquiredAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + 600_000).toISOString() };
    await store.save({ ...stale!, lease: winner });
    store.load = async () => stale; // this driver's view: read before the winner's save
    const target = new FakeTarget();
    await assert.rejects(run([["promote"]], { store, target }), { name: "LeaseHeldError", message: /is driven by frank@ci-3:88 / });
    assert.deepEqual(target.calls, ["prepare"], "nothing changed");
  });

  describe("a resumed step continues its judging from the record", () => {
    /** A canary as good as its baseline: without a reference (noise assumed until measured) the judge promotes after 180 s observed (18 ticks). */
    class SteadyMetrics implements MetricsSource {
      public ticks = 0;
      private last?: number;
      async measure(at: number): Promise<TickMeasurement> {
        const start = this.last;
        this.last = at;
        if (start === undefined) return { kind: "priming", end: at };
        this.ticks++;
        return { kind: "ok", start, end: at, canary: { requests: 1000, errors: 10 }, baseline: { requests: 9000, errors: 90 } };
      }
    }
    const plan = parsePlan("steps:\n  - { weight: 5, minDuration: 60s, maxDuration: 10m }\n  - { weight: 100 }\ntick: 10s\n");
    const stepStart = T0 / 1000 - 60;

    /** A record killed at step 0 after `ticks` judged ticks, with the judge's state it had persisted. */
    async function killedAfter(ticks: number): Promise<RolloutRecord> {
      const judge = new JudgeAnalysis(plan.analysis.judge);
      const m = new SteadyMetrics();
      await m.measure(stepStart);
      judge.beginStep({ index: 0, startedAt: stepStart, minDurationSeconds: 60, maxDurationSeconds: 600 });
      for (let k = 1; k <= ticks; k++) assert.equal(judge.tick(await m.measure(stepStart + 10 * k)).decision, "continue");
      let r = newRecord({ id: "r0", stack: "fake-target", target: "fake", version: "v2", image: "app:v2", steps: [5, 100], at: new Date(T0 - 70_000).toISOString() });
      r = transition({ ...r, snapshot: { type: "fake", weight: 0 } }, { type: "start", at: new Date(T0 - 65_000).toISOString(), reason: "go" });
      r = transition(r, { type: "advance", at: new Date(stepStart * 1000).toISOString(), reason: "step 0", step: 0, weight: 5 });
      return { ...r, judge: judge.state() };
    }

    async function resume(record: RolloutRecord) {
      const metrics = new SteadyMetrics();
      const target = new FakeTarget();
      target.weight = 5;
      const logs: string[] = [];
      const observed: number[] = [];
      const result = await runRollout({
        plan,
        version: "v2",
        image: "app:v2",
        target,
        store: new MemoryRecordStore(record),
        metrics,
        clock: new FakeClock(),
        report: (e) => {
          if (e.kind === "log" || e.kind === "action") logs.push(e.kind === "log" ? e.line : e.message);
          if (e.kind === "tick") observed.push(e.verdict.stepObservedSeconds);
        },
      });
      return { result, ticks: metrics.ticks, logs, observed };
    }

    it("keeps the evidence and observed time: promotes after the 14 ticks it still needed, not 18", async () => {
      const { result, ticks, logs, observed } = await resume(await killedAfter(4));
      assert.equal(result.outcome, "promoted");
      assert.equal(ticks, 14);
      assert.deepEqual(observed, Array.from({ length: 14 }, (_, k) => 50 + 10 * k), "the downtime is neither observed time nor an outage");
      assert.ok(logs.includes("step 0: judging continues from the state the previous driver recorded"), logs.join("\n"));
    });

    it("a state it cannot use (another judge configuration) restarts the step's judging, saying why", async () => {
      const record = await killedAfter(4);
      const { result, ticks, logs } = await resume({ ...record, judge: { ...(record.judge as object), metrics: [] } });
      assert.equal(result.outcome, "promoted");
      assert.equal(ticks, 18);
      assert.ok(logs.includes("step 0: cannot continue the previous driver's judging (judge state has 0 metrics, config has 1); the step's judging restarts"), logs.join("\n"));
    });
  });
});
