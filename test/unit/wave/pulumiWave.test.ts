/**
 * A two-stack wave on the Pulumi target: two in-memory stacks (two regions) whose every `up`
 * evaluates the real program under the runtime mocks, each with its rollout record in its own
 * stack config, as `canary wave run` with `--target pulumi` stacks keeps them. What each stack
 * deploys, up by up, is asserted, down to the restored config of a region the wave undid.
 */
import * as assert from "node:assert/strict";
import "../../helpers/pulumi";
import { Decision } from "../../../automation/analysis/types";
import { parsePlan } from "../../../automation/plan";
import { PulumiConfigRecordStore, ROLLOUT_RECORD_KEY } from "../../../automation/record/pulumiConfig";
import { PulumiStackTarget } from "../../../automation/targets/pulumiStack";
import { WaveFile } from "../../../automation/wave/file";
import { runWave } from "../../../automation/wave/run";
import { StackAccess } from "../../../automation/wave/stacks";
import { MemoryWaveStore } from "../../../automation/wave/store";
import { FakeMetrics, ScriptedAnalysis } from "../../helpers/fakes";
import { MemoryStack } from "../../helpers/memoryStack";
import { stackConfig } from "../../helpers/stackConfig";
import { BakeAnalysis, waveOf, YieldingClock } from "../../helpers/waveFakes";

const VERSION = "v2.5.0";
const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:v2.5.0";
const PLAN = parsePlan("steps: [{weight: 10, minDuration: 10s}, {weight: 50, minDuration: 10s}, {weight: 100}]\ntick: 10s");

/** A region's stack at rest: stable v2.4.1, no canary, a secret the wave must never touch. */
function region(name: string): MemoryStack {
  const raw = stackConfig("dev");
  delete raw["canary:canary"];
  raw["canary:weight"] = "0";
  const stack = new MemoryStack(name, raw);
  stack.config["aws:secretKey"] = { value: "s3cr3t", secret: true };
  return stack;
}

/** The policies themselves are table-tested on fakes (run.test.ts); here, what each stack's ups render. */
function wave(onFailure: "stop" | "rollbackAll"): WaveFile {
  return waveOf(
    {
      name: "checkout",
      version: VERSION,
      image: IMAGE,
      onFailure,
      bake: "30s",
      tick: "10s",
      stages: [
        { name: "us", stacks: [{ name: "us-east-1", stack: "prod-us-east-1" }] },
        { name: "eu", stacks: [{ name: "eu-west-1", stack: "prod-eu-west-1" }] },
      ],
    },
    PLAN,
  );
}

/** Each region reached as the pulumi backend reaches a stack: the target and the record store over the same stack. */
function accesses(w: WaveFile, stacks: Record<string, MemoryStack>, scripts: Record<string, Decision[][]>): Map<string, StackAccess> {
  return new Map(
    w.stages.flatMap((s) => s.stacks).map((stack) => {
      const target = new PulumiStackTarget(stacks[stack.name]);
      const store = new PulumiConfigRecordStore(stacks[stack.name]);
      return [stack.name, { stack, target: async () => target, store: async () => store, metrics: () => new FakeMetrics(), analysis: (purpose: string) => (purpose === "rollout" ? new ScriptedAnalysis(scripts[stack.name]) : new BakeAnalysis()) }] as const;
    }),
  );
}

/** What each up of a stack rendered. */
function outputs(stack: MemoryStack) {
  return stack.deployments.map((d) => `${d.outputs.appliedCanaryWeight} ${d.outputs.stableVersion}/${d.outputs.canaryVersion}`);
}

/** The config without the rollout record (which a rollback never restores). */
function withoutRecord(stack: MemoryStack) {
  const { [ROLLOUT_RECORD_KEY]: _record, ...rest } = stack.config;
  void _record;
  return rest;
}

describe("a two-stack wave on the Pulumi target (in-memory stacks running the real program)", function () {
  this.timeout(60_000);

  it("promotes the first region, bakes, then the second: each up renders the stack's own step", async () => {
    const stacks = { "us-east-1": region("prod-us-east-1"), "eu-west-1": region("prod-eu-west-1") };
    const w = wave("stop");
    const r = await runWave({ wave: w, store: new MemoryWaveStore(), stacks: accesses(w, stacks, { "us-east-1": [["promote"], ["promote"]], "eu-west-1": [["promote"], ["promote"]] }), clock: new YieldingClock(), id: "w1" });
    assert.equal(r.outcome, "succeeded", r.reason);
    for (const s of Object.values(stacks)) {
      assert.deepEqual(outputs(s), ["0 v2.4.1/v2.5.0", "10 v2.4.1/v2.5.0", "50 v2.4.1/v2.5.0", "0 v2.5.0/null"]);
      assert.equal(s.raw()["canary:stable"], JSON.stringify({ version: VERSION, image: IMAGE }));
      assert.equal(JSON.parse(s.raw()[ROLLOUT_RECORD_KEY]).phase, "Succeeded");
    }
    // The second region's first up came after the first region's promotion and bake.
    assert.deepEqual(
      r.record.history.map((h) => h.type),
      ["start", "stackStarted", "stackEnded", "bake", "advance", "stackStarted", "stackEnded", "succeed"],
    );
  });

  it("the second region fails at its second step: rolled back (canary kept at 0); with rollbackAll the first region's config is its snapshot again, and its last up renders it", async () => {
    const stacks = { "us-east-1": region("prod-us-east-1"), "eu-west-1": region("prod-eu-west-1") };
    const before = { us: structuredClone(stacks["us-east-1"].config), eu: structuredClone(stacks["eu-west-1"].config) };
    const w = wave("rollbackAll");
    const r = await runWave({ wave: w, store: new MemoryWaveStore(), stacks: accesses(w, stacks, { "us-east-1": [["promote"], ["promote"]], "eu-west-1": [["promote"], ["continue", "rollback"]] }), clock: new YieldingClock(), id: "w1" });
    assert.equal(r.outcome, "rolledBack", r.reason);
    const us = stacks["us-east-1"];
    const eu = stacks["eu-west-1"];
    // The first region: promoted, then restored to the snapshot its record kept (restore mode: no canary left).
    assert.deepEqual(outputs(us), ["0 v2.4.1/v2.5.0", "10 v2.4.1/v2.5.0", "50 v2.4.1/v2.5.0", "0 v2.5.0/null", "0 v2.4.1/null"]);
    assert.deepEqual(us.upCalls, ["canary: deploy v2.5.0 at weight 0", "canary: weight 10 (v2.5.0)", "canary: weight 50 (v2.5.0)", "canary: promote v2.5.0 to stable", "canary: roll back to the snapshot"]);
    assert.deepEqual(withoutRecord(us), before.us);
    assert.equal(us.config["aws:secretKey"].value, "s3cr3t");
    const usRecord = JSON.parse(us.raw()[ROLLOUT_RECORD_KEY]);
    assert.deepEqual(usRecord.history.map((h: { type: string }) => h.type), ["start", "advance", "advance", "promote", "complete", "rollback", "rolledBack"]);
    assert.match(usRecord.history[5].reason, /^wave checkout: eu-west-1 rolled back: step 1 tick 2: rollback$/);
    // The second region: rolled back at 50%, its canary kept at weight 0 for debugging (its plan's keepCanary).
    assert.deepEqual(outputs(eu), ["0 v2.4.1/v2.5.0", "10 v2.4.1/v2.5.0", "50 v2.4.1/v2.5.0", "0 v2.4.1/v2.5.0"]);
    assert.deepEqual(withoutRecord(eu), { ...before.eu, "canary:canary": { value: JSON.stringify({ version: VERSION, image: IMAGE }), secret: false } });
    assert.equal(JSON.parse(eu.raw()[ROLLOUT_RECORD_KEY]).phase, "RolledBack");
  });
});
