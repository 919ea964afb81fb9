/**
 * Faults on the real sandbox (HAProxy, Prometheus, the sample service under load), through the
 * CLI as a pipeline runs it: two drivers on one rollout, a driver SIGKILLed mid-step and resumed
 * by the next run, an abort from another process, Prometheus killed mid-step. The tests share
 * one sandbox (reset between them: weight 0, no faults, no record), except the two that kill
 * HAProxy or Prometheus, which get one each; every process a test starts is stopped.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runLoad } from "../../../local/loadgen";
import { Sandbox, startSandbox } from "../../../local/sandbox";
import { resetSandbox } from "../../../local/sandboxRollout";
import { checkRecord, RolloutRecord } from "../../../automation/state";
import { Receiver } from "../../helpers/receiver";
import { HAPROXY, needs, PROMETHEUS } from "../../helpers/tools";

const CLI = path.join(__dirname, "../../../automation/cli/index.ts");

interface Run {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), CLI, ...args], { cwd, env: { ...process.env, NODE_OPTIONS: "", ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => (clearTimeout(timer), resolve({ code, signal, stdout, stderr }))),
  );
  return { child, done };
}

/** Polls the record file until `f` holds, bounded. */
async function until(file: string, f: (r: RolloutRecord) => boolean, what: string, timeoutMs = 40_000): Promise<RolloutRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = checkRecord(JSON.parse(fs.readFileSync(file, "utf8")), file);
      if (f(r)) return r;
    } catch {
      // not written yet, or mid-rename
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The sandbox a group of tests shares, with load running, and the files of the rollout under test. */
interface Bench {
  readonly dir: string;
  readonly stateFile: string;
  readonly record: string;
  readonly sandbox: Sandbox;
  stopLoad: AbortController;
  load: Promise<unknown>;
}

/** Starts a sandbox (scraped every half second) whose versions both have counter series, scraped. */
async function openBench(): Promise<Bench> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-faults-"));
  const stateFile = path.join(dir, "state.json");
  const sandbox = await startSandbox({ versions: { stable: "v1", canary: "v2" }, stateFile, traffic: { canaryWeight: 0 }, scrapeIntervalSeconds: 0.5 });
  await runLoad({ url: sandbox.urls.traffic, rps: 20, durationSeconds: 0.5, shares: [{ name: "override", match: { kind: "header", name: "x-canary", value: "true" }, share: 0.5 }] });
  await new Promise((r) => setTimeout(r, 1500));
  const stopLoad = new AbortController();
  stopLoad.abort();
  return { dir, stateFile, record: path.join(dir, "rollout.json"), sandbox, stopLoad, load: Promise.resolve() };
}

/** Load at 300 requests/s until the test ends (a new controller per test: an aborted one ends the next test's load at once). */
function startLoad(b: Bench): void {
  b.stopLoad = new AbortController();
  b.load = runLoad({ url: b.sandbox.urls.traffic, rps: 300, durationSeconds: 600, signal: b.stopLoad.signal });
}

/** The state a test starts from: weight 0, healthy instances, no record (nor its lock, incidents or history), no load. */
async function resetBench(b: Bench): Promise<void> {
  await resetSandbox(b.sandbox);
  for (const f of fs.readdirSync(b.dir)) if (f !== path.basename(b.stateFile)) fs.rmSync(path.join(b.dir, f), { recursive: true, force: true });
  // What the last test sent is counted before this one's driver takes its first reading.
  await new Promise((r) => setTimeout(r, 1250));
}

async function closeBench(b: Bench | undefined): Promise<void> {
  if (!b) return;
  b.stopLoad.abort();
  await b.load;
  await b.sandbox.stop();
  fs.rmSync(b.dir, { recursive: true, force: true });
}

// The sandbox and rollout files the running test uses (set by its describe's hooks).
let bench: Bench | undefined;
let dir: string;
let stateFile: string;
let record: string;
let sandbox: Sandbox;
const children: ChildProcess[] = [];

/** Makes `b` the bench the tests' helpers use, reset and under load. */
async function use(b: Bench): Promise<void> {
  bench = b;
  ({ dir, stateFile, record, sandbox } = b);
  await resetBench(b);
  startLoad(b);
}

/** Stops what the test started: its CLI processes and its load. */
async function endTest(): Promise<void> {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  bench?.stopLoad.abort();
  await bench?.load;
}

const start = (args: string[], env?: NodeJS.ProcessEnv): Run => {
  const run = cli(args, dir, env);
  children.push(run.child);
  return run;
};
const rolloutArgs = (planText: string): string[] => {
  const planFile = path.join(dir, "plan.yaml");
  fs.writeFileSync(planFile, planText);
  return ["rollout", "--target", "haproxy", "--sandbox", stateFile, "--version", "v2", "--image", "sandbox/app:v2", "--plan", planFile];
};
/** A step that waits (long minimum) so the faults happen mid-step. */
const HOLDING = "steps: [{weight: 20, minDuration: 5m, maxDuration: 10m}, {weight: 100}]\ntick: 1s\n";

describe("faults on the sandbox, through the CLI", function () {
  needs(HAPROXY, PROMETHEUS);
  this.timeout(120_000);
  let shared: Bench | undefined;
  before(async () => {
    shared = await openBench();
  });
  after(async () => closeBench(shared));
  beforeEach(async () => use(shared as Bench));
  afterEach(endTest);

  it("a second driver is refused with the holder's identity; a SIGKILLed driver is resumed without re-applying its weight; abort from another process rolls back", async () => {
    const a = start(rolloutArgs(HOLDING));
    const progressing = await until(record, (r) => r.phase === "Progressing" && r.lastVerdict !== undefined, "driver A at step 0");
    const holder = progressing.lease!.holder;
    assert.match(holder, new RegExp(`:${a.child.pid}$`));

    const b = await start(rolloutArgs(HOLDING)).done;
    assert.equal(b.code, 3, b.stderr);
    assert.match(b.stderr, new RegExp(`LeaseHeldError: rollout \\S+ of v2 on .* is driven by ${holder.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} `));

    a.child.kill("SIGKILL");
    await a.done;
    const c = start([...rolloutArgs(HOLDING), "--json"]);
    const taken = await until(record, (r) => r.history.some((h) => h.type === "takeOver") && r.lastVerdict !== undefined && r.updatedAt > progressing.updatedAt, "driver C took over");
    assert.match(taken.lease!.holder, new RegExp(`:${c.child.pid}$`));

    const abort = await start(["abort", "--target", "haproxy", "--sandbox", stateFile, "--who", "ops@test", "--reason", "fault drill", "--wait", "30s"]).done;
    assert.equal(abort.code, 0, abort.stderr);
    const cr = await c.done;
    assert.equal(cr.code, 1, cr.stderr);
    const lines = cr.stdout.trim().split("\n").map((l) => JSON.parse(l) as { event: string; message?: string; type?: string });
    assert.ok(lines.some((l) => l.event === "action" && l.message === "the canary weight is already 20 (read back); not applying it again"), cr.stdout);
    assert.equal(lines.some((l) => l.event === "action" && l.message === "set the canary weight to 20"), false, "the resumed driver applied nothing twice");
    const final = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.deepEqual(final.history.map((h) => h.type), ["start", "advance", "takeOver", "rollback", "rolledBack"]);
    assert.deepEqual([final.history[3].trigger, final.history[3].by], ["operator", "ops@test"]);
    const w = (await sandbox.readWeights()).find((x) => x.route === "default")!;
    assert.deepEqual([w.stable, w.canary], [100, 0]);
  });

  it("retry after a rollback: the fixed canary (same version and image) is rolled out again and promoted; the new record names the rolled-back one and who retried", async function () {
    // Two whole rollouts: about 10 s alone, more on a loaded machine.
    this.timeout(200_000);
    // The sample service serves no errors, so a step passes on the canary's own rate: under 10% is
    // negligible here, and at half the traffic a clean canary shows it in a few ticks.
    const plan = [
      "steps: [{weight: 50, minDuration: 2s, maxDuration: 80s}, {weight: 100}]",
      "tick: 1s",
      "analysis:",
      "  judge:",
      "    metrics: [{ name: errors, source: { kind: errors }, negligibleRate: 0.1 }]",
      "    minCanaryRequestsToPromote: 100",
      "  metrics: { selectors: { job: app } }",
      "",
    ].join("\n");
    await sandbox.injectFault("canary", { errorRate: 0.5 });
    const bad = await start([...rolloutArgs(plan), "--json"]).done;
    assert.equal(bad.code, 1, bad.stderr);
    const rolledBack = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.equal(rolledBack.phase, "RolledBack");

    await sandbox.clearFault("canary");
    const retry = await start(["retry", "--target", "haproxy", "--sandbox", stateFile, "--plan", path.join(dir, "plan.yaml"), "--who", "ops@test", "--reason", "fixed the flag", "--json"]).done;
    assert.equal(retry.code, 0, retry.stderr + retry.stdout);
    const lines = retry.stdout.trim().split("\n");
    assert.equal(lines[0], `retry of rollout ${rolledBack.id} (v2) by ops@test: fixed the flag`);
    const result = JSON.parse(lines.at(-1)!) as { outcome: string; phase: string };
    assert.deepEqual([result.outcome, result.phase], ["promoted", "Succeeded"]);

    const final = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.notEqual(final.id, rolledBack.id);
    assert.deepEqual([final.version, final.image, final.phase], ["v2", "sandbox/app:v2", "Succeeded"]);
    const startEntry = final.history[0];
    assert.equal(startEntry.by, "ops@test");
    assert.match(startEntry.reason, new RegExp(`^retry of rolled-back rollout ${rolledBack.id} by ops@test: fixed the flag; rollout of v2 `));
    assert.deepEqual((startEntry.evidence as { retryOf: string }).retryOf, rolledBack.id);
    assert.ok(final.revision! > rolledBack.revision!, "the new rollout was written over the one it retried");
    const w = (await sandbox.readWeights()).find((x) => x.route === "default")!;
    assert.equal(w.canary, 100, "all traffic on the retried version");
  });

  it("every verb from other processes on a running driver: pause, resume, freeze, unfreeze, promote, approve, promote --full — each applied and seen on HAProxy", async () => {
    const steps = "steps: [{weight: 20, minDuration: 5m, maxDuration: 10m}, {weight: 50, minDuration: 5m, maxDuration: 10m}, {weight: 100}]\ntick: 1s\ngates: { beforeSteps: [1] }\n";
    const run = start([...rolloutArgs(steps), "--json"]);
    await until(record, (r) => r.phase === "Progressing" && r.lastVerdict !== undefined, "step 0 judged");
    const canaryWeight = async (): Promise<number> => (await sandbox.readWeights()).find((x) => x.route === "default")!.canary;
    const verb = async (args: string[], phase: string): Promise<void> => {
      const r = await start([...args, "--target", "haproxy", "--sandbox", stateFile, "--who", "ops@test", "--reason", `drill ${args[0]}`, "--wait", "30s"]).done;
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}${r.stdout}`);
      assert.match(r.stdout, new RegExp(`^${args[0]} applied by \\S+:${run.child.pid}: `), r.stdout);
      const now = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
      assert.equal(now.phase, phase, `${args.join(" ")}: ${now.phase}`);
    };
    await verb(["pause"], "Paused");
    await verb(["resume"], "Progressing");
    await verb(["freeze"], "Frozen");
    await verb(["unfreeze"], "Progressing");
    assert.equal(await canaryWeight(), 20);
    // Ends step 0's wait; the gate before step 1 then holds the weight until approved.
    await verb(["promote"], "Progressing");
    await until(record, (r) => r.history.at(-1)!.type === "skip" && r.lastVerdict !== undefined && r.updatedAt < r.lastVerdict.at, "a tick at the gate");
    assert.equal(await canaryWeight(), 20, "held at the gate");
    await verb(["approve", "--step", "1"], "Progressing");
    const atStep1 = await until(record, (r) => r.step?.index === 1, "step 1 after the approval");
    assert.equal(atStep1.step!.weight, 50);
    assert.equal(await canaryWeight(), 50);
    const full = await start(["promote", "--full", "--target", "haproxy", "--sandbox", stateFile, "--who", "ops@test", "--reason", "ship it", "--wait", "30s"]).done;
    assert.equal(full.code, 0, full.stderr);
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    const final = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.equal(final.phase, "Succeeded");
    const byOps = final.history.filter((h) => h.by === "ops@test").map((h) => h.type);
    assert.deepEqual(byOps, ["pause", "resume", "freeze", "unfreeze", "skip", "approve", "promoteFull"]);
    assert.ok(final.controls!.every((c) => c.status === "applied"), JSON.stringify(final.controls));
    assert.equal(await canaryWeight(), 100);
  });

  it("abort --gradual from another process: the running driver steps the weight down through the plan's lower steps, then restores", async () => {
    const steps = "steps: [{weight: 20, minDuration: 5m, maxDuration: 10m}, {weight: 50, minDuration: 5m, maxDuration: 10m}, {weight: 100}]\ntick: 1s\n";
    const run = start([...rolloutArgs(steps), "--json"]);
    await until(record, (r) => r.phase === "Progressing" && r.lastVerdict !== undefined, "step 0 judged");
    const skip = await start(["promote", "--target", "haproxy", "--sandbox", stateFile, "--wait", "30s"]).done;
    assert.equal(skip.code, 0, skip.stderr);
    await until(record, (r) => r.step?.index === 1 && r.lastVerdict !== undefined, "step 1 judged");
    const abort = await start(["abort", "--gradual", "--target", "haproxy", "--sandbox", stateFile, "--who", "ops@test", "--reason", "ease off", "--wait", "30s"]).done;
    assert.equal(abort.code, 0, abort.stderr);
    const r = await run.done;
    assert.equal(r.code, 1, r.stderr);
    const actions = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { event: string; message?: string }).filter((l) => l.event === "action").map((l) => l.message);
    const from = actions.indexOf("gradual abort: set the canary weight to 20");
    assert.ok(from > 0, actions.join("\n"));
    assert.equal(actions[from + 1], "roll back (keepCanary)");
    const w = (await sandbox.readWeights()).find((x) => x.route === "default")!;
    assert.deepEqual([w.stable, w.canary], [100, 0]);
    const final = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.deepEqual(final.history.slice(-2).map((h) => [h.type, h.by]), [["rollback", "ops@test"], ["rolledBack", undefined]]);
  });

  it("abort --gradual of a stopped rollout (paused on SIGTERM at 50%): the abort process itself steps down, then restores", async () => {
    const steps = "steps: [{weight: 20, minDuration: 5m, maxDuration: 10m}, {weight: 50, minDuration: 5m, maxDuration: 10m}, {weight: 100}]\ntick: 1s\nonSignal: pause\n";
    const run = start(rolloutArgs(steps));
    await until(record, (r) => r.phase === "Progressing" && r.lastVerdict !== undefined, "step 0 judged");
    assert.equal((await start(["promote", "--target", "haproxy", "--sandbox", stateFile, "--wait", "30s"]).done).code, 0);
    await until(record, (r) => r.step?.index === 1 && r.lastVerdict !== undefined, "step 1 judged");
    run.child.kill("SIGTERM");
    assert.equal((await run.done).code, 5);
    const abort = await start(["abort", "--gradual", "--plan", path.join(dir, "plan.yaml"), "--target", "haproxy", "--sandbox", stateFile, "--who", "ops@test", "--reason", "ease off"]).done;
    assert.equal(abort.code, 0, abort.stderr);
    const said = abort.stderr.split("\n").filter((l) => /^(gradual abort|roll back)/.test(l));
    assert.deepEqual(said.map((l) => l.replace(/ through .*?(, held|$)/, " through <target>$1")), ["gradual abort: set the canary weight to 20 through <target>, held 1s", "roll back (keepCanary) through <target>"]);
    const w = (await sandbox.readWeights()).find((x) => x.route === "default")!;
    assert.deepEqual([w.stable, w.canary], [100, 0]);
    const final = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.equal(final.phase, "RolledBack");
    assert.deepEqual([final.history.at(-2)!.by, final.history.at(-2)!.evidence], ["ops@test", { gradual: [20] }]);
  });

  it("SIGTERM with onSignal: pause holds the weight and exits 5; SIGTERM with the default rolls back and exits 1", async () => {
    const paused = start(rolloutArgs(`${HOLDING}onSignal: pause\n`));
    await until(record, (r) => r.phase === "Progressing" && r.lastVerdict !== undefined, "step 0 judged");
    paused.child.kill("SIGTERM");
    const p = await paused.done;
    assert.equal(p.code, 5, p.stderr);
    let r = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.deepEqual([r.phase, r.lease], ["Paused", undefined]);
    let w = (await sandbox.readWeights()).find((x) => x.route === "default")!;
    assert.equal(w.canary, 20, "the weight is held");

    // Resume it (stopped: applied to the record), and let the next driver continue it, then interrupt that one.
    const resume = await start(["resume", "--target", "haproxy", "--sandbox", stateFile]).done;
    assert.equal(resume.code, 0, resume.stderr);
    const again = start(rolloutArgs(HOLDING));
    await until(record, (x) => x.phase === "Progressing" && x.history.some((h) => h.type === "takeOver") && x.lease !== undefined, "the next driver took over");
    again.child.kill("SIGTERM");
    const a = await again.done;
    assert.equal(a.code, 1, a.stderr);
    r = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.deepEqual(r.history.map((h) => h.type), ["start", "advance", "pause", "resume", "takeOver", "rollback", "rolledBack"]);
    w = (await sandbox.readWeights()).find((x) => x.route === "default")!;
    assert.equal(w.canary, 0);
  });

  it("a canary restart mid-step (counter reset) and missed scrapes give no false verdict", async () => {
    const run = start([...rolloutArgs(HOLDING), "--json"]);
    await until(record, (r) => r.phase === "Progressing" && r.lastVerdict !== undefined, "step 0 judged");
    await sandbox.restartApp("canary");
    // Prometheus paused for a few scrapes (SIGSTOP), then continued: missed scrapes, then data again.
    process.kill(sandbox.pids.prometheus, "SIGSTOP");
    await new Promise((res) => setTimeout(res, 2500));
    process.kill(sandbox.pids.prometheus, "SIGCONT");
    await new Promise((res) => setTimeout(res, 5000));
    const before = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.equal(before.phase, "Progressing", JSON.stringify(before.lastVerdict));
    const abort = await start(["abort", "--target", "haproxy", "--sandbox", stateFile, "--reason", "end of drill"]).done;
    assert.equal(abort.code, 0, abort.stderr);
    const r = await run.done;
    const ticks = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { event: string; decision?: string; hold?: string }).filter((l) => l.event === "tick");
    const decisions = ticks.map((l) => l.decision);
    assert.ok(ticks.some((t) => t.hold === undefined), `some ticks judged real traffic: ${ticks.map((t) => t.hold).join(", ")}`);
    assert.ok(decisions.length >= 6, decisions.join(", "));
    assert.deepEqual(new Set(decisions), new Set(["continue"]));
    assert.equal(r.code, 1);
  });

  it("no secret in any output: a rolled-back rollout with a failing webhook never writes its URL to stdout, stderr, the record, the incident or the metrics", async () => {
    const receiver = await new Receiver().start();
    try {
      // The receiver fails every delivery and echoes the URL it was called on, as some do.
      receiver.fallback = (r, base) => ({ status: 500, body: `no route for ${base}${r.path}` });
      const secret = "T0SECRET1/B0SECRET2/xyzSECRETtoken3";
      const url = `${receiver.base}/services/${secret}`;
      await sandbox.injectFault("canary", { errorRate: 0.5 });
      const textfiles = path.join(dir, "textfile");
      const plan = [
        "steps: [{weight: 20, minDuration: 4s, maxDuration: 60s}, {weight: 100}]",
        "tick: 1s",
        "notifications:",
        "  channels: [{ type: slack, urlEnv: HOOK_URL }, { type: webhook, urlEnv: HOOK_URL, timeout: 2s }]",
        "  retry: { attempts: 2, initialDelay: 100ms }",
        "",
      ].join("\n");
      const run = start([...rolloutArgs(plan), "--json", "--metrics-port", "0", "--textfile-dir", textfiles, "--service", "checkout"], { HOOK_URL: url });
      const r = await run.done;
      assert.equal(r.code, 1, r.stderr);
      assert.ok(receiver.requests.length >= 2, "the webhook was called");
      assert.match(r.stdout, /"event":"result","outcome":"rolledBack","exitCode":1,"reason":"(guardrail errorRate|errors)/);
      assert.match(r.stdout, /"event":"log","line":"driver metrics at http:\/\/127\.0\.0\.1:\d+\/metrics"/);
      const incidents = fs.readdirSync(dir).filter((f) => f.startsWith("incident-"));
      assert.equal(incidents.length, 2, fs.readdirSync(dir).join(", "));
      const prom = fs.readFileSync(path.join(textfiles, "canary_rollout.prom"), "utf8");
      assert.match(prom, /canary_rollout_phase\{service="checkout",stack="[^"]+",phase="RolledBack"\} 1/);
      const outputs: [string, string][] = [
        ["stdout", r.stdout],
        ["stderr", r.stderr],
        ["record", fs.readFileSync(record, "utf8")],
        ["textfile", prom],
        ...incidents.map((f): [string, string] => [f, fs.readFileSync(path.join(dir, f), "utf8")]),
      ];
      for (const [where, text] of outputs) {
        for (const part of [url, secret, "xyzSECRETtoken3", "T0SECRET1", "B0SECRET2"]) assert.equal(text.includes(part), false, `${where} contains ${part}`);
      }
      const notifyLines = r.stdout.split("\n").filter((l) => l.includes('"line":"notify: '));
      assert.ok(notifyLines.some((l) => l.includes("HTTP 500") && l.includes("[redacted]")), `failures are logged, scrubbed:\n${notifyLines.join("\n")}`);
    } finally {
      await receiver.stop();
    }
  });
});

describe("faults that kill a sandbox process, through the CLI", function () {
  needs(HAPROXY, PROMETHEUS);
  this.timeout(120_000);
  // Each test kills Prometheus or HAProxy, so each gets a sandbox of its own.
  let own: Bench | undefined;
  beforeEach(async () => use((own = await openBench())));
  afterEach(async () => {
    await endTest();
    await closeBench(own);
  });

  it("Prometheus killed mid-step: the driver holds (never promotes), then rolls back once the outage passes the plan's limit", async () => {
    const plan = "steps: [{weight: 20, minDuration: 2s, maxDuration: 10m}, {weight: 100}]\ntick: 1s\nanalysis:\n  judge: { noData: { maxOutageSeconds: 4 }, minCanaryRequestsToPromote: 100000 }\n";
    const run = start([...rolloutArgs(plan), "--json"]);
    await until(record, (r) => r.phase === "Progressing" && r.lastVerdict !== undefined, "step 0 judged");
    process.kill(sandbox.pids.prometheus, "SIGKILL");
    const r = await run.done;
    assert.equal(r.code, 1, r.stderr);
    const ticks = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { event: string; decision?: string; hold?: string });
    const decisions = ticks.filter((t) => t.event === "tick").map((t) => `${t.decision}${t.hold ? `/${t.hold}` : ""}`);
    assert.equal(decisions.includes("promote"), false, decisions.join(", "));
    assert.ok(decisions.some((d) => d.startsWith("continue/")), `a hold before the rollback: ${decisions.join(", ")}`);
    const final = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.equal(final.phase, "RolledBack");
    assert.match(final.history.find((h) => h.type === "rollback")!.reason, /^metrics unavailable for [\d.]+s, limit 4s$/);
    const w = (await sandbox.readWeights()).find((x) => x.route === "default")!;
    assert.deepEqual([w.stable, w.canary], [100, 0]);
  });

  it("a failing restore (HAProxy gone) exits 4 with a loud message; the record stays RollingBack and says what traffic may be doing", async () => {
    const run = start(rolloutArgs(HOLDING));
    await until(record, (r) => r.phase === "Progressing" && r.lastVerdict !== undefined, "step 0 judged");
    // HAProxy's runtime API is the only way to change the weight: without it no restore can work.
    process.kill(sandbox.pids.haproxy, "SIGKILL");
    const abort = await start(["abort", "--target", "haproxy", "--sandbox", stateFile, "--reason", "drill", "--wait", "60s"]).done;
    assert.equal(abort.code, 0, abort.stderr);
    const r = await run.done;
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /ROLLBACK FAILED for v2: .*; the target may still route traffic to the canary \(exit 4\)\n$/);
    const final = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.equal(final.phase, "RollingBack");
    const last = final.history.at(-1)!;
    assert.equal(last.type, "rollbackFailed");
    assert.deepEqual([last.weight, (last.evidence as { appliedWeight: unknown }).appliedWeight], [20, "cannot verify"]);
    assert.equal(final.lease, undefined, "no driver holds it: the next run (or canary abort) retries the restore");
  });
});
