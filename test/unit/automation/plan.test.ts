import * as assert from "node:assert/strict";
import { defaultPlan, judgedSteps, parsePlan, PlanError } from "../../../automation/plan";

/** The problems of an invalid plan, as `path: message` lines. */
function problems(text: string): string[] {
  try {
    parsePlan(text);
  } catch (e) {
    if (e instanceof PlanError) return e.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
    throw e;
  }
  assert.fail(`plan was accepted:\n${text}`);
}

describe("plan", () => {
  it("defaults every field: 5 → 25 → 50 → 100, 30s ticks, rollback when inconclusive, canary kept", () => {
    assert.deepEqual(parsePlan(""), {
      steps: [5, 25, 50, 100].map((weight) => ({ weight, minDurationSeconds: 60, maxDurationSeconds: 600 })),
      tickSeconds: 30,
      analysis: { judge: {}, metrics: {} },
      inconclusive: "rollback",
      rollback: { mode: "keepCanary" },
      dryRun: false,
      notifications: { channels: [], retry: { attempts: 5, initialDelay: 1, maxDelay: 30, maxTotal: 120 }, queueSize: 100, incidents: { enabled: true, report: true } },
      gates: { beforeSteps: [], beforePromotion: false },
      onResume: "resume",
      onSignal: "rollback",
      strategy: "canary",
      hooks: [],
    });
    assert.deepEqual(defaultPlan(), parsePlan("{}"));
  });

  it("accepts any strictly increasing list ending at 100, with durations in units or seconds", () => {
    const plan = parsePlan(`
steps:
  - { weight: 1, minDuration: 30s, maxDuration: 2m }
  - { weight: 5, minDuration: 90, maxDuration: 1h }
  - { weight: 25, minDuration: 500ms }
  - { weight: 100 }
tick: 10s
inconclusive: hold
rollback: { mode: restore }
dryRun: true
analysis:
  judge: { alpha: 0.05, guardrails: { maxErrorRate: 0.1 } }
  metrics: { url: "http://127.0.0.1:9090" }
`);
    assert.deepEqual(plan.steps, [
      { weight: 1, minDurationSeconds: 30, maxDurationSeconds: 120 },
      { weight: 5, minDurationSeconds: 90, maxDurationSeconds: 3600 },
      { weight: 25, minDurationSeconds: 0.5, maxDurationSeconds: 600 },
      { weight: 100, minDurationSeconds: 60, maxDurationSeconds: 600 },
    ]);
    assert.equal(plan.tickSeconds, 10);
    assert.equal(plan.inconclusive, "hold");
    assert.deepEqual(plan.rollback, { mode: "restore" });
    assert.equal(plan.dryRun, true);
    assert.deepEqual(plan.analysis, { judge: { alpha: 0.05, guardrails: { maxErrorRate: 0.1 } }, metrics: { url: "http://127.0.0.1:9090" } });
    assert.deepEqual(judgedSteps(plan).map((s) => s.weight), [1, 5, 25]);
  });

  const invalid: [string, string, string[]][] = [
    ["a weight above 100", "steps: [{weight: 5}, {weight: 25}, {weight: 120}]", ["steps[2].weight: must be ≤ 100, got 120"]],
    ["a zero weight", "steps: [{weight: 0}, {weight: 100}]", ["steps[0].weight: must be ≥ 1, got 0"]],
    ["a fractional weight", "steps: [{weight: 2.5}, {weight: 100}]", ["steps[0].weight: must be an integer percent, got 2.5"]],
    ["a string weight", "steps: [{weight: '5'}, {weight: 100}]", ['steps[0].weight: must be an integer percent, got "5"']],
    ["a missing weight", "steps: [{minDuration: 1m}, {weight: 100}]", ["steps[0].weight: is required"]],
    [
      "weights not strictly increasing",
      "steps: [{weight: 25}, {weight: 25}, {weight: 10}, {weight: 100}]",
      ["steps[1].weight: must be greater than steps[0].weight (25), got 25", "steps[2].weight: must be greater than steps[1].weight (25), got 10"],
    ],
    ["a list not ending at 100", "steps: [{weight: 5}, {weight: 50}]", ["steps[1].weight: the last step must be 100, got 50"]],
    ["a single step", "steps: [{weight: 100}]", ["steps: must list at least 2 steps (a judged step, then the final 100), got 1"]],
    ["no steps", "steps: []", ["steps: must list at least 2 steps (a judged step, then the final 100), got 0"]],
    ["steps not a list", "steps: 5", ["steps: must be a list of steps, got 5"]],
    ["a min above the max", "steps: [{weight: 5, minDuration: 10m, maxDuration: 5m}, {weight: 100}]", ["steps[0].maxDuration: must be ≥ minDuration (600s), got 300s"]],
    ["a bad duration", "steps: [{weight: 5, minDuration: 5 minutes}, {weight: 100}]", ['steps[0].minDuration: must be a duration such as 30s, 5m or 1h (or a number of seconds), got "5 minutes"']],
    ["a negative tick", "tick: -1", ["tick: must be a positive duration, got -1"]],
    ["a step shorter than a tick", "tick: 2m\nsteps: [{weight: 5, minDuration: 30s, maxDuration: 1m}, {weight: 100}]", ["steps[0].maxDuration: must be ≥ tick (120s), got 60s"]],
    ["a judged step shorter than the tick (the final step's durations are not checked)", "tick: 15m\nsteps: [{weight: 5, maxDuration: 1h}, {weight: 50}, {weight: 100}]", ["steps[1].maxDuration: must be ≥ tick (900s), got 600s"]],
    ["an unknown inconclusive action", "inconclusive: wait", ['inconclusive: must be one of hold, rollback, got "wait"']],
    ["an unknown rollback mode", "rollback: { mode: delete }", ['rollback.mode: must be one of keepCanary, restore, got "delete"']],
    ["a non-boolean dry run", "dryRun: yes", ['dryRun: must be true or false, got "yes"']],
    ["unknown keys", "step: []\nrollback: { mode: restore, keep: true }", ["rollback.keep: unknown key", "step: unknown key"]],
    ["a judge setting out of range", "analysis: { judge: { alpha: 2 } }", ["analysis.judge.alpha: Too big: expected number to be <1, got 2"]],
    [
      "a judge cross-field error",
      "analysis: { judge: { metrics: [{ name: errors, source: { kind: errors }, margin: 2, allowedRatio: 1.5 }] } }",
      ["analysis.judge.metrics[0].margin: must be < allowedRatio (1.5), got 2"],
    ],
    ["analysis not a map", "analysis: { judge: 3 }", ["analysis.judge: must be a map of judge settings, got 3"]],
    ["a plan that is not a map", "- 5\n- 100", ["must be a map of plan settings, got [5,100]"]],
    ["invalid YAML", "steps: [", ["not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 9"]],
  ];
  for (const [name, text, expected] of invalid) {
    it(`rejects ${name}`, () => assert.deepEqual(problems(text), expected));
  }

  it("names the source in the error message", () => {
    assert.throws(() => parsePlan("tick: 0", "plans/fast.yaml"), { name: "PlanError", message: "invalid plan plans/fast.yaml:\ntick: must be a positive duration, got 0" });
  });
});

describe("plan: notifications section", () => {
  it("parses channels with the plan's one duration syntax", () => {
    const plan = parsePlan("notifications:\n  channels: [{ type: webhook, urlEnv: HOOK, timeout: 500ms }]\n  retry: { initialDelay: 2s, maxTotal: 1m }\n");
    assert.deepEqual(plan.notifications.channels, [{ type: "webhook", urlEnv: "HOOK", timeout: 0.5 }]);
    assert.deepEqual(plan.notifications.retry, { attempts: 5, initialDelay: 2, maxDelay: 30, maxTotal: 60 });
  });

  it("names the field of a bad channel, and never quotes a pasted URL", () => {
    assert.deepEqual(problems("notifications:\n  channels: [{ type: webhook, urlEnv: HOOK, timeout: soon }]\n"), [
      'notifications.channels[0].timeout: must be a duration such as 30s, 5m or 1h (or a number of seconds), got "soon"',
    ]);
    assert.deepEqual(problems("notifications:\n  channels: [{ type: slack, url: 'https://hooks.slack.com/services/T1/B2/XYZSECRET' }]\n"), [
      "notifications.channels[0].url: unknown key",
      "notifications.channels[0].urlEnv: is required (or urlConfig): the environment variable holding the webhook URL",
    ]);
  });
});
