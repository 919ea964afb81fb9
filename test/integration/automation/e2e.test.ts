/**
 * End to end on the local sandbox: real HAProxy, real Prometheus, the sample service under
 * generated load, the real judge, the HAProxy target and the file record store. The tests share
 * one sandbox (each rollout starts from weight 0 with both instances healthy), scraped every
 * half second, with one-second ticks, so a rollout takes seconds. The report of a rolled-back
 * canary is opened in headless Chromium: the charts drew, the rollback is marked, nothing else
 * was fetched, no error.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DriverEvent } from "../../../automation/rollout/events";
import { parsePlan } from "../../../automation/plan";
import { runLoad } from "../../../local/loadgen";
import { Sandbox, startSandbox } from "../../../local/sandbox";
import { resetSandbox, runSandboxRollout } from "../../../local/sandboxRollout";
import { HistoryStore } from "../../../automation/history/store";
import { COLORS } from "../../../automation/report/html";
import { readTrace } from "../../../automation/report/trace";
import { drawn, HeadlessChromium, pixels, ready } from "../../helpers/chromium";
import { CHROMIUM, HAPROXY, needs, PROMETHEUS } from "../../helpers/tools";
import { requirePrograms } from "../../../local/process";

/**
 * Short steps (20% then 50%) so each run takes seconds. Both versions of the sample service
 * serve no errors, so only the canary's own rate can pass a step (no ratio to bound against a
 * zero baseline): at 10% "negligible" a clean canary passes after a few one-second ticks of
 * 160+ requests, while the faults below (30% errors, every request slow) stay far above it.
 */
const PLAN = (maxDuration = "60s") =>
  parsePlan(`
steps:
  - { weight: 20, minDuration: 2s, maxDuration: ${maxDuration} }
  - { weight: 50, minDuration: 2s, maxDuration: ${maxDuration} }
  - { weight: 100 }
tick: 1s
analysis:
  judge:
    metrics:
      - { name: errors, source: { kind: errors }, negligibleRate: 0.1 }
      - { name: latency, source: { kind: latencyAbove, le: 0.25 }, negligibleRate: 0.1 }
    guardrails: { latency: [{ name: p95, le: 0.5, maxFraction: 0.05 }] }
    minCanaryRequestsToPromote: 100
  metrics: { selectors: { job: app } }
`);

/** The report test also needs Chromium; the other tests of this file do not. */
const needsChromium = (): void => requirePrograms([CHROMIUM]);

/** Load during a rollout: enough that the canary's 100 requests at 20% take under a second. */
const RPS = 800;

describe("end to end on the sandbox (HAProxy target, Prometheus, judge)", function () {
  needs(HAPROXY, PROMETHEUS);
  this.timeout(150_000);
  let dir: string;
  let stateFile: string;
  let sandbox: Sandbox | undefined;
  const sb = (): Sandbox => sandbox as Sandbox;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-e2e-"));
    stateFile = path.join(dir, "state.json");
    sandbox = await startSandbox({ versions: { stable: "v1", canary: "v2" }, traffic: { canaryWeight: 0 }, scrapeIntervalSeconds: 0.5, stateFile });
    // Both versions get counter series before any rollout reads them (missing series are
    // missing data, not "no traffic"), and Prometheus has scraped them.
    await runLoad({ url: sb().urls.traffic, rps: 20, durationSeconds: 0.5, shares: [{ name: "override", match: { kind: "header", name: "x-canary", value: "true" }, share: 0.5 }] });
    await new Promise((r) => setTimeout(r, 1500));
  });
  after(async () => {
    await sandbox?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a good canary is promoted: every step, HAProxy ends at 100% canary, the record says Succeeded", async () => {
    const r = await runSandboxRollout({ sandbox: sb(), plan: PLAN(), rps: RPS });
    assert.equal(r.result.outcome, "promoted", r.result.reason);
    assert.deepEqual(
      r.record.history.map((h) => `${h.type} ${h.to}${h.weight !== undefined ? ` ${h.weight}` : ""}`),
      ["start Initializing", "advance Progressing 20", "advance Progressing 50", "promote Promoting 50", "complete Succeeded 50"],
    );
    assert.deepEqual([r.weights.stable, r.weights.canary], [0, 100]);
    // Zero downtime: no user saw a connection error or a 5xx while the weights moved, through promotion.
    assert.equal(r.failedRequests, 0, `${r.failedRequests} of ${r.totalRequests} requests failed`);
    assert.ok(r.totalRequests > RPS * 3, `load ran through the rollout: ${r.totalRequests} requests`);
    assert.ok(r.canaryRequests > 0);
  });

  it("an error regression mid-rollout is rolled back at once: HAProxy back to 0% canary, the record says RolledBack", async () => {
    const r = await runSandboxRollout({ sandbox: sb(), plan: PLAN(), rps: RPS, fault: { atStep: 1, fault: { errorRate: 0.3 } } });
    assert.equal(r.result.outcome, "rolledBack");
    assert.match(r.result.reason, /^guardrail errorRate: canary bad fraction ≥ [\d.]+% \(observed [\d.]+% of \d+ requests\) exceeds limit 5\.00%$|^errors: canary\/baseline ratio/);
    assert.deepEqual(
      r.record.history.map((h) => `${h.type} ${h.to}`),
      ["start Initializing", "advance Progressing", "advance Progressing", "rollback RollingBack", "rolledBack RolledBack"],
    );
    const rollback = r.record.history[3];
    assert.equal(rollback.trigger, "analysis");
    assert.equal(rollback.weight, 50, "rolled back during the step the fault started in, not after it");
    assert.deepEqual([r.weights.stable, r.weights.canary], [100, 0]);
    assert.deepEqual(r.record.history[4].evidence, { applied: 0 });
  });

  it("a latency regression is rolled back", async () => {
    const r = await runSandboxRollout({ sandbox: sb(), plan: PLAN(), rps: RPS, fault: { atStep: 0, fault: { latency: { kind: "fixed", ms: 600 } } } });
    assert.equal(r.result.outcome, "rolledBack");
    assert.match(r.result.reason, /^(guardrail p95|latency): /);
    assert.equal(r.record.history[2].weight, 20);
    assert.deepEqual([r.weights.stable, r.weights.canary], [100, 0]);
    assert.equal(r.record.phase, "RolledBack");
  });

  it("no traffic holds the step (never promotes) until its maximum duration, then the plan's inconclusive rollback", async () => {
    const ticks: string[] = [];
    const report = (e: DriverEvent): void => {
      if (e.kind === "tick") ticks.push(`${e.verdict.decision}${e.verdict.hold ? `/${e.verdict.hold}` : ""}`);
    };
    const r = await runSandboxRollout({ sandbox: sb(), plan: PLAN("4s"), rps: 0, report });
    assert.equal(r.result.outcome, "rolledBack");
    assert.match(r.result.reason, /^inconclusive: step 0 reached its maximum duration \(4s\) without a decision: no data this tick/);
    assert.ok(ticks.length >= 4, ticks.join(", "));
    assert.deepEqual(new Set(ticks.slice(0, -1)), new Set(["continue/noTraffic"]));
    assert.equal(ticks[ticks.length - 1], "inconclusive");
    assert.deepEqual(r.record.history.map((h) => h.type), ["start", "advance", "rollback", "rolledBack"]);
    assert.deepEqual([r.weights.stable, r.weights.canary], [100, 0]);
  });

  it("the report of a rolled-back canary is written on the rollback with Prometheus' raw series, kept in the history, and draws in Chromium", async function () {
    needsChromium();
    const reportDir = fs.mkdtempSync(path.join(dir, "report-"));
    const r = await runSandboxRollout({ sandbox: sb(), plan: PLAN(), rps: RPS, fault: { atStep: 1, fault: { errorRate: 0.3 } }, reportDir });
    assert.equal(r.result.outcome, "rolledBack");
    assert.equal(r.report, path.join(reportDir, `report-${r.record.id}.html`));
    const html = fs.readFileSync(r.report!, "utf8");
    assert.match(html, /Error rate and latency: Prometheus' raw counters, differenced per \d+ s step\./);

    const history = new HistoryStore(path.join(reportDir, "history"));
    const kept = await history.list();
    assert.deepEqual(kept.map((k) => [k.record.id, k.record.phase]), [[r.record.id, "RolledBack"]]);
    const trace = await readTrace(history.traceFile(r.record.id));
    assert.ok(trace.samples.length >= 3 && trace.samples.every((s) => s.kind === "ok" || s.kind === "priming" || s.kind === "noValues"), `${trace.samples.length} samples`);
    assert.equal(trace.samples[trace.samples.length - 1]!.decision, "rollback");

    const browser = await HeadlessChromium.launch();
    try {
      const opened = await browser.open(r.report!);
      await ready(opened.page);
      await opened.page.screenshot({ path: path.join(reportDir, "report.png"), fullPage: true });
      const { charts } = await drawn(opened.page);
      const byId = new Map(charts.map((c) => [c.id, c]));
      for (const id of ["weight", "errors", "latency", "bounds-errors", "evidence-errors", "guardrail-errorRate"]) {
        assert.ok(byId.get(id) && !byId.get(id)!.empty && byId.get(id)!.points > 0, `chart ${id} drew`);
      }
      const canary = await pixels(opened.page, "errors", COLORS.series.canary);
      assert.ok(canary.total > 100, `canary error rate drew ${canary.total} pixels`);
      const rollbackAt = Date.parse(r.record.history.find((h) => h.type === "rollback")!.at) / 1000;
      const marker = await pixels(opened.page, "errors", COLORS.markers.rollback, rollbackAt);
      assert.ok(marker.column > 0.8 * marker.plotHeight, `rollback marker ${marker.column} of ${marker.plotHeight} rows`);
      assert.deepEqual(opened.errors, []);
      assert.deepEqual(opened.requests, []);
    } finally {
      await browser.close();
    }
  });

  it("the CLI on the sandbox: a failing canary exits 1, status shows the record, HAProxy is back at 0%", async () => {
    const abort = new AbortController();
    const work = fs.mkdtempSync(path.join(dir, "cli-"));
    try {
      await resetSandbox(sb());
      await sb().injectFault("canary", { errorRate: 0.5 });
      const load = runLoad({ url: sb().urls.traffic, rps: 200, durationSeconds: 600, signal: abort.signal });
      const planFile = path.join(work, "plan.yaml");
      fs.writeFileSync(planFile, "steps: [{weight: 20, minDuration: 2s, maxDuration: 60s}, {weight: 100}]\ntick: 1s\n");
      const cli = (args: string[]) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), path.join(__dirname, "../../../automation/cli/index.ts"), ...args], { cwd: work });
          let stdout = "";
          let stderr = "";
          child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
          child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
          const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
          child.on("close", (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
        });
      const r = await cli(["rollout", "--target", "haproxy", "--sandbox", stateFile, "--version", "v2", "--image", "sandbox/app:v2", "--plan", planFile, "--json"]);
      abort.abort();
      await load;
      assert.equal(r.code, 1, r.stderr);
      const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as { outcome: string; phase: string; reason: string };
      assert.equal(result.outcome, "rolledBack");
      assert.equal(result.phase, "RolledBack");
      assert.match(result.reason, /^guardrail errorRate: /);
      const status = await cli(["status", "--target", "haproxy", "--sandbox", stateFile, "--json"]);
      assert.equal(status.code, 0, status.stderr);
      const record = JSON.parse(status.stdout) as { phase: string; history: { type: string }[] };
      assert.equal(record.phase, "RolledBack");
      assert.deepEqual(record.history.map((h) => h.type), ["start", "advance", "rollback", "rolledBack"]);
      assert.ok(fs.existsSync(path.join(dir, "rollout.json")), "the record is next to the sandbox's state file");
      const w = (await sb().readWeights()).find((x) => x.route === "default")!;
      assert.deepEqual([w.stable, w.canary], [100, 0]);
    } finally {
      abort.abort();
      await sb().clearFault("canary");
    }
  });
});
