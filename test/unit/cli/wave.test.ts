/**
 * `canary wave`: bad input refused with exit 2 and a message naming the field (or flag) and the
 * value, before any stack or record is touched; the control verbs' exit codes through the command
 * itself, each stack reached through the command's backend opener; the status lines of a wave
 * record.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../../automation/cli";
import { BackendFlags } from "../../../automation/backends";
import { RecordingBackend } from "../../helpers/fakes";
import { formatWaveRecord, readWave, waveRecordFile } from "../../../automation/cli/wave";
import { Backend } from "../../../automation/backends";
import { checkWaveRecord, newWaveRecord, recordWaveEvent } from "../../../automation/wave/record";
import { runWave } from "../../../automation/wave/run";
import { FileWaveStore } from "../../../automation/wave/store";
import { FakeStack, YieldingClock } from "../../helpers/waveFakes";

/** Runs `canary …` in this process; the exit code and what it wrote to stderr. */
async function canary(args: string[], deps?: Parameters<typeof main>[1]): Promise<{ code: number; stderr: string; stdout: string }> {
  const err: string[] = [];
  const out: string[] = [];
  const writeErr = process.stderr.write.bind(process.stderr);
  const writeOut = process.stdout.write.bind(process.stdout);
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  try {
    const code = await main(args, deps);
    return { code, stderr: err.join(""), stdout: out.join("") };
  } finally {
    process.stderr.write = writeErr;
    process.stdout.write = writeOut;
  }
}

describe("canary wave: bad input", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-wave-cli-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it("an invalid wave file: exit 2, every problem named with its value, no record written", async () => {
    const wave = write("wave.yaml", "name: w\nonFailure: rollback\nstages:\n  - name: one\n    stacks: [{ name: a, target: haproxy, stack: dev }]\n");
    const r = await canary(["wave", "run", "--wave", wave, "--version", "v2", "--image", "app:v2"]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `canary: WaveFileError: invalid wave file ${wave}:\nonFailure: must be stop or rollbackAll, got "rollback"\n`,
    );
    assert.equal(fs.existsSync(path.join(dir, ".canary")), false);
  });

  it("a stack's plan that does not validate names the stack's field and the plan's", async () => {
    write("plan.yaml", "steps: [{weight: 5}, {weight: 50}]\n");
    const wave = write("wave.yaml", "name: w\nversion: v2\nimage: app:v2\nstages:\n  - name: one\n    stacks: [{ name: a, stack: dev, plan: plan.yaml }]\n");
    const r = await canary(["wave", "run", "--wave", wave]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `canary: WaveFileError: invalid wave file ${wave}:\nstages[0].stacks[0].plan: ${path.join(dir, "plan.yaml")}: steps[1].weight: the last step must be 100, got 50\n`);
  });

  it("a sandbox stack whose sandbox is not up: exit 2 naming the stack, nothing contacted", async () => {
    const wave = write("wave.yaml", "name: w\nversion: v2\nimage: app:v2\ntarget: haproxy\nstages:\n  - name: one\n    stacks: [{ name: us-east, sandbox: nowhere/state.json }]\n");
    const r = await canary(["wave", "run", "--wave", wave]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `canary: InputError: wave stack us-east: --sandbox: no sandbox state at ${path.join(dir, "nowhere", "state.json")} (is a sandbox up? \`npm run sandbox -- up\`)\n`);
  });

  const flags: [string, string[], string][] = [
    ["--version", ["--version", "v 2"], `--version: must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "v 2"`],
    ["--image", ["--image", "a b"], '--image: must be a container image reference without whitespace, got "a b"'],
    ["--wave (no such file)", ["--wave", "/nonexistent/wave.yaml"], "--wave: cannot read the wave file /nonexistent/wave.yaml: ENOENT: no such file or directory, stat '/nonexistent/wave.yaml'"],
  ];
  for (const [name, args, message] of flags) {
    it(`refuses ${name}`, async () => {
      const wave = write("wave.yaml", "name: w\nstages: [{ name: one, stacks: [{ name: a, stack: dev }] }]\n");
      const r = await canary(["wave", "run", "--wave", wave, ...args]);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, `canary: InputError: ${message}\n`);
    });
  }

  it("approve needs --stage; --all is only for abort", async () => {
    const wave = write("wave.yaml", "name: w\nversion: v2\nimage: app:v2\nstages: [{ name: one, stacks: [{ name: a, stack: dev }] }]\n");
    const approve = await canary(["wave", "approve", "--wave", wave]);
    assert.deepEqual([approve.code, approve.stderr.split("\n")[0]], [2, "error: required option '--stage <name>' not specified"]);
    const pause = await canary(["wave", "pause", "--wave", wave, "--all"]);
    assert.deepEqual([pause.code, pause.stderr.split("\n")[0]], [2, "error: unknown option '--all'"]);
  });

  it("a stack whose notifications cannot be built (a webhook's secret config key unset): exit 2 naming the stack; no stack's target or record opened", async () => {
    write("plan.yaml", "steps: [{weight: 50}, {weight: 100}]\nanalysis:\n  metrics: { url: 'http://127.0.0.1:9' }\n");
    write("hooked.yaml", "steps: [{weight: 50}, {weight: 100}]\nanalysis:\n  metrics: { url: 'http://127.0.0.1:9' }\nnotifications:\n  channels: [{ type: webhook, urlConfig: 'canary:deployHook' }]\n");
    const wave = write("wave.yaml", "name: w\nversion: v2\nimage: app:v2\nplan: plan.yaml\nstages:\n  - { name: one, stacks: [{ name: us-east, stack: us }] }\n  - { name: two, stacks: [{ name: eu-west, stack: eu, plan: hooked.yaml }] }\n");
    // Each stack through the command's own backend opener, as `canary rollout` reaches its stack.
    const backends = new Map<string, RecordingBackend>();
    const openBackend = (flags: BackendFlags): RecordingBackend => {
      const b = new RecordingBackend(path.join(dir, "incidents"), path.join(dir, "history", flags.stack ?? ""));
      backends.set(flags.stack ?? "", b);
      return b;
    };
    const r = await canary(["wave", "run", "--wave", wave], { openBackend });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "canary: InputError: wave stack eu-west: notifications.channels[0].urlConfig: no value was passed for stack config key canary:deployHook (read it with getAllConfig and pass it as a secret)\n");
    assert.deepEqual([...backends].map(([stack, b]) => `${stack}: ${b.opened.join(", ") || "nothing"}`), ["us: nothing", "eu: configValues"]);
    assert.equal(fs.existsSync(path.join(dir, ".canary")), false);
  });

  it("a control verb with no wave recorded is refused (exit 2)", async () => {
    const wave = write("wave.yaml", "name: w\nversion: v2\nimage: app:v2\nstages: [{ name: one, gate: true, stacks: [{ name: a, stack: dev }] }]\n");
    const r = await canary(["wave", "approve", "--wave", wave, "--stage", "one"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `canary: ControlRefusedError: no wave recorded in file ${path.join(dir, ".canary", "waves", "w.json")}: nothing to approve\n`);
  });
});

/** A stack of the fake world as the command's backend opener reaches it. */
function fakeStackBackend(stack: FakeStack, wave: Parameters<FakeStack["access"]>[0], dir: string): Backend {
  const access = stack.access(wave);
  return {
    type: "haproxy",
    targetName: stack.name,
    storeDescription: `memory (${stack.name})`,
    incidentDir: path.join(dir, "incidents"),
    historyDir: path.join(dir, "history", stack.name),
    concerns: () => true,
    metricsDefaults: () => ({}),
    target: () => access.target(),
    store: () => access.store(),
    configValues: async () => ({}),
  };
}

describe("canary wave control verbs through the command: exit codes", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-wave-ctl-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("on a wave whose driver stopped during its bake: pause, resume, a refused approve, abort --all restoring the promoted stack through its backend, status", async () => {
    fs.writeFileSync(path.join(dir, "plan.yaml"), "steps: [{weight: 50, minDuration: 10s}, {weight: 100}]\ntick: 10s\nanalysis:\n  metrics: { url: 'http://127.0.0.1:9' }\n");
    const file = path.join(dir, "wave.yaml");
    fs.writeFileSync(file, "name: checkout\nversion: v2\nimage: app:v2\ntarget: haproxy\nplan: plan.yaml\nbake: 1h\nstages:\n  - { name: first, stacks: [{ name: east, sandbox: east.json }] }\n  - { name: second, stacks: [{ name: west, sandbox: west.json }] }\n");
    const wave = readWave({ wave: file });
    const east = new FakeStack("east");
    const west = new FakeStack("west");
    // A driver that promoted east, then stopped on a signal during the bake.
    const store = new FileWaveStore(waveRecordFile({ wave: file }, wave));
    const interrupt = new AbortController();
    const running = runWave({ wave, store, stacks: new Map([east, west].map((k) => [k.name, k.access(wave)])), clock: new YieldingClock(), id: "w1", interrupt: interrupt.signal });
    for (let i = 0; i < 10_000 && (await store.load())?.phase !== "Baking"; i++) await new Promise((r) => setImmediate(r));
    interrupt.abort("SIGINT");
    assert.equal((await running).outcome, "paused");

    const stacks = new Map([east, west].map((k) => [`${k.name}.json`, k]));
    const deps = { openBackend: (flags: BackendFlags) => fakeStackBackend(stacks.get(path.basename(flags.sandbox ?? ""))!, wave, dir) };
    const verb = async (...args: string[]): Promise<[number, string]> => {
      const r = await canary(["wave", ...args, "--wave", file, "--who", "dave", "--reason", "bad release"], deps);
      return [r.code, (r.code === 0 ? r.stdout : r.stderr).trim().split("\n").at(-1)!];
    };
    assert.deepEqual(await verb("pause"), [0, "pause: wave w1 paused (no wave driver is running; the next run holds before the next stage)"]);
    const again = await verb("pause");
    assert.equal(again[0], 2);
    assert.match(again[1], /^canary: ControlRefusedError: wave w1 is already paused \(by dave at \d{4}-\d\d-\d\dT[\d:.]+Z\)$/);
    assert.deepEqual(await verb("resume"), [0, "resume: wave w1 resumed (no wave driver is running; `canary wave run` continues it)"]);
    assert.deepEqual(await verb("approve", "--stage", "first"), [2, "canary: ControlRefusedError: stage first has no gate (gates: none)"]);
    assert.deepEqual(await verb("abort", "--all"), [0, "aborted wave w1: RolledBack: aborted by dave: bad release; nothing the wave changed remains (abort --all)"]);
    // East's promotion undone through its own rollout record and target, and kept in its history.
    assert.equal((await east.records.load())!.phase, "RolledBack");
    assert.equal(east.platform.weight, 0);
    assert.deepEqual(fs.readdirSync(path.join(dir, "history", "east")).filter((f) => f.endsWith(".json")), ["w1-east.json"]);
    assert.equal(west.targets.every((t) => t.calls.length === 0), true, "west was never contacted");
    assert.deepEqual(await verb("pause"), [2, "canary: ControlRefusedError: wave w1 (checkout) is RolledBack: nothing to pause"]);
    const status = await canary(["wave", "status", "--wave", file, "--json"], deps);
    assert.equal(status.code, 0);
    assert.equal(checkWaveRecord(JSON.parse(status.stdout), "stdout").phase, "RolledBack");
  });
});

describe("canary wave status: the record as lines", () => {
  it("each stage with its stacks' rollouts, the gate, the failure and the history", () => {
    const at = "2026-01-01T00:00:00.000Z";
    let r = newWaveRecord({ id: "w1", name: "checkout", identity: "{}", stages: [{ name: "first", stacks: [{ name: "east" }] }, { name: "second", stacks: [{ name: "west" }] }], at }, "wave checkout: first (east) → second (west)");
    r = recordWaveEvent(r, { type: "stackStarted", at, stack: "east", rollout: "w1-east", reason: "rollout of v2 on east started" });
    r = recordWaveEvent(r, { type: "stackEnded", at, stack: "east", status: "promoted", reason: "east promoted: step 0 passed" });
    r = recordWaveEvent(r, { type: "advance", at, stage: 1, reason: "stage first promoted (east promoted)" });
    r = recordWaveEvent(r, { type: "fail", at, stage: 1, trigger: "operator", reason: "aborted by dave: bad release", by: "dave" });
    assert.equal(
      formatWaveRecord(r, { stages: [{ name: "first", gate: false, bakeSeconds: 0, stacks: [] }, { name: "second", gate: true, bakeSeconds: 0, stacks: [] }] }),
      [
        "wave w1 (checkout): RollingBack(stage 1 second)",
        "stage 0 first",
        "  east: promoted (rollout w1-east): east promoted: step 0 passed",
        "stage 1 second [gate: waiting for approval] ←",
        "  west: cancelled: stage second failed before its rollout started",
        "failure: stage 1 (second), operator: aborted by dave: bad release",
        "history:",
        `  ${at} Running [stage 0] start: wave checkout: first (east) → second (west)`,
        `  ${at} Running [stage 0] east stackStarted: rollout of v2 on east started`,
        `  ${at} Running [stage 0] east stackEnded: east promoted: step 0 passed`,
        `  ${at} Running [stage 1] advance: stage first promoted (east promoted)`,
        `  ${at} Running → RollingBack [stage 1] fail by dave: aborted by dave: bad release`,
      ].join("\n"),
    );
  });
});
