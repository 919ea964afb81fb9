/**
 * The loop around decide(): a record store that fails mid-step, a dry run walking the real
 * decisions (gates included), and a rerun of a rollout that already succeeded.
 */
import * as assert from "node:assert/strict";
import { parsePlan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { DriverEvent } from "../../../automation/rollout/events";
import { runRollout } from "../../../automation/rollout/run";
import { RolloutRecord } from "../../../automation/state";
import { FakeClock, FakeMetrics, FakeTarget, ScriptedAnalysis } from "../../helpers/fakes";

const PLAN = parsePlan("steps: [{weight: 5, minDuration: 20s}, {weight: 25, minDuration: 20s}, {weight: 100}]\ntick: 10s\n");

/** A store whose saves fail (`EIO`, not a conflict) `failures` times, starting at save number `from`. */
class FlakyStore extends MemoryRecordStore {
  attempts = 0;
  failed = 0;
  constructor(
    private readonly from: number,
    private readonly failures: number,
  ) {
    super();
  }
  async save(r: RolloutRecord): Promise<RolloutRecord> {
    this.attempts++;
    if (this.attempts >= this.from && this.failed < this.failures) {
      this.failed++;
      throw new Error("EIO: i/o error, write");
    }
    return super.save(r);
  }
}

function events(into: string[]): (e: DriverEvent) => void {
  return (e) => {
    if (e.kind === "action") into.push(`action ${e.message}`);
    if (e.kind === "log") into.push(`log ${e.line}`);
    if (e.kind === "transition") into.push(`${e.entry.type} ${e.entry.to}`);
    if (e.kind === "tick") into.push(`tick ${e.verdict.decision}`);
  };
}

describe("a record store failing mid-step", () => {
  it("holds the weight and retries with backoff; the healthy canary is promoted, never rolled back", async () => {
    // Save 4 is step 0's first tick; it and the next two attempts fail.
    const store = new FlakyStore(4, 3);
    const target = new FakeTarget();
    const seen: string[] = [];
    const result = await runRollout({ plan: PLAN, version: "v2", image: "app:v2", target, store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis([["continue", "promote"], ["promote"]]), clock: new FakeClock(), report: events(seen), id: "r1" });
    assert.equal(result.outcome, "promoted");
    assert.equal(store.failed, 3);
    assert.deepEqual(result.record.history.map((h) => h.type), ["start", "advance", "advance", "promote", "complete"]);
    assert.deepEqual(target.calls, ["prepare", "setCanary:v2", "verify", "setWeight:5", "verify", "setWeight:25", "verify", "promote"]);
    const retries = seen.filter((l) => l.startsWith("log cannot save"));
    assert.deepEqual(retries, [
      "log cannot save the rollout record in memory (EIO: i/o error, write); holding the weight, retrying in 1000ms",
      "log cannot save the rollout record in memory (EIO: i/o error, write); holding the weight, retrying in 2000ms",
      "log cannot save the rollout record in memory (EIO: i/o error, write); holding the weight, retrying in 4000ms",
    ]);
    // Nothing happened to the target while the record could not be written, and the tick was reported once it was saved.
    const from = seen.indexOf(retries[0]);
    assert.deepEqual(seen.slice(from, from + 4), [...retries, "tick continue"]);
  });

  it("a store down for longer than the lease stops the driver with the store's error, the weight held, nothing rolled back", async () => {
    const store = new FlakyStore(4, 1000);
    const target = new FakeTarget();
    const clock = new FakeClock();
    await assert.rejects(
      runRollout({ plan: PLAN, version: "v2", image: "app:v2", target, store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis([["continue"]]), clock, id: "r1" }),
      { message: "EIO: i/o error, write" },
    );
    assert.deepEqual(target.calls, ["prepare", "setCanary:v2", "verify", "setWeight:5", "verify"], "no rollback, no other change");
    assert.equal(target.weight, 5);
    const stored = (await store.load())!;
    assert.equal(stored.phase, "Progressing");
    // It gave up once the lease it last wrote had expired: the next run may take the rollout over.
    assert.ok(clock.now() >= Date.parse(stored.lease!.expiresAt), `${new Date(clock.now()).toISOString()} before ${stored.lease!.expiresAt}`);
  });
});

describe("dry run: the real decisions, printed", () => {
  it("prints every action in order, gates included, and applies none", async () => {
    const plan = parsePlan("steps: [{weight: 5, minDuration: 20s}, {weight: 25, minDuration: 20s}, {weight: 100}]\ntick: 10s\ngates: { beforeSteps: [0, 1], beforePromotion: true }\n");
    const target = new FakeTarget();
    const store = new MemoryRecordStore();
    const metrics = new FakeMetrics();
    const seen: string[] = [];
    const result = await runRollout({ plan, version: "v2", image: "app:v2", target, store, metrics, analysis: new ScriptedAnalysis([]), clock: new FakeClock(), report: events(seen), dryRun: true });
    assert.equal(result.outcome, "dryRun");
    const judge = "judge every 10s from the canary's first request: pass after at least 20s observed with traffic; at 600s undecided roll back; on a failed analysis roll back (keepCanary) at once";
    assert.deepEqual(
      seen.filter((l) => l.startsWith("action")),
      [
        "action [dry run] would snapshot fake target fake-target and record the rollout in memory",
        "action [dry run] would deploy canary v2 (app:v2) at weight 0, then verify the applied weight is 0",
        "action [dry run] would wait at gate step 0 for an approval (`canary approve --step 0`)",
        "action [dry run] would set the canary weight to 5, then verify it is applied",
        `action [dry run] would ${judge}`,
        "action [dry run] would wait at gate step 1 for an approval (`canary approve --step 1`)",
        "action [dry run] would set the canary weight to 25, then verify it is applied",
        `action [dry run] would ${judge}`,
        "action [dry run] would wait at gate promotion for an approval (`canary approve --promotion`)",
        "action [dry run] would promote v2 to stable (weight 100)",
      ],
    );
    assert.deepEqual(seen.filter((l) => !l.startsWith("action")), ["start Initializing", "advance Progressing", "advance Progressing", "promote Promoting", "complete Succeeded"]);
    assert.deepEqual([target.calls, store.saved, metrics.reads], [[], [], 0]);
  });
});

describe("a rerun of a rollout that already succeeded", () => {
  it("of the same version and image does nothing and says so", async () => {
    const store = new MemoryRecordStore();
    const first = await runRollout({ plan: PLAN, version: "v2", image: "app:v2", target: new FakeTarget(), store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis([["promote"], ["promote"]]), clock: new FakeClock(), id: "r1" });
    assert.equal(first.outcome, "promoted");
    const saves = store.saved.length;
    const target = new FakeTarget();
    const again = await runRollout({ plan: PLAN, version: "v2", image: "app:v2", target, store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis([]), clock: new FakeClock() });
    assert.equal(again.outcome, "unchanged");
    assert.equal(again.reason, `v2 (app:v2) is already the stable version: rollout r1 succeeded at ${first.record.updatedAt}; nothing to do`);
    assert.deepEqual(target.calls, [], "the target is not even contacted");
    assert.equal(store.saved.length, saves, "nothing written");
  });

  it("of another version, or of a rolled-back one, rolls out", async () => {
    const store = new MemoryRecordStore();
    await runRollout({ plan: PLAN, version: "v2", image: "app:v2", target: new FakeTarget(), store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis([["promote"], ["promote"]]), clock: new FakeClock(), id: "r1" });
    const next = await runRollout({ plan: PLAN, version: "v3", image: "app:v3", target: new FakeTarget(), store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis([["rollback"]]), clock: new FakeClock(), id: "r2" });
    assert.equal(next.outcome, "rolledBack");
    const target = new FakeTarget();
    const again = await runRollout({ plan: PLAN, version: "v3", image: "app:v3", target, store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis([["promote"], ["promote"]]), clock: new FakeClock(), id: "r3" });
    assert.equal(again.outcome, "promoted");
    assert.ok(target.calls.includes("promote"));
  });
});
