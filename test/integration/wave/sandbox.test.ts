/**
 * Waves end to end on two sandboxes standing for two regions (each its own HAProxy, Prometheus
 * and sample service on loopback, started once for the file and reset between tests), under
 * generated load: a wave whose second region's canary fails is rolled back there, stops, and with
 * rollbackAll restores the first region, after a bake and a gate approved through the wave record;
 * and a `canary wave run` SIGKILLed mid-wave is continued by the same command.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileRecordStore } from "../../../automation/record/file";
import { systemClock } from "../../../automation/rollout/clock";
import { controlWave } from "../../../automation/wave/control";
import { checkWaveRecord, WaveRecord } from "../../../automation/wave/record";
import { runLoad } from "../../../local/loadgen";
import { Sandbox, startSandbox } from "../../../local/sandbox";
import { resetSandbox } from "../../../local/sandboxRollout";
import { runSandboxWave, WAVE_DEMO_PLAN, warmSandboxes } from "../../../local/sandboxWave";
import { HAPROXY, needs, PROMETHEUS } from "../../helpers/tools";

const CLI = path.join(__dirname, "../../../automation/cli/index.ts");
const REGIONS = ["us-east", "eu-west"] as const;

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe("waves on two sandboxes (two regions)", function () {
  needs(HAPROXY, PROMETHEUS);
  this.timeout(60_000);
  let dir: string;
  const sandboxes = new Map<string, Sandbox>();

  before(async function () {
    this.timeout(60_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-wave-"));
    const started = await Promise.allSettled(
      REGIONS.map((r) => startSandbox({ versions: { stable: "v1", canary: "v2" }, traffic: { canaryWeight: 0 }, scrapeIntervalSeconds: 0.5, stateFile: path.join(dir, r, "state.json") })),
    );
    started.forEach((s, i) => s.status === "fulfilled" && sandboxes.set(REGIONS[i], s.value));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    // Once for the file: the sample services keep their counters, so every test has both series.
    await warmSandboxes(sandboxes.values());
  });
  after(async () => {
    await Promise.all([...sandboxes.values()].map((s) => s.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the second region's canary fails: rolled back there; the wave stops and, with rollbackAll, restores the first region", async () => {
    const approvals: string[] = [];
    const r = await runSandboxWave({
      sandboxes,
      warm: false,
      wave: {
        name: "two-regions",
        onFailure: "rollbackAll",
        bake: "1s",
        tick: "1s",
        stages: [
          { name: "first", stacks: [{ name: "us-east" }] },
          { name: "second", gate: true, stacks: [{ name: "eu-west" }] },
        ],
      },
      faults: [{ stack: "eu-west", atStep: 0, fault: { errorRate: 0.5 } }],
      // The approval comes through the wave record, as `canary wave approve` writes it.
      onGate: async (stage, store) => {
        const o = await controlWave(store, { verb: "approve", by: "ops@test", reason: "first region baked", stage }, { clock: systemClock, waitMs: 10_000, gates: ["second"], finish: () => Promise.reject(new Error("the wave is running")) });
        approvals.push(`${stage} ${o.status}`);
      },
    });
    const wave = r.result.record;
    assert.equal(r.result.outcome, "rolledBack", r.result.reason);
    assert.deepEqual(approvals, ["second applied"]);
    assert.deepEqual(
      wave.history.map((h) => `${h.type}${h.stack ? ` ${h.stack}` : ""}`),
      ["start", "stackStarted us-east", "stackEnded us-east", "bake", "advance", "approve", "stackStarted eu-west", "stackEnded eu-west", "fail eu-west", "reverted us-east", "rolledBack"],
    );
    assert.match(wave.history.find((h) => h.type === "advance")!.reason, /^bake after stage first passed: [12]s observed with every guardrail clear$/);
    // The failing region rolled back on its own judge's verdict.
    const eu = r.records.get("eu-west")!;
    assert.equal(eu.phase, "RolledBack");
    assert.equal(eu.history.find((h) => h.type === "rollback")!.trigger, "analysis");
    assert.equal(r.weights.get("eu-west")!.canary, 0);
    // The first region had promoted (all traffic on v2), then its own snapshot was restored (weight 0: all on v1).
    const us = r.records.get("us-east")!;
    assert.deepEqual(
      us.history.map((h) => `${h.type} ${h.to}`),
      ["start Initializing", "advance Progressing", "promote Promoting", "complete Succeeded", "rollback RollingBack", "rolledBack RolledBack"],
    );
    assert.equal(us.history.find((h) => h.type === "rollback")!.trigger, "operator");
    assert.deepEqual([r.weights.get("us-east")!.stable, r.weights.get("us-east")!.canary], [100, 0]);
    // Users of the healthy region saw no failure through promotion and restore.
    assert.equal(r.failedRequests.get("us-east") ?? 0, 0);
    assert.ok((r.totalRequests.get("us-east") ?? 0) > 1000);
  });

  /** `canary wave …` on the sandboxes' state files. */
  function canary(args: string[]): { child: ChildProcess; done: Promise<Exit> } {
    const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), CLI, "wave", ...args], { cwd: dir, env: { ...process.env, NODE_OPTIONS: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    return { child, done: new Promise((resolve) => child.on("close", (code, signal) => (clearTimeout(timer), resolve({ code, signal, stdout, stderr })))) };
  }

  it("`canary wave run` SIGKILLed while the second region's canary is at 50%: the same command continues the wave to the end", async () => {
    await Promise.all([...sandboxes.values()].map((s) => resetSandbox(s)));
    for (const r of REGIONS) fs.rmSync(path.join(dir, r, "rollout.json"), { force: true });
    fs.writeFileSync(path.join(dir, "plan.yaml"), WAVE_DEMO_PLAN);
    fs.writeFileSync(
      path.join(dir, "wave.yaml"),
      [
        "name: resume",
        "version: v2",
        "image: sandbox/app:v2",
        "target: haproxy",
        "plan: plan.yaml",
        "tick: 1s",
        "stages:",
        "  - { name: first, stacks: [{ name: us-east, sandbox: us-east/state.json }] }",
        "  - { name: second, stacks: [{ name: eu-west, sandbox: eu-west/state.json }] }",
        "",
      ].join("\n"),
    );
    const stop = new AbortController();
    const loads = [...sandboxes.values()].map((s) => runLoad({ url: s.urls.traffic, rps: 600, durationSeconds: 3600, signal: stop.signal }));
    try {
      const waveRecord = path.join(dir, ".canary", "waves", "resume.json");
      const euRecord = new FileRecordStore(path.join(dir, "eu-west", "rollout.json"));
      const first = canary(["run", "--wave", "wave.yaml", "--json"]);
      // Killed once eu-west's rollout holds its canary at 50%, with no driver left.
      const deadline = Date.now() + 40_000;
      let reached = false;
      while (!reached && first.child.exitCode === null && Date.now() < deadline) {
        reached = (await euRecord.load().catch(() => undefined))?.phase === "Progressing";
        if (!reached) await new Promise((r) => setTimeout(r, 50));
      }
      first.child.kill("SIGKILL");
      assert.ok(reached, "eu-west's rollout never reached its 50% step before the kill");
      const killed = await first.done;
      assert.equal(killed.signal, "SIGKILL", `the wave ended before the kill: ${killed.stdout}\n${killed.stderr}`);
      const before = checkWaveRecord(JSON.parse(fs.readFileSync(waveRecord, "utf8")), waveRecord);
      assert.deepEqual([before.phase, before.stage, before.stages[1].stacks[0].status], ["Running", 1, "running"]);
      assert.equal((await sandboxes.get("eu-west")!.readWeights()).find((w) => w.route === "default")!.canary, 50);

      const again = await canary(["run", "--wave", "wave.yaml", "--json"]).done;
      assert.equal(again.code, 0, `${again.stderr}\n${again.stdout}`);
      const result = JSON.parse(again.stdout.trim().split("\n").at(-1)!) as { outcome: string; phase: string };
      assert.deepEqual([result.outcome, result.phase], ["succeeded", "Succeeded"]);
      const after: WaveRecord = checkWaveRecord(JSON.parse(fs.readFileSync(waveRecord, "utf8")), waveRecord);
      assert.deepEqual(
        after.history.map((h) => `${h.type}${h.stack ? ` ${h.stack}` : ""}`),
        ["start", "stackStarted us-east", "stackEnded us-east", "advance", "stackStarted eu-west", "takeOver", "stackEnded eu-west", "succeed"],
      );
      // Each region's own rollout was continued, not started again: one start, one step, taken over once.
      const eu = (await euRecord.load())!;
      assert.deepEqual(eu.history.map((h) => h.type), ["start", "advance", "takeOver", "promote", "complete"]);
      for (const s of sandboxes.values()) assert.equal((await s.readWeights()).find((w) => w.route === "default")!.canary, 100);

    } finally {
      stop.abort();
      await Promise.all(loads);
    }
  });
});
