/**
 * The analysis path on real processes: a real Prometheus scraping both instances and HAProxy's
 * exporter reports what the load generator saw, and injected faults show up at the injected
 * rate in the responses and in the metrics.
 */
import * as assert from "node:assert/strict";
import { RequestRecord, runLoad } from "../../../local/loadgen";
import { queryInstant } from "../../../local/prometheus/query";
import { Sandbox, startSandbox } from "../../../local/sandbox";
import { assertAllDead, assertBinomial } from "../../helpers/sandbox";
import { HAPROXY, needs, PROMETHEUS } from "../../helpers/tools";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => Date.now() / 1000;
/** A time after which Prometheus has scraped everything sent so far: idle for 1.5 intervals. */
const settled = async () => (await sleep(1500 * SCRAPE_S), now());
/** Prometheus's scrape interval: short, so the tests wait little for a scrape. */
const SCRAPE_S = 0.5;
/** Time in the first test scales with the interval: the load lasts 4 intervals, sampled every half interval. */
const LOAD_S = 4 * SCRAPE_S;

/** `query` (one series per `by` label value) at `time`, as a map label value → number. */
async function byLabel(prom: string, query: string, label: string, time: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await queryInstant(prom, query, time)) out[s.metric[label]] = s.value;
  return out;
}

function minus(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]).filter(([, v]) => v !== 0));
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe("sandbox metrics and faults (real Prometheus, real HAProxy)", function () {
  needs(HAPROXY, PROMETHEUS);
  this.timeout(120_000);
  let sb: Sandbox | undefined;
  let pids: Record<string, number> = {};
  const s = (): Sandbox => sb as Sandbox;
  const prom = (): string => s().urls.prometheus as string;
  const REQUESTS = 'sum by (version) (http_requests_total{job="app"})';

  before(async () => {
    sb = await startSandbox({ traffic: { canaryWeight: 50 }, scrapeIntervalSeconds: SCRAPE_S });
    pids = { ...sb.pids };
  });
  after(async () => {
    await sb?.stop();
    // Pids of restarted instances too.
    assertAllDead({ ...pids, ...(sb?.pids ?? {}) });
  });

  it("Prometheus's counts match the load generator's within one scrape interval, and exactly once settled", async () => {
    const tBase = await settled();
    const base = await byLabel(prom(), REQUESTS, "version", tBase);
    const haproxyQuery = 'sum by (server) (haproxy_server_http_responses_total{proxy="be_default"})';
    const haproxyBase = await byLabel(prom(), haproxyQuery, "server", tBase);

    const r = await runLoad({ url: s().urls.traffic, rps: 1200 / LOAD_S, durationSeconds: LOAD_S, keepRecords: true });
    const records = r.records as RequestRecord[];
    await sleep(2500 * SCRAPE_S);

    // Settled: every request the load generator saw is counted, no more, no fewer.
    const counted = minus(await byLabel(prom(), REQUESTS, "version", now()), base);
    assert.deepEqual(counted, r.all.byVersion);
    const haproxySettled = minus(await byLabel(prom(), haproxyQuery, "server", now()), haproxyBase);
    assert.deepEqual(haproxySettled, { stable: r.all.byVersion.v1, canary: r.all.byVersion.v2 });

    // During the run: the value at T is the last scrape at or before T, which counted at least
    // the responses received one interval (plus slack) earlier and at most the requests sent by T.
    const t0 = records.reduce((m, x) => Math.min(m, x.sentAt), Infinity) / 1000;
    let checked = 0;
    for (let t = t0 + 0.75 * SCRAPE_S; t < t0 + LOAD_S; t += 0.5 * SCRAPE_S) {
      const at = minus(await byLabel(prom(), REQUESTS, "version", t), base);
      for (const v of ["v1", "v2"]) {
        const lower = records.filter((x) => x.version === v && x.receivedAt <= (t - SCRAPE_S - 0.25) * 1000).length;
        const upper = records.filter((x) => x.version === v && x.sentAt <= (t + 0.1) * 1000).length;
        const got = at[v];
        if (got === undefined) continue; // a stale instant (see below): absent, not wrong
        assert.ok(got >= lower && got <= upper, `${v} at t0+${(t - t0).toFixed(2)} s: Prometheus ${got}, load generator ${lower}…${upper}`);
        checked++;
      }
    }
    assert.ok(checked >= 10, `at least 10 of 14 version-instants present, got ${checked}`);

    // Sharper, at each sample's own scrape time ts (PromQL timestamp()): the counter counted
    // every response the load generator had received by ts, and nothing sent after ts (plus
    // the few ms between the scrape starting and the instance rendering its metrics).
    // A scrape that times out on a loaded machine marks that instance's series stale, so a
    // version may be absent at one instant; an absent sample is allowed, a wrong one is not,
    // and each version must be present at most instants.
    const series = 'http_requests_total{job="app",code="200"}';
    const present: Record<string, number> = { v1: 0, v2: 0 };
    for (let t = t0 + 0.75 * SCRAPE_S; t < t0 + LOAD_S; t += 0.5 * SCRAPE_S) {
      const values = await queryInstant(prom(), series, t);
      const stamps = await queryInstant(prom(), `timestamp(${series})`, t);
      for (const v of values) {
        assert.ok(v.metric.version === "v1" || v.metric.version === "v2", `unexpected version ${v.metric.version}`);
        present[v.metric.version]!++;
        const version = v.metric.version;
        const ts = stamps.find((x) => x.metric.version === version)?.value as number;
        const got = v.value - (base[version] ?? 0);
        const received = records.filter((x) => x.version === version && x.receivedAt <= ts * 1000).length;
        const sent = records.filter((x) => x.version === version && x.sentAt <= ts * 1000 + 250).length;
        assert.ok(got >= received && got <= sent, `${version} scraped at t0+${(ts - t0).toFixed(3)} s: Prometheus ${got}, load generator received ${received}, sent ${sent}`);
        assert.ok(t - ts <= SCRAPE_S + 0.25, `sample at t0+${(ts - t0).toFixed(3)} s is older than one interval at t0+${(t - t0).toFixed(2)} s`);
      }
    }
    assert.ok(present.v1! >= 5 && present.v2! >= 5, `each version present at 5 or more of 7 instants, got ${JSON.stringify(present)}`);
  });

  it("an injected error rate shows up at that rate in the responses and, exactly, in Prometheus", async () => {
    const tBase = await settled();
    const errors = 'sum by (version, code) (http_requests_total{job="app"})';
    const before = await queryInstant(prom(), errors, tBase);
    await s().injectFault("canary", { errorRate: 0.2 });
    const r = await runLoad({ url: s().urls.traffic, rps: 600, durationSeconds: 2.5, seed: 5 });
    await s().clearFault("canary");
    const canary = r.all.byVersionStatus.v2;
    const nCanary = r.all.byVersion.v2;
    assertBinomial(canary["500"] ?? 0, nCanary, 0.2, "canary 500s");
    assert.deepEqual(r.all.byVersionStatus.v1, { "200": r.all.byVersion.v1 });

    await sleep(2500 * SCRAPE_S);
    const after = await queryInstant(prom(), errors, now());
    const delta = (version: string, code: string): number => {
      const pick = (xs: typeof after) => xs.find((x) => x.metric.version === version && x.metric.code === code)?.value ?? 0;
      return pick(after) - pick(before);
    };
    assert.deepEqual(
      { v2_500: delta("v2", "500"), v2_200: delta("v2", "200"), v1_500: delta("v1", "500") },
      { v2_500: canary["500"], v2_200: canary["200"], v1_500: 0 },
    );
  });

  it("a fault injected mid-run applies from that moment on", async () => {
    const load = runLoad({ url: s().urls.traffic, rps: 600, durationSeconds: 1.5, keepRecords: true });
    await sleep(750);
    const issued = performance.timeOrigin + performance.now();
    await s().injectFault("canary", { errorRate: 1 });
    const applied = performance.timeOrigin + performance.now();
    const r = await load;
    await s().clearFault("canary");
    const canary = (r.records as RequestRecord[]).filter((x) => x.version === "v2");
    const beforeFault = canary.filter((x) => (x.appReceivedAt as number) < issued);
    const afterFault = canary.filter((x) => (x.appReceivedAt as number) > applied);
    assert.ok(beforeFault.length > 100 && afterFault.length > 100, `${beforeFault.length} before, ${afterFault.length} after`);
    assert.deepEqual([...new Set(beforeFault.map((x) => x.status))], [200]);
    assert.deepEqual([...new Set(afterFault.map((x) => x.status))], [500]);
  });

  it("injected latency moves the canary's histogram and not stable's", async () => {
    const bucket = (version: string, le: string) => `sum(http_request_duration_seconds_bucket{job="app",version="${version}",le="${le}"})`;
    const count = (version: string) => `sum(http_request_duration_seconds_count{job="app",version="${version}"})`;
    const value = async (q: string, t: number) => (await queryInstant(prom(), q, t))[0]?.value ?? 0;
    const tBase = await settled();
    const base = { v2fast: await value(bucket("v2", "0.25"), tBase), v2all: await value(count("v2"), tBase), v1fast: await value(bucket("v1", "0.25"), tBase), v1all: await value(count("v1"), tBase) };
    await s().injectFault("canary", { latency: { kind: "fixed", ms: 300 } });
    const r = await runLoad({ url: s().urls.traffic, rps: 200, durationSeconds: 2, keepRecords: true });
    await s().clearFault("canary");
    // Node timers have 1 ms granularity and may fire up to 1 ms early against the wall clock the
    // load generator stamps with, so a 300 ms delay can show as 299.x ms; anything faster is a miss.
    const slow = (r.records as RequestRecord[]).filter((x) => x.version === "v2" && x.receivedAt - x.sentAt < 299);
    assert.deepEqual(slow, [], "canary responses faster than the injected 300 ms");

    await sleep(2500 * SCRAPE_S);
    const t = now();
    assert.deepEqual(
      { v2fast: (await value(bucket("v2", "0.25"), t)) - base.v2fast, v2all: (await value(count("v2"), t)) - base.v2all, v1fast: (await value(bucket("v1", "0.25"), t)) - base.v1fast, v1all: (await value(count("v1"), t)) - base.v1all },
      { v2fast: 0, v2all: r.all.byVersion.v2, v1fast: r.all.byVersion.v1, v1all: r.all.byVersion.v1 },
    );
  });

  it("a crash is real: HAProxy takes the canary out, traffic fails over to stable, a restart brings it back", async () => {
    const oldPid = s().pids.canary;
    await s().injectFault("canary", { crash: { exitCode: 2 } });
    await until("canary process exit", async () => !s().processStatus().canary, 5000);
    await until("HAProxy marking the canary down", async () => (await s().readWeights()).every((w) => !w.canaryUp), 5000);
    await until("Prometheus seeing the canary target down", async () => (await queryInstant(prom(), 'up{job="app",role="canary"}'))[0]?.value === 0, 5000);

    const down = await runLoad({ url: s().urls.traffic, rps: 200, durationSeconds: 1 });
    assert.deepEqual(down.all.byVersionStatus, { v1: { "200": 200 } });

    // Restarted with a slow start: the first requests after the restart are slower.
    await s().restartApp("canary", { slowStart: { ms: 200, durationMs: 60_000 } });
    assert.notEqual(s().pids.canary, oldPid);
    const fault = (await (await fetch(`${s().urls.canary}admin/fault`)).json()) as { fault: unknown };
    assert.deepEqual(fault.fault, { errorRate: 0, errorStatus: 500, slowStart: { ms: 200, durationMs: 60_000 } });
    await s().clearFault("canary");
    await until("HAProxy marking the canary up", async () => (await s().readWeights()).every((w) => w.canaryUp), 5000);
    const up = await runLoad({ url: s().urls.traffic, rps: 200, durationSeconds: 1 });
    assert.deepEqual(up.all.byStatus, { "200": 200 });
    assertBinomial(up.all.byVersion.v2 ?? 0, 200, 0.5, "canary share after restart");
  });
});
