/**
 * Control verbs on a stopped rollout run the driver's own effects: the restore retried as the
 * driver retries it, a failed promotion rolled back as the driver rolls it back, the rollout held
 * with the plan's renewable lease, and the lease released at the end.
 */
import * as assert from "node:assert/strict";
import { defaultPlan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { controlRollout } from "../../../automation/rollout/control";
import { leaseSecondsOf } from "../../../automation/rollout/lease";
import { ControlInput } from "../../../automation/rollout/requests";
import { newRecord, RolloutRecord, transition } from "../../../automation/state";
import { TargetError } from "../../../automation/targets/types";
import { FakeTarget } from "../../helpers/fakes";

const NOW = Date.UTC(2026, 0, 1, 1);

function progressing(): RolloutRecord {
  let r = newRecord({ id: "r1", stack: "fake-target", target: "fake", version: "v2", image: "app:v2", steps: [5, 25, 100], at: "2026-01-01T00:00:00.000Z" });
  r = transition({ ...r, snapshot: { type: "fake", weight: 0 } }, { type: "start", at: "2026-01-01T00:00:01.000Z", reason: "go" });
  return transition(r, { type: "advance", at: "2026-01-01T00:00:02.000Z", reason: "step 0", step: 0, weight: 5 });
}

const input = (verb: ControlInput["verb"]): ControlInput => ({ verb, by: "bob@ops", reason: "maintenance window" });

async function call(i: ControlInput, target: FakeTarget, store = new MemoryRecordStore(progressing())) {
  const slept: number[] = [];
  const lines: string[] = [];
  const outcome = await controlRollout(store, i, { target: async () => target, plan: defaultPlan() }, { waitMs: 0, now: () => NOW, sleep: async (ms) => void slept.push(ms), log: (l) => lines.push(l) });
  return { outcome, store, slept, lines };
}

describe("control verbs on a stopped rollout, through the driver's effects", () => {
  it("abort retries a failing restore with backoff, as the driver does", async () => {
    const target = new FakeTarget();
    target.weight = 5;
    let failures = 2;
    const rollback = target.rollback.bind(target);
    target.rollback = async (s, m) => {
      if (failures-- > 0) throw new TargetError("haproxy: runtime API busy");
      return rollback(s, m);
    };
    const { outcome, slept, lines } = await call(input("abort"), target);
    assert.equal(outcome.status, "applied");
    assert.equal(outcome.record!.phase, "RolledBack");
    assert.equal(target.weight, 0);
    assert.deepEqual(slept, [1000, 2000]);
    assert.deepEqual(lines, [
      "roll back (keepCanary) through fake fake-target",
      "restore failed (haproxy: runtime API busy); retrying in 1000ms (attempt 2 of 3)",
      "restore failed (haproxy: runtime API busy); retrying in 2000ms (attempt 3 of 3)",
    ]);
  });

  it("promote --full whose promotion fails is rolled back, as the driver does, and the lease is released", async () => {
    const target = new FakeTarget();
    target.weight = 5;
    target.fail.set("promote", new TargetError("stack dev: cannot run pulumi up: throttled"));
    const { outcome, store } = await call(input("promoteFull"), target);
    assert.equal(outcome.status, "rolledBack");
    assert.equal(outcome.message, "the promotion of v2 failed and rollout r1 was rolled back: stack dev: cannot run pulumi up: throttled");
    const stored = (await store.load())!;
    assert.deepEqual(stored.history.map((h) => h.type).slice(-3), ["promoteFull", "rollback", "rolledBack"]);
    assert.equal(stored.history.at(-2)!.trigger, "error");
    assert.equal(stored.lease, undefined);
    assert.deepEqual(target.calls, ["promote", "rollback:keepCanary", "verify"]);
  });

  it("holds the rollout with the plan's lease while it acts, and releases it after", async () => {
    const target = new FakeTarget();
    target.weight = 5;
    const store = new MemoryRecordStore(progressing());
    let during: RolloutRecord | undefined;
    const rollback = target.rollback.bind(target);
    target.rollback = async (s, m) => {
      during = await store.load();
      return rollback(s, m);
    };
    await call(input("abort"), target, store);
    assert.equal(during!.phase, "RollingBack");
    assert.equal(during!.lease!.expiresAt, new Date(NOW + leaseSecondsOf(defaultPlan()) * 1000).toISOString(), "the plan's lease, renewed while it acts");
    assert.equal((await store.load())!.lease, undefined);
  });
});
