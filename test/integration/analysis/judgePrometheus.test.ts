/**
 * The Prometheus provider and the judge against a real Prometheus (Debian package) scraping
 * a real process (test/fixtures/counterApp.ts) every second, both on 127.0.0.1 free ports.
 *
 * Why the counts can be asserted exactly: the test adds increments, waits 2.5 s (at least
 * two 1 s scrapes see them), takes the tick boundary T = now, waits past T before adding
 * the next increments, and only then queries at time=T. The value Prometheus returns at T
 * is the last scrape at or before T, which therefore includes every increment made before
 * T and none made after. (With increments arriving continuously, a tick's counts would be
 * off by what one scrape interval holds, moved to the next tick, never lost.)
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Judge, JudgeState } from "../../../automation/analysis/judge";
import { PrometheusProvider } from "../../../automation/analysis/prometheus";
import { OkMeasurement, TickMeasurement } from "../../../automation/analysis/types";
import { needs, PROMETHEUS } from "../../helpers/tools";

const FIXTURE = path.join(__dirname, "..", "..", "fixtures", "counterApp.ts");

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls until `check` resolves true, or fails after `ms` naming what it waited for. */
async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** Stops a child: SIGTERM, then SIGKILL if it has not exited within 3 s. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

function startFixture(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`fixture did not start within 15 s: ${out}`));
    }, 15000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("listening")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited (${code}) before listening: ${out}`));
    });
  });
}

describe("judge + Prometheus provider against a real Prometheus", function () {
  this.timeout(60000);
  let tmp: string | undefined;
  let prometheus: ChildProcess | undefined;
  let fixture: ChildProcess | undefined;
  let appPort = 0;
  let promUrl = "";
  const killAll = (): void => {
    for (const c of [prometheus, fixture]) if (c && c.exitCode === null) c.kill("SIGKILL");
  };

  needs(PROMETHEUS);

  before(async function () {
    process.once("exit", killAll);
    tmp = mkdtempSync(path.join(os.tmpdir(), "judge-prom-"));
    appPort = await freePort();
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    fixture = await startFixture(appPort);
    const config = path.join(tmp, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 900ms",
        "scrape_configs:",
        "  - job_name: app",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${appPort}"]`,
        "",
      ].join("\n"),
    );
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${config}`, `--storage.tsdb.path=${path.join(tmp, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"],
      { stdio: "ignore" },
    );
    await waitFor("Prometheus to be ready", 30000, async () => (await fetch(`${promUrl}/-/ready`)).ok);
    // Seed series for both versions, then wait until Prometheus has scraped the target.
    await record("v1", "200", 100, 0.05);
    await record("v2", "200", 10, 0.3);
    await waitFor("the fixture to be scraped", 20000, async () => {
      const r = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent('http_requests_total{version="v2"}')}`)).json()) as {
        data: { result: unknown[] };
      };
      return r.data.result.length > 0;
    });
  });

  after(async function () {
    await stop(fixture);
    await stop(prometheus);
    process.removeListener("exit", killAll);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function record(version: string, code: string, count: number, latency: number, checkouts = 0): Promise<void> {
    const r = await fetch(`http://127.0.0.1:${appPort}/record?version=${version}&code=${code}&count=${count}&latency=${latency}&checkouts=${checkouts}`, { method: "POST" });
    assert.equal(r.status, 204);
  }

  /** A tick boundary every increment so far has been scraped before, and no later one will be. */
  async function boundary(): Promise<number> {
    await sleep(2500);
    const t = Date.now() / 1000;
    await sleep(1200);
    return t;
  }

  const judge = new Judge({
    metrics: [
      { name: "errors", source: { kind: "errors" } },
      { name: "slow", source: { kind: "latencyAbove", le: 0.25 } },
    ],
  });
  let provider: PrometheusProvider;
  let state: JudgeState;
  const tick = (m: TickMeasurement) => {
    const r = judge.tick(state, m);
    state = r.state;
    return r.verdict;
  };

  it("primes, then returns exact per-tick counts from raw counters", async function () {
    provider = new PrometheusProvider({
      type: "prometheus",
      url: promUrl,
      canary: "v2",
      baseline: "v1",
      selectors: { job: "app" },
      counts: [{ key: "checkouts", metric: "checkouts_total" }],
    });
    const t0 = await boundary();
    state = judge.initialState({ index: 0, startedAt: t0, minDurationSeconds: 60, maxDurationSeconds: 600 });
    const m0 = await provider.measure(t0);
    assert.deepEqual(m0, { kind: "priming", end: t0 });
    assert.equal(tick(m0).hold, "priming");

    await record("v1", "200", 500, 0.05, 20);
    await record("v1", "500", 5, 0.05);
    await record("v2", "200", 50, 0.3, 1);
    await record("v2", "500", 2, 0.3);
    const t1 = await boundary();
    const m1 = await provider.measure(t1);
    assert.equal(m1.kind, "ok", JSON.stringify(m1));
    const ok = m1 as OkMeasurement;
    // The counts cover the interval between the scrapes last before t0 and t1 (1 s apart at most).
    assert.equal(ok.end, t1);
    assert.ok(ok.covers!.start <= t0 && ok.covers!.start > t0 - 1.5, JSON.stringify(ok.covers));
    assert.ok(ok.covers!.end <= t1 && ok.covers!.end > t1 - 1.5, JSON.stringify(ok.covers));
    assert.equal(ok.baseline.requests, 505);
    assert.equal(ok.baseline.errors, 5);
    assert.equal(ok.canary.requests, 52);
    assert.equal(ok.canary.errors, 2);
    // checkouts_total first appears in this tick: a new series counts in full.
    assert.deepEqual(ok.baseline.counts, { checkouts: 20 });
    assert.deepEqual(ok.canary.counts, { checkouts: 1 });
    const bucket = (m: OkMeasurement["canary"], le: number) => m.latencyBuckets?.find((b) => b.le === le)?.count;
    assert.equal(bucket(ok.canary, 0.25), 0);
    assert.equal(bucket(ok.canary, 0.5), 52);
    assert.equal(bucket(ok.canary, Infinity), 52);
    assert.equal(bucket(ok.baseline, 0.05), 505);
    assert.equal(bucket(ok.baseline, Infinity), 505);

    const v = tick(ok);
    assert.equal(v.decision, "continue");
    const errors = v.metrics.find((r) => r.name === "errors")!;
    assert.equal(errors.canaryRate, 2 / 52);
    assert.equal(errors.baselineRate, 5 / 505);
    // 2 errors in 52 requests is 3.8%, but its lower bound is far below the 5% limit.
    const guard = v.guardrails.find((g) => g.name === "errorRate")!;
    assert.equal(guard.status, "ok");
    assert.ok(guard.lowerBound < 0.05, String(guard.lowerBound));
  });

  it("rolls back a 50%-error canary on the first tick with data", async function () {
    await record("v1", "200", 400, 0.05);
    await record("v2", "200", 40, 0.05);
    await record("v2", "500", 40, 0.05);
    const t = await boundary();
    const m = (await provider.measure(t)) as OkMeasurement;
    assert.equal(m.kind, "ok");
    assert.deepEqual([m.canary.requests, m.canary.errors, m.baseline.requests, m.baseline.errors], [80, 40, 400, 0]);
    const v = tick(m);
    assert.equal(v.decision, "rollback");
    // The guardrail window holds both ticks with data: 42 errors in 132 requests.
    assert.match(v.reasons[0], /^guardrail errorRate: canary bad fraction ≥ \d+\.\d\d% \(observed 31\.82% of 132 requests\) exceeds limit 5\.00%$/);
  });

  it("detects a counter reset when the process restarts", async function () {
    await stop(fixture);
    fixture = await startFixture(appPort);
    await record("v1", "200", 30, 0.05);
    await record("v2", "200", 7, 0.05);
    const t = await boundary();
    const m = (await provider.measure(t)) as OkMeasurement;
    assert.equal(m.kind, "ok", JSON.stringify(m));
    // Summed before differencing, the canary would show 7 − 142 < 0 requests; per series it is exact.
    assert.deepEqual([m.canary.requests, m.canary.errors, m.baseline.requests, m.baseline.errors], [7, 0, 30, 0]);
    assert.ok(m.notes?.some((n) => /^\d+ counter reset\(s\)$/.test(n)), JSON.stringify(m.notes));
    // Series the restarted process has not re-created stop holding the boundary back.
    assert.ok(m.notes?.some((n) => /^\d+ series without a recent sample$/.test(n)), JSON.stringify(m.notes));
  });

  it("reads its targets' scrape interval and the baseline's recent history (the pre-flight reads)", async function () {
    assert.equal(await provider.scrapeIntervalSeconds(Date.now() / 1000), 1);
    const before = await boundary();
    await record("v1", "200", 300, 0.05);
    await record("v1", "500", 3, 0.05);
    const after = await boundary();
    const r = await provider.readReference(after, Math.ceil(after - before) + 2, 1);
    assert.equal(r.kind, "ok", JSON.stringify(r));
    if (r.kind !== "ok") return;
    const total = r.reference.baseline.reduce((a, v) => [a[0] + v.requests, a[1] + v.errors], [0, 0]);
    assert.deepEqual(total, [303, 3]);
    assert.equal(r.reference.intervalSeconds, 1);
  });

  it("reports a version without series as noValues, not as zero traffic", async function () {
    const p = new PrometheusProvider({ type: "prometheus", url: promUrl, canary: "v9", baseline: "v1", selectors: { job: "app" } });
    const t0 = Date.now() / 1000 - 3;
    assert.equal((await p.measure(t0)).kind, "priming");
    const m = await p.measure(t0 + 1);
    assert.equal(m.kind, "noValues");
    assert.deepEqual(m.kind === "noValues" && m.missing, ["canary"]);
    assert.deepEqual(m.kind === "noValues" && m.neverSeen, ["canary"]);
    assert.equal(m.kind === "noValues" && m.detail, 'http_requests_total{job="app",version="v9"} has no recent samples');
  });

  it("turns an unreachable Prometheus into queryFailed, and the judge holds", async function () {
    await stop(prometheus);
    const t = Date.now() / 1000;
    const m = await provider.measure(t);
    assert.equal(m.kind, "queryFailed");
    assert.match(m.kind === "queryFailed" ? m.error : "", /ECONNREFUSED/);
    const v = tick(m);
    assert.equal(v.decision, "continue");
    assert.equal(v.hold, "metricsOutage");
  });
});
