import { strict as assert } from "node:assert";
import {
  createMetricsProvider,
  escapeLabelValue,
  parsePrometheusConfig,
  parseScrapeInterval,
  PrometheusProvider,
  ProviderConfigError,
  selector,
} from "../../../automation/analysis/prometheus";
import { OkMeasurement } from "../../../automation/analysis/types";
import { FakePrometheus } from "../../helpers/fakePrometheus";

const REQ = "http_requests_total";
const LAT = "http_request_duration_seconds_bucket";

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
      [{ ...base, sampleWindowSeconds: 5 }, "invalid prometheus provider config: sampleWindowSeconds: Too small: expected number to be >=10"],
    ];
    for (const [input, message] of table) assert.throws(() => parsePrometheusConfig(input), { name: "ProviderConfigError", message });
  });

  it("the factory throws on an unknown type, naming the known ones", () => {
    assert.throws(() => createMetricsProvider({ type: "datadog" }), new ProviderConfigError('unknown metrics provider type "datadog" (known: prometheus)'));
    const p = createMetricsProvider({ type: "prometheus", url: "http://p:9090", canary: "a", baseline: "b" });
    assert.deepEqual([p.type, p.alignsToSamples], ["prometheus", true]);
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

  it("reads scrape intervals in Prometheus's duration format", () => {
    const table: [string, number | undefined][] = [
      ["15s", 15],
      ["1m", 60],
      ["1m30s", 90],
      ["500ms", 0.5],
      ["1h", 3600],
      ["", undefined],
      ["15", undefined],
      ["0s", undefined],
    ];
    for (const [text, seconds] of table) assert.equal(parseScrapeInterval(text), seconds, text);
  });
});

describe("prometheus provider: sample-aligned measurements", () => {
  const provider = (prom: FakePrometheus, extra: Record<string, unknown> = {}): PrometheusProvider =>
    new PrometheusProvider({ type: "prometheus", url: "http://prom:9090", canary: "v2", baseline: "v1", latency: null, ...extra }, prom.fetch);
  const req = (version: string, code: string, pod: string): Record<string, string> => ({ version, code, pod, job: "api", instance: pod });

  it("primes, then counts per series over the common interval: codes, resets, new pods, buckets", async () => {
    const prom = new FakePrometheus();
    // Every series scraped at 100 and 105.
    prom.add(REQ, req("v2", "200", "c1"), [[100, 50], [105, 67]]);
    prom.add(REQ, req("v2", "503", "c1"), [[100, 2], [105, 5]]);
    prom.add(REQ, req("v1", "200", "b1"), [[100, 1000], [105, 1100]]);
    prom.add(REQ, req("v1", "500", "b1"), [[100, 9], [105, 10]]);
    // b2 restarted between the scrapes: 800 → 30.
    prom.add(REQ, req("v1", "200", "b2"), [[100, 800], [105, 30]]);
    // b3 is a new pod: its first sample is all new.
    prom.add(REQ, req("v1", "200", "b3"), [[105, 12]]);
    prom.add(LAT, { version: "v2", le: "0.25", pod: "c1" }, [[100, 40], [105, 50]]);
    prom.add(LAT, { version: "v2", le: "+Inf", pod: "c1" }, [[100, 52], [105, 72]]);
    prom.add(LAT, { version: "v1", le: "0.25", pod: "b1" }, [[100, 1000], [105, 1100]]);
    prom.add(LAT, { version: "v1", le: "+Inf", pod: "b1" }, [[100, 1009], [105, 1110]]);
    const p = provider(prom, { latency: {} });
    assert.deepEqual(await p.measure(102), { kind: "priming", end: 102 });
    const m = (await p.measure(107)) as OkMeasurement;
    assert.deepEqual(m, {
      kind: "ok",
      start: 100,
      end: 107,
      covers: { start: 100, end: 105 },
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
      notes: ["1 counter reset(s)"],
    });
    assert.deepEqual(prom.asked.slice(0, 2), [
      { query: 'http_requests_total{version="v2"}[300s]', time: "102.000" },
      { query: 'http_request_duration_seconds_bucket{version="v2"}[300s]', time: "102.000" },
    ]);
  });

  it("canary and baseline scraped out of phase: both counted over the same interval, nothing lost", async () => {
    const prom = new FakePrometheus();
    // Canary scraped at 0, 15, 30, 45 (10 requests/s); baseline at 7, 22, 37, 52 (190/s).
    prom.add(REQ, req("v2", "200", "c1"), [0, 15, 30, 45].map((t) => [t, 10 * t] as const));
    prom.add(REQ, req("v1", "200", "b1"), [7, 22, 37, 52].map((t) => [t, 190 * t] as const));
    const p = provider(prom);
    // Ticks every 5 s: the boundary is the older of the two latest samples.
    const readings = [];
    for (const at of [10, 15, 20, 25, 30, 35, 40, 45, 50, 55]) readings.push(await p.measure(at));
    assert.deepEqual(
      readings.map((r) => (r.kind === "ok" ? [r.kind, r.covers!.start, r.covers!.end, r.canary.requests, r.baseline.requests] : [r.kind])),
      [
        ["priming"], // boundary 0: the canary's latest (the baseline's is 7)
        ["ok", 0, 7, 70, 1330], // 15: canary latest 15, baseline 7 → 7
        ["pending"], // 20: still 7
        ["ok", 7, 15, 80, 1520], // 25: baseline 22, canary 15 → 15
        ["ok", 15, 22, 70, 1330], // 30: canary 30, baseline 22 → 22
        ["pending"],
        ["ok", 22, 30, 80, 1520], // 40: baseline 37, canary 30 → 30
        ["ok", 30, 37, 70, 1330], // 45: canary 45, baseline 37 → 37
        ["pending"],
        ["ok", 37, 45, 80, 1520], // 55: baseline 52, canary 45 → 45
      ],
    );
    // Every interval has both versions at the same 5% share: the canary's 10/s of 200/s.
    for (const r of readings) if (r.kind === "ok") assert.equal(r.canary.requests / (r.canary.requests + r.baseline.requests), 0.05);
  });

  it("a failed query consumes nothing: the next reading covers the gap", async () => {
    const prom = new FakePrometheus();
    prom.add(REQ, req("v2", "200", "c1"), [[200, 10], [205, 20], [210, 30]]);
    prom.add(REQ, req("v1", "200", "b1"), [[200, 100], [205, 200], [210, 300]]);
    const p = provider(prom);
    await p.measure(200);
    prom.mode = "http500";
    assert.deepEqual(await p.measure(205), { kind: "queryFailed", end: 205, error: 'query http_requests_total{version="v2"}[300s] at 205: HTTP 500: boom' });
    prom.mode = "ok";
    const m = (await p.measure(210)) as OkMeasurement;
    assert.deepEqual([m.covers, m.canary.requests, m.baseline.requests], [{ start: 200, end: 210 }, 20, 200]);
  });

  it("three different failures as values: HTTP error, bad body, API error", async () => {
    const prom = new FakePrometheus();
    const p = provider(prom);
    const table: [typeof prom.mode, string][] = [
      ["http500", 'query http_requests_total{version="v2"}[300s] at 400: HTTP 500: boom'],
      ["notJson", 'query http_requests_total{version="v2"}[300s] at 400: response is not JSON: <html>'],
      ["error", 'query http_requests_total{version="v2"}[300s] at 400: unexpected response shape: {"status":"error","errorType":"bad_data","error":"parse error"}'],
    ];
    for (const [mode, error] of table) {
      prom.mode = mode;
      assert.deepEqual(await p.measure(400), { kind: "queryFailed", end: 400, error }, mode);
    }
  });

  it("a missed scrape delays the boundary, then the series counts in full", async () => {
    const prom = new FakePrometheus();
    prom.add(REQ, req("v2", "200", "c1"), [[600, 50], [605, 60], [615, 80]]); // no sample at 610
    prom.add(REQ, req("v1", "200", "b1"), [[600, 1000], [605, 1100], [610, 1200], [615, 1300]]);
    const p = provider(prom);
    await p.measure(600);
    const a = (await p.measure(605)) as OkMeasurement;
    const b = await p.measure(610);
    const c = (await p.measure(615)) as OkMeasurement;
    assert.deepEqual([a.canary.requests, b.kind, c.covers, c.canary.requests, c.baseline.requests], [10, "pending", { start: 605, end: 615 }, 20, 200]);
  });

  it("no samples for a version is noValues with the exact selector; vanished series are not 'never seen'", async () => {
    const prom = new FakePrometheus();
    prom.add(REQ, req("v1", "200", "b1"), [[300, 100], [305, 150], [310, 200], [315, 250], [320, 300]]);
    const p = provider(prom);
    await p.measure(300);
    assert.deepEqual(await p.measure(305), {
      kind: "noValues",
      end: 305,
      missing: ["canary"],
      neverSeen: ["canary"],
      detail: 'http_requests_total{version="v2"} has no recent samples',
    });
    // A canary pod scraped at 300 and 305, then never again: once its samples are older than
    // 2.5 scrape intervals it is missing — an outage, not "never seen".
    const q = new FakePrometheus();
    q.add(REQ, req("v1", "200", "b1"), [300, 305, 310, 315, 320].map((t) => [t, 10 * t] as const));
    q.add(REQ, req("v2", "200", "c1"), [[300, 5], [305, 10]]);
    const r = provider(q);
    await r.measure(300);
    await r.measure(305);
    const gone = await r.measure(320);
    assert.deepEqual(gone.kind === "noValues" && [gone.missing, gone.neverSeen], [["canary"], []]);
  });

  it("reads the baseline's recent history as equal intervals (the pre-flight reference)", async () => {
    const prom = new FakePrometheus();
    // Scraped every 15 s from 0 to 1200: 100 requests/s, 1 error/s.
    prom.add(REQ, req("v1", "200", "b1"), Array.from({ length: 81 }, (_, i) => [15 * i, 99 * 15 * i] as const));
    prom.add(REQ, req("v1", "500", "b1"), Array.from({ length: 81 }, (_, i) => [15 * i, 15 * i] as const));
    const p = provider(prom);
    const r = await p.readReference(1205, 600, 30);
    assert.equal(r.kind, "ok");
    if (r.kind !== "ok") return;
    assert.deepEqual([r.reference.start, r.reference.end, r.reference.intervalSeconds, r.reference.baseline.length], [600, 1200, 30, 20]);
    assert.deepEqual(r.reference.baseline[0], { requests: 3000, errors: 30, bySeries: [{ requests: 3000, errors: 30 }] });
    assert.deepEqual(prom.asked[0], { query: 'http_requests_total{version="v1"}[660s]', time: "1205.000" });
    prom.mode = "http500";
    assert.deepEqual(await p.readReference(1205, 600, 30), { kind: "failed", error: 'query http_requests_total{version="v1"}[660s] at 1205: HTTP 500: boom' });
  });

  it("reads the scrape interval of the targets its series come from (job and instance)", async () => {
    const prom = new FakePrometheus();
    prom.add(REQ, req("v1", "200", "b1"), [[0, 1], [15, 2]]);
    prom.add(REQ, req("v2", "200", "c1"), [[0, 1], [30, 2]]);
    prom.targets = [
      { job: "api", instance: "b1", scrapeInterval: "15s" },
      { job: "api", instance: "c1", scrapeInterval: "30s" },
      { job: "other", instance: "x", scrapeInterval: "5m" },
    ];
    assert.equal(await provider(prom).scrapeIntervalSeconds(30), 30);
    prom.targets = [{ job: "other", instance: "x", scrapeInterval: "5m" }];
    assert.equal(await provider(prom).scrapeIntervalSeconds(30), undefined);
    prom.mode = "http500";
    assert.equal(await provider(prom).scrapeIntervalSeconds(30), undefined);
  });
});
