/**
 * Bad input, as tables, through the `canary` command's own entry point (cli/index.ts `main`,
 * in-process) on a recording backend: every malformed plan, flag and control call is refused with
 * exit 2 and the exact message, and — checked, not assumed — nothing happened: the target was
 * never opened or called, no record was written, and no query was sent (every `fetch` is
 * recorded). The cases that need a running driver are in
 * test/integration/automation/controlRunning.test.ts.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EXIT } from "../../../automation/cli/exit";
import { main } from "../../../automation/cli";
import { MAX_PLAN_BYTES } from "../../../automation/plan";
import { Lease, newRecord, RolloutRecord, transition } from "../../../automation/state";
import { RecordingBackend } from "../../helpers/fakes";

const URL = "analysis:\n  metrics: { url: 'http://127.0.0.1:9' }\n";

/** What one command did: its exit code, its output and everything it touched. */
interface Attempt {
  readonly code: number;
  readonly stderr: string[];
  readonly stdout: string[];
  readonly backend: RecordingBackend;
  /** Every URL the command fetched (Prometheus queries, webhooks). */
  readonly queries: string[];
  readonly ms: number;
}

/** Runs `canary <argv>` in-process on a recording backend holding `record`; `dir` is a fresh temporary directory. */
async function canary(argv: (dir: string) => readonly string[], record?: RolloutRecord): Promise<Attempt> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-bad-input-"));
  const backend = new RecordingBackend(path.join(dir, "incidents"), path.join(dir, "history"), record);
  const stderr: string[] = [];
  const stdout: string[] = [];
  const queries: string[] = [];
  const writes = { err: process.stderr.write.bind(process.stderr), out: process.stdout.write.bind(process.stdout) };
  const realFetch = globalThis.fetch;
  process.stderr.write = ((chunk: unknown) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
  process.stdout.write = ((chunk: unknown) => (stdout.push(String(chunk)), true)) as typeof process.stdout.write;
  globalThis.fetch = (async (input: string | URL | Request) => {
    queries.push(String(input));
    throw new Error("a query was sent");
  }) as typeof fetch;
  const start = Date.now();
  try {
    const code = await main(argv(dir), { openBackend: () => backend });
    const lines = (chunks: string[]) => chunks.join("").trimEnd().split("\n").filter((l) => l !== "");
    return { code, stderr: lines(stderr), stdout: lines(stdout), backend, queries, ms: Date.now() - start };
  } finally {
    process.stderr.write = writes.err;
    process.stdout.write = writes.out;
    globalThis.fetch = realFetch;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Asserts that nothing was contacted, called, written or queried. `opened`: what the command may have opened to read (the store). */
function assertUntouched(a: Attempt, opened: string[] = []): void {
  assert.deepEqual(
    { opened: a.backend.opened, calls: a.backend.fake.calls, saved: a.backend.memory.saved.length, queries: a.queries },
    { opened, calls: [], saved: 0, queries: [] },
  );
}

const rollout = (plan: string) => (dir: string) => ["rollout", "--target", "haproxy", "--version", "v2", "--image", "app:v2", "--plan", plan, "--json", "--cwd", dir];

/** Writes `text` as the plan and runs `canary rollout --plan` with it. */
async function rolloutWithPlan(text: string): Promise<Attempt & { file: string }> {
  let file = "";
  const a = await canary((dir) => {
    file = path.join(dir, "plan.yaml");
    fs.writeFileSync(file, text);
    return rollout(file)(dir);
  });
  return { ...a, file };
}

/** `n` entries `prefix0: value, prefix1: value…` as a YAML flow map body. */
const entries = (n: number, entry: (i: number) => string): string => Array.from({ length: n }, (_, i) => entry(i)).join(", ");

/** Nested aliases, each level ten times the last: a billion leaves if expanded. */
const ALIAS_BOMB = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ..."bcdefgh".split("").map((c, i) => `${c}: &${c} [${Array(10).fill(`*${"abcdefgh"[i]}`).join(", ")}]`)].join("\n");

describe("bad input: plans", () => {
  // [name, plan text (the Prometheus URL is added unless the text has an analysis section), exact problems]
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
    ["more than 100 steps", `steps: [${entries(101, (i) => `{weight: ${i + 1}}`)}]`, ['steps: must list at most 100 steps, got [{"weight":1},{"weight":2},{"weight":3},{"weight":4},{"weight":5},{"weight":6...']],
    ["missing weight", "steps: [{minDuration: 1m}, {weight: 100}]", ["steps[0].weight: is required"]],
    ["unknown step key", "steps: [{weight: 5, wieght: 6}, {weight: 100}]", ["steps[0].wieght: unknown key"]],
    ["unknown top-level key", "stepz: []", ["stepz: unknown key"]],
    ["duration in words", "tick: fast", ['tick: must be a duration such as 30s, 5m or 1h (or a number of seconds), got "fast"']],
    ["zero duration", "tick: 0s", ['tick: must be a positive duration, got "0s"']],
    ["negative duration", "tick: -5", ["tick: must be a positive duration, got -5"]],
    ["tick past setTimeout's limit", "tick: 1e9", ["tick: must be ≤ 1h, got 1000000000"]],
    ["tick under a second", "tick: 500ms", ['tick: must be ≥ 1s, got "500ms"']],
    ["tick longer than a judged step's minimum", "steps: [{weight: 5, minDuration: 30s}, {weight: 50, minDuration: 2m}, {weight: 100}]\ntick: 1m", ["steps[0].minDuration: must be ≥ tick (1m), got 30s"]],
    ["minDuration over a day", "steps: [{weight: 5, minDuration: 25h, maxDuration: 100h}, {weight: 100}]", ['steps[0].minDuration: must be ≤ 24h, got "25h"']],
    ["maxDuration over a week", "steps: [{weight: 5, maxDuration: 1e7}, {weight: 100}]", ["steps[0].maxDuration: must be ≤ 168h, got 10000000"]],
    ["warm-up over a week", "steps: [{weight: 5, warmup: 200h}, {weight: 100}]", ['steps[0].warmup: must be ≤ 168h, got "200h"']],
    ["warm-up as long as the step", "steps: [{weight: 5, maxDuration: 2m, warmup: 2m}, {weight: 100}]", ["steps[0].warmup: must be < maxDuration (2m), got 2m"]],
    ["minDuration over maxDuration", "steps: [{weight: 5, minDuration: 10m, maxDuration: 5m}, {weight: 100}]", ["steps[0].maxDuration: must be ≥ minDuration (10m), got 5m"]],
    ["inconclusive unknown", "inconclusive: wait", ['inconclusive: must be one of hold, rollback, got "wait"']],
    ["rollback mode unknown", "rollback: { mode: nuke }", ['rollback.mode: must be one of keepCanary, restore, got "nuke"']],
    ["unknown rollback key", "rollback: { mode: restore, graceful: true }", ["rollback.graceful: unknown key"]],
    ["dryRun a string", "dryRun: 'yes'", ['dryRun: must be true or false, got "yes"']],
    ["onSignal unknown", "onSignal: ignore", ['onSignal: must be one of rollback, pause, got "ignore"']],
    ["onResume unknown", "onResume: later", ['onResume: must be one of resume, rollback, got "later"']],
    ["gate on the final step", "steps: [{weight: 5}, {weight: 100}]\ngates: { beforeSteps: [1] }", ["gates.beforeSteps[0]: must name a judged step (0–0), got 1"]],
    ["unsorted gates", "gates: { beforeSteps: [2, 1] }", ["gates.beforeSteps[1]: must be greater than gates.beforeSteps[0] (2): sorted, no duplicates, got 1"]],
    ["duplicate gates", "gates: { beforeSteps: [1, 1] }", ["gates.beforeSteps[1]: must be greater than gates.beforeSteps[0] (1): sorted, no duplicates, got 1"]],
    ["negative gate", "gates: { beforeSteps: [-1] }", ["gates.beforeSteps[0]: must be ≥ 0, got -1"]],
    ["unknown gates key", "gates: { beforeStep: [1] }", ["gates.beforeStep: unknown key"]],
    ["beforePromotion a string", "gates: { beforePromotion: 'true' }", ['gates.beforePromotion: must be true or false, got "true"']],
    ["a misspelt judge setting at the top of the judge", "analysis: { judge: { maxOutageSeconds: 4 } }", ["analysis.judge.maxOutageSeconds: unknown key"]],
    ["an unknown key in analysis.judge.noData", "analysis: { judge: { noData: { maxOutage: 30 } } }", ["analysis.judge.noData.maxOutage: unknown key"]],
    ["an unknown key in analysis.judge.guardrails", "analysis: { judge: { guardrails: { maxErrorRat: 0.1 } } }", ["analysis.judge.guardrails.maxErrorRat: unknown key"]],
    ["an unknown key in analysis.judge.metrics[i]", "analysis: { judge: { metrics: [{ name: errors, source: { kind: errors }, margn: 1.2 }] } }", ["analysis.judge.metrics[0].margn: unknown key"]],
    ["an unknown key in analysis.judge.metrics[i].source", "analysis: { judge: { metrics: [{ name: slow, source: { kind: latencyAbove, le: 0.5, quantile: 0.99 } }] } }", ["analysis.judge.metrics[0].source.quantile: unknown key"]],
    ["an unknown key in analysis.judge.guardrails.latency[i]", "analysis: { judge: { guardrails: { latency: [{ le: 0.5, maxFractoin: 0.01 }] } } }", ["analysis.judge.guardrails.latency[0].maxFractoin: unknown key"]],
    ["an unknown key three levels into the judge", "analysis: { judge: { dispersion: { versionNoise: { assumedLogSD: 0.5 } } } }", ["analysis.judge.dispersion.versionNoise.assumedLogSD: unknown key"]],
    ["selector for selectors in analysis.metrics", "analysis: { metrics: { url: 'http://127.0.0.1:9', selector: { service: checkout } } }", ["analysis.metrics.selector: unknown key"]],
    ["an unknown key in analysis.metrics.requests", "analysis: { metrics: { url: 'http://127.0.0.1:9', requests: { metrc: http_requests_total } } }", ["analysis.metrics.requests.metrc: unknown key"]],
    ["an unknown key in analysis.metrics.counts[i]", "analysis: { metrics: { url: 'http://127.0.0.1:9', counts: [{ key: orders, metric: orders_total, rate: true }] } }", ["analysis.metrics.counts[0].rate: unknown key"]],
    ["an unknown key in analysis", "analysis: { judges: {}, metrics: { url: 'http://127.0.0.1:9' } }", ["analysis.judges: unknown key"]],
    ["judge not a map", "analysis: { judge: 5 }", ["analysis.judge: must be a map of judge settings, got 5"]],
    ["a judge setting out of range", "analysis: { judge: { alpha: 2 } }", ["analysis.judge.alpha: must be < 1, got 2"]],
    ["a judge outage limit over a day", "analysis: { judge: { noData: { maxOutageSeconds: 1e9 } } }", ["analysis.judge.noData.maxOutageSeconds: must be ≤ 86400, got 1000000000"]],
    ["a judge window of a million ticks", "analysis: { judge: { guardrails: { windowTicks: 1000000 } } }", ["analysis.judge.guardrails.windowTicks: must be ≤ 1000, got 1000000"]],
    ["a judge minimum of 10¹² requests", "analysis: { judge: { minCanaryRequestsToPromote: 1e12 } }", ["analysis.judge.minCanaryRequestsToPromote: must be ≤ 1000000000, got 1000000000000"]],
    ["21 judge metrics", `analysis: { judge: { metrics: [${entries(21, (i) => `{ name: m${i}, source: { kind: errors } }`)}] } }`, [
      'analysis.judge.metrics: must list at most 20 entries, got [{"name":"m0","source":{"kind":"errors"}},{"name":"m1","source":{"kind":"erro...',
    ]],
    ["a judge cross-field error", "analysis: { judge: { metrics: [{ name: e, source: { kind: errors }, margin: 2, allowedRatio: 1.5 }] } }", ["analysis.judge.metrics[0].margin: must be < allowedRatio (1.5), got 2"]],
    ["hostile label value", "analysis: { metrics: { url: 'http://127.0.0.1:9', selectors: { service: 'x\"} or vector(1) #' } } }", [
      'analysis.metrics.selectors.service: must be 1–256 characters from [A-Za-z0-9._~:@+-/ ], got "x\\"} or vector(1) #"',
    ]],
    ["label value with a newline", "analysis:\n  metrics: { url: 'http://127.0.0.1:9', selectors: { service: \"a\\nb\" } }", ['analysis.metrics.selectors.service: must be 1–256 characters from [A-Za-z0-9._~:@+-/ ], got "a\\nb"']],
    ["21 selectors", `analysis: { metrics: { url: 'http://127.0.0.1:9', selectors: { ${entries(21, (i) => `l${i}: v`)} } } }`, [
      'analysis.metrics.selectors: must have at most 20 entries, got {"l0":"v","l1":"v","l2":"v","l3":"v","l4":"v","l5":"v","l6":"v","l7":"v","l8"...',
    ]],
    ["a header value with CR/LF", "analysis: { metrics: { url: 'http://127.0.0.1:9', headers: { Authorization: \"Bearer x\\r\\nX-Evil: 1\" } } }", [
      'analysis.metrics.headers.Authorization: must be 1–4096 printable characters without quotes or backslashes, got "Bearer x\\r\\nX-Evil: 1"',
    ]],
    ["a header name with a space", "analysis: { metrics: { url: 'http://127.0.0.1:9', headers: { 'X Tenant': a } } }", ["analysis.metrics.headers[\"X Tenant\"]: must be an HTTP header name: letters, digits and '-', got \"X Tenant\""]],
    ["a query timeout over a minute", "analysis: { metrics: { url: 'http://127.0.0.1:9', timeoutMs: 1e9 } }", ["analysis.metrics.timeoutMs: must be ≤ 60000, got 1000000000"]],
    ["an unknown metrics provider", "analysis: { metrics: { type: datadog, url: 'http://127.0.0.1:9' } }", ['analysis.metrics.type: must be one of prometheus, got "datadog"']],
    ["a Prometheus URL that is not http", "analysis: { metrics: { url: 'file:///etc/passwd' } }", ['analysis.metrics.url: must be an http(s) URL, got "file:///etc/passwd"']],
    ["a notification channel URL in the plan", "notifications: { channels: [{ type: slack, url: 'https://hooks.slack.com/services/T0/B0/XXXXSECRET' }] }", [
      "notifications.channels[0].url: unknown key",
      "notifications.channels[0].urlEnv: is required (or urlConfig): the environment variable holding the webhook URL",
    ]],
    ["unknown channel type", "notifications: { channels: [{ type: teams, urlEnv: T }] }", ['notifications.channels[0].type: must be one of slack, webhook, email, pagerduty, grafana, got "teams"']],
    ["a notification timeout over 5 minutes", "notifications: { channels: [{ type: webhook, urlEnv: T, timeout: 1h }] }", ['notifications.channels[0].timeout: must be ≤ 5m, got "1h"']],
    ["a notification queue of a billion", "notifications: { queueSize: 1e9 }", ["notifications.queueSize: must be ≤ 10000, got 1000000000"]],
    ["an unknown key in notifications.retry", "notifications: { retry: { attempt: 3 } }", ["notifications.retry.attempt: unknown key"]],
    ["not YAML", "steps: [", ["not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 9"]],
    ["a duplicate key", "tick: 10s\ndryRun: false\ntick: 20s\n", ["tick: duplicate key (line 3, column 1)"]],
    ["a duplicate key deep inside", "analysis:\n  judge:\n    noData: { maxOutageSeconds: 60 }\n    noData: { maxOutageSeconds: 90 }\n", ["analysis.judge.noData: duplicate key (line 4, column 5)"]],
    ["a duplicate key in a step", "steps:\n  - weight: 5\n    weight: 6\n  - weight: 100\n", ["steps[0].weight: duplicate key (line 3, column 5)"]],
    ["a duplicate key in JSON", '{"tick": "10s", "tick": "20s"}', ["tick: duplicate key (line 1, column 17)"]],
    ["a YAML alias bomb", ALIAS_BOMB, ["not valid YAML: Excessive alias count indicates a resource exhaustion attack"]],
    ["an alias to nothing", "tick: *later\n", ["not valid YAML: Unresolved alias (the anchor must be set before the alias): later"]],
    ["an unknown YAML tag", "tick: !duration 30s\n", ["not valid YAML: Unresolved tag: !duration at line 1, column 7"]],
    ["lists nested 20 000 deep (the parser would crash)", "steps: " + "[".repeat(20_000) + "]".repeat(20_000), ["not valid YAML: nested more than 64 levels deep"]],
    ["block lists nested past the parser's stack", "steps:\n" + "- ".repeat(20_000) + "1\n", ["not valid YAML: nested too deeply"]],
    ["a key with a terminal escape", 'stepz: 1\n"\\e[2Jcleared": 1\n', ["stepz: unknown key", "\\u001b[2Jcleared: unknown key"]],
    ["a value with DEL and C1 characters", 'inconclusive: "hold\\x7f\\x85\\x9b31m"', ['inconclusive: must be one of hold, rollback, got "hold\\u007f\\u0085\\u009b31m"']],
    ["a list, not a map", "- 1\n- 2", ["must be a map of plan settings, got [1,2]"]],
    ["a huge file", `# ${"x".repeat(MAX_PLAN_BYTES)}\n`, [`is larger than ${MAX_PLAN_BYTES} bytes; a plan may be at most ${MAX_PLAN_BYTES} bytes (1 MiB)`]],
  ];
  for (const [name, text, expected] of cases) {
    it(`rejects ${name}, applying nothing`, async () => {
      const standalone = /analysis:/.test(text) || /^(not YAML|a huge file|a list, not a map|a YAML alias bomb|lists nested|block lists nested|a duplicate key in JSON)/.test(name);
      const a = await rolloutWithPlan(standalone ? text : `${text}\n${URL}`);
      // Refused before the command asked for the target or the store: nothing contacted, nothing saved, nothing queried.
      assertUntouched(a);
      assert.deepEqual([a.code, ...a.stderr], [EXIT.invalidInput, `canary: PlanError: invalid plan ${a.file}:`, ...expected]);
    });
  }
  it("has at least 60 cases", () => assert.ok(cases.length >= 60, String(cases.length)));

  it("reads at most the limit + 1 bytes of a plan, whatever size the file claims: --plan /dev/zero", async () => {
    const a = await canary(rollout("/dev/zero"));
    assertUntouched(a);
    assert.deepEqual([a.code, ...a.stderr], [EXIT.invalidInput, "canary: PlanError: invalid plan /dev/zero:", `is larger than ${MAX_PLAN_BYTES} bytes; a plan may be at most ${MAX_PLAN_BYTES} bytes (1 MiB)`]);
  });

  it("a plan that cannot be read: a directory, a missing file", async () => {
    const dirPlan = await canary((dir) => rollout(dir)(dir));
    assertUntouched(dirPlan);
    assert.equal(dirPlan.code, EXIT.invalidInput);
    assert.match(dirPlan.stderr.join("\n"), /^canary: InputError: cannot read the plan \/tmp\/canary-bad-input-\w+: EISDIR: illegal operation on a directory, read$/);
    const missing = await canary((dir) => rollout(path.join(dir, "nope.yaml"))(dir));
    assertUntouched(missing);
    assert.equal(missing.code, EXIT.invalidInput);
    assert.match(missing.stderr.join("\n"), /^canary: InputError: cannot read the plan \/tmp\/canary-bad-input-\w+\/nope\.yaml: ENOENT: no such file or directory, open '.*nope\.yaml'$/);
    // The file system's message quotes the name as given: the terminal gets it escaped.
    const hostile = await canary((dir) => rollout(path.join(dir, "x\u001b[2J\u009b"))(dir));
    assertUntouched(hostile);
    assert.match(hostile.stderr.join("\n"), /^canary: InputError: cannot read the plan \S+\/x\\u001b\[2J\\u009b: ENOENT: no such file or directory, open '\S+\/x\\u001b\[2J\\u009b'$/);
  });
});

describe("bad input: flags of canary rollout", () => {
  const cases: [string, string[], string][] = [
    ["--service with quotes", ["--service", 'shop"'], '--service: must be a DNS label: 1–63 lowercase letters, digits or \'-\', starting with a letter and not ending with \'-\', got "shop\\""'],
    ["--service with braces", ["--service", "shop{a}"], '--service: must be a DNS label: 1–63 lowercase letters, digits or \'-\', starting with a letter and not ending with \'-\', got "shop{a}"'],
    ["--service with a newline", ["--service", "shop\nINFO fake line"], '--service: must be a DNS label: 1–63 lowercase letters, digits or \'-\', starting with a letter and not ending with \'-\', got "shop\\nINFO fake line"'],
    ["--service too long", ["--service", "s".repeat(64)], `--service: must be a DNS label: 1–63 lowercase letters, digits or '-', starting with a letter and not ending with '-', got "${"s".repeat(64)}"`],
    ["--version with a space", ["--version", "v 2"], '--version: must be 1–63 letters, digits, \'.\', \'_\' or \'-\', starting and ending with a letter or digit, got "v 2"'],
    ["--image with whitespace", ["--image", "app:v2 --privileged"], '--image: must be a container image reference without whitespace, got "app:v2 --privileged"'],
    ["--version with a C1 control character", ["--version", "v2\u009b"], '--version: must be 1–63 letters, digits, \'.\', \'_\' or \'-\', starting and ending with a letter or digit, got "v2\\u009b"'],
  ];
  for (const [name, flags, message] of cases) {
    it(`refuses ${name}, applying nothing`, async () => {
      const a = await canary((dir) => [...rollout(path.join(dir, "none"))(dir).filter((_, i, all) => all[i] !== "--plan" && all[i - 1] !== "--plan"), ...flags]);
      assertUntouched(a);
      assert.deepEqual([a.code, ...a.stderr], [EXIT.invalidInput, `canary: InputError: ${message}`]);
    });
  }
});

describe("bad input: control calls", () => {
  const T0 = Date.UTC(2026, 0, 1);
  const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
  /** A driver on another machine whose lease is live for an hour from now. */
  const running: Lease = { holder: "ci@build-7:4242", host: "build-7", pid: 4242, acquiredAt: new Date(Date.now()).toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString() };
  const base = newRecord({ id: "r1", stack: "fake-target", target: "fake", version: "v2", image: "app:v2", steps: [5, 25, 100], gates: ["step 1", "promotion"], at: iso(0) });
  const initializing = transition(base, { type: "start", at: iso(1), reason: "go" });
  const progressing: RolloutRecord = { ...transition(initializing, { type: "advance", at: iso(2), reason: "s", step: 0, weight: 5 }), snapshot: { type: "fake", weight: 0 } };
  const live = { ...progressing, lease: running };
  const legacy: RolloutRecord = { ...live, gates: undefined };
  const rolledBack: RolloutRecord = { ...progressing, phase: "RolledBack" };
  const changingWeight: RolloutRecord = { ...progressing, intent: { action: "setWeight", step: 1, weight: 25, at: iso(3) } };

  const judgedMessage = "its plan judges steps 0–1 (weights 5, 25); the final 100 is the promotion (`--promotion`)";
  // [name, argv after the verb, record, exact stderr after `canary: `, whether the store was opened]
  const cases: [string, string[], RolloutRecord | undefined, string, boolean][] = [
    ["approve --step 99 on a running rollout with two judged steps", ["approve", "--step", "99"], live, `ControlRefusedError: cannot approve step 99 of rollout r1: ${judgedMessage}`, true],
    ["approve --step 2 (the promotion step)", ["approve", "--step", "2"], live, `ControlRefusedError: cannot approve step 2 of rollout r1: ${judgedMessage}`, true],
    ["approve --step 99 of a record from before gates were recorded", ["approve", "--step", "99"], legacy, `ControlRefusedError: cannot approve step 99 of rollout r1: ${judgedMessage}`, true],
    ["approve of a gate the plan does not have", ["approve", "--step", "0"], live, "ControlRefusedError: cannot approve step 0 of rollout r1: its plan has no gate before step 0 (its gates: step 1, promotion)", true],
    ["approve --promotion of a plan without that gate", ["approve", "--promotion"], { ...live, gates: ["step 1"] }, "ControlRefusedError: cannot approve promotion of rollout r1: its plan has no gate before promotion (its gates: step 1)", true],
    ["approve of a stopped rollout's missing gate", ["approve", "--step", "0"], progressing, "ControlRefusedError: cannot approve step 0 of rollout r1: its plan has no gate before step 0 (its gates: step 1, promotion)", true],
    ["approve with neither --step nor --promotion", ["approve"], live, "InputError: approve: give exactly one of --step <n> and --promotion", false],
    ["approve with both --step and --promotion", ["approve", "--step", "1", "--promotion"], live, "InputError: approve: give exactly one of --step <n> and --promotion", false],
    ["approve --step abc", ["approve", "--step", "abc"], live, 'InputError: --step: must be a step index (0, 1, …), got "abc"', false],
    ["approve --step 1000", ["approve", "--step", "1000"], live, 'InputError: --step: must be a step index (0, 1, …), got "1000"', false],
    ["approve --step 1.5", ["approve", "--step", "1.5"], live, 'InputError: --step: must be a step index (0, 1, …), got "1.5"', false],
    ["--who with a quote", ["pause", "--who", 'bob"'], live, 'InputError: --who: must be 1–256 characters without quotes, braces, backslashes, \'$\', \'[[\', control or line-break characters, got "bob\\""', false],
    ["--who with a newline", ["pause", "--who", "bob\nroot"], live, 'InputError: --who: must be 1–256 characters without quotes, braces, backslashes, \'$\', \'[[\', control or line-break characters, got "bob\\nroot"', false],
    ["--who empty", ["pause", "--who", ""], live, 'InputError: --who: must be 1–256 characters without quotes, braces, backslashes, \'$\', \'[[\', control or line-break characters, got ""', false],
    ["--who of 300 characters", ["pause", "--who", "b".repeat(300)], live, `InputError: --who: must be 1–256 characters without quotes, braces, backslashes, '$', '[[', control or line-break characters, got "${"b".repeat(76)}...`, false],
    ["--reason with a terminal escape", ["abort", "--reason", "ok\u001b[2J"], live, 'InputError: --reason: must be at most 500 characters on one line, without control characters, got "ok\\u001b[2J"', false],
    ["--reason with DEL and a C1 character", ["pause", "--reason", "ok\u007f\u0085"], live, 'InputError: --reason: must be at most 500 characters on one line, without control characters, got "ok\\u007f\\u0085"', false],
    ["--reason with a line break", ["pause", "--reason", "line one\r\nline two"], live, 'InputError: --reason: must be at most 500 characters on one line, without control characters, got "line one\\r\\nline two"', false],
    ["--reason of 501 characters", ["pause", "--reason", "r".repeat(501)], live, `InputError: --reason: must be at most 500 characters on one line, without control characters, got "${"r".repeat(76)}...`, false],
    ["--wait in words", ["pause", "--wait", "soon"], live, 'InputError: --wait: must be a duration such as 30s, 5m or 1h (or a number of seconds), got "soon"', false],
    ["--wait 0s", ["pause", "--wait", "0s"], live, 'InputError: --wait: must be a positive duration, got "0s"', false],
    ["--wait over an hour", ["abort", "--wait", "2h"], live, 'InputError: --wait: must be ≤ 1h, got "2h"', false],
    ["abort of a rolled-back rollout", ["abort"], rolledBack, "ControlRefusedError: rollout r1 of v2 is RolledBack: nothing to abort", true],
    ["pause of a succeeded rollout", ["pause"], { ...progressing, phase: "Succeeded" }, "ControlRefusedError: rollout r1 of v2 is Succeeded: nothing to pause", true],
    ["pause with no rollout recorded", ["pause"], undefined, "ControlRefusedError: no rollout recorded in memory: nothing to pause", true],
    ["resume of a progressing rollout", ["resume"], live, "ControlRefusedError: cannot resume from Progressing (rollout r1 of v2 on fake-target); resume is legal from Paused", true],
    ["unfreeze of a progressing rollout", ["unfreeze"], live, "ControlRefusedError: cannot unfreeze from Progressing (rollout r1 of v2 on fake-target); unfreeze is legal from Frozen", true],
    ["freeze while initializing", ["freeze"], initializing, "ControlRefusedError: cannot freeze from Initializing (rollout r1 of v2 on fake-target); freeze is legal from Progressing, Paused", true],
    ["promote --full while initializing", ["promote", "--full"], initializing, "ControlRefusedError: cannot promoteFull from Initializing (rollout r1 of v2 on fake-target); promoteFull is legal from Progressing, Paused, Baking", true],
    ["pause while the weight is being changed, with no driver", ["pause"], changingWeight, "ControlRefusedError: cannot pause rollout r1 while its canary weight is being changed to 25 (step 1); run `canary rollout` to resume it, or `canary abort`", true],
    ["retry of a progressing rollout", ["retry"], live, "ControlRefusedError: retry: rollout r1 of v2 is Progressing(step 0, weight 5); only a rolled-back rollout can be retried", true],
  ];
  for (const [name, args, record, message, readsStore] of cases) {
    it(`refuses ${name}, touching nothing`, async () => {
      const a = await canary((dir) => [...args, "--target", "haproxy", "--cwd", dir], record);
      assertUntouched(a, readsStore ? ["store"] : []);
      assert.deepEqual([a.code, ...a.stderr], [EXIT.invalidInput, `canary: ${message}`]);
    });
  }
  it("has at least 20 cases", () => assert.ok(cases.length >= 20, String(cases.length)));

  it("a bad --plan of a control call is refused before the record is read", async () => {
    const a = await canary((dir) => {
      const file = path.join(dir, "plan.yaml");
      fs.writeFileSync(file, "tick: 1e9\n");
      return ["abort", "--plan", file, "--target", "haproxy", "--cwd", dir];
    }, live);
    assertUntouched(a);
    assert.equal(a.code, EXIT.invalidInput);
    assert.deepEqual(a.stderr.slice(1), ["tick: must be ≤ 1h, got 1000000000"]);
  });
});
