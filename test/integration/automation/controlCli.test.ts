/**
 * Control verbs on a stopped rollout (no driver holds the lease): applied directly to the record
 * and, for abort and promote --full, to the target. Through the function the CLI calls, and
 * through the CLI itself on a record file.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { controlRollout } from "../../../automation/rollout/control";
import { newLease } from "../../../automation/rollout/lease";
import { ControlInput } from "../../../automation/rollout/requests";
import { defaultPlan, validatePlan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { checkRecord, newRecord, RolloutRecord, transition } from "../../../automation/state";
import { FakeTarget } from "../../helpers/fakes";

function progressing(): RolloutRecord {
  let r = newRecord({ id: "r1", stack: "fake-target", target: "fake", version: "v2", image: "app:v2", steps: [5, 25, 100], at: "2026-01-01T00:00:00.000Z" });
  r = { ...r, snapshot: { type: "fake", weight: 0 } };
  r = transition(r, { type: "start", at: "2026-01-01T00:00:01.000Z", reason: "go" });
  return transition(r, { type: "advance", at: "2026-01-01T00:00:02.000Z", reason: "step 0", step: 0, weight: 5 });
}

const input = (verb: ControlInput["verb"], extra: Partial<ControlInput> = {}): ControlInput => ({ verb, by: "bob@ops", reason: "maintenance window", ...extra });

describe("control verbs on a stopped rollout", () => {
  const now = () => Date.UTC(2026, 0, 1, 1);
  async function call(record: RolloutRecord | undefined, i: ControlInput, target = new FakeTarget()) {
    const store = new MemoryRecordStore(record);
    // No real waiting: a failing restore is retried with backoff.
    const outcome = await controlRollout(store, i, { target: async () => target, plan: defaultPlan() }, { waitMs: 0, now, sleep: async () => undefined });
    return { outcome, store, target };
  }

  it("abort restores the snapshot through the target and records who and why", async () => {
    const target = new FakeTarget();
    target.weight = 5;
    const { outcome, target: t } = await call(progressing(), input("abort"), target);
    assert.equal(outcome.status, "applied");
    assert.equal(t.weight, 0);
    assert.deepEqual(t.calls, ["rollback:keepCanary", "verify"]);
    const h = outcome.record!.history;
    assert.deepEqual(h.slice(-2).map((e) => [e.type, e.to, e.by, e.trigger]), [["rollback", "RollingBack", "bob@ops", "operator"], ["rolledBack", "RolledBack", undefined, undefined]]);
    assert.equal(h.at(-2)!.reason, "abort by bob@ops: maintenance window (no driver running)");
    assert.equal(outcome.record!.lease, undefined);
  });

  it("abort whose restore fails reports restoreFailed and leaves the record RollingBack with the weight read back", async () => {
    const target = new FakeTarget();
    target.weight = 5;
    target.fail.set("rollback", new Error("backend unreachable"));
    const { outcome } = await call(progressing(), input("abort"), target);
    assert.equal(outcome.status, "restoreFailed");
    assert.equal(outcome.record!.phase, "RollingBack");
    assert.deepEqual(outcome.record!.history.at(-1)!.evidence, { error: "rollback failed: backend unreachable", appliedWeight: 5 });
  });

  it("abort --gradual steps the weight down through the plan's lower weights, each held a tick, then restores", async () => {
    let r = progressing();
    r = transition(r, { type: "advance", at: "2026-01-01T00:00:03.000Z", reason: "step 1", step: 1, weight: 25 });
    const target = new FakeTarget();
    target.weight = 25;
    const store = new MemoryRecordStore(r);
    const slept: number[] = [];
    const lines: string[] = [];
    const outcome = await controlRollout(
      store,
      input("abort", { gradual: true }),
      { target: async () => target, plan: validatePlan({ steps: [{ weight: 5 }, { weight: 25 }, { weight: 100 }], tick: 10 }) },
      { waitMs: 0, now, sleep: async (ms) => void slept.push(ms), log: (l) => lines.push(l) },
    );
    assert.equal(outcome.status, "applied");
    assert.deepEqual(target.calls, ["setWeight:5", "rollback:keepCanary", "verify"]);
    assert.deepEqual(slept, [10_000]);
    assert.equal(lines[0], "gradual abort: set the canary weight to 5 through fake fake-target, held 10s");
    assert.deepEqual(outcome.record!.history.at(-2)!.evidence, { gradual: [5] });
    assert.equal(outcome.record!.phase, "RolledBack");
  });

  it("a driver that starts between the call's read and its write wins: the call starts over and goes through the driver", async () => {
    const store = new MemoryRecordStore(progressing());
    const load = store.load.bind(store);
    let reads = 0;
    // After the call's first read, a driver takes the rollout (a live lease) and then settles requests.
    store.load = async () => {
      const r = await load();
      if (++reads === 1) {
        await store.save({ ...r!, lease: newLease(now(), 600, "carol@ci-9:4242") });
        return r;
      }
      const pending = r?.controls?.find((c) => c.status === "pending");
      if (pending) await store.save({ ...r!, controls: r!.controls!.map((c) => ({ ...c, status: "applied" as const, result: "now Paused" })) });
      return load();
    };
    const target = new FakeTarget();
    const outcome = await controlRollout(store, input("pause"), { target: async () => target, plan: defaultPlan() }, { waitMs: 5_000, now, sleep: async () => undefined });
    assert.equal(outcome.status, "applied");
    assert.match(outcome.message, /^pause applied by carol@ci-9:4242: now Paused/);
    assert.equal((await load())!.lease!.holder, "carol@ci-9:4242", "the driver's lease was not overwritten");
    assert.deepEqual(target.calls, []);
  });

  it("promote --full promotes through the target", async () => {
    const { outcome, target } = await call(progressing(), input("promoteFull"));
    assert.equal(outcome.record!.phase, "Succeeded");
    assert.deepEqual(target.calls, ["promote"]);
  });

  it("pause, freeze and approve change only the record", async () => {
    for (const [i, phase] of [[input("pause"), "Paused"], [input("freeze"), "Frozen"], [input("approve", { gate: "step 1" }), "Progressing"]] as const) {
      const { outcome, target } = await call(progressing(), i);
      assert.equal(outcome.record!.phase, phase);
      assert.deepEqual(target.calls, []);
      assert.equal(outcome.record!.controls!.at(-1)!.status, "applied");
    }
  });

  it("promote (skip) is recorded for the next driver", async () => {
    const { outcome } = await call(progressing(), input("promote"));
    assert.equal(outcome.status, "recorded");
    assert.equal(outcome.record!.controls![0].status, "pending");
  });

  // [name, record, input, message]
  const refused: [string, RolloutRecord | undefined, ControlInput, string][] = [
    ["nothing recorded", undefined, input("abort"), "no rollout recorded in memory: nothing to abort"],
    ["a finished rollout", { ...progressing(), phase: "RolledBack" }, input("pause"), "rollout r1 of v2 is RolledBack: nothing to pause"],
    ["resume of a progressing rollout", progressing(), input("resume"), "cannot resume from Progressing (rollout r1 of v2 on fake-target); resume is legal from Paused"],
    ["unfreeze of a progressing rollout", progressing(), input("unfreeze"), "cannot unfreeze from Progressing (rollout r1 of v2 on fake-target); unfreeze is legal from Frozen"],
    ["promote --full of a frozen rollout", { ...progressing(), phase: "Frozen" }, input("promoteFull"), "cannot promoteFull from Frozen (rollout r1 of v2 on fake-target); promoteFull is legal from Progressing, Paused, Baking"],
    ["skip of a paused rollout", { ...progressing(), phase: "Paused" }, input("promote"), "cannot skip from Paused (rollout r1 of v2 on fake-target); skip is legal from Progressing, Baking"],
    ["pause before the first step", transition(newRecord({ id: "r1", stack: "fake-target", target: "fake", version: "v2", image: "app:v2", steps: [5, 100], at: "t" }), { type: "start", at: "t", reason: "go" }), input("pause"), "cannot pause from Initializing (rollout r1 of v2 on fake-target); pause is legal from Progressing"],
  ];
  for (const [name, record, i, message] of refused) {
    it(`refuses ${name}, touching nothing`, async () => {
      const store = new MemoryRecordStore(record);
      const target = new FakeTarget();
      await assert.rejects(controlRollout(store, i, { target: async () => target, plan: defaultPlan() }, { waitMs: 0, now }), { name: "ControlRefusedError", message });
      assert.deepEqual(store.saved, []);
      assert.deepEqual(target.calls, []);
    });
  }

  it("a running driver that never acknowledges: the call times out and the request stays pending", async () => {
    const store = new MemoryRecordStore({ ...progressing(), lease: { ...newLease(now(), 600), host: "ci-elsewhere" } });
    const outcome = await controlRollout(store, input("pause"), { target: async () => new FakeTarget(), plan: defaultPlan() }, { waitMs: 0, now, sleep: async () => undefined });
    assert.equal(outcome.status, "timeout");
    assert.match(outcome.message, /did not acknowledge pause within 0s; the request stays pending in memory/);
    assert.equal((await store.load())!.controls![0].status, "pending");
  });
});

describe("control verbs through the CLI", function () {
  this.timeout(60_000);
  const CLI = path.resolve(__dirname, "../../../automation/cli/index.ts");
  const TSX = require.resolve("tsx/cjs");
  let dir: string;
  before(() => (dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "canary-control-")))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const canary = (args: string[]) => {
    const r = spawnSync(process.execPath, ["--require", TSX, CLI, ...args], { cwd: dir, encoding: "utf8", timeout: 30_000, env: { ...process.env, NODE_OPTIONS: "" } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("pause then resume a stopped rollout in a record file, with who and why; illegal and invalid calls exit 2", () => {
    const file = path.join(dir, "rollout.json");
    fs.writeFileSync(file, JSON.stringify(progressing()));
    const pause = canary(["pause", "--target", "haproxy", "--record", file, "--who", "erin@laptop", "--reason", "db migration"]);
    assert.equal(pause.code, 0, pause.stderr);
    assert.equal(pause.stdout, "pause: rollout r1 is now Paused (no driver is running; `canary rollout` with the same version continues it)\n");
    const r = checkRecord(JSON.parse(fs.readFileSync(file, "utf8")), file);
    assert.deepEqual([r.history.at(-1)!.type, r.history.at(-1)!.by, r.history.at(-1)!.reason], ["pause", "erin@laptop", "pause by erin@laptop: db migration (no driver running)"]);
    const again = canary(["pause", "--target", "haproxy", "--record", file]);
    assert.equal(again.code, 2);
    assert.equal(again.stderr, "canary: ControlRefusedError: cannot pause from Paused (rollout r1 of v2 on fake-target); pause is legal from Progressing\n");
    const badStep = canary(["approve", "--target", "haproxy", "--record", file, "--step", "two"]);
    assert.deepEqual([badStep.code, badStep.stderr], [2, 'canary: InputError: --step: must be a step index (0, 1, …), got "two"\n']);
    const both = canary(["approve", "--target", "haproxy", "--record", file, "--step", "1", "--promotion"]);
    assert.deepEqual([both.code, both.stderr], [2, "canary: InputError: approve: give exactly one of --step <n> and --promotion\n"]);
    const badWho = canary(["resume", "--target", "haproxy", "--record", file, "--who", "a{b}"]);
    assert.deepEqual([badWho.code, badWho.stderr], [2, "canary: InputError: --who: must be 1–256 characters without quotes, braces, backslashes, '$', '[[', control or line-break characters, got \"a{b}\"\n"]);
    assert.equal(checkRecord(JSON.parse(fs.readFileSync(file, "utf8")), file).phase, "Paused", "refused calls changed nothing");
  });

  it("status shows who paused it and pending requests; retry refuses a rollout that was not rolled back", () => {
    const file = path.join(dir, "rollout2.json");
    const r = progressing();
    const withPending = { ...transition(r, { type: "pause", at: "2026-01-01T00:00:03.000Z", reason: "hold", by: "erin@laptop" }), controls: [{ id: "c1", verb: "resume" as const, at: "2026-01-01T00:00:04.000Z", by: "frank@ci", reason: "go on", status: "pending" as const }] };
    fs.writeFileSync(file, JSON.stringify(withPending));
    const status = canary(["status", "--target", "haproxy", "--record", file]);
    assert.equal(status.code, 0, status.stderr);
    assert.ok(status.stdout.includes("pending control: resume by frank@ci at 2026-01-01T00:00:04.000Z: go on\n"), status.stdout);
    assert.ok(status.stdout.includes("  2026-01-01T00:00:03.000Z Progressing → Paused [step 0, weight 5] by erin@laptop: hold\n"), status.stdout);
    const retry = canary(["retry", "--target", "haproxy", "--record", file]);
    assert.deepEqual([retry.code, retry.stderr], [2, "canary: ControlRefusedError: retry: rollout r1 of v2 is Paused(step 0, weight 5); only a rolled-back rollout can be retried\n"]);
  });
});
