/**
 * runWave against stacks in memory (every rollout a real runRollout with its own record store,
 * judged by scripted verdicts): stages in order, a failure rolling its stage back and applying
 * the wave's policy, aborts of a stage's other rollouts, bakes, gates, operator controls, signals,
 * and the wave record each leaves.
 */
import * as assert from "node:assert/strict";
import { PreflightSource } from "../../../automation/analysis/preflight";
import { MetricsSource } from "../../../automation/rollout/judging";
import { controlWave } from "../../../automation/wave/control";
import { WaveResult, runWave, WaveDriverEvent } from "../../../automation/wave/run";
import { WaveRecord } from "../../../automation/wave/record";
import { StackAccess } from "../../../automation/wave/stacks";
import { MemoryWaveStore } from "../../../automation/wave/store";
import { accesses, FakeStack, waveOf, YieldingClock } from "../../helpers/waveFakes";

/** Two one-stack stages. */
function twoStages(extra: Record<string, unknown> = {}, stage2: Record<string, unknown> = {}) {
  return waveOf({
    name: "checkout",
    version: "v2",
    image: "app:v2",
    target: "haproxy",
    stages: [
      { name: "first", stacks: [{ name: "east", sandbox: "east.json" }] },
      { name: "second", stacks: [{ name: "west", sandbox: "west.json" }], ...stage2 },
    ],
    ...extra,
  });
}

/** What the wave history says happened, stack by stack. */
function types(r: WaveRecord): string[] {
  return r.history.map((h) => `${h.type}${h.stack ? ` ${h.stack}` : ""}`);
}

async function run(wave: ReturnType<typeof waveOf>, stacks: FakeStack[], o: { store?: MemoryWaveStore; clock?: YieldingClock; interrupt?: AbortSignal; events?: WaveDriverEvent[] } = {}): Promise<WaveResult> {
  return runWave({
    wave,
    store: o.store ?? new MemoryWaveStore(),
    stacks: accesses(wave, stacks),
    clock: o.clock ?? new YieldingClock(),
    id: "w1",
    ...(o.interrupt ? { interrupt: o.interrupt } : {}),
    report: (e) => o.events?.push(e),
  });
}

/** A two-stage rollbackAll wave in which west is reached through `change(its access)`. */
async function rollbackAllWithWest(change: (a: StackAccess) => StackAccess): Promise<{ east: FakeStack; west: FakeStack; r: WaveResult }> {
  const wave = twoStages({ onFailure: "rollbackAll" });
  const east = new FakeStack("east");
  const west = new FakeStack("west");
  const stacks = accesses(wave, [east, west]);
  stacks.set("west", change(stacks.get("west")!));
  return { east, west, r: await runWave({ wave, store: new MemoryWaveStore(), stacks, clock: new YieldingClock(), id: "w1" }) };
}

describe("runWave: stages, failures and policies on stacks in memory", function () {
  this.timeout(20_000);

  it("promotes every stage in order, each stack through its own rollout and record", async () => {
    const east = new FakeStack("east");
    const west = new FakeStack("west");
    const r = await run(twoStages(), [east, west]);
    assert.equal(r.outcome, "succeeded");
    assert.equal(r.record.phase, "Succeeded");
    assert.deepEqual(types(r.record), ["start", "stackStarted east", "stackEnded east", "advance", "stackStarted west", "stackEnded west", "succeed"]);
    for (const s of [east, west]) {
      const rec = (await s.records.load())!;
      assert.equal(rec.phase, "Succeeded");
      assert.equal(rec.id, `w1-${s.name}`);
      assert.deepEqual(s.platform.applied, [0, 50, 100]);
    }
    // West started only once east had promoted.
    const eastDone = (await east.records.load())!.updatedAt;
    assert.ok((await west.records.load())!.createdAt >= eastDone);
    assert.equal(r.record.lease, undefined);
  });

  it("a failure in the second stage rolls that stage back and, with onFailure: stop, keeps the first", async () => {
    const east = new FakeStack("east");
    const west = new FakeStack("west", [["rollback"]]);
    const r = await run(twoStages(), [east, west]);
    assert.equal(r.outcome, "stopped");
    assert.equal(r.reason, "west rolled back: step 0 tick 1: rollback; the wave stopped; east keeps the release (onFailure: stop)");
    assert.equal((await west.records.load())!.phase, "RolledBack");
    assert.equal(west.platform.weight, 0);
    assert.equal((await east.records.load())!.phase, "Succeeded");
    assert.equal(east.platform.weight, 100);
    assert.deepEqual(types(r.record), ["start", "stackStarted east", "stackEnded east", "advance", "stackStarted west", "stackEnded west", "fail west", "stop"]);
    assert.deepEqual(r.record.failure, { stage: 1, stack: "west", reason: "west rolled back: step 0 tick 1: rollback", trigger: "analysis", at: r.record.failure!.at });
  });

  it("with onFailure: rollbackAll, the first stage's stack is restored to its own snapshot through its rollout record", async () => {
    const east = new FakeStack("east");
    const west = new FakeStack("west", [["rollback"]]);
    const r = await run(twoStages({ onFailure: "rollbackAll" }), [east, west]);
    assert.equal(r.outcome, "rolledBack");
    assert.equal(r.record.phase, "RolledBack");
    assert.deepEqual(types(r.record), ["start", "stackStarted east", "stackEnded east", "advance", "stackStarted west", "stackEnded west", "fail west", "reverted east", "rolledBack"]);
    const eastRecord = (await east.records.load())!;
    assert.equal(eastRecord.phase, "RolledBack");
    assert.deepEqual(
      eastRecord.history.map((h) => `${h.type} ${h.from}→${h.to}`).slice(-3),
      ["complete Promoting→Succeeded", "rollback Succeeded→RollingBack", "rolledBack RollingBack→RolledBack"],
    );
    const rollback = eastRecord.history.find((h) => h.type === "rollback")!;
    assert.equal(rollback.trigger, "operator");
    assert.match(rollback.by!, /^wave w1 /);
    assert.equal(rollback.reason, "wave checkout: west rolled back: step 0 tick 1: rollback");
    // The snapshot restored exactly (restore mode), on the stack's own target.
    assert.deepEqual(east.targets.at(-1)!.calls.slice(-2), ["rollback:restore", "verify"]);
    assert.deepEqual(east.platform.applied, [0, 50, 100, 0]);
    assert.equal(r.record.stages[0].stacks[0].revert?.status, "reverted");
    // Each stack's observers (notifications, history) saw every transition of its rollout: the
    // driver's, and the restore the wave made after the driver had finished.
    assert.deepEqual(east.observed, eastRecord.history.map((h) => `${h.type} ${h.from}→${h.to}`));
    assert.deepEqual(west.observed, (await west.records.load())!.history.map((h) => `${h.type} ${h.from}→${h.to}`));
  });

  it("a stack failing in a parallel stage aborts the stage's other rollouts through their records, and restores those that promoted", async () => {
    const wave = waveOf({
      name: "checkout",
      version: "v2",
      image: "app:v2",
      target: "haproxy",
      onFailure: "rollbackAll",
      stages: [
        { name: "first", stacks: [{ name: "a", sandbox: "a.json" }] },
        { name: "second", stacks: [{ name: "fast", sandbox: "fast.json" }, { name: "bad", sandbox: "bad.json" }, { name: "slow", sandbox: "slow.json" }] },
      ],
    });
    const a = new FakeStack("a");
    const fast = new FakeStack("fast");
    // Bad fails at its third tick, after fast promoted; slow would never decide.
    const bad = new FakeStack("bad", [["continue", "continue", "rollback"]]);
    const slow = new FakeStack("slow", [["continue"]]);
    const r = await run(wave, [a, fast, bad, slow]);
    assert.equal(r.outcome, "rolledBack");
    const slowRecord = (await slow.records.load())!;
    assert.equal(slowRecord.phase, "RolledBack");
    const abort = slowRecord.history.find((h) => h.type === "rollback")!;
    assert.equal(abort.trigger, "operator");
    assert.match(abort.reason, /^aborted by wave w1 .*: wave checkout: bad rolled back: step 0 tick 3: rollback$/);
    assert.equal((await fast.records.load())!.phase, "RolledBack");
    assert.equal((await a.records.load())!.phase, "RolledBack");
    for (const s of [a, fast, bad, slow]) assert.equal(s.platform.weight, 0, s.name);
    const second = r.record.stages[1].stacks;
    assert.deepEqual(
      second.map((s) => [s.name, s.status, s.revert?.status ?? null]),
      [
        ["fast", "promoted", "reverted"],
        ["bad", "rolledBack", null],
        ["slow", "rolledBack", null],
      ],
    );
    assert.ok(second.find((s) => s.name === "slow")!.abortRequested);
  });

  it("a stage that fails before its other stacks started cancels them", async () => {
    // West's rollout cannot even start: its stack refuses (another update in progress).
    const { east, west, r } = await rollbackAllWithWest((a) => ({ ...a, target: async () => ({ ...(await a.target()), prepare: async () => Promise.reject(new Error("stack west: an update is in progress")) }) }));
    assert.equal(r.outcome, "rolledBack");
    assert.deepEqual(
      r.record.stages[1].stacks.map((s) => [s.status, s.reason]),
      [["failed", "stack west: an update is in progress"]],
    );
    assert.equal(west.platform.applied.length, 0, "nothing was applied to west");
    assert.equal(east.platform.weight, 0, "east restored");
  });

  it("a stack whose pre-flight refuses its plan at its own traffic fails its stage before its canary is deployed", async () => {
    // West's Prometheus: a 1 s scrape interval and a baseline of one request a minute for the last hour.
    const quiet: PreflightSource & MetricsSource = {
      alignsToSamples: true,
      scrapeIntervalSeconds: async () => 1,
      readReference: async (at, _windowSeconds, intervalSeconds) => {
        const n = Math.floor(3600 / intervalSeconds);
        return { kind: "ok", reference: { start: at - n * intervalSeconds, end: at, intervalSeconds, baseline: Array.from({ length: n }, () => ({ requests: intervalSeconds / 60, errors: 0 })) } };
      },
      measure: async (at) => ({ kind: "priming", end: at }),
    };
    const { east, west, r } = await rollbackAllWithWest((a) => ({ ...a, metrics: () => quiet, analysis: undefined }));
    assert.equal(r.outcome, "rolledBack");
    const failed = r.record.stages[1].stacks[0];
    assert.equal(failed.status, "failed");
    assert.match(failed.reason!, /^invalid plan for the current traffic:\nsteps\[0\]\.maxDuration: at 50% of 0\.0 requests\/s /);
    assert.deepEqual(west.targets.at(-1)!.calls, ["prepare"], "west's canary was never deployed");
    assert.equal(await west.records.load(), undefined);
    assert.equal(east.platform.weight, 0, "east restored");
  });

  it("bakes between stages: the next stage starts once the bake has observed its time", async () => {
    const east = new FakeStack("east");
    const west = new FakeStack("west");
    const events: WaveDriverEvent[] = [];
    const r = await run(twoStages({ bake: "30s", tick: "10s" }), [east, west], { events });
    assert.equal(r.outcome, "succeeded");
    assert.deepEqual(types(r.record), ["start", "stackStarted east", "stackEnded east", "bake", "advance", "stackStarted west", "stackEnded west", "succeed"]);
    const bakes = events.flatMap((e) => (e.kind === "bake" ? [e.observedSeconds] : []));
    assert.deepEqual(bakes, [10, 20, 30]);
    assert.match(r.record.history.find((h) => h.type === "advance")!.reason, /^bake after stage first passed: 30s observed/);
  });

  it("a guardrail breached during the bake fails the baked stage: its stacks are restored", async () => {
    const east = new FakeStack("east", [["promote"]], 1);
    const west = new FakeStack("west");
    const r = await run(twoStages({ bake: "60s" }), [east, west]);
    assert.equal(r.outcome, "rolledBack");
    assert.deepEqual(types(r.record), ["start", "stackStarted east", "stackEnded east", "bake", "bakeFailed east", "fail east", "reverted east", "rolledBack"]);
    assert.match(r.record.failure!.reason, /^bake after stage first: east: guardrail errorRate: /);
    assert.equal(r.record.failure!.trigger, "analysis");
    assert.equal(east.platform.weight, 0);
    assert.deepEqual(west.platform.applied, [], "the second stage never started");
    assert.equal(r.record.stages[1].stacks[0].status, "cancelled");
  });

  it("a gated stage waits for its approval, given through the wave record by another process", async () => {
    const store = new MemoryWaveStore();
    const wave = twoStages({}, { gate: true });
    const east = new FakeStack("east");
    const west = new FakeStack("west");
    const clock = new YieldingClock();
    const running = run(wave, [east, west], { store, clock });
    // Wait until the wave waits at the gate.
    for (let i = 0; i < 10_000 && (await store.load())?.awaiting !== "second"; i++) await new Promise((r) => setImmediate(r));
    assert.equal((await store.load())!.awaiting, "second");
    assert.deepEqual(west.platform.applied, []);
    await assert.rejects(controlWave(store, { verb: "approve", by: "bob", reason: "looks good", stage: "first" }, { clock, waitMs: 60_000, gates: ["second"], finish: () => running }), {
      name: "ControlRefusedError",
      message: "stage first has no gate (gates: second)",
    });
    const approved = await controlWave(store, { verb: "approve", by: "bob", reason: "looks good", stage: "second" }, { clock, waitMs: 60_000, gates: ["second"], finish: () => running });
    assert.equal(approved.status, "applied");
    const r = await running;
    assert.equal(r.outcome, "succeeded");
    assert.deepEqual(types(r.record), ["start", "stackStarted east", "stackEnded east", "advance", "approve", "stackStarted west", "stackEnded west", "succeed"]);
    assert.equal(r.record.history.find((h) => h.type === "approve")!.by, "bob");
  });

  it("pause holds the wave before its next stage; resume lets it go on", async () => {
    const store = new MemoryWaveStore();
    const east = new FakeStack("east", [["continue", "continue", "promote"]]);
    const west = new FakeStack("west");
    const clock = new YieldingClock();
    const wave = twoStages();
    const running = run(wave, [east, west], { store, clock });
    for (let i = 0; i < 10_000 && (await store.load())?.stages[0].stacks[0].status !== "running"; i++) await new Promise((r) => setImmediate(r));
    const paused = await controlWave(store, { verb: "pause", by: "carol", reason: "deploy freeze" }, { clock, waitMs: 600_000, gates: [], finish: () => running });
    assert.equal(paused.status, "applied");
    for (let i = 0; i < 10_000 && (await store.load())?.stages[0].stacks[0].status !== "promoted"; i++) await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    assert.equal((await store.load())!.stage, 0, "held before the second stage");
    assert.deepEqual(west.platform.applied, []);
    await controlWave(store, { verb: "resume", by: "carol", reason: "freeze over" }, { clock, waitMs: 600_000, gates: [], finish: () => running });
    const r = await running;
    assert.equal(r.outcome, "succeeded");
    assert.deepEqual(types(r.record), ["start", "stackStarted east", "pause", "stackEnded east", "resume", "advance", "stackStarted west", "stackEnded west", "succeed"]);
  });

  it("abort --all of a running wave rolls the stage back and restores every promoted stage whatever the policy", async () => {
    const store = new MemoryWaveStore();
    const east = new FakeStack("east");
    const west = new FakeStack("west", [["continue"]]);
    const clock = new YieldingClock();
    const running = run(twoStages(), [east, west], { store, clock });
    for (let i = 0; i < 10_000 && (await store.load())?.stages[1].stacks[0].status !== "running"; i++) await new Promise((r) => setImmediate(r));
    const aborted = await controlWave(store, { verb: "abort", by: "dave", reason: "bad release", all: true }, { clock, waitMs: 600_000, gates: [], finish: () => running });
    assert.equal(aborted.status, "applied");
    const r = await running;
    assert.equal(r.outcome, "rolledBack");
    assert.deepEqual(r.record.failure && { ...r.record.failure, at: "" }, { stage: 1, reason: "aborted by dave: bad release", trigger: "operator", at: "", all: true });
    assert.equal(east.platform.weight, 0);
    assert.equal(west.platform.weight, 0);
    assert.equal((await west.records.load())!.phase, "RolledBack");
  });

  it("a signal during a stage reaches its rollouts (rolled back per their plan): the stage fails and the policy applies", async () => {
    const east = new FakeStack("east");
    const west = new FakeStack("west", [["continue"]]);
    const interrupt = new AbortController();
    const events: WaveDriverEvent[] = [];
    const store = new MemoryWaveStore();
    const running = run(twoStages(), [east, west], { store, interrupt: interrupt.signal, events });
    for (let i = 0; i < 10_000 && (await store.load())?.stages[1].stacks[0].status !== "running"; i++) await new Promise((r) => setImmediate(r));
    interrupt.abort("SIGTERM");
    const r = await running;
    assert.equal(r.outcome, "stopped");
    assert.equal((await west.records.load())!.history.find((h) => h.type === "rollback")!.reason, "interrupted (SIGTERM)");
    assert.equal(east.platform.weight, 100);
  });

  it("a signal between stages stops the wave where it is: paused, continued by the next run", async () => {
    const east = new FakeStack("east");
    const west = new FakeStack("west");
    const store = new MemoryWaveStore();
    const interrupt = new AbortController();
    const running = run(twoStages({ bake: "1h" }), [east, west], { store, interrupt: interrupt.signal });
    for (let i = 0; i < 10_000 && (await store.load())?.phase !== "Baking"; i++) await new Promise((r) => setImmediate(r));
    interrupt.abort("SIGINT");
    const r = await running;
    assert.equal(r.outcome, "paused");
    assert.equal(r.record.phase, "Baking");
    assert.equal(r.record.lease, undefined);
    assert.match(r.reason, /^interrupted \(SIGINT\) during the bake after stage first/);
  });

  it("a rerun of a wave that succeeded changes nothing", async () => {
    const store = new MemoryWaveStore();
    const east = new FakeStack("east");
    const west = new FakeStack("west");
    const wave = twoStages();
    await run(wave, [east, west], { store });
    const saves = store.saved.length;
    const again = await run(wave, [east, west], { store });
    assert.equal(again.outcome, "unchanged");
    assert.equal(store.saved.length, saves);
    assert.deepEqual(east.platform.applied, [0, 50, 100]);
  });

  it("refuses an unfinished wave of another file, changing nothing", async () => {
    const store = new MemoryWaveStore();
    const east = new FakeStack("east");
    const west = new FakeStack("west");
    const interrupt = new AbortController();
    const running = run(twoStages({ bake: "1h" }), [east, west], { store, interrupt: interrupt.signal });
    for (let i = 0; i < 10_000 && (await store.load())?.phase !== "Baking"; i++) await new Promise((r) => setImmediate(r));
    interrupt.abort("SIGINT");
    await running;
    const other = waveOf({ name: "checkout", version: "v3", image: "app:v3", target: "haproxy", stages: [{ name: "first", stacks: [{ name: "east", sandbox: "east.json" }] }] });
    await assert.rejects(run(other, [east], { store }), { name: "WaveInProgressError", message: /^wave w1 \(checkout\) is unfinished \(Baking\(stage 0 first\), last change .*\) in memory; it is not this wave file's/ });
  });
});
