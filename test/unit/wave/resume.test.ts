/**
 * A wave driver killed at any point, then the same wave run again. The kill is simulated at every
 * boundary of every operation the wave's process makes on the world (each wave record read or
 * write, and each target call and record read or write of every stack's rollout running in it):
 * before it (it never happens) or during it (it happens, but the process never learns so). From
 * then on everything the killed process still tries fails. The next process, started once the
 * killed one's leases have expired, must end the wave as an uninterrupted run would have: every
 * stage promoted in order (or, with a failing stage, the same rollback and policy), with no stack's
 * traffic ever moving backwards and no stack of a stage started before the previous one promoted.
 */
import * as assert from "node:assert/strict";
import { runWave, WaveResult } from "../../../automation/wave/run";
import { MemoryWaveStore } from "../../../automation/wave/store";
import { Life } from "../../helpers/life";
import { accesses, FakeStack, MortalWaveStore, waveOf, YieldingClock } from "../../helpers/waveFakes";

const T0 = Date.UTC(2026, 0, 1);
const LATER = T0 + 3_600_000;

function wave(onFailure: "stop" | "rollbackAll") {
  return waveOf({
    name: "checkout",
    version: "v2",
    image: "app:v2",
    target: "haproxy",
    onFailure,
    bake: "20s",
    stages: [
      { name: "first", stacks: [{ name: "east", sandbox: "east.json" }] },
      { name: "second", stacks: [{ name: "west", sandbox: "west.json" }, { name: "north", sandbox: "north.json" }] },
    ],
  });
}

/** One `canary wave run` process. */
async function process(w: ReturnType<typeof wave>, stacks: FakeStack[], store: MemoryWaveStore, life: Life, startMs: number): Promise<{ result?: WaveResult; error?: Error }> {
  try {
    const result = await runWave({ wave: w, store: new MortalWaveStore(store, life), stacks: accesses(w, stacks, life), clock: new YieldingClock(startMs), id: "w1" });
    return { result };
  } catch (e) {
    return { error: e as Error };
  }
}

/** The weights a platform took, without repeats in place. */
function moves(applied: readonly number[]): number[] {
  return applied.filter((w, i) => i === 0 || w !== applied[i - 1]);
}

describe("wave resume: a wave driver killed at every operation boundary, then run again", function () {
  this.timeout(120_000);

  it("a clean run, for reference: the operations counted below", async () => {
    const stacks = [new FakeStack("east"), new FakeStack("west"), new FakeStack("north")];
    const life = new Life();
    const { result } = await process(wave("stop"), stacks, new MemoryWaveStore(), life, T0);
    assert.equal(result!.outcome, "succeeded");
    assert.ok(life.ops >= 40, life.names.join(", "));
  });

  it("every kill point of a wave that succeeds: the rerun promotes every stage in order, traffic only forward", async () => {
    const w = wave("stop");
    const clean = new Life();
    await process(w, [new FakeStack("east"), new FakeStack("west"), new FakeStack("north")], new MemoryWaveStore(), clean, T0);
    const outcomes = new Map<string, number>();
    for (let op = 1; op <= clean.ops; op++) {
      for (const when of ["before", "during"] as const) {
        const at = `${when} ${clean.names[op - 1]} (operation ${op})`;
        const stacks = [new FakeStack("east"), new FakeStack("west"), new FakeStack("north")];
        const store = new MemoryWaveStore();
        const first = await process(w, stacks, store, new Life({ op, when }), T0);
        assert.equal(first.result, undefined, `${at}: the killed driver finished`);
        const again = await process(w, stacks, store, new Life(), LATER);
        assert.ok(again.result, `${at}: the rerun failed: ${again.error?.stack}`);
        outcomes.set(again.result.outcome, (outcomes.get(again.result.outcome) ?? 0) + 1);
        assert.ok(["succeeded", "unchanged"].includes(again.result.outcome), `${at}: ${again.result.outcome}: ${again.result.reason}`);
        const record = (await store.load())!;
        assert.equal(record.phase, "Succeeded", at);
        assert.equal(record.lease, undefined, at);
        for (const s of stacks) {
          assert.deepEqual(moves(s.platform.applied), [0, 50, 100], `${at}: ${s.name} went ${s.platform.applied.join(" → ")}`);
          const r = (await s.records.load())!;
          assert.deepEqual([r.id, r.phase], [`w1-${s.name}`, "Succeeded"], at);
          assert.deepEqual(r.history.map((h) => h.type).filter((t) => t !== "takeOver"), ["start", "advance", "promote", "complete"], at);
        }
        // The second stage started only after the first promoted.
        const eastPromoted = (await stacks[0].records.load())!.history.find((h) => h.type === "complete")!.at;
        for (const s of stacks.slice(1)) assert.ok((await s.records.load())!.createdAt >= eastPromoted, `${at}: ${s.name} started before east promoted`);
        const kinds = record.history.map((h) => h.type).filter((t) => t !== "takeOver");
        assert.deepEqual(kinds.filter((t) => t === "advance" || t === "bake" || t === "succeed"), ["bake", "advance", "succeed"], `${at}: ${kinds.join(", ")}`);
      }
    }
    assert.deepEqual([...outcomes.keys()].sort(), ["succeeded", "unchanged"]);
  });

  it("every kill point of a wave whose second stage fails with rollbackAll: the rerun rolls everything back, each stack once", async () => {
    const w = wave("rollbackAll");
    const world = (): FakeStack[] => [new FakeStack("east"), new FakeStack("west", [["continue", "rollback"]]), new FakeStack("north", [["continue"]])];
    const clean = new Life();
    const reference = await process(w, world(), new MemoryWaveStore(), clean, T0);
    assert.equal(reference.result?.outcome, "rolledBack");
    let finished = 0;
    for (let op = 1; op <= clean.ops; op++) {
      for (const when of ["before", "during"] as const) {
        const at = `${when} ${clean.names[op - 1]} (operation ${op})`;
        const stacks = world();
        const store = new MemoryWaveStore();
        const first = await process(w, stacks, store, new Life({ op, when }), T0);
        assert.equal(first.result, undefined, `${at}: the killed driver finished`);
        // Killed after its last write, the wave had ended (a rerun of a rolled-back wave is a new wave, as a rerun of a rolled-back rollout is a new rollout).
        if ((await store.load())?.phase !== "RolledBack") {
          const again = await process(w, stacks, store, new Life(), LATER);
          assert.ok(again.result, `${at}: the rerun failed: ${again.error?.stack}`);
          assert.equal(again.result.outcome, "rolledBack", `${at}: ${again.result.outcome}: ${again.result.reason}`);
        } else finished++;
        for (const s of stacks) {
          assert.equal(s.platform.weight, 0, `${at}: ${s.name} is at ${s.platform.weight}`);
          const r = (await s.records.load())!;
          assert.equal(r.phase, "RolledBack", `${at}: ${s.name}`);
          assert.equal(r.history.filter((h) => h.type === "rollback").length, 1, `${at}: ${s.name} rolled back once`);
        }
        // East promoted, then was restored: its traffic went up once and back once.
        assert.deepEqual(moves(stacks[0].platform.applied), [0, 50, 100, 0], `${at}: east went ${stacks[0].platform.applied.join(" → ")}`);
      }
    }
    // Only the kill during the last save (the record written, its lease released) leaves nothing to resume.
    assert.equal(finished, 1);
  });
});
