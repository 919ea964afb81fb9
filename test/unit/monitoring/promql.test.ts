import * as assert from "node:assert/strict";
import { assertMetricNames, DEFAULT_METRICS, durationSeconds, MetricNames, MonitoringError, quantileQuery, rateQueries, rawQueries, selector } from "../../../components/monitoring";

const checkout = { service: "checkout", version: "v2.5.0" };

describe("monitoring PromQL builders", () => {
  describe("selector", () => {
    const cases: [string, Parameters<typeof selector>, string][] = [
      ["no matchers", ["up", []], "up{}"],
      ["equality", ["http_requests_total", [{ label: "service", op: "=", value: "checkout" }]], 'http_requests_total{service="checkout"}'],
      [
        "every operator, in order",
        [
          "m",
          [
            { label: "a", op: "=", value: "1" },
            { label: "b", op: "!=", value: "2" },
            { label: "c", op: "=~", value: "5.." },
            { label: "d", op: "!~", value: "4.." },
          ],
        ],
        'm{a="1",b!="2",c=~"5..",d!~"4.."}',
      ],
      ["recording-rule names with colons", ["service_version:http_requests:rate1m", [{ label: "version", op: "=", value: "v1" }]], 'service_version:http_requests:rate1m{version="v1"}'],
      ["PromQL-looking text stays inside the quotes", ["m", [{ label: "service", op: "=", value: "x or vector(1)" }]], 'm{service="x or vector(1)"}'],
    ];
    for (const [name, args, expected] of cases) {
      it(name, () => assert.equal(selector(...args), expected));
    }
  });

  describe("raw counter selectors (no rate(): the judge differences them itself)", () => {
    const custom: MetricNames = { requests: "requests_total", statusLabel: "status", durationBuckets: "latency_seconds_bucket", serviceLabel: "app", versionLabel: "track" };
    const cases: [string, MetricNames, { requests: string; errors: string; latencyBuckets: string }][] = [
      [
        "default metric names",
        DEFAULT_METRICS,
        {
          requests: 'http_requests_total{service="checkout",version="v2.5.0"}',
          errors: 'http_requests_total{service="checkout",version="v2.5.0",code=~"5.."}',
          latencyBuckets: 'http_request_duration_seconds_bucket{service="checkout",version="v2.5.0"}',
        },
      ],
      [
        "configured metric and label names",
        custom,
        {
          requests: 'requests_total{app="checkout",track="v2.5.0"}',
          errors: 'requests_total{app="checkout",track="v2.5.0",status=~"5.."}',
          latencyBuckets: 'latency_seconds_bucket{app="checkout",track="v2.5.0"}',
        },
      ],
    ];
    for (const [name, metrics, expected] of cases) {
      it(name, () => assert.deepEqual(rawQueries(metrics, checkout), expected));
    }
  });

  describe("rate queries", () => {
    it("request rate, error and success ratios and p50/p95/p99 over the given range", () => {
      assert.deepEqual(rateQueries(DEFAULT_METRICS, checkout, "5m"), {
        requestRate: 'sum(rate(http_requests_total{service="checkout",version="v2.5.0"}[5m]))',
        errorRatio: 'sum(rate(http_requests_total{service="checkout",version="v2.5.0",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="checkout",version="v2.5.0"}[5m]))',
        successRatio: 'sum(rate(http_requests_total{service="checkout",version="v2.5.0",code!~"5.."}[5m])) / sum(rate(http_requests_total{service="checkout",version="v2.5.0"}[5m]))',
        p50: 'histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout",version="v2.5.0"}[5m])))',
        p95: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout",version="v2.5.0"}[5m])))',
        p99: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout",version="v2.5.0"}[5m])))',
      });
    });

    it("accepts Grafana's $__rate_interval", () => {
      assert.equal(rateQueries(DEFAULT_METRICS, checkout, "$__rate_interval").requestRate, 'sum(rate(http_requests_total{service="checkout",version="v2.5.0"}[$__rate_interval]))');
    });

    const badRanges: [string, string][] = [
      ["empty", ""],
      ["zero", "0m"],
      ["a closing bracket", "1m])) or vector(1"],
      ["a bare number", "60"],
    ];
    for (const [name, range] of badRanges) {
      it(`refuses a range that is ${name}`, () => {
        assert.throws(() => rateQueries(DEFAULT_METRICS, checkout, range), { name: "MonitoringError", message: `range: must be a range such as 30s, 1m or 5m, got ${JSON.stringify(range)}` });
      });
    }

    it("refuses a quantile outside (0, 1)", () => {
      assert.throws(() => quantileQuery(1, "b", "1m"), { name: "MonitoringError", message: "quantile: must be between 0 and 1, got 1" });
    });
  });

  describe("a hostile service name or version can never change a query's meaning", () => {
    const hostile: [string, string][] = [
      ["closing the matcher and adding a clause", 'checkout"} or vector(1) or up{x="'],
      ["a single-quoted string", "checkout' or '"],
      ["a backtick (Go template raw string in annotations)", "checkout` }}{{ `"],
      ["a closing brace", "checkout}"],
      ["an opening brace (Go template)", "{{ $value }}"],
      ["a backslash escape", 'checkout\\"'],
      ["a newline", "checkout\n- alert: Evil"],
      ["a carriage return", "checkout\r"],
      ["a NUL byte", "checkout\u0000"],
      ["nothing at all", ""],
      ["a line separator (U+2028)", "checkout\u2028x"],
      ["a Grafana variable", "checkout$__interval"],
      ["a Grafana bracket variable", "checkout[[x]]"],
    ];
    const unsafe = "must be 1–256 characters without quotes, braces, backslashes, '$', '[[', control or line-break characters";
    for (const [name, value] of hostile) {
      it(`service: ${name}`, () => {
        assert.throws(() => rawQueries(DEFAULT_METRICS, { service: value, version: "v1" }), {
          name: "MonitoringError",
          message: `service: ${unsafe}, got ${JSON.stringify(value)}`,
        });
      });
      it(`version: ${name}`, () => {
        assert.throws(() => rateQueries(DEFAULT_METRICS, { service: "checkout", version: value }, "1m"), {
          name: "MonitoringError",
          message: `version: ${unsafe}, got ${JSON.stringify(value)}`,
        });
      });
    }

    it("a lone UTF-16 surrogate, which no YAML or PromQL parser takes, is refused", () => {
      assert.throws(() => rawQueries(DEFAULT_METRICS, { service: "checkout", version: "v2\ud800" }), {
        name: "MonitoringError",
        message: 'version: must be well-formed Unicode (no lone UTF-16 surrogate), got "v2\\ud800"',
      });
    });

    it("a matcher value passed straight to selector() is checked too", () => {
      assert.throws(() => selector("m", [{ label: "a", op: "=", value: 'x"}' }]), MonitoringError);
    });

    const badNames: [string, Partial<MetricNames>, string][] = [
      ["metric with a brace", { requests: "http_requests_total{a=1}" }, 'requests metric: must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got "http_requests_total{a=1}"'],
      ["label with a dash", { statusLabel: "status-code" }, 'status label: must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got "status-code"'],
      ["label starting with a digit", { versionLabel: "1version" }, 'version label: must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got "1version"'],
      ["reserved label name", { serviceLabel: "__address__" }, 'service label: must not start with __ (Prometheus reserves those label names), got "__address__"'],
    ];
    for (const [name, override, message] of badNames) {
      it(`refuses a ${name}`, () => {
        assert.throws(() => assertMetricNames({ ...DEFAULT_METRICS, ...override }), { name: "MonitoringError", message });
      });
    }
  });

  describe("durationSeconds", () => {
    const cases: [string, number][] = [
      ["0s", 0],
      ["15s", 15],
      ["1m", 60],
      ["2h", 7200],
      ["500ms", 0.5],
    ];
    for (const [text, seconds] of cases) it(`${text} = ${seconds}s`, () => assert.equal(durationSeconds(text), seconds));
  });
});
