import { strict as assert } from "node:assert";
import net from "node:net";
import { PrometheusProvider } from "../../../automation/analysis/prometheus";
import { OkMeasurement } from "../../../automation/analysis/types";
import { FakePrometheus } from "../../helpers/fakePrometheus";

// The provider's HTTP contract over a real socket: form-encoded POSTs, time-outs, refused
// connections. Everything about what it does with the answers is in the unit tests
// (test/unit/analysis/prometheusProvider.test.ts), through the same fake.

describe("prometheus provider over HTTP", function () {
  this.timeout(10000);
  const prom = new FakePrometheus();
  before(() => prom.start());
  after(() => prom.stop());
  beforeEach(() => {
    prom.mode = "ok";
  });

  it("posts range selectors at an explicit time and reads the matrix answer", async () => {
    prom.add("http_requests_total", { version: "v2", code: "200", pod: "c1" }, [[100, 10], [105, 30]]);
    prom.add("http_requests_total", { version: "v1", code: "200", pod: "b1" }, [[100, 100], [105, 500]]);
    const p = new PrometheusProvider({ type: "prometheus", url: prom.url, canary: "v2", baseline: "v1", latency: null });
    assert.equal((await p.measure(101)).kind, "priming");
    const m = (await p.measure(106)) as OkMeasurement;
    assert.deepEqual([m.kind, m.covers, m.canary.requests, m.baseline.requests], ["ok", { start: 100, end: 105 }, 20, 400]);
    assert.deepEqual(prom.asked.slice(0, 2), [
      { query: 'http_requests_total{version="v2"}[300s]', time: "101.000" },
      { query: 'http_requests_total{version="v1"}[300s]', time: "101.000" },
    ]);
  });

  it("a server that never answers is queryFailed after the time-out", async () => {
    prom.mode = "hang";
    const p = new PrometheusProvider({ type: "prometheus", url: prom.url, canary: "v2", baseline: "v1", timeoutMs: 300 });
    const m = await p.measure(400);
    assert.equal(m.kind, "queryFailed");
    assert.match(m.kind === "queryFailed" ? m.error : "", /^query .*\[300s\] at 400: timed out after 300 ms$/);
  });

  it("an unreachable server is queryFailed with the connection error; the reference read fails as a value", async () => {
    const port = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const n = (s.address() as net.AddressInfo).port;
        s.close(() => r(n));
      });
    });
    const p = new PrometheusProvider({ type: "prometheus", url: `http://127.0.0.1:${port}`, canary: "v2", baseline: "v1" });
    const m = await p.measure(500);
    assert.equal(m.kind, "queryFailed");
    assert.match(m.kind === "queryFailed" ? m.error : "", /^query http_requests_total\{version="v[12]"\}\[300s\] at 500: fetch failed \(ECONNREFUSED\)$/);
    const r = await p.readReference(500, 600, 30);
    assert.equal(r.kind, "failed");
    assert.equal(await p.scrapeIntervalSeconds(500), undefined);
  });
});
