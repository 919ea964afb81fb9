import { strict as assert } from "node:assert";
import http from "node:http";
import net from "node:net";
import {
  createMetricsProvider,
  escapeLabelValue,
  parsePrometheusConfig,
  PrometheusProvider,
  ProviderConfigError,
  selector,
} from "../../../automation/analysis/prometheus";
import { OkMeasurement } from "../../../automation/analysis/types";

type Series = { metric: Record<string, string>; value: number };

/**
 * A stand-in for Prometheus's /api/v1/query: answers each (query, time) from a table the
 * test fills, and records what it was asked, so the provider's HTTP contract is checked too.
 */
class FakePrometheus {
  readonly asked: { query: string; time: string }[] = [];
  private readonly answers = new Map<string, Series[]>();
  mode: "ok" | "hang" | "http500" | "notJson" | "error" = "ok";
  private server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const p = new URLSearchParams(body);
      const query = p.get("query") ?? "";
      const time = p.get("time") ?? "";
      this.asked.push({ query, time });
      if (this.mode === "hang") return; // never answers
      if (this.mode === "http500") {
        res.writeHead(500);
        res.end("boom");
        return;
      }
      if (this.mode === "notJson") {
        res.writeHead(200);
        res.end("<html>");
        return;
      }
      if (this.mode === "error") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ status: "error", errorType: "bad_data", error: "parse error" }));
        return;
      }
      const result = (this.answers.get(`${query}@${time}`) ?? []).map((s) => ({ metric: s.metric, value: [Number(time), String(s.value)] }));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result } }));
    });
  });
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
  set(query: string, time: number, series: Series[]): void {
    this.answers.set(`${query}@${time.toFixed(3)}`, series);
  }
}

const req = (version: string, code: string, pod: string, value: number): Series => ({
  metric: { __name__: "http_requests_total", version, code, pod },
  value,
});
const bucket = (version: string, le: string, pod: string, value: number): Series => ({
  metric: { __name__: "http_request_duration_seconds_bucket", version, le, pod },
  value,
});

describe("prometheus provider: configuration and queries", () => {
  it("rejects hostile or invalid values naming the field", () => {
    const base = { type: "prometheus", url: "http://prom:9090", canary: "v2", baseline: "v1" };
    const table: [Record<string, unknown>, string][] = [
      [{ ...base, canary: 'v2"} or vector(1) #' }, "invalid prometheus provider config: canary: must be 1–256 characters from [A-Za-z0-9._~:@+-/ ]"],
      [{ ...base, selectors: { job: 'x",a="b' } }, "invalid prometheus provider config: selectors.job: must be 1–256 characters from [A-Za-z0-9._~:@+-/ ]"],
      [{ ...base, requests: { metric: "up or vector(1)" } }, "invalid prometheus provider config: requests.metric: must be a Prometheus metric name"],
      [{ ...base, versionLabel: "__name__" }, "invalid prometheus provider config: versionLabel: must not be a reserved (__) label"],
      [{ ...base, url: "ftp://prom" }, "invalid prometheus provider config: url: Invalid URL"],
      [{ ...base, baseline: "v2" }, 'invalid prometheus provider config: canary: must differ from baseline, both are "v2"'],
      [{ ...base, requests: { errorCodes: "(" } }, "invalid prometheus provider config: requests.errorCodes: not a regular expression (Invalid regular expression: /(/: Unterminated group)"],
    ];
    for (const [input, message] of table) assert.throws(() => parsePrometheusConfig(input), { name: "ProviderConfigError", message });
  });

  it("the factory throws on an unknown type, naming the known ones", () => {
    assert.throws(() => createMetricsProvider({ type: "datadog" }), new ProviderConfigError('unknown metrics provider type "datadog" (known: prometheus)'));
    assert.equal(createMetricsProvider({ type: "prometheus", url: "http://p:9090", canary: "a", baseline: "b" }).type, "prometheus");
  });

  it("sends plain selectors only: no rate(), no histogram_quantile()", () => {
    const p = new PrometheusProvider({
      type: "prometheus",
      url: "http://prom:9090",
      canary: "v2",
      baseline: "v1",
      selectors: { namespace: "shop", job: "api" },
      counts: [{ key: "checkouts", metric: "checkouts_total" }],
    });
    assert.deepEqual(p.queries("canary"), {
      requests: 'http_requests_total{job="api",namespace="shop",version="v2"}',
      latency: 'http_request_duration_seconds_bucket{job="api",namespace="shop",version="v2"}',
      "count:checkouts": 'checkouts_total{job="api",namespace="shop",version="v2"}',
    });
  });

  it("escapes label values as a second line of defence", () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.equal(selector("m", { a: 'x"y' }), 'm{a="x\\"y"}');
    assert.throws(() => selector("m", { "a-b": "x" }), new ProviderConfigError('invalid label name "a-b"'));
  });
});

describe("prometheus provider: measurements", function () {
  this.timeout(10000);
  const prom = new FakePrometheus();
  before(() => prom.start());
  after(() => prom.stop());
  beforeEach(() => {
    prom.mode = "ok";
  });

  const Q = {
    cReq: 'http_requests_total{version="v2"}',
    bReq: 'http_requests_total{version="v1"}',
    cLat: 'http_request_duration_seconds_bucket{version="v2"}',
    bLat: 'http_request_duration_seconds_bucket{version="v1"}',
  };
  const provider = (timeoutMs = 5000) => new PrometheusProvider({ type: "prometheus", url: prom.url, canary: "v2", baseline: "v1", timeoutMs });

  it("primes, then differences per series: codes, resets, new pods, buckets", async () => {
    prom.set(Q.cReq, 100, [req("v2", "200", "c1", 50), req("v2", "503", "c1", 2)]);
    prom.set(Q.bReq, 100, [req("v1", "200", "b1", 1000), req("v1", "200", "b2", 800), req("v1", "500", "b1", 9)]);
    prom.set(Q.cLat, 100, [bucket("v2", "0.25", "c1", 40), bucket("v2", "+Inf", "c1", 52)]);
    prom.set(Q.bLat, 100, [bucket("v1", "0.25", "b1", 1000), bucket("v1", "+Inf", "b1", 1009)]);
    // 5 s later: c1 served 20 more (3 errors); b2 restarted (800 → 30); a new pod b3 appeared.
    prom.set(Q.cReq, 105, [req("v2", "200", "c1", 67), req("v2", "503", "c1", 5)]);
    prom.set(Q.bReq, 105, [req("v1", "200", "b1", 1100), req("v1", "200", "b2", 30), req("v1", "500", "b1", 10), req("v1", "200", "b3", 12)]);
    prom.set(Q.cLat, 105, [bucket("v2", "0.25", "c1", 50), bucket("v2", "+Inf", "c1", 72)]);
    prom.set(Q.bLat, 105, [bucket("v1", "0.25", "b1", 1100), bucket("v1", "+Inf", "b1", 1110)]);
    const p = provider();
    assert.deepEqual(await p.measure(100), { kind: "priming", end: 100 });
    const m = (await p.measure(105)) as OkMeasurement;
    assert.deepEqual(m, {
      kind: "ok",
      start: 100,
      end: 105,
      canary: {
        requests: 20,
        errors: 3,
        bySeries: [{ requests: 20, errors: 3 }],
        latencyBuckets: [
          { le: 0.25, count: 10 },
          { le: Infinity, count: 20 },
        ],
      },
      // 100 (b1) + 30 (b2 since its restart) + 12 (new b3) + 1 error = 143 requests.
      baseline: {
        requests: 143,
        errors: 1,
        // Per pod (all labels but the code): b1 101 with its error, b2 30, b3 12.
        bySeries: [
          { requests: 101, errors: 1 },
          { requests: 30, errors: 0 },
          { requests: 12, errors: 0 },
        ],
        latencyBuckets: [
          { le: 0.25, count: 100 },
          { le: Infinity, count: 101 },
        ],
      },
      notes: ["baseline requests: 1 counter reset(s)"],
    });
    assert.deepEqual(
      prom.asked.slice(0, 4).map((a) => a.time),
      ["100.000", "100.000", "100.000", "100.000"],
    );
  });

  it("a failed query keeps the previous reading, so the next tick covers the gap", async () => {
    prom.set(Q.cReq, 200, [req("v2", "200", "c1", 10)]);
    prom.set(Q.bReq, 200, [req("v1", "200", "b1", 100)]);
    prom.set(Q.cReq, 210, [req("v2", "200", "c1", 30)]);
    prom.set(Q.bReq, 210, [req("v1", "200", "b1", 300)]);
    const p = provider();
    await p.measure(200);
    prom.mode = "http500";
    const failed = await p.measure(205);
    assert.deepEqual(failed, {
      kind: "queryFailed",
      end: 205,
      error: `query ${failed.kind === "queryFailed" ? failed.error.split(" ")[1] : ""} at 205: HTTP 500: boom`,
    });
    prom.mode = "ok";
    const m = (await p.measure(210)) as OkMeasurement;
    assert.equal(m.start, 200);
    assert.deepEqual([m.canary.requests, m.baseline.requests], [20, 200]);
  });

  it("a series missing from one reading (stale after a failed scrape) is differenced on its return", async () => {
    prom.set(Q.cReq, 600, [req("v2", "200", "c1", 50), req("v2", "200", "c2", 40)]);
    prom.set(Q.bReq, 600, [req("v1", "200", "b1", 1000)]);
    prom.set(Q.cReq, 605, [req("v2", "200", "c2", 45)]);
    prom.set(Q.bReq, 605, [req("v1", "200", "b1", 1100)]);
    prom.set(Q.cReq, 610, [req("v2", "200", "c1", 80), req("v2", "200", "c2", 50)]);
    prom.set(Q.bReq, 610, [req("v1", "200", "b1", 1200)]);
    const p = provider();
    await p.measure(600);
    const gap = (await p.measure(605)) as OkMeasurement;
    assert.equal(gap.canary.requests, 5);
    assert.deepEqual(gap.notes, ["canary requests: 1 series disappeared"]);
    const back = (await p.measure(610)) as OkMeasurement;
    // c1 grew from 50 to 80 while unseen: 30, not its whole 80; c2 5 more.
    assert.equal(back.canary.requests, 35);
  });

  it("no series for a version is noValues, with the exact selector", async () => {
    prom.set(Q.bReq, 300, [req("v1", "200", "b1", 100)]);
    prom.set(Q.bReq, 305, [req("v1", "200", "b1", 150)]);
    const p = provider();
    await p.measure(300);
    assert.deepEqual(await p.measure(305), {
      kind: "noValues",
      end: 305,
      start: 300,
      missing: ["canary"],
      neverSeen: ["canary"],
      detail: 'http_requests_total{version="v2"} returned no series',
    });
  });

  it("tells series that vanished from series never seen", async () => {
    prom.set(Q.bReq, 300, [req("v1", "200", "b1", 100)]);
    prom.set(Q.cReq, 300, [req("v2", "200", "c1", 10)]);
    prom.set(Q.bReq, 305, [req("v1", "200", "b1", 150)]);
    const p = provider();
    await p.measure(300);
    const m = await p.measure(305);
    assert.equal(m.kind, "noValues");
    assert.deepEqual(m.kind === "noValues" && [m.missing, m.neverSeen], [["canary"], []]);
  });

  it("three different failures, three messages: timeout, bad body, API error", async () => {
    const p = provider(300);
    const table: [typeof prom.mode, RegExp][] = [
      ["hang", /^query .* at 400: timed out after 300 ms$/],
      ["notJson", /^query .* at 400: response is not JSON: <html>$/],
      ["error", /^query .* at 400: unexpected response shape: \{"status":"error"/],
    ];
    for (const [mode, message] of table) {
      prom.mode = mode;
      const m = await p.measure(400);
      assert.equal(m.kind, "queryFailed", mode);
      assert.match(m.kind === "queryFailed" ? m.error : "", message, mode);
    }
  });

  it("an unreachable server is queryFailed with the connection error", async () => {
    const port = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const n = (s.address() as net.AddressInfo).port;
        s.close(() => r(n));
      });
    });
    const p = new PrometheusProvider({ type: "prometheus", url: `http://127.0.0.1:${port}`, canary: "v2", baseline: "v1" });
    const m = await p.measure(500);
    assert.equal(m.kind, "queryFailed");
    assert.match(m.kind === "queryFailed" ? m.error : "", /^query http_requests_total\{version="v[12]"\} at 500: fetch failed \(ECONNREFUSED\)$/);
  });
});
