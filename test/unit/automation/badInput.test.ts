/**
 * Bad input, as a table: malformed plans, each run through `canary rollout` itself (in-process,
 * on a recording backend) and rejected with exit 2 and an exact message naming the field, with
 * nothing applied: the command never opened the target or the store. Malformed control calls,
 * each refused with nothing touched.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EXIT } from "../../../automation/cli/exit";
import { main } from "../../../automation/cli";
import { controlRollout } from "../../../automation/rollout/control";
import { ControlInput } from "../../../automation/rollout/requests";
import { defaultPlan, MAX_PLAN_BYTES } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { newRecord, RolloutRecord, transition } from "../../../automation/state";
import { FakeTarget, RecordingBackend } from "../../helpers/fakes";

const URL = "analysis:\n  metrics: { url: 'http://127.0.0.1:9' }\n";

/**
 * Runs `canary rollout --plan <file>` through the command's own code (cli/index.ts `main`) on a
 * recording backend: the exit code, the problems it printed, and everything it touched.
 */
async function attempt(text: string): Promise<{ code: number; output: string[]; backend: RecordingBackend; file: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-bad-plan-"));
  try {
    const file = path.join(dir, "plan.yaml");
    fs.writeFileSync(file, text);
    const backend = new RecordingBackend(path.join(dir, "incidents"), path.join(dir, "history"));
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: unknown) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(["rollout", "--target", "haproxy", "--version", "v2", "--image", "app:v2", "--plan", file, "--json", "--cwd", dir], { openBackend: () => backend });
    } finally {
      process.stderr.write = write;
    }
    return { code, output: stderr.join("").trimEnd().split("\n"), backend, file };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("bad input: plans", () => {
  // [name, plan text, exact problems]
  const cases: [string, string, string[]][] = [
    ["steps not a list", "steps: 5", ["steps: must be a list of steps, got 5"]],
    ["weight a string", "steps: [{weight: '5'}, {weight: 100}]", ['steps[0].weight: must be an integer percent, got "5"']],
    ["weight fractional", "steps: [{weight: 5.5}, {weight: 100}]", ["steps[0].weight: must be an integer percent, got 5.5"]],
    ["weight 0", "steps: [{weight: 0}, {weight: 100}]", ["steps[0].weight: must be ≥ 1, got 0"]],
    ["weight negative", "steps: [{weight: -5}, {weight: 100}]", ["steps[0].weight: must be ≥ 1, got -5"]],
    ["weight over 100", "steps: [{weight: 5}, {weight: 120}]", ["steps[1].weight: must be ≤ 100, got 120"]],
    ["unsorted steps", "steps: [{weight: 50}, {weight: 25}, {weight: 100}]", ["steps[1].weight: must be greater than steps[0].weight (50), got 25"]],
    ["duplicate steps", "steps: [{weight: 25}, {weight: 25}, {weight: 100}]", ["steps[1].weight: must be greater than steps[0].weight (25), got 25"]],
    ["not ending at 100", "steps: [{weight: 5}, {weight: 50}]", ["steps[1].weight: the last step must be 100, got 50"]],
    ["only the final step", "steps: [{weight: 100}]", ["steps: must list at least 2 steps (a judged step, then the final 100), got 1"]],
    ["missing weight", "steps: [{minDuration: 1m}, {weight: 100}]", ["steps[0].weight: is required"]],
    ["unknown step key", "steps: [{weight: 5, wieght: 6}, {weight: 100}]", ["steps[0].wieght: unknown key"]],
    ["unknown top-level key", "stepz: []", ["stepz: unknown key"]],
    ["duration in words", "tick: fast", ['tick: must be a duration such as 30s, 5m or 1h (or a number of seconds), got "fast"']],
    ["zero duration", "tick: 0s", ['tick: must be a positive duration, got "0s"']],
    ["negative duration", "tick: -5", ["tick: must be a positive duration, got -5"]],
    ["minDuration over maxDuration", "steps: [{weight: 5, minDuration: 10m, maxDuration: 5m}, {weight: 100}]", ["steps[0].maxDuration: must be ≥ minDuration (600s), got 300s"]],
    ["step shorter than a tick", "steps: [{weight: 5, minDuration: 1s, maxDuration: 10s}, {weight: 100}]\ntick: 30s", ["steps[0].maxDuration: must be ≥ tick (30s), got 10s"]],
    ["inconclusive unknown", "inconclusive: wait", ['inconclusive: must be one of hold, rollback, got "wait"']],
    ["rollback mode unknown", "rollback: { mode: nuke }", ['rollback.mode: must be one of keepCanary, restore, got "nuke"']],
    ["dryRun a string", "dryRun: 'yes'", ['dryRun: must be true or false, got "yes"']],
    ["onSignal unknown", "onSignal: ignore", ['onSignal: must be one of rollback, pause, got "ignore"']],
    ["onResume unknown", "onResume: later", ['onResume: must be one of resume, rollback, got "later"']],
    ["gate on the final step", "steps: [{weight: 5}, {weight: 100}]\ngates: { beforeSteps: [1] }", ["gates.beforeSteps[0]: must name a judged step (0–0), got 1"]],
    ["unsorted gates", "gates: { beforeSteps: [2, 1] }", ["gates.beforeSteps[1]: must be greater than gates.beforeSteps[0] (2): sorted, no duplicates, got 1"]],
    ["duplicate gates", "gates: { beforeSteps: [1, 1] }", ["gates.beforeSteps[1]: must be greater than gates.beforeSteps[0] (1): sorted, no duplicates, got 1"]],
    ["negative gate", "gates: { beforeSteps: [-1] }", ["gates.beforeSteps[0]: must be ≥ 0, got -1"]],
    ["beforePromotion a string", "gates: { beforePromotion: 'true' }", ['gates.beforePromotion: must be true or false, got "true"']],
    ["unknown judge key", "analysis: { judge: { maxOutageSeconds: 4 } }", [
      "analysis.judge.maxOutageSeconds: unknown key (known: alpha, promoteAlpha, metrics, grid, dispersion, heterogeneity, episodes, guardrails, noData, tickEvidenceCap, minCanaryRequestsToPromote)",
    ]],
    ["hostile label value", `${URL}    selectors: { service: 'x"} or vector(1) #' }`.replace("metrics: { url: 'http://127.0.0.1:9' }\n    selectors: { service: 'x\"} or vector(1) #' }", "metrics: { url: 'http://127.0.0.1:9', selectors: { service: 'x\"} or vector(1) #' } }"), [
      "analysis.metrics.selectors.service: must be 1–256 characters from [A-Za-z0-9._~:@+-/ ]",
    ]],
    ["label value with a newline", "analysis:\n  metrics: { url: 'http://127.0.0.1:9', selectors: { service: \"a\\nb\" } }", ["analysis.metrics.selectors.service: must be 1–256 characters from [A-Za-z0-9._~:@+-/ ]"]],
    ["a notification channel URL in the plan", "notifications: { channels: [{ type: slack, url: 'https://hooks.slack.com/services/T0/B0/XXXXSECRET' }] }", [
      "notifications.channels[0].url: unknown key",
      "notifications.channels[0].urlEnv: is required (or urlConfig): the environment variable holding the webhook URL",
    ]],
    ["unknown channel type", "notifications: { channels: [{ type: teams, urlEnv: T }] }", ['notifications.channels[0].type: must be one of slack, webhook, email, pagerduty, grafana, got "teams"']],
    ["not YAML", "steps: [", ["not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 9"]],
    ["a list, not a map", "- 1\n- 2", ["must be a map of plan settings, got [1,2]"]],
    ["a huge file", `# ${"x".repeat(MAX_PLAN_BYTES)}\n`, [`is ${MAX_PLAN_BYTES + 3} bytes; a plan may be at most ${MAX_PLAN_BYTES} bytes (1 MiB)`]],
  ];
  for (const [name, text, expected] of cases) {
    it(`rejects ${name}, applying nothing`, async () => {
      const withUrl = /analysis:/.test(text) ? text : `${text}\n${URL}`;
      const { code, output, backend, file } = await attempt(name === "a huge file" || name === "not YAML" || name === "a list, not a map" ? text : withUrl);
      // Refused before the command asked for the target or the store: nothing contacted, nothing saved.
      assert.deepEqual({ opened: backend.opened, calls: backend.fake.calls, saved: backend.memory.saved.length }, { opened: [], calls: [], saved: 0 });
      assert.equal(code, EXIT.invalidInput);
      assert.deepEqual(output, [`canary: PlanError: invalid plan ${file}:`, ...expected]);
    });
  }
  it("has at least 30 cases", () => assert.ok(cases.length >= 30, String(cases.length)));
});

describe("bad input: control calls", () => {
  const r0 = transition(newRecord({ id: "r1", stack: "fake-target", target: "fake", version: "v2", image: "app:v2", steps: [5, 100], at: "t" }), { type: "start", at: "t", reason: "go" });
  const progressing: RolloutRecord = { ...transition(r0, { type: "advance", at: "t", reason: "s", step: 0, weight: 5 }), snapshot: { type: "fake", weight: 0 } };
  const cases: [string, RolloutRecord, ControlInput, string][] = [
    ["approve of a succeeded rollout", { ...progressing, phase: "Succeeded" }, { verb: "approve", by: "a@h", reason: "r", gate: "promotion" }, "rollout r1 of v2 is Succeeded: nothing to approve"],
    ["abort of a rolled-back rollout", { ...progressing, phase: "RolledBack" }, { verb: "abort", by: "a@h", reason: "r" }, "rollout r1 of v2 is RolledBack: nothing to abort"],
    ["freeze while initializing", r0, { verb: "freeze", by: "a@h", reason: "r" }, "cannot freeze from Initializing (rollout r1 of v2 on fake-target); freeze is legal from Progressing, Paused"],
    ["promote --full while initializing", r0, { verb: "promoteFull", by: "a@h", reason: "r" }, "cannot promoteFull from Initializing (rollout r1 of v2 on fake-target); promoteFull is legal from Progressing, Paused, Baking"],
  ];
  for (const [name, record, input, message] of cases) {
    it(`refuses ${name}, touching nothing`, async () => {
      const store = new MemoryRecordStore(record);
      const target = new FakeTarget();
      await assert.rejects(controlRollout(store, input, { target: async () => target, plan: defaultPlan() }, { waitMs: 0 }), { name: "ControlRefusedError", message });
      assert.deepEqual([store.saved, target.calls], [[], []]);
    });
  }
});
