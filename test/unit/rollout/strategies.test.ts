/**
 * The driver running the new actions end to end on fakes (no process, no socket, a clock that does
 * not wait): a step's observation starting with the canary's first request, a canary baking after
 * its last step and rolled back to the kept version, hooks recorded with what they said, the dry
 * run printing all of it.
 */
import * as assert from "node:assert/strict";
import { StepWindow } from "../../../automation/analysis/judge";
import { TickMeasurement } from "../../../automation/analysis/types";
import { parsePlan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { DriverEvent } from "../../../automation/rollout/events";
import { HookSpec, HookVariables } from "../../../automation/rollout/hooks";
import { JudgeAnalysis, MetricsSource } from "../../../automation/rollout/judging";
import { runRollout } from "../../../automation/rollout/run";
import { dryRunRollout } from "../../../automation/rollout/dryRun";
import { FakeClock, FakeTarget } from "../../helpers/fakes";

const T0 = Date.UTC(2026, 0, 1);
const iso = (s: number) => new Date(s * 1000).toISOString();

/**
 * 100000 requests a tick split by the target's weight; the canary gets none before `trafficFrom`
 * (Unix seconds), and fails `canaryErrors` of its requests from `errorsFrom` on.
 */
class WeightMetrics implements MetricsSource {
  private last?: number;
  constructor(
    private readonly target: FakeTarget,
    private readonly o: { readonly trafficFrom?: number; readonly canaryErrors?: number; readonly errorsFrom?: (target: FakeTarget) => boolean; readonly swapped?: boolean; readonly sampleLag?: number } = {},
  ) {}
  async measure(at: number): Promise<TickMeasurement> {
    // A reading aligned to the last sample before `at` (sampleLag seconds old).
    const start = this.last === undefined ? undefined : this.last - (this.o.sampleLag ?? 0);
    this.last = at;
    if (start === undefined) return { kind: "priming", end: at };
    const w = at >= (this.o.trafficFrom ?? 0) ? this.target.weight : 0;
    const canary = { requests: 1000 * w, errors: this.o.errorsFrom?.(this.target) ? Math.round(1000 * w * (this.o.canaryErrors ?? 0)) : 0 };
    const baseline = { requests: 100000 - 1000 * w, errors: 0 };
    return this.o.swapped ? { kind: "ok", start, end: at, canary: baseline, baseline: canary } : { kind: "ok", start, end: at, canary, baseline };
  }
}

/** The real judge, recording the windows it is asked to begin. */
/** A target whose snapshot names the stable version, as real targets do. */
class StableTarget extends FakeTarget {
  override async prepare() {
    return { ...(await super.prepare()), stableVersion: "v1" };
  }
}

class WatchedJudge extends JudgeAnalysis {
  readonly windows: StepWindow[] = [];
  override beginStep(step: StepWindow): void {
    this.windows.push(step);
    super.beginStep(step);
  }
}

const JUDGE = "analysis: { judge: { minCanaryRequestsToPromote: 100, metrics: [{ name: errors, source: { kind: errors }, negligibleRate: 0.05 }] } }";

describe("a step's observation starts with the canary's first request", () => {
  it("a canary that gets no request for 20 s after its weight is set is judged from the tick of its first request, so its 30 s limit is not spent waiting", async () => {
    const plan = parsePlan(`steps: [{weight: 10, minDuration: 20s, maxDuration: 30s}, {weight: 100}]\ntick: 10s\n${JUDGE}`);
    const target = new FakeTarget();
    const judge = new WatchedJudge(plan.analysis.judge);
    const logs: string[] = [];
    const report = (e: DriverEvent) => void (e.kind === "log" && logs.push(e.line));
    const result = await runRollout({ plan, version: "v2", image: "app:v2", target, store: new MemoryRecordStore(), metrics: new WeightMetrics(target, { trafficFrom: T0 / 1000 + 30 }), analysis: judge, clock: new FakeClock(T0), report, id: "r1" });
    assert.equal(result.outcome, "promoted", result.reason);
    // The weight was set at T0 (the boundary reading); the ticks to 20 s saw no request, the tick from 20 s to 30 s the first ones.
    assert.deepEqual(judge.windows.map((w) => [w.index, w.startedAt - T0 / 1000, w.maxDurationSeconds]), [
      [0, 0, 30],
      [0, 20, 30],
    ]);
    const advance = result.record.history.find((h) => h.type === "advance")!;
    assert.equal(advance.at, iso(T0 / 1000));
    const promote = result.record.history.find((h) => h.type === "promote")!;
    assert.equal(promote.at, iso(T0 / 1000 + 40), "passed 40 s after the weight, 20 s after the first request");
    assert.ok(logs.includes(`step 0: the first request of v2 came 20.0s after the weight was set; the observation starts at ${iso(T0 / 1000 + 20)}`), logs.join("\n"));
  });

  it("without it, the same canary would have run out of time: the limit still bounds the wait for a first request", async () => {
    const plan = parsePlan(`steps: [{weight: 10, minDuration: 20s, maxDuration: 30s}, {weight: 100}]\ntick: 10s\n${JUDGE}`);
    const target = new FakeTarget();
    // No request in the step's first 30 s.
    const result = await runRollout({ plan, version: "v2", image: "app:v2", target, store: new MemoryRecordStore(), metrics: new WeightMetrics(target, { trafficFrom: T0 / 1000 + 40 }), clock: new FakeClock(T0), id: "r1" });
    assert.equal(result.outcome, "rolledBack");
    assert.match(result.reason, /^inconclusive: step 0 reached its maximum duration \(30s\) without a decision/);
    assert.equal(result.record.step?.trafficAt, undefined);
  });

  it("a canary with traffic from the start keeps the weight's time as its window (one window, the first tick's start)", async () => {
    const plan = parsePlan(`steps: [{weight: 10, minDuration: 10s, maxDuration: 30s}, {weight: 100}]\ntick: 10s\n${JUDGE}`);
    const target = new FakeTarget();
    const judge = new WatchedJudge(plan.analysis.judge);
    const result = await runRollout({ plan, version: "v2", image: "app:v2", target, store: new MemoryRecordStore(), metrics: new WeightMetrics(target), analysis: judge, clock: new FakeClock(T0), id: "r1" });
    assert.equal(result.outcome, "promoted", result.reason);
    assert.deepEqual(judge.windows.map((w) => w.startedAt - T0 / 1000), [0]);
  });

  it("a first tick that began before the weight was set (its reading aligned to an older sample) keeps the weight's time", async () => {
    const plan = parsePlan(`steps: [{weight: 10, minDuration: 10s, maxDuration: 30s}, {weight: 100}]\ntick: 10s\n${JUDGE}`);
    const target = new FakeTarget();
    const judge = new WatchedJudge(plan.analysis.judge);
    const logs: string[] = [];
    const report = (e: DriverEvent) => void (e.kind === "log" && logs.push(e.line));
    const result = await runRollout({ plan, version: "v2", image: "app:v2", target, store: new MemoryRecordStore(), metrics: new WeightMetrics(target, { sampleLag: 0.5 }), analysis: judge, clock: new FakeClock(T0), report, id: "r1" });
    assert.equal(result.outcome, "promoted", result.reason);
    assert.deepEqual(judge.windows.map((w) => w.startedAt - T0 / 1000), [0]);
    assert.deepEqual(logs.filter((l) => l.includes("first request")), []);
  });
});

describe("a canary's bake after its last step", () => {
  const plan = parsePlan(`steps: [{weight: 50, minDuration: 10s}, {weight: 100}]\ntick: 10s\nbake: { duration: 30s, reference: 10m }\n${JUDGE}`);

  it("all traffic on the canary with the old stable kept, then promoted once the bake passed", async () => {
    const target = new StableTarget();
    const result = await runRollout({ plan, version: "v2", image: "app:v2", target, store: new MemoryRecordStore(), metrics: (v) => new WeightMetrics(target, { swapped: v.canary !== "v2" }), clock: new FakeClock(T0), id: "r1" });
    assert.equal(result.outcome, "promoted", result.reason);
    assert.deepEqual(target.calls, ["prepare", "setCanary:v2", "verify", "setWeight:50", "verify", "setWeight:100", "verify", "promote"]);
    assert.deepEqual(result.record.history.map((h) => h.type), ["start", "advance", "switch", "promote", "complete"]);
    assert.match(result.record.history.find((h) => h.type === "promote")!.reason, /^bake passed: 30\.0s observed with 300000 requests on v2; guardrails clear; against v1: errors ≤ [0-9.]+% \(ok\)$/);
    // The reference: the previous version's 100000 requests a tick over the 10 minutes before the rollout (one reading of it here).
    assert.deepEqual(result.record.reference, { version: "v1", from: iso(T0 / 1000 - 600), to: iso(T0 / 1000), requests: 100000, errors: 0 });
  });

  it("failing in the bake, it is rolled back to the kept previous version", async () => {
    const target = new FakeTarget();
    const errorsAfterSwitch = (t: FakeTarget) => t.weight === 100;
    const result = await runRollout({ plan, version: "v2", image: "app:v2", target, store: new MemoryRecordStore(), metrics: (v) => new WeightMetrics(target, { swapped: v.canary !== "v2", canaryErrors: 0.1, errorsFrom: errorsAfterSwitch }), clock: new FakeClock(T0), id: "r1" });
    assert.equal(result.outcome, "rolledBack");
    assert.deepEqual(target.calls, ["prepare", "setCanary:v2", "verify", "setWeight:50", "verify", "setWeight:100", "verify", "rollback:keepCanary", "verify"]);
    assert.deepEqual(result.record.history.map((h) => [h.type, h.from, h.to]), [
      ["start", "Idle", "Initializing"],
      ["advance", "Initializing", "Progressing"],
      ["switch", "Progressing", "Baking"],
      ["rollback", "Baking", "RollingBack"],
      ["rolledBack", "RollingBack", "RolledBack"],
    ]);
    assert.equal(target.weight, 0);
  });
});

describe("hooks through the driver", () => {
  /** A runner that answers from a script and records what each run was given. */
  function scripted(outcomes: Record<string, boolean[]>) {
    const seen: { hook: string; variables: HookVariables }[] = [];
    return {
      seen,
      run: async (hook: HookSpec, variables: HookVariables) => {
        seen.push({ hook: hook.name, variables });
        const left = outcomes[hook.name] ?? [true];
        const ok = left.length > 1 ? left.shift()! : left[0];
        return { ok, attempts: 1, detail: ok ? "exit 0" : "exit 3", ...(ok ? {} : { excerpt: "FAIL checkout returns 500" }) };
      },
    };
  }
  const plan = parsePlan(`
steps: [{weight: 10, minDuration: 10s}, {weight: 50, minDuration: 10s}, {weight: 100}]
tick: 10s
${JUDGE}
hooks:
  - { name: freeze, at: preRollout, command: [./freeze] }
  - { name: smoke, at: beforeStep, steps: [1], command: [./smoke], onFailure: block }
  - { name: announce, at: afterPromotion, command: [./announce] }
  - { name: page, at: onRollback, command: [./page] }
`);

  it("run at their points with the rollout's variables; a blocking hook holds the step and runs again each tick until it passes", async () => {
    const target = new FakeTarget();
    const runner = scripted({ smoke: [false, false, true] });
    const result = await runRollout({ plan, version: "v2", image: "app:v2", target, store: new MemoryRecordStore(), metrics: new WeightMetrics(target), hookRunner: runner, clock: new FakeClock(T0), id: "r1" });
    assert.equal(result.outcome, "promoted", result.reason);
    assert.deepEqual(runner.seen.map((s) => s.hook), ["freeze", "smoke", "smoke", "smoke", "announce"]);
    assert.deepEqual(runner.seen[1].variables, { CANARY_STACK: "fake-target", CANARY_ROLLOUT: "r1", CANARY_VERSION: "v2", CANARY_IMAGE: "app:v2", CANARY_HOOK_POINT: "beforeStep", CANARY_STEP: "1", CANARY_WEIGHT: "50" });
    // The step waited at weight 10 until the hook passed.
    assert.deepEqual(target.calls.filter((c) => c.startsWith("setWeight")), ["setWeight:10", "setWeight:50"]);
    assert.deepEqual(
      result.record.hooks!.map((h) => [h.hook, h.slot, h.ok, h.detail, h.runs]),
      [
        ["freeze", "preRollout", true, "exit 0", 1],
        ["smoke", "beforeStep 1", true, "exit 0", 3],
        ["announce", "afterPromotion", true, "exit 0", 1],
      ],
    );
  });

  it("a failed pre-rollout hook rolls back before anything is deployed; the onRollback hook runs, its output excerpt recorded", async () => {
    const target = new FakeTarget();
    const runner = scripted({ freeze: [false], page: [false] });
    const result = await runRollout({ plan, version: "v2", image: "app:v2", target, store: new MemoryRecordStore(), metrics: new WeightMetrics(target), hookRunner: runner, clock: new FakeClock(T0), id: "r1" });
    assert.equal(result.outcome, "rolledBack");
    assert.equal(result.reason, "hook freeze (preRollout) failed: exit 3");
    assert.deepEqual(target.calls, ["prepare", "rollback:keepCanary", "verify"]);
    assert.deepEqual(runner.seen.map((s) => s.hook), ["freeze", "page"]);
    const rollback = result.record.history.find((h) => h.type === "rollback")!;
    assert.deepEqual([rollback.trigger, (rollback.evidence as { hook: { excerpt: string } }).hook.excerpt], ["analysis", "FAIL checkout returns 500"]);
    assert.deepEqual(result.record.hooks!.map((h) => [h.hook, h.ok, h.excerpt]), [
      ["freeze", false, "FAIL checkout returns 500"],
      ["page", false, "FAIL checkout returns 500"],
    ]);
  });

  it("the dry run prints every hook, the reference, the switch, the bake and the alert gate", async () => {
    const lines: string[] = [];
    const bg = parsePlan(`
strategy: blueGreen
tick: 10s
bake: { duration: 1m }
blueGreen: { scaleDownDelay: 2m }
gates: { beforePromotion: true }
alerts: { service: checkout }
hooks:
  - { name: pre-traffic, at: beforePromotion, command: "npm run smoke -- \${CANARY_OVERRIDE_URL}", timeout: 2m }
  - { name: post-switch, at: afterPromotion, http: { urlEnv: SMOKE_URL, method: POST }, retries: 2 }
`);
    const result = await dryRunRollout({ plan: bg, version: "v2", image: "app:v2", target: { type: "pulumi", name: "prod" }, store: { description: "stack prod config" }, clock: new FakeClock(T0), report: (e) => void (e.kind === "action" && lines.push(e.message)) });
    assert.equal(result.outcome, "dryRun");
    assert.deepEqual(lines, [
      "[dry run] would snapshot pulumi target prod and record the rollout in stack prod config",
      "[dry run] would read the previous version's own rates over the 600s before the rollout (the bake's reference)",
      "[dry run] would deploy green v2 (app:v2) beside blue at weight 0, at blue's full size, then verify the applied weight is 0 (green reachable through the override route only)",
      "[dry run] would wait at gate promotion for an approval (`canary approve --promotion`)",
      '[dry run] would check the generated alerts of service="checkout" firing (promotion): on any, roll back',
      "[dry run] would run hook pre-traffic (beforePromotion): command npm run smoke -- ${CANARY_OVERRIDE_URL}; 120s timeout, 0 retries, on failure roll back",
      "[dry run] would switch all traffic to v2 at once (weight 100), then verify it; the previous version stays deployed for at least 120s (scaleDownDelay) so a rollback switches straight back",
      "[dry run] would run hook post-switch (afterPromotion): POST [redacted] (from $SMOKE_URL); 30s timeout, 2 retries, on failure roll back",
      "[dry run] would bake: judge v2 every 10s from its first request: pass after 60s observed with traffic; roll back at once on a guardrail, or on an error or slow-request rate confidently above 2 × the previous version's pre-rollout rate; at 600s undecided roll back",
      "[dry run] would promote v2 to stable once the bake passed and scaleDownDelay is over (the previous version is removed)",
    ]);
  });
});
