/**
 * Control calls on a rollout a real driver is running (real clock, 1 s ticks, a record file under
 * its lock), made by the `canary` command in other processes at the same moment: one driver and
 * one record for the whole file.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parsePlan } from "../../../automation/plan";
import { FileRecordStore } from "../../../automation/record/file";
import { RolloutResult } from "../../../automation/rollout/loop";
import { runRollout } from "../../../automation/rollout/run";
import { checkRecord, RolloutRecord } from "../../../automation/state";
import { FakeMetrics, FakeTarget, ScriptedAnalysis } from "../../helpers/fakes";

const CLI = path.resolve(__dirname, "../../../automation/cli/index.ts");
const TSX = require.resolve("tsx/cjs");

/**
 * A target whose restore lasts until `released()` says so (at most 20 s), as a real one takes a
 * `pulumi up`: the driver reads no requests meanwhile.
 */
class SlowRestoreTarget extends FakeTarget {
  constructor(private readonly released: () => boolean) {
    super();
  }
  override async rollback(...args: Parameters<FakeTarget["rollback"]>): Promise<void> {
    await until(this.released);
    return super.rollback(...args);
  }
}

/** Polls `done` every 50 ms, for at most 20 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the rollout");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `canary <args>` as its own process. */
function canary(args: readonly string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--require", TSX, CLI, ...args], { cwd, env: { ...process.env, NODE_OPTIONS: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("control calls on a running rollout", function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let target: FakeTarget;
  let driver: Promise<RolloutResult>;

  before(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "canary-running-")));
    file = path.join(dir, "rollout.json");
    // The restore ends once a second request is in the record: the second abort arrived while it ran.
    target = new SlowRestoreTarget(() => (record()?.controls?.length ?? 0) >= 2);
    // Holds at its first step (the judge keeps saying continue) until someone acts.
    driver = runRollout({
      plan: parsePlan("steps: [{weight: 20, minDuration: 5m, maxDuration: 10m}, {weight: 50, minDuration: 5m, maxDuration: 10m}, {weight: 100}]\ntick: 1s\n"),
      version: "v2",
      image: "app:v2",
      target,
      store: new FileRecordStore(file),
      metrics: new FakeMetrics(),
      analysis: new ScriptedAnalysis([["continue"]]),
    });
    await until(() => phase() === "Progressing");
  });
  /** The record file, as another process reads it. */
  const record = (): RolloutRecord | undefined => {
    try {
      return checkRecord(JSON.parse(fs.readFileSync(file, "utf8")), file);
    } catch {
      return undefined; // not written yet, or being renamed into place
    }
  };
  const phase = (): string | undefined => record()?.phase;
  after(async () => {
    await driver.catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("approve of a step the plan does not judge is refused before anything is written", async () => {
    const before = fs.readFileSync(file, "utf8");
    const r = await canary(["approve", "--step", "99", "--target", "haproxy", "--record", file], dir);
    assert.deepEqual([r.code, r.stderr], [2, "canary: ControlRefusedError: cannot approve step 99 of rollout " + checkRecord(JSON.parse(before), file).id + ": its plan judges steps 0–1 (weights 20, 50); the final 100 is the promotion (`--promotion`)\n"]);
    const after = checkRecord(JSON.parse(fs.readFileSync(file, "utf8")), file);
    assert.deepEqual(after.controls ?? [], [], "no request was written");
  });

  it("two aborts: one rolls back; the other, arriving while the restore runs, answers that the rollout was rolled back (exit 0) instead of waiting out --wait", async () => {
    const abort = (who: string) => canary(["abort", "--target", "haproxy", "--record", file, "--who", who, "--reason", "bad canary", "--wait", "30s"], dir);
    const first = abort("alice@ops");
    // The second call starts while the driver is restoring (it reads no requests until it is done, and it is done once the second request is in).
    await until(() => phase() === "RollingBack");
    const second = abort("bob@ops");
    const [a, b] = await Promise.all([first, second]);
    const result = await driver;
    assert.equal(result.outcome, "rolledBack");
    const final = record()!;
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /^abort applied by \S+: rolling back\n$/);
    assert.deepEqual([b.code, b.stdout], [0, `rollout ${final.id} of v2 was rolled back (aborted by alice@ops: bad canary) before its driver applied this abort: nothing left to abort\n`], b.stderr);
    assert.equal(final.phase, "RolledBack");
    assert.equal(final.history.filter((h) => h.type === "rollback").length, 1, "rolled back once");
    assert.equal(target.calls.filter((c) => c.startsWith("rollback")).length, 1, "restored once");
  });
});
