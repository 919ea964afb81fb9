import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { addedDelayMs, parseFault, sampleLatencyMs } from "../../../local/app/faults";
import { seededRandom } from "../../../local/loadgen";
import { freePorts, GroupChild, httpGet, spawnGroup, stopGroups, waitReady } from "../../../local/process";
import { assertAllDead, assertBinomial } from "../../helpers/sandbox";

describe("sample service faults (pure)", () => {
  it("defaults to healthy", () => assert.deepEqual(parseFault({}), { errorRate: 0, errorStatus: 500 }));

  describe("rejects bad faults naming the path", () => {
    const table: Array<[unknown, string]> = [
      [{ errorRate: 1.5 }, "errorRate: Too big: expected number to be <=1"],
      [{ latency: { kind: "gamma", ms: 5 } }, "latency.kind: Invalid discriminator value. Expected 'fixed' | 'uniform' | 'exponential' | 'lognormal'"],
      [{ errorRat: 0.1 }, 'fault: Unrecognized key: "errorRat"'],
      [{ crash: { exitCode: 0 } }, "crash.exitCode: Too small: expected number to be >=1"],
    ];
    for (const [input, message] of table) it(JSON.stringify(input), () => assert.throws(() => parseFault(input), { message }));
  });

  it("fixed latency applies to its share of requests", () => {
    const rng = seededRandom(7);
    const draws = Array.from({ length: 4000 }, () => sampleLatencyMs({ kind: "fixed", ms: 40, share: 0.25 }, rng));
    assert.deepEqual([...new Set(draws)].sort((a, b) => a - b), [0, 40]);
    assertBinomial(draws.filter((d) => d === 40).length, 4000, 0.25, "delayed share");
  });

  it("exponential latency has the configured mean", () => {
    const rng = seededRandom(3);
    const draws = Array.from({ length: 20000 }, () => sampleLatencyMs({ kind: "exponential", meanMs: 50, share: 1 }, rng));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    // Standard error of the mean is 50/sqrt(20000) ≈ 0.35 ms; 2 ms is more than 5 of them.
    assert.ok(Math.abs(mean - 50) < 2, `mean ${mean}`);
  });

  it("lognormal latency has the configured median", () => {
    const rng = seededRandom(5);
    const draws = Array.from({ length: 20000 }, () => sampleLatencyMs({ kind: "lognormal", medianMs: 30, sigma: 0.5, share: 1 }, rng)).sort((a, b) => a - b);
    const median = draws[10000];
    assert.ok(Math.abs(median - 30) < 1.5, `median ${median}`);
  });

  it("slow start decays linearly to zero", () => {
    const f = parseFault({ slowStart: { ms: 200, durationMs: 1000 } });
    const rng = seededRandom(1);
    assert.deepEqual([0, 250, 500, 1000, 5000].map((t) => addedDelayMs(f, t, rng)), [200, 150, 100, 0, 0]);
  });
});

describe("sample service process", function () {
  this.timeout(60_000);
  let dir: string;
  let port: number;
  let app: GroupChild | undefined;
  const pids: Record<string, number> = {};
  const base = () => `http://127.0.0.1:${port}`;
  const start = async (): Promise<GroupChild> => {
    const child = spawnGroup("app", process.execPath, ["--require", require.resolve("tsx/cjs"), path.resolve(__dirname, "../../../local/app/server.ts"), "--version", "v7", "--port", String(port)], {
      logFile: path.join(dir, "app.log"),
    });
    pids[`app-${child.pid}`] = child.pid;
    await waitReady("app", async () => (await httpGet(`${base()}/health`)).status === 200, { timeoutMs: 20_000, child });
    return child;
  };
  const post = (body: unknown) => fetch(`${base()}/admin/fault`, { method: "POST", body: JSON.stringify(body) });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-"));
    [port] = await freePorts(1);
    app = await start();
  });
  after(async () => {
    await stopGroups(Object.entries(pids).map(([name, pid]) => ({ name, pid })));
    if (app && !app.exit) await app.exited;
    fs.rmSync(dir, { recursive: true, force: true });
    assertAllDead(pids);
  });

  it("answers with its version in x-version and counts requests by version and code", async () => {
    const res = await fetch(`${base()}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-version"), "v7");
    assert.deepEqual(await res.json(), { version: "v7", status: 200 });
    const metrics = (await httpGet(`${base()}/metrics`)).body;
    assert.match(metrics, /^http_requests_total\{version="v7",code="200"\} 1$/m);
    assert.match(metrics, /^http_request_duration_seconds_bucket\{le="0\.5",version="v7",code="200"\} 1$/m);
    assert.match(metrics, /^http_request_duration_seconds_count\{version="v7",code="200"\} 1$/m);
  });

  it("does not count health checks or metric scrapes", async () => {
    await httpGet(`${base()}/health`);
    const metrics = (await httpGet(`${base()}/metrics`)).body;
    assert.match(metrics, /^http_requests_total\{version="v7",code="200"\} 1$/m);
  });

  it("rejects an invalid fault with 400 and the path", async () => {
    const res = await post({ errorRate: 2 });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: "errorRate: Too big: expected number to be <=1" });
  });

  it("fails the injected share of requests", async () => {
    assert.equal((await post({ errorRate: 0.3, errorStatus: 503 })).status, 200);
    const statuses = [];
    for (let i = 0; i < 600; i++) statuses.push((await fetch(`${base()}/`)).status);
    assert.deepEqual([...new Set(statuses)].sort(), [200, 503]);
    assertBinomial(statuses.filter((s) => s === 503).length, 600, 0.3, "503 share");
    assert.equal((await fetch(`${base()}/admin/fault`, { method: "DELETE" })).status, 200);
  });

  it("adds the injected latency, visible in the histogram", async () => {
    await post({ latency: { kind: "fixed", ms: 120 } });
    const t = performance.now();
    await (await fetch(`${base()}/`)).text();
    assert.ok(performance.now() - t >= 120);
    const metrics = (await httpGet(`${base()}/metrics`)).body;
    const bucket = (le: string) => Number(new RegExp(`^http_request_duration_seconds_bucket\\{le="${le}",version="v7",code="200"\\} (\\d+)$`, "m").exec(metrics)?.[1]);
    assert.equal(bucket("0.25") - bucket("0.1"), 1, "exactly the delayed request falls in (0.1, 0.25]");
    await fetch(`${base()}/admin/fault`, { method: "DELETE" });
  });

  it("crashes for real: the process exits with the code and the port closes", async () => {
    const child = app as GroupChild;
    await post({ crash: { exitCode: 3 } });
    const exit = await child.exited;
    assert.deepEqual(exit, { code: 3, signal: null });
    await assert.rejects(fetch(`${base()}/health`));
    app = await start();
    assert.equal((await httpGet(`${base()}/health`)).status, 200);
  });
});
