import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EXIT } from "../../../automation/cli/exit";
import { checkVersion } from "../../../automation/cli/input";
import { Renderer } from "../../../automation/cli/render";
import { formatRecord } from "../../../automation/cli/status";
import { DriverEvent } from "../../../automation/rollout/events";
import { verdict } from "../../helpers/fakes";
import { versionSchema } from "../../../infra/schema";
import { newRecord, transition } from "../../../automation/state";

const ROOT = path.resolve(__dirname, "../../..");
const CLI = path.join(ROOT, "automation", "cli", "index.ts");

/** The tsx loader, resolved from the project (the tests run the CLI from a directory without node_modules). */
const TSX = require.resolve("tsx/cjs");

/** Runs the CLI as a user would (node with the tsx loader), bounded in time. */
function canary(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--require", TSX, CLI, ...args], { cwd, encoding: "utf8", timeout: 30_000, env: { ...process.env, NODE_OPTIONS: "" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("cli", function () {
  this.timeout(60_000);
  let dir: string;
  const plan = (text: string): string => {
    const file = path.join(dir, "plan.yaml");
    fs.writeFileSync(file, text);
    return file;
  };
  const GOOD = "steps: [{weight: 10, minDuration: 1m}, {weight: 50}, {weight: 100}]\ntick: 15s\nanalysis:\n  metrics: { url: 'http://127.0.0.1:9090' }\n";
  const ROLLOUT = ["rollout", "--stack", "dev", "--version", "v2.5.0", "--image", "registry/checkout:v2.5.0"];

  before(() => {
    // A directory without Pulumi.yaml, so nothing can reach a real stack even where a Pulumi CLI exists.
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "canary-cli-")));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("checks --version and --image by the same rules as canary:canary", () => {
    const cases: [string, string][] = [
      ["v2.5.0", "registry/app:v2.5.0"],
      ["2", "app"],
      ["v_2-rc.1", "a@sha256:abc"],
      ["v 2", "app"],
      ["-v2", "app"],
      ["v2-", "app"],
      ["", "app"],
      ["x".repeat(63), "app"],
      ["x".repeat(64), "app"],
      ["v2", "my app"],
      ["v2", ""],
      ["v2", "x".repeat(513)],
    ];
    for (const [version, image] of cases) {
      const program = versionSchema.safeParse({ version, image }).success;
      let cli = true;
      try {
        checkVersion(version, image);
      } catch (e) {
        assert.equal((e as Error).name, "InputError");
        cli = false;
      }
      assert.equal(cli, program, `${JSON.stringify(version)} ${JSON.stringify(image)}`);
    }
  });

  it("exit codes are distinct and documented", () => {
    assert.deepEqual(EXIT, { promoted: 0, rolledBack: 1, invalidInput: 2, infrastructure: 3, restoreFailed: 4, paused: 5 });
  });

  it("dry run: prints every action as JSON lines, applies nothing, exits 0", () => {
    const r = canary([...ROLLOUT, "--plan", plan(GOOD), "--dry-run", "--json"], dir);
    assert.equal(r.code, EXIT.promoted, r.stderr);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      events.filter((e) => e.event === "action").map((e) => e.message),
      [
        "[dry run] would snapshot pulumi target dev and record the rollout in stack dev config canary:rollout",
        "[dry run] would deploy canary v2.5.0 (registry/checkout:v2.5.0) at weight 0, then verify the applied weight is 0",
        "[dry run] would set the canary weight to 10, then verify it is applied",
        "[dry run] would judge every 15s from the canary's first request: pass after at least 60s observed with traffic; at 600s undecided roll back; on a failed analysis roll back (keepCanary) at once",
        "[dry run] would set the canary weight to 50, then verify it is applied",
        "[dry run] would judge every 15s from the canary's first request: pass after at least 60s observed with traffic; at 600s undecided roll back; on a failed analysis roll back (keepCanary) at once",
        "[dry run] would promote v2.5.0 to stable (weight 100)",
      ],
    );
    assert.deepEqual(
      events.filter((e) => e.event === "transition").map((e) => `${e.from} → ${e.to}`),
      ["Idle → Initializing", "Initializing → Progressing", "Progressing → Progressing", "Progressing → Promoting", "Promoting → Succeeded"],
    );
    assert.deepEqual(events[events.length - 1], { event: "result", outcome: "dryRun", exitCode: 0, reason: "dry run: nothing applied", rollout: "dry-run", phase: "Succeeded" });
    assert.deepEqual(fs.readdirSync(dir), ["plan.yaml"], "nothing written");
  });

  it("dry run in plain mode prints timestamped lines and a final summary", () => {
    const r = canary([...ROLLOUT, "--plan", plan(GOOD), "--dry-run"], dir);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT[\d:.]+Z → \[dry run\] would snapshot pulumi target dev/);
    assert.equal(lines[lines.length - 1], "dry run complete: nothing was applied (exit 0)");
  });

  const invalid: [string, () => string[], string][] = [
    [
      "an invalid plan",
      () => [...ROLLOUT, "--plan", plan("steps: [{weight: 5}, {weight: 25}, {weight: 120}]\nanalysis: { metrics: { url: 'http://p:9090' } }")],
      `canary: PlanError: invalid plan ${"<dir>"}/plan.yaml:\nsteps[2].weight: must be ≤ 100, got 120\n`,
    ],
    ["a plan without a metrics URL", () => [...ROLLOUT, "--plan", plan("tick: 10s"), "--dry-run"], `canary: PlanError: invalid plan <dir>/plan.yaml:\nanalysis.metrics.url: is required\n`],
    ["a missing plan file", () => [...ROLLOUT, "--plan", "nope.yaml"], "canary: InputError: cannot read the plan nope.yaml: ENOENT: no such file or directory, open 'nope.yaml'\n"],
    [
      "an invalid version",
      () => ["rollout", "--stack", "dev", "--version", "v 2", "--image", "x:1", "--dry-run"],
      `canary: InputError: --version: must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "v 2"\n`,
    ],
    ...(["70000", "abc", "-1", "80.5"] as const).map((port): [string, () => string[], string] => [
      `--metrics-port ${port}`,
      () => [...ROLLOUT, "--plan", plan("analysis: { metrics: { url: 'http://p:9090' } }"), "--metrics-port", port],
      `canary: InputError: --metrics-port: must be a port number 0–65535 (0 picks a free one), got "${port}"\n`,
    ]),
    ["a missing --stack", () => ["rollout", "--version", "v2", "--image", "x:1", "--dry-run"], "canary: InputError: --stack is required with --target pulumi\n"],
    ["a missing sandbox", () => ["rollout", "--target", "haproxy", "--version", "v2", "--image", "x:1"], "canary: InputError: --sandbox: no sandbox state at <dir>/.sandbox/state.json (is a sandbox up? `npm run sandbox -- up`)\n"],
  ];
  for (const [name, args, stderr] of invalid) {
    it(`exits 2 on ${name}, before anything is contacted`, () => {
      const r = canary(args(), dir);
      assert.equal(r.code, EXIT.invalidInput, r.stderr);
      assert.equal(r.stderr.replaceAll(dir, "<dir>"), stderr);
      assert.equal(r.stdout, "");
    });
  }

  it("exits 2 on a missing flag or an unknown target, with usage", () => {
    const missing = canary(["rollout", "--stack", "dev", "--image", "x:1"], dir);
    assert.equal(missing.code, EXIT.invalidInput);
    assert.match(missing.stderr, /^error: required option '--version <version>' not specified\n/);
    const unknown = canary(["rollout", "--target", "ecs", "--version", "v2", "--image", "x:1"], dir);
    assert.equal(unknown.code, EXIT.invalidInput);
    assert.match(unknown.stderr, /^error: option '--target <type>' argument 'ecs' is invalid\. Allowed choices are pulumi, haproxy\./);
  });

  it("exits 3 when the stack cannot be reached", () => {
    const r = canary([...ROLLOUT, "--plan", plan(GOOD)], dir);
    assert.equal(r.code, EXIT.infrastructure, r.stderr);
    assert.match(r.stderr, new RegExp(`^canary: TargetError: cannot select stack dev in ${dir.replace(/[.]/g, "\\.")}: `));
  });

  it("status reads the record file of the haproxy target (text and JSON)", () => {
    const record = transition(newRecord({ id: "r1", stack: "haproxy http://127.0.0.1:1/", target: "haproxy", version: "v2", image: "app:v2", steps: [5, 100], at: "2026-01-01T00:00:00.000Z" }), {
      type: "start",
      at: "2026-01-01T00:00:01.000Z",
      reason: "rollout of v2",
    });
    const file = path.join(dir, "rollout.json");
    fs.writeFileSync(file, JSON.stringify(record));
    const text = canary(["status", "--target", "haproxy", "--record", file], dir);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, `${formatRecord(record)}\n`);
    assert.equal(
      formatRecord(record),
      [
        "rollout r1: v2 (app:v2) on haproxy http://127.0.0.1:1/ [haproxy]",
        "phase: Initializing; steps 5 → 100",
        "history:",
        "  2026-01-01T00:00:01.000Z Idle → Initializing: rollout of v2",
      ].join("\n"),
    );
    const json = canary(["status", "--target", "haproxy", "--record", file, "--json"], dir);
    assert.deepEqual(JSON.parse(json.stdout), record);
    const none = canary(["status", "--target", "haproxy", "--record", path.join(dir, "none.json")], dir);
    assert.equal(none.stdout, `no rollout recorded in file ${path.join(dir, "none.json")}\n`);
  });

  describe("rendering", () => {
    const T0 = Date.UTC(2026, 0, 1);
    let r0 = newRecord({ id: "r1", stack: "dev", target: "pulumi", version: "v2", image: "app:v2", steps: [5, 25, 100], at: "t0" });
    r0 = transition(r0, { type: "start", at: "t0", reason: "go" });
    const r1 = transition(r0, { type: "advance", at: "t1", step: 0, weight: 5, reason: "first step" });
    const events: DriverEvent[] = [
      { kind: "transition", record: r1, entry: r1.history[1] },
      { kind: "tick", record: r1, verdict: { ...verdict("continue", "collecting evidence: 20 canary requests in this step, need 200"), hold: undefined }, stepSeconds: 10, decisionSeconds: 0.012 },
      { kind: "action", message: "set the canary weight to 25" },
    ];
    function render(mode: "tty" | "plain" | "json") {
      let now = T0;
      const out: string[] = [];
      const err: string[] = [];
      const renderer = new Renderer(mode, { write: (t: string) => out.push(t), columns: 200 }, { write: (t: string) => err.push(t) }, () => now);
      for (const e of events) {
        renderer.event(e);
        now += 10_000;
      }
      renderer.finish("promoted v2 (exit 0)");
      return out.join("");
    }

    it("on a terminal: permanent lines for transitions and actions, one live line for the step", () => {
      assert.equal(
        render("tty"),
        "Initializing → Progressing(step 0, weight 5): first step\n" +
          "\r\x1b[2Kstep 1/2 · weight 5% · 10s in step · continue: collecting evidence: 20 canary requests in this step, need 200" +
          "\r\x1b[2K→ set the canary weight to 25\n" +
          "step 1/2 · weight 5% · 10s in step · continue: collecting evidence: 20 canary requests in this step, need 200" +
          "\r\x1b[2Kpromoted v2 (exit 0)\n",
      );
    });

    it("otherwise: one timestamped line per event, ticks included", () => {
      assert.equal(
        render("plain"),
        "2026-01-01T00:00:00.000Z Initializing → Progressing(step 0, weight 5): first step\n" +
          "2026-01-01T00:00:10.000Z tick Progressing(step 0, weight 5) 10s in step: continue: collecting evidence: 20 canary requests in this step, need 200\n" +
          "2026-01-01T00:00:20.000Z → set the canary weight to 25\n" +
          "promoted v2 (exit 0)\n",
      );
    });

    it("with --json: one object per line", () => {
      const lines = render("json").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(lines[0], { event: "transition", at: "t1", type: "advance", from: "Initializing", to: "Progressing", reason: "first step", step: 0, weight: 5, rollout: "r1" });
      assert.deepEqual(lines[1], {
        event: "tick",
        rollout: "r1",
        step: 0,
        weight: 5,
        stepSeconds: 10,
        decisionSeconds: 0.012,
        decision: "continue",
        reasons: ["collecting evidence: 20 canary requests in this step, need 200"],
        metrics: [],
        guardrails: [],
      });
      assert.deepEqual(lines[2], { event: "action", message: "set the canary weight to 25" });
      assert.equal(lines.length, 3);
    });
  });
});
