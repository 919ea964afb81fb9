/**
 * Exact resume on the real sandbox: `canary rollout` SIGKILLed at each action boundary in turn
 * (before each change of HAProxy's weight, each read-back and each record save, with the record
 * file's lock held mid-save, and after the last save), each time run again with the same
 * command, which resumes from what the killed run left and is killed at the next boundary. The
 * rollout must finish without HAProxy's weight ever moving backwards, a rerun waits out a lock
 * the killed process left behind, and a rerun of the finished rollout changes nothing. The kill
 * happens inside the driver process (test/fixtures/killPoint.ts), so it lands exactly at the
 * boundary. (test/unit/rollout/resume.test.ts kills before and during every operation, in
 * process, each from a fresh start.)
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkRecord } from "../../../automation/state";
import { runLoad } from "../../../local/loadgen";
import { Sandbox, startSandbox } from "../../../local/sandbox";
import { resetSandbox } from "../../../local/sandboxRollout";
import { HAPROXY, needs, PROMETHEUS } from "../../helpers/tools";

const CLI = path.join(__dirname, "../../../automation/cli/index.ts");
const KILL = path.join(__dirname, "../../fixtures/killPoint.ts");

/** Two judged steps, each passing after a couple of one-second ticks of clean traffic. */
const PLAN = `
steps: [{ weight: 30, minDuration: 1s, maxDuration: 60s }, { weight: 60, minDuration: 1s, maxDuration: 60s }, { weight: 100 }]
tick: 1s
analysis:
  judge:
    metrics: [{ name: errors, source: { kind: errors }, negligibleRate: 0.1 }]
    minCanaryRequestsToPromote: 50
  metrics: { selectors: { job: app } }
`;

/** Every action boundary of a rollout through that plan, in order, as the fixture names them. */
const OPS = [
  "save start",
  "setCanary",
  "verify 0",
  "save intent setWeight 30",
  "setWeight 30",
  "verify 30",
  "save advance 0",
  "save tick 0",
  "save intent setWeight 60",
  "setWeight 60",
  "verify 60",
  "save advance 1",
  "save tick 1",
  "save promote",
  "promote",
  "save complete",
];
/**
 * The kills, in the order a rollout passes them: before each boundary, with the record file's
 * lock held mid-rollout, and after the last save.
 */
const KILLS = [...OPS.slice(0, 9).map((op) => `before ${op}`), "during save intent setWeight 60", ...OPS.slice(9).map((op) => `before ${op}`), "after save complete"];

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe("exact resume on the sandbox: SIGKILL at every action boundary, then the same command again", function () {
  needs(HAPROXY, PROMETHEUS);
  this.timeout(60_000);
  let dir: string;
  let sandbox: Sandbox | undefined;
  let stopLoad: AbortController;
  let load: Promise<unknown>;
  const sb = (): Sandbox => sandbox as Sandbox;

  before(async function () {
    this.timeout(120_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-kill-"));
    sandbox = await startSandbox({ versions: { stable: "v1", canary: "v2" }, traffic: { canaryWeight: 0 }, scrapeIntervalSeconds: 0.5, stateFile: path.join(dir, "state.json") });
    // Both versions get counter series before any rollout reads them.
    await runLoad({ url: sb().urls.traffic, rps: 20, durationSeconds: 0.5, shares: [{ name: "override", match: { kind: "header", name: "x-canary", value: "true" }, share: 0.5 }] });
    await new Promise((r) => setTimeout(r, 1500));
    fs.writeFileSync(path.join(dir, "plan.yaml"), PLAN);
    stopLoad = new AbortController();
    load = runLoad({ url: sb().urls.traffic, rps: 800, durationSeconds: 3600, signal: stopLoad.signal });
  });
  after(async () => {
    stopLoad?.abort();
    await load;
    await sandbox?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** `canary rollout` on the sandbox, with the kill fixture loaded. */
  function rollout(env: Record<string, string>): Promise<Exit> {
    const args = ["--require", require.resolve("tsx/cjs"), "--require", KILL, CLI, "rollout", "--target", "haproxy", "--sandbox", path.join(dir, "state.json"), "--version", "v2", "--image", "sandbox/app:v2", "--plan", path.join(dir, "plan.yaml"), "--json"];
    const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, NODE_OPTIONS: "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    return new Promise((resolve) => child.on("close", (code, signal) => (clearTimeout(timer), resolve({ code, signal, stdout, stderr }))));
  }

  it("killed at every boundary in turn, each rerun resuming where the last was killed: the rollout finishes, traffic never moves backwards", async function () {
    this.timeout(600_000);
    await resetSandbox(sb());
    const record = path.join(dir, "rollout.json");
    fs.rmSync(record, { force: true });
    fs.rmSync(`${record}.lock`, { recursive: true, force: true });
    const weights = path.join(dir, "weights.log");
    const ops = path.join(dir, "ops.log");
    fs.writeFileSync(weights, "0\n");
    fs.writeFileSync(ops, "");
    /** HAProxy's canary weight as the runs set it, each change once. */
    const moves = (): number[] => {
      const applied = fs.readFileSync(weights, "utf8").trim().split("\n").map(Number);
      return applied.filter((w, i) => i === 0 || w !== applied[i - 1]);
    };

    // Each run is killed at the next boundary; the one after resumes from what the killed one
    // left (a rerun after the kill with the lock held waits the lock out).
    for (const kill of KILLS) {
      const killed = await rollout({ CANARY_KILL_AT: kill, CANARY_WEIGHT_LOG: weights, CANARY_OPS_LOG: ops });
      assert.equal(killed.signal, "SIGKILL", `killed ${kill}: the kill point was not reached (exit ${killed.code}):\n${killed.stderr}\n${killed.stdout}`);
      // Users' traffic only ever moved forward: 0 → 30 → 60 → 100, a weight at most set again in place.
      const sofar = moves();
      assert.deepEqual(sofar, [0, 30, 60, 100].slice(0, sofar.length), `after the kill ${kill}, HAProxy's canary weight went ${sofar.join(" → ")}`);
    }
    const again = await rollout({ CANARY_WEIGHT_LOG: weights });
    assert.equal(again.code, 0, `${again.stderr}\n${again.stdout}`);
    const result = JSON.parse(again.stdout.trim().split("\n").at(-1)!) as { outcome: string; phase: string };
    // Killed after its last save, the rollout had finished: the rerun finds it done and changes nothing.
    assert.deepEqual([result.phase, result.outcome], ["Succeeded", "unchanged"], again.stdout);
    assert.deepEqual(moves(), [0, 30, 60, 100]);
    assert.equal((await sb().readWeights()).find((w) => w.route === "default")!.canary, 100);

    const final = checkRecord(JSON.parse(fs.readFileSync(record, "utf8")), record);
    assert.deepEqual(final.history.map((h) => h.type).filter((t) => t !== "takeOver"), ["start", "advance", "advance", "promote", "complete"]);
    assert.equal(final.history.filter((h) => h.type === "takeOver").length, KILLS.length - 2, "every run after a kill but the first (nothing recorded) and the last (finished) took the rollout over");
    assert.equal(final.lease, undefined);
  });

  it("names every boundary the driver passes, in order", async () => {
    await resetSandbox(sb());
    const record = path.join(dir, "rollout.json");
    fs.rmSync(record, { force: true });
    const ops = path.join(dir, "ops.log");
    fs.writeFileSync(ops, "");
    const r = await rollout({ CANARY_OPS_LOG: ops });
    assert.equal(r.code, 0, r.stderr);
    const seen = fs
      .readFileSync(ops, "utf8")
      .trim()
      .split("\n")
      .filter((l) => / before /.test(l))
      .map((l) => l.replace(/^\d+ before /, ""))
      .filter((l, i, all) => !/^save (tick|lease)/.test(l) || all.indexOf(l) === i);
    assert.deepEqual(seen, OPS);
  });
});
