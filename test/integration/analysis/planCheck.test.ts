import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FakePrometheus } from "../../helpers/fakePrometheus";

// `canary plan --check` as a user runs it, against a Prometheus API holding the last twenty
// minutes of a baseline's counters. The plan names the baseline, so no target is contacted.

const ROOT = path.resolve(__dirname, "../../..");
const CLI = path.join(ROOT, "automation", "cli", "index.ts");
const TSX = require.resolve("tsx/cjs");

describe("canary plan --check", function () {
  this.timeout(60_000);
  const prom = new FakePrometheus();
  let dir: string;
  before(async () => {
    await prom.start();
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "canary-plan-")));
  });
  after(async () => {
    await prom.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Twenty-two minutes of samples every 15 s up to now for two services: `busy` at 1000 requests/s, `quiet` at 10, both 1% errors. */
  before(() => {
    const now = Math.floor(Date.now() / 1000);
    for (const [job, rps] of [["busy", 1000], ["quiet", 10]] as const) {
      const times = Array.from({ length: 89 }, (_, i) => now - 1320 + 15 * i);
      prom.add("http_requests_total", { job, instance: `${job}-1`, version: "v1", code: "200" }, times.map((t) => [t, 0.99 * rps * (t - now + 1320)] as const));
      prom.add("http_requests_total", { job, instance: `${job}-1`, version: "v1", code: "500" }, times.map((t) => [t, 0.01 * rps * (t - now + 1320)] as const));
    }
    prom.targets = [
      { job: "busy", instance: "busy-1", scrapeInterval: "15s" },
      { job: "quiet", instance: "quiet-1", scrapeInterval: "15s" },
    ];
  });

  /** Runs the CLI (asynchronously: the fake Prometheus answers from this process), bounded in time. */
  const check = (job: string): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const file = path.join(dir, `${job}.yaml`);
    fs.writeFileSync(file, `steps: [{ weight: 5 }, { weight: 25 }, { weight: 100 }]\ntick: 30s\nanalysis:\n  metrics: { url: "${prom.url}", baseline: v1, canary: v2, latency: null, selectors: { job: ${job} } }\n`);
    const child = spawn(process.execPath, ["--require", TSX, CLI, "plan", "--check", "--plan", file, "--stack", "dev"], { cwd: dir, env: { ...process.env, NODE_OPTIONS: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    return new Promise((resolve) =>
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      }),
    );
  };

  it("prints the forecast per step and exits 0 when every step can decide", async () => {
    const r = await check("busy");
    assert.equal(r.code, 0, r.stderr + r.stdout);
    // 30 s ticks: the judge decides on the tick after its evidence suffices.
    assert.deepEqual(r.stdout.trim().split("\n"), [
      "scrape interval: 15s",
      "current traffic: 1000.0 requests/s; baseline rates: errors 1.000%",
      "step 0 at 5% (max 10m): promote a good canary in 2m30s; detect a 2× regression in errors 60s — ok",
      "step 1 at 25% (max 10m): promote a good canary in 60s; detect a 2× regression in errors 60s — ok",
    ]);
  });

  it("exits 2 and names the step when the traffic is too low to decide", async () => {
    const r = await check("quiet");
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stdout.includes("refused: steps[0].maxDuration: at 5% of 10.0 requests/s a canary as good as the baseline needs more than 40m to pass (maxDuration 10m)"), r.stdout);
  });
});
