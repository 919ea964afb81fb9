import * as assert from "node:assert/strict";
import "../../helpers/pulumi";
import { stackConfig } from "../../helpers/stackConfig";
import { parseConfig } from "../../../infra/config";
import { runRollout } from "../../../automation/rollout/run";
import { parsePlan, Plan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { PulumiConfigRecordStore, ROLLOUT_RECORD_KEY } from "../../../automation/record/pulumiConfig";
import { createTarget } from "../../../automation/targets";
import { PulumiStackTarget } from "../../../automation/targets/pulumiStack";
import { RecordStore } from "../../../automation/record/types";
import { Decision } from "../../../automation/analysis/types";
import { FakeClock, FakeMetrics, ScriptedAnalysis } from "../../helpers/fakes";
import { Deployment, MemoryStack } from "../../helpers/memoryStack";

const CANARY = { version: "v2.5.0", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:v2.5.0" };

/** The dev stack at rest: stable v2.4.1, no canary; plus a secret the rollout must never leak or touch. */
function restingConfig(): Record<string, string> {
  const raw = stackConfig("dev");
  delete raw["canary:canary"];
  raw["canary:weight"] = "0";
  return raw;
}

function restingStack(): MemoryStack {
  const stack = new MemoryStack("dev", restingConfig());
  stack.config["aws:secretKey"] = { value: "s3cr3t", secret: true };
  return stack;
}

const PLAN = parsePlan("steps: [{weight: 5, minDuration: 10s}, {weight: 25, minDuration: 10s}, {weight: 50, minDuration: 10s}, {weight: 100}]\ntick: 10s");

async function rollout(stack: MemoryStack, script: Decision[][], opts: { plan?: Plan; store?: RecordStore } = {}) {
  const clock = new FakeClock();
  const log: string[] = [];
  const target = new PulumiStackTarget(stack, { log: (l) => log.push(l) });
  const store = opts.store ?? new MemoryRecordStore();
  const result = await runRollout({ plan: opts.plan ?? PLAN, ...CANARY, target, store, metrics: new FakeMetrics(), analysis: new ScriptedAnalysis(script), clock, id: "r1" });
  return { result, log, store };
}

/** [stable, canary] weights of a listener rule in one deployment; undefined when the rule is absent. */
function ruleWeights(d: Deployment, rule: string): number[] | undefined {
  const r = d.resources.find((x) => x.type === "aws:lb/listenerRule:ListenerRule" && x.name === rule);
  return r?.inputs.actions[0].forward.targetGroups.map((g: { weight: number }) => g.weight);
}

function outputs(stack: MemoryStack) {
  return stack.deployments.map((d) => ({
    weight: d.outputs.appliedCanaryWeight,
    stable: d.outputs.stableVersion,
    canary: d.outputs.canaryVersion,
  }));
}

describe("pulumi stack target (in-memory stack running the real program)", function () {
  this.timeout(60_000);

  it("promotes: every step's up renders its weight, and the last up renders the new version as stable", async () => {
    const stack = restingStack();
    const { result } = await rollout(stack, [["promote"], ["continue", "promote"], ["promote"]]);
    assert.equal(result.outcome, "promoted");
    assert.deepEqual(outputs(stack), [
      { weight: 0, stable: "v2.4.1", canary: "v2.5.0" },
      { weight: 5, stable: "v2.4.1", canary: "v2.5.0" },
      { weight: 25, stable: "v2.4.1", canary: "v2.5.0" },
      { weight: 50, stable: "v2.4.1", canary: "v2.5.0" },
      { weight: 0, stable: "v2.5.0", canary: null },
    ]);
    assert.deepEqual(stack.upCalls, [
      "canary: deploy v2.5.0 at weight 0",
      "canary: weight 5 (v2.5.0)",
      "canary: weight 25 (v2.5.0)",
      "canary: weight 50 (v2.5.0)",
      "canary: promote v2.5.0 to stable",
    ]);
    assert.equal(stack.raw()["canary:stable"], JSON.stringify(CANARY));
    assert.equal(stack.raw()["canary:weight"], "0");
    assert.equal("canary:canary" in stack.config, false);
    // What the ALB was given: the header route is live from the first up (canary at weight 0),
    // the default rule follows the steps, and after promotion it forwards to stable (now v2.5.0) alone.
    assert.deepEqual(ruleWeights(stack.deployments[0], "checkout-rule-override"), [0, 100]);
    assert.deepEqual(
      stack.deployments.map((d) => ruleWeights(d, "checkout-rule-default")),
      [
        [100, 0],
        [95, 5],
        [75, 25],
        [50, 50],
        [100],
      ],
    );
    const stableTg = (d: Deployment) => d.resources.find((r) => r.type === "aws:lb/targetGroup:TargetGroup" && r.name === "checkout-stable-tg");
    assert.ok(stableTg(stack.deployments[4]), "the stable target group is still declared");
  });

  it("after a failed analysis in restore mode, the config equals the snapshot and the last up renders no canary", async () => {
    const stack = restingStack();
    const before = structuredClone(stack.config);
    const plan = { ...PLAN, rollback: { mode: "restore" as const } };
    const { result } = await rollout(stack, [["promote"], ["continue", "rollback"]], { plan });
    assert.equal(result.outcome, "rolledBack");
    assert.deepEqual(stack.config, before);
    assert.deepEqual(outputs(stack).at(-1), { weight: 0, stable: "v2.4.1", canary: null });
    assert.deepEqual(outputs(stack).map((o) => o.weight), [0, 5, 25, 0]);
    // No canary: the default rule forwards to the stable target group alone.
    assert.deepEqual(ruleWeights(stack.deployments.at(-1)!, "checkout-rule-default"), [100]);
  });

  it("after a failed analysis in keepCanary mode, the snapshot is restored with the canary kept at weight 0", async () => {
    const stack = restingStack();
    const before = structuredClone(stack.config);
    const { result } = await rollout(stack, [["rollback"]]);
    assert.equal(result.outcome, "rolledBack");
    assert.deepEqual(stack.config, { ...before, "canary:canary": { value: JSON.stringify(CANARY), secret: false } });
    assert.deepEqual(outputs(stack).at(-1), { weight: 0, stable: "v2.4.1", canary: "v2.5.0" });
  });

  it("an up failing on every attempt mid-rollout restores the snapshot and re-runs the stack", async () => {
    const stack = restingStack();
    const before = structuredClone(stack.config);
    // Three attempts (retried with backoff), all failing.
    for (const n of [2, 3, 4]) stack.faults.set(n, new Error("error: update failed: aws:lb/listenerRule:ListenerRule checkout-rule: throttled"));
    const plan = { ...PLAN, rollback: { mode: "restore" as const } };
    const { result } = await rollout(stack, [["promote"], ["promote"], ["promote"]], { plan });
    assert.equal(result.outcome, "rolledBack");
    assert.equal(result.reason, "stack dev: cannot run pulumi up (canary: weight 25 (v2.5.0)): error: update failed: aws:lb/listenerRule:ListenerRule checkout-rule: throttled");
    assert.deepEqual(stack.config, before);
    assert.deepEqual(stack.upCalls.slice(2), ["canary: weight 25 (v2.5.0)", "canary: weight 25 (v2.5.0)", "canary: weight 25 (v2.5.0)", "canary: roll back to the snapshot"]);
    assert.deepEqual(outputs(stack).at(-1), { weight: 0, stable: "v2.4.1", canary: null });
  });

  it("refuses to start while another update is in progress, changing nothing", async () => {
    const stack = restingStack();
    stack.updateInProgress = true;
    const before = structuredClone(stack.config);
    const store = new MemoryRecordStore();
    await assert.rejects(rollout(stack, [["promote"]], { store }), {
      name: "ConcurrentUpdateRefusedError",
      message: "stack dev: an update started at 1970-01-01T00:00:00.000Z is still in progress; refusing to start a rollout (wait for it, or cancel it with `pulumi cancel`)",
    });
    assert.deepEqual(stack.config, before);
    assert.deepEqual(stack.upCalls, []);
    assert.equal(store.saved.length, 0);
  });

  it("refuses a concurrent update mid-rollout without retrying it, then rolls back", async () => {
    const stack = restingStack();
    stack.faults.set(1, "concurrent");
    const { result, store } = await rollout(stack, [["promote"]]);
    assert.equal(result.outcome, "rolledBack");
    assert.equal(result.reason, "stack dev: cannot run pulumi up (canary: weight 5 (v2.5.0)): another update of the stack is in progress; refusing (not retried)");
    assert.deepEqual(stack.upCalls, ["canary: deploy v2.5.0 at weight 0", "canary: weight 5 (v2.5.0)", "canary: roll back (canary kept at weight 0)"]);
    const rollback = (await store.load())!.history.find((h) => h.type === "rollback")!;
    assert.deepEqual(rollback.evidence, { error: result.reason, name: "ConcurrentUpdateRefusedError" });
  });

  it("a failed restore is a RestoreError naming the stack", async () => {
    const stack = restingStack();
    // The canary's deployment fails three times, then each of the restore's three attempts.
    for (const n of [1, 2, 3]) stack.faults.set(n, new Error("boom"));
    for (const n of [4, 5, 6]) stack.faults.set(n, new Error("backend unreachable"));
    const { result } = await rollout(stack, [["promote"]]);
    assert.equal(result.outcome, "restoreFailed");
    assert.equal(result.reason, "stack dev: rollback failed: stack dev: cannot run pulumi up (canary: roll back (canary kept at weight 0)): backend unreachable");
  });

  it("snapshots without secret values, and a rollback leaves secrets as they are", async () => {
    const stack = restingStack();
    const target = new PulumiStackTarget(stack);
    const snapshot = await target.prepare();
    assert.deepEqual(snapshot.config["aws:secretKey"], { secret: true });
    assert.equal(JSON.stringify(snapshot).includes("s3cr3t"), false);
    // A later process only has the redacted snapshot: the secret is neither rewritten nor removed.
    const later = new PulumiStackTarget(stack);
    await stack.setAllConfig({ "canary:weight": { value: "5" }, "canary:canary": { value: JSON.stringify(CANARY) } });
    await later.rollback(JSON.parse(JSON.stringify(snapshot)), "restore");
    assert.deepEqual(stack.config["aws:secretKey"], { value: "s3cr3t", secret: true });
    assert.equal(stack.raw()["canary:weight"], "0");
    assert.equal("canary:canary" in stack.config, false);
  });

  it("verify reads the applied weight from the stack outputs, undefined when there is none", async () => {
    const stack = restingStack();
    const target = new PulumiStackTarget(stack);
    assert.equal(await target.verify(), undefined);
    await target.setCanary(CANARY.version, CANARY.image);
    await target.setWeight(25);
    assert.equal(await target.verify(), 25);
  });

  it("the factory builds the pulumi target and refuses an unknown type, naming the known ones", async () => {
    const target = await createTarget({ type: "pulumi", stack: restingStack() });
    assert.equal(target.type, "pulumi");
    assert.equal(target.name, "dev");
    await assert.rejects(createTarget({ type: "ecs" }), { name: "UnknownTargetError", message: 'unknown target type "ecs"; known types: pulumi, haproxy' });
    await assert.rejects(createTarget({ type: "toString" }), { name: "UnknownTargetError" });
    await assert.rejects(createTarget({ type: "pulumi" }), { name: "TargetError", message: "the pulumi target needs a stack name and the project directory (--stack, --cwd)" });
  });

  describe("with the record in the stack config", () => {
    it("the program accepts and ignores the record key", () => {
      assert.deepEqual(parseConfig({ ...restingConfig(), [ROLLOUT_RECORD_KEY]: '{"phase":"Progressing"}' }), parseConfig(restingConfig()));
    });

    it("a rollback neither restores nor removes the record, and every up carries it", async () => {
      const stack = restingStack();
      const store = new PulumiConfigRecordStore(stack);
      const { result } = await rollout(stack, [["promote"], ["rollback"]], { store });
      assert.equal(result.outcome, "rolledBack");
      const record = (await store.load())!;
      assert.equal(record.phase, "RolledBack");
      assert.deepEqual(record.history.map((h) => h.type), ["start", "advance", "advance", "rollback", "rolledBack"]);
      // The last up ran with the record as of the rollback.
      assert.equal(JSON.parse(stack.deployments.at(-1)!.config[ROLLOUT_RECORD_KEY]).phase, "RollingBack");
    });
  });
});
