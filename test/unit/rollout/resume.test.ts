/**
 * Exact resume: a driver killed at any point of a rollout, then the same rollout run again. The
 * kill is simulated at every boundary of every operation the driver makes on the world (each
 * target call and each record read or write): before it (the operation never happens) or during
 * it (it happens, but the driver never learns so). From then on the killed driver's target and
 * store refuse every call, so nothing it still tries reaches the world. The next driver, started
 * once the killed one's lease has expired, must finish the rollout without ever moving traffic
 * backwards, without applying a step twice, and without rolling back a healthy canary.
 */
import * as assert from "node:assert/strict";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { RecordStore } from "../../../automation/record/types";
import { parsePlan } from "../../../automation/plan";
import { RolloutResult } from "../../../automation/rollout/loop";
import { runRollout } from "../../../automation/rollout/run";
import { RolloutRecord } from "../../../automation/state";
import { RollbackMode, Target, TargetSnapshot } from "../../../automation/targets/types";
import { FakeClock, FakeMetrics, ScriptedAnalysis } from "../../helpers/fakes";
import { Life } from "../../helpers/life";

const PLAN = parsePlan("steps: [{weight: 30, minDuration: 10s}, {weight: 60, minDuration: 10s}, {weight: 100}]\ntick: 10s\n");

/** The platform: the canary weight in effect and every weight it was given, in order. */
class Platform {
  weight = 0;
  readonly applied: number[] = [];
  set(w: number): void {
    this.weight = w;
    this.applied.push(w);
  }
}

/** The platform as one process reaches it. */
class MortalTarget implements Target {
  readonly type = "fake";
  readonly name = "fake-target";
  constructor(
    private readonly platform: Platform,
    private readonly life: Life,
  ) {}
  prepare(): Promise<TargetSnapshot> {
    return this.life.run("prepare", async () => ({ type: "fake", weight: 0 }));
  }
  setCanary(): Promise<void> {
    return this.life.run("setCanary", async () => this.platform.set(0));
  }
  setWeight(w: number): Promise<void> {
    return this.life.run(`setWeight ${w}`, async () => this.platform.set(w));
  }
  verify(): Promise<number | undefined> {
    return this.life.run("verify", async () => this.platform.weight);
  }
  promote(): Promise<void> {
    return this.life.run("promote", async () => this.platform.set(100));
  }
  rollback(_s: TargetSnapshot, _m: RollbackMode): Promise<void> {
    return this.life.run("rollback", async () => this.platform.set(0));
  }
}

/** The record store as one process reaches it. */
class MortalStore implements RecordStore {
  readonly description = "memory";
  constructor(
    private readonly store: MemoryRecordStore,
    private readonly life: Life,
  ) {}
  load(): Promise<RolloutRecord | undefined> {
    return this.life.run("load", () => this.store.load());
  }
  save(r: RolloutRecord): Promise<RolloutRecord> {
    return this.life.run("save", () => this.store.save(r));
  }
}

/** One `canary rollout` process; the clock starts at `startMs` (a later process starts after the previous lease expired). */
async function process(platform: Platform, store: MemoryRecordStore, life: Life, startMs: number): Promise<{ result?: RolloutResult; error?: Error }> {
  try {
    const result = await runRollout({
      plan: PLAN,
      version: "v2",
      image: "app:v2",
      target: new MortalTarget(platform, life),
      store: new MortalStore(store, life),
      metrics: new FakeMetrics(),
      analysis: new ScriptedAnalysis([["promote"], ["promote"]]),
      clock: new FakeClock(startMs),
      id: "r1",
    });
    return { result };
  } catch (e) {
    return { error: e as Error };
  }
}

describe("exact resume: a driver killed at every operation boundary, then run again", () => {
  const T0 = Date.UTC(2026, 0, 1);
  const LATER = T0 + 3_600_000;

  it("a clean run, for reference: the operations counted below", async () => {
    const platform = new Platform();
    const life = new Life();
    const { result } = await process(platform, new MemoryRecordStore(), life, T0);
    assert.equal(result!.outcome, "promoted");
    assert.deepEqual(platform.applied, [0, 30, 60, 100]);
    assert.ok(life.ops >= 15, life.names.join(", "));
  });

  it("every kill point, before and during each target call and record read or write, is resumed exactly", async () => {
    const clean = new Life();
    await process(new Platform(), new MemoryRecordStore(), clean, T0);
    const outcomes = new Map<string, number>();
    for (let op = 1; op <= clean.ops; op++) {
      for (const when of ["before", "during"] as const) {
        const at = `${when} ${clean.names[op - 1]} (operation ${op})`;
        const platform = new Platform();
        const store = new MemoryRecordStore();
        const first = await process(platform, store, new Life({ op, when }), T0);
        assert.equal(first.result, undefined, `${at}: the killed driver finished`);
        const again = await process(platform, store, new Life(), LATER);
        assert.ok(again.result, `${at}: the rerun failed: ${again.error?.stack}`);
        const record = (await store.load())!;
        outcomes.set(again.result.outcome, (outcomes.get(again.result.outcome) ?? 0) + 1);
        // Finished: promoted by the rerun, or already promoted by the killed one (nothing to do).
        assert.equal(record.phase, "Succeeded", at);
        assert.ok(["promoted", "unchanged"].includes(again.result.outcome), `${at}: ${again.result.outcome}`);
        // Traffic only ever moved forward, each weight applied once (a weight may be set again only while nothing moved).
        const moves = platform.applied.filter((w, i) => i === 0 || w !== platform.applied[i - 1]);
        assert.deepEqual(moves, [0, 30, 60, 100].slice(0, moves.length), `${at}: traffic went ${platform.applied.join(" → ")}`);
        assert.equal(platform.weight, 100, at);
        // One step each, in order, no rollback.
        const types = record.history.map((h) => h.type).filter((t) => t !== "takeOver");
        assert.deepEqual(types, ["start", "advance", "advance", "promote", "complete"], `${at}: ${types.join(", ")}`);
        assert.deepEqual(record.history.filter((h) => h.type === "advance").map((h) => h.weight), [30, 60], at);
        assert.equal(record.lease, undefined, `${at}: the lease is released`);
      }
    }
    // Both endings happened: kills before the final write were finished by the rerun, the last one had nothing left to do.
    assert.deepEqual([...outcomes.keys()].sort(), ["promoted", "unchanged"]);
  });
});

describe("exact resume of a blue/green rollout: the pre-traffic hook, the switch and the bake", () => {
  const T0 = Date.UTC(2026, 0, 1);
  const LATER = T0 + 3_600_000;
  const BG = parsePlan(`
strategy: blueGreen
tick: 10s
bake: { duration: 20s }
blueGreen: { scaleDownDelay: 30s }
hooks: [{ name: pre-traffic, at: beforePromotion, command: [./smoke] }]
`);

  /** One `canary rollout` process of the blue/green plan; its hook runs are operations of its life. */
  async function bgProcess(platform: Platform, store: MemoryRecordStore, life: Life, startMs: number, hookRuns: string[]): Promise<{ result?: RolloutResult; error?: Error }> {
    try {
      const result = await runRollout({
        plan: BG,
        version: "v2",
        image: "app:v2",
        target: new MortalTarget(platform, life),
        store: new MortalStore(store, life),
        metrics: new FakeMetrics(),
        hookRunner: { run: (hook) => life.run(`hook ${hook.name}`, async () => (hookRuns.push(`${hook.name} at weight ${platform.weight}`), { ok: true, attempts: 1, detail: "exit 0" })) },
        clock: new FakeClock(startMs),
        id: "r1",
      });
      return { result };
    } catch (e) {
      return { error: e as Error };
    }
  }

  it("every kill point is resumed exactly: traffic moves 0 → 100 once, the hook runs before the switch and is recorded once", async () => {
    const clean = new Life();
    const cleanRuns: string[] = [];
    const reference = await bgProcess(new Platform(), new MemoryRecordStore(), clean, T0, cleanRuns);
    assert.equal(reference.result?.outcome, "promoted", reference.error?.stack);
    assert.deepEqual(cleanRuns, ["pre-traffic at weight 0"]);
    assert.ok(clean.names.includes("hook pre-traffic") && clean.names.includes("setWeight 100"), clean.names.join(", "));
    for (let op = 1; op <= clean.ops; op++) {
      for (const when of ["before", "during"] as const) {
        const at = `${when} ${clean.names[op - 1]} (operation ${op})`;
        const platform = new Platform();
        const store = new MemoryRecordStore();
        const runs: string[] = [];
        const first = await bgProcess(platform, store, new Life({ op, when }), T0, runs);
        assert.equal(first.result, undefined, `${at}: the killed driver finished`);
        const again = await bgProcess(platform, store, new Life(), LATER, runs);
        assert.ok(again.result, `${at}: the rerun failed: ${again.error?.stack}`);
        const record = (await store.load())!;
        assert.equal(record.phase, "Succeeded", at);
        const moves = platform.applied.filter((w, i) => i === 0 || w !== platform.applied[i - 1]);
        assert.deepEqual(moves, [0, 100].slice(0, moves.length), `${at}: traffic went ${platform.applied.join(" → ")}`);
        assert.deepEqual(record.history.map((h) => h.type).filter((t) => t !== "takeOver"), ["start", "switch", "promote", "complete"], at);
        // The hook ran before the switch, every time; a run whose outcome a kill lost is run again (at least once, never after the switch).
        assert.ok(runs.length >= 1 && runs.length <= 2 && runs.every((r) => r === "pre-traffic at weight 0"), `${at}: ${runs.join("; ")}`);
        assert.deepEqual(record.hooks?.map((h) => [h.hook, h.slot, h.ok]), [["pre-traffic", "beforePromotion", true]], at);
        assert.equal(record.intent, undefined, at);
      }
    }
  });
});
