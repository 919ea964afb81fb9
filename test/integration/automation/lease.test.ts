/**
 * The driver's lease renewal in real time: a target operation that outlasts the lease keeps the
 * rollout held, because the driver renews the lease while it waits.
 */
import * as assert from "node:assert/strict";
import { runRollout } from "../../../automation/rollout/run";
import { parsePlan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { FakeMetrics, FakeTarget, ScriptedAnalysis } from "../../helpers/fakes";

const PLAN = parsePlan(`
steps:
  - { weight: 5, minDuration: 20s, maxDuration: 5m }
  - { weight: 25, minDuration: 20s, maxDuration: 5m }
  - { weight: 100 }
tick: 10s
`);

describe("lease renewal in real time", () => {
  it("the lease is renewed while a long target operation runs, so a second driver is refused throughout", async function () {
    this.timeout(20_000);
    /** Deploying the canary takes 1.5 s of real time; the lease lasts 0.3 s. */
    class SlowTarget extends FakeTarget {
      async setCanary(version: string): Promise<void> {
        await new Promise((r) => setTimeout(r, 1500));
        return super.setCanary(version);
      }
    }
    const store = new MemoryRecordStore();
    const interrupt = new AbortController();
    const first = runRollout({ plan: PLAN, version: "v2", image: "app:v2", target: new SlowTarget(), store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis([["continue"]]), id: "r1", leaseSeconds: 0.3, interrupt: interrupt.signal });
    const refusals: string[] = [];
    for (const wait of [500, 500, 300]) {
      await new Promise((r) => setTimeout(r, wait));
      const lease = (await store.load())!.lease!;
      assert.ok(Date.parse(lease.expiresAt) > Date.now(), `the lease is live at ${wait}ms steps (expires ${lease.expiresAt})`);
      const second = new FakeTarget();
      await assert.rejects(runRollout({ plan: PLAN, version: "v2", image: "app:v2", target: second, store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis([]) }), (e: Error) => (refusals.push(e.name), true));
      assert.deepEqual(second.calls, []);
    }
    assert.deepEqual(refusals, ["LeaseHeldError", "LeaseHeldError", "LeaseHeldError"]);
    interrupt.abort("SIGTERM");
    const result = await first;
    assert.equal(result.outcome, "rolledBack");
    assert.equal(result.record.history.some((h) => h.type === "takeOver"), false);
  });
});
