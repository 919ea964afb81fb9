import * as assert from "node:assert/strict";
import { formatProblem } from "../../../components/validation/problems";
import { defaultPlan, judgedSteps, parsePlan, PlanError } from "../../../automation/plan";

/** The problems of an invalid plan, as `path: message` lines. */
function problems(text: string): string[] {
  try {
    parsePlan(text);
  } catch (e) {
    if (e instanceof PlanError) return e.problems.map(formatProblem);
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
  - { weight: 25, minDuration: 10000ms }
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
      { weight: 25, minDurationSeconds: 10, maxDurationSeconds: 600 },
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
    ["a min above the max", "steps: [{weight: 5, minDuration: 10m, maxDuration: 5m}, {weight: 100}]", ["steps[0].maxDuration: must be ≥ minDuration (10m), got 5m"]],
    ["a bad duration", "steps: [{weight: 5, minDuration: 5 minutes}, {weight: 100}]", ['steps[0].minDuration: must be a duration such as 30s, 5m or 1h (or a number of seconds), got "5 minutes"']],
    ["a negative tick", "tick: -1", ["tick: must be a positive duration, got -1"]],
    ["a step shorter than a tick", "tick: 2m\nsteps: [{weight: 5, minDuration: 30s, maxDuration: 1m}, {weight: 100}]", ["steps[0].minDuration: must be ≥ tick (2m), got 30s"]],
    ["a judged step shorter than the tick (the final step's durations are not checked)", "tick: 15m\nsteps: [{weight: 5, minDuration: 15m, maxDuration: 1h}, {weight: 50}, {weight: 100}]", ["steps[1].minDuration: must be ≥ tick (15m), got 1m"]],
    ["an unknown inconclusive action", "inconclusive: wait", ['inconclusive: must be one of hold, rollback, got "wait"']],
    ["an unknown rollback mode", "rollback: { mode: delete }", ['rollback.mode: must be one of keepCanary, restore, got "delete"']],
    ["a non-boolean dry run", "dryRun: yes", ['dryRun: must be true or false, got "yes"']],
    ["unknown keys", "step: []\nrollback: { mode: restore, keep: true }", ["rollback.keep: unknown key", "step: unknown key"]],
    ["a judge setting out of range", "analysis: { judge: { alpha: 2 } }", ["analysis.judge.alpha: must be < 1, got 2"]],
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

describe("plan: blue/green, the bake, hooks and the alert gate", () => {
  it("a blue/green plan is one step, the switch to 100, with its bake and scaleDownDelay", () => {
    const plan = parsePlan("strategy: blueGreen\nbake: { duration: 5m }\n");
    assert.deepEqual(plan.steps, [{ weight: 100, minDurationSeconds: 0, maxDurationSeconds: 0 }]);
    assert.equal(plan.strategy, "blueGreen");
    assert.deepEqual(plan.blueGreen, { scaleDownDelaySeconds: 30 });
    assert.deepEqual(plan.bake, { durationSeconds: 300, maxDurationSeconds: 600, maxRatio: 2, referenceSeconds: 600 });
    assert.deepEqual(parsePlan("strategy: blueGreen\nblueGreen: { scaleDownDelay: 10m }\nbake: { duration: 20m, maxRatio: 1.5, reference: 1h }\n").bake, { durationSeconds: 1200, maxDurationSeconds: 2400, maxRatio: 1.5, referenceSeconds: 3600 });
  });

  it("a canary's bake is optional; without one it promotes after its last step as before", () => {
    assert.equal(parsePlan("").bake, undefined);
    assert.deepEqual(parsePlan("bake: { duration: 10m, maxDuration: 30m }").bake, { durationSeconds: 600, maxDurationSeconds: 1800, maxRatio: 2, referenceSeconds: 600 });
  });

  it("hooks get their defaults: a hook before a change rolls back on failure, one after the end is only recorded", () => {
    const plan = parsePlan(`
hooks:
  - { name: smoke, at: beforeStep, steps: [1], command: "npm run smoke -- $CANARY_OVERRIDE_URL", timeout: 2m, retries: 2 }
  - { name: cab, at: preRollout, http: { urlEnv: CAB_URL, method: POST, body: '{"version":"\${CANARY_VERSION}"}', expectStatus: [200, 201] } }
  - { name: announce, at: afterPromotion, http: { url: "https://chat.example.com/deploys?v=\${CANARY_VERSION}", headersEnv: { Authorization: CHAT_TOKEN } } }
  - { name: page, at: onRollback, command: [./page-oncall] }
`);
    assert.deepEqual(plan.hooks.map((h) => [h.name, h.at, h.onFailure, h.timeoutSeconds, h.retries]), [
      ["smoke", "beforeStep", "rollback", 120, 2],
      ["cab", "preRollout", "rollback", 30, 0],
      ["announce", "afterPromotion", "ignore", 30, 0],
      ["page", "onRollback", "ignore", 30, 0],
    ]);
    assert.deepEqual(plan.hooks[1].http, { urlEnv: "CAB_URL", method: "POST", headers: {}, headersEnv: {}, headersConfig: {}, body: '{"version":"${CANARY_VERSION}"}', expectStatus: [200, 201] });
    // With a bake, the previous version is still there after the switch: an afterPromotion hook may roll back.
    assert.equal(parsePlan("bake: { duration: 1m }\nhooks: [{ name: post, at: afterPromotion, command: [./smoke] }]").hooks[0].onFailure, "rollback");
  });

  it("the alert gate watches the service's generated alerts, or a selector", () => {
    const generated = parsePlan("alerts: {}\nanalysis: { metrics: { selectors: { service: checkout } } }").alerts!;
    assert.deepEqual(generated.matchers, [
      { label: "alertname", op: "=~", value: "CanaryHighErrorRate|CanaryErrorRateHigherThanStable|CanaryLatencyHigherThanStable|CanaryPodCrashLooping" },
      { label: "service", op: "=", value: "checkout" },
    ]);
    assert.deepEqual([generated.onFiring, generated.maxOutageSeconds], ["rollback", 120]);
    const selected = parsePlan(`alerts: { selector: '{team="payments", severity=~"critical|page"}', onFiring: hold, url: "http://prometheus:9090" }`).alerts!;
    assert.deepEqual(selected.matchers, [
      { label: "team", op: "=", value: "payments" },
      { label: "severity", op: "=~", value: "critical|page" },
    ]);
    assert.deepEqual([selected.onFiring, selected.url], ["hold", "http://prometheus:9090"]);
  });

  const invalid: [string, string, string[]][] = [
    ["steps in a blue/green plan", "strategy: blueGreen\nbake: { duration: 1m }\nsteps: [{weight: 5}, {weight: 100}]", ["steps: a blue/green plan switches all traffic at once and takes no steps (its judging is the bake); remove steps, or use strategy: canary"]],
    ["a blue/green plan without a bake", "strategy: blueGreen", ["bake: is required with strategy: blueGreen: green is judged during the bake, against blue's own rates from before the switch"]],
    ["blueGreen settings on a canary", "blueGreen: { scaleDownDelay: 1m }", ["blueGreen: is for strategy: blueGreen; this plan's strategy is canary"]],
    ["a step gate in a blue/green plan", "strategy: blueGreen\nbake: { duration: 1m }\ngates: { beforeSteps: [0] }", ["gates.beforeSteps: a blue/green plan has no steps; gates.beforePromotion is the approval before the switch"]],
    ["an unknown strategy", "strategy: rainbow", ['strategy: must be one of canary, blueGreen, got "rainbow"']],
    ["a bake without a duration", "bake: {}", ["bake.duration: is required"]],
    ["a bake whose limit is below its duration", "bake: { duration: 20m, maxDuration: 10m }", ["bake.maxDuration: must be ≥ duration (20m), got 10m"]],
    ["a ratio of 1", "bake: { duration: 1m, maxRatio: 1 }", ["bake.maxRatio: must be > 1, got 1"]],
    ["a hook with both a command and a call", "hooks: [{ name: x, at: preRollout, command: [a], http: { url: 'https://e.example.com' } }]", ['hooks[0].command: exactly one of command and http is required, got ["a"]']],
    ["a hook with neither", "hooks: [{ name: x, at: preRollout }]", ["hooks[0].command: exactly one of command and http is required"]],
    ["an unknown hook point", "hooks: [{ name: x, at: whenever, command: [a] }]", ['hooks[0].at: must be one of preRollout, beforeStep, beforePromotion, afterPromotion, onRollback, got "whenever"']],
    ["two hooks of one name", "hooks: [{ name: x, at: preRollout, command: [a] }, { name: x, at: onRollback, command: [b] }]", ['hooks[1].name: is used by hooks[0] already, got "x"']],
    ["steps on a hook that is not beforeStep", "hooks: [{ name: x, at: preRollout, steps: [0], command: [a] }]", ["hooks[0].steps: is for beforeStep hooks; this hook runs at preRollout, got [0]"]],
    ["a hook before a step the plan does not judge", "hooks: [{ name: x, at: beforeStep, steps: [3], command: [a] }]", ["hooks[0].steps[0]: must name a judged step (0–2), got 3"]],
    ["a beforeStep hook in a blue/green plan", "strategy: blueGreen\nbake: { duration: 1m }\nhooks: [{ name: x, at: beforeStep, command: [a] }]", ["hooks[0].at: a blue/green plan has no steps: pre-traffic checks run at beforePromotion (green reachable through the override route only)"]],
    ["an onRollback hook that would roll back", "hooks: [{ name: x, at: onRollback, command: [a], onFailure: rollback }]", ['hooks[0].onFailure: must be ignore: an onRollback hook runs once the rollback is done, got "rollback"']],
    [
      "an afterPromotion hook that would roll back without a bake",
      "hooks: [{ name: x, at: afterPromotion, command: [a], onFailure: block }]",
      ['hooks[0].onFailure: must be ignore: without a bake, afterPromotion runs once the previous version is gone (add a bake to roll back on it), got "block"'],
    ],
    ["a pasted secret URL", "hooks: [{ name: x, at: preRollout, http: { url: 'https://user:token@ci.example.com/hook' } }]", ["hooks[0].http.url: must be an http(s) URL without credentials (a secret URL goes in urlEnv or urlConfig)"]],
    ["a URL in urlEnv", "hooks: [{ name: x, at: preRollout, http: { urlEnv: 'https://ci.example.com/hook' } }]", ["hooks[0].http.urlEnv: must be the name of an environment variable such as DEPLOY_HOOK_URL (the value goes in the environment, not in the plan)"]],
    ["two URLs", "hooks: [{ name: x, at: preRollout, http: { url: 'https://a.example.com', urlEnv: HOOK } }]", ["hooks[0].http.urlEnv: must not be set together with url: the URL comes from one place"]],
    ["an unknown variable", "hooks: [{ name: x, at: preRollout, http: { url: 'https://a.example.com/${CANARY_PASSWORD}' } }]", ["hooks[0].http.url: unknown variable ${CANARY_PASSWORD}; known: CANARY_STACK, CANARY_ROLLOUT, CANARY_VERSION, CANARY_IMAGE, CANARY_STABLE_VERSION, CANARY_HOOK_POINT, CANARY_STEP, CANARY_WEIGHT, CANARY_OVERRIDE_URL, CANARY_OVERRIDE_HEADER, CANARY_OVERRIDE_VALUE"]],
    ["a retry count out of range", "hooks: [{ name: x, at: preRollout, command: [a], retries: 11 }]", ["hooks[0].retries: must be ≤ 10, got 11"]],
    ["an alert gate that names no service", "alerts: {}", ["alerts.service: is required (or alerts.selector, or analysis.metrics.selectors.service): whose generated alerts to watch"]],
    ["a selector and a service", "alerts: { service: checkout, selector: '{team=\"x\"}' }", ["alerts.service: must not be set together with alerts.selector: the selector chooses the alerts"]],
    ["a selector that is not matchers", "alerts: { selector: 'team=x' }", ['alerts.selector: must be label matchers in braces, such as {team="payments", severity="critical"}, got "team=x"']],
    ["a selector with injected PromQL", "alerts: { selector: '{team=\"x\"} or vector(1)' }", ['alerts.selector: must be label matchers in braces, such as {team="payments", severity="critical"}, got "{team=\\"x\\"} or vector(1)"']],
    ["a selector on alertstate", "alerts: { selector: '{alertstate=\"pending\"}' }", ['alerts.selector: must not match alertstate: the gate asks for firing alerts itself, got "{alertstate=\\"pending\\"}"']],
    ["an unknown alert action", "alerts: { service: checkout, onFiring: page }", ['alerts.onFiring: must be one of rollback, hold, got "page"']],
  ];
  for (const [name, text, expected] of invalid) {
    it(`rejects ${name}`, () => assert.deepEqual(problems(text), expected));
  }
});
