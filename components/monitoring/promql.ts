/**
 * PromQL builders (pure): selectors and queries for one version of one service. Every value
 * that reaches a query is checked first, so a hostile service name or version can never change
 * what a query means (no closing a label matcher, no injected `}` or `or` clause).
 */
import { metricName, promLabelName, queryValue } from "../validation";

export { durationSeconds } from "../validation";

/** An invalid name or value given to the monitoring builders. */
export class MonitoringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MonitoringError";
  }
}

/** A range like `1m` or `30s`, or Grafana's `$__rate_interval`. */
const RANGE = /^([1-9][0-9]*(ms|s|m|h|d)|\$__rate_interval)$/;

function quote(value: string): string {
  return JSON.stringify(value);
}

function assertRule(what: string, value: string, rule: { check(v: string): string | undefined }): void {
  const message = rule.check(value);
  if (message !== undefined) throw new MonitoringError(`${what}: ${message}, got ${quote(String(value))}`);
}

/** Throws unless `value` is safe inside a PromQL string, the rules YAML and a Grafana query (queryValue). */
export function assertLabelValue(what: string, value: string): void {
  assertRule(what, value, queryValue);
}

/** Throws unless `name` is a Prometheus label name a user may set. */
export function assertLabelName(what: string, name: string): void {
  assertRule(what, name, promLabelName);
}

/** Throws unless `name` is a Prometheus metric name. */
export function assertMetricName(what: string, name: string): void {
  assertRule(what, name, metricName);
}

/** Throws unless `range` is a PromQL range such as `1m`, or `$__rate_interval`. */
export function assertRange(what: string, range: string): void {
  if (typeof range !== "string" || !RANGE.test(range)) {
    throw new MonitoringError(`${what}: must be a range such as 30s, 1m or 5m, got ${quote(String(range))}`);
  }
}

/** One label matcher. `=~`/`!~` values are regexes and are only ever built from constants here. */
export interface Matcher {
  readonly label: string;
  readonly op: "=" | "!=" | "=~" | "!~";
  readonly value: string;
}

/** `metric{a="x",b=~"y"}`, validating every name and value. */
export function selector(metric: string, matchers: readonly Matcher[]): string {
  assertMetricName("metric", metric);
  const parts = matchers.map((m) => {
    assertLabelName("label", m.label);
    assertLabelValue(`label ${m.label}`, m.value);
    return `${m.label}${m.op}${quote(m.value)}`;
  });
  return `${metric}{${parts.join(",")}}`;
}

/** The metric and label names the service's instrumentation uses. */
export interface MetricNames {
  /** Request counter. Defaults to `http_requests_total`. */
  readonly requests: string;
  /** Label of the request counter holding the HTTP status code. Defaults to `code`. */
  readonly statusLabel: string;
  /** Request-duration histogram buckets, in seconds. Defaults to `http_request_duration_seconds_bucket`. */
  readonly durationBuckets: string;
  /** Label holding the service name. Defaults to `service`. */
  readonly serviceLabel: string;
  /** Label holding the version. Defaults to `version`. */
  readonly versionLabel: string;
}

/** The defaults of {@link MetricNames}: prom-client and most HTTP middlewares. */
export const DEFAULT_METRICS: MetricNames = {
  requests: "http_requests_total",
  statusLabel: "code",
  durationBuckets: "http_request_duration_seconds_bucket",
  serviceLabel: "service",
  versionLabel: "version",
};

/** The status-code regex of a server error. A constant: never built from input. */
export const SERVER_ERROR = "5..";

/** Checks every name in `metrics`; throws naming the first bad one. */
export function assertMetricNames(metrics: MetricNames): void {
  assertMetricName("requests metric", metrics.requests);
  assertMetricName("duration buckets metric", metrics.durationBuckets);
  assertLabelName("status label", metrics.statusLabel);
  assertLabelName("service label", metrics.serviceLabel);
  assertLabelName("version label", metrics.versionLabel);
  if (metrics.serviceLabel === metrics.versionLabel) {
    throw new MonitoringError(`version label: must differ from the service label, got ${quote(metrics.versionLabel)}`);
  }
}

/** One version of one service, as its series are labelled. */
export interface VersionRef {
  readonly service: string;
  readonly version: string;
}

function versionMatchers(m: MetricNames, v: VersionRef): Matcher[] {
  assertLabelValue("service", v.service);
  assertLabelValue("version", v.version);
  return [
    { label: m.serviceLabel, op: "=", value: v.service },
    { label: m.versionLabel, op: "=", value: v.version },
  ];
}

/**
 * Raw cumulative-counter selectors of one version, without `rate()`: what the rollout judge
 * reads at tick boundaries and differences itself. Wrap them in `sum()` (`sum by (le)` for the
 * buckets) for one number per version.
 */
export interface RawQueries {
  /** Every request. */
  readonly requests: string;
  /** Requests answered with a 5xx status. */
  readonly errors: string;
  /** The latency histogram's cumulative buckets (one series per `le`). */
  readonly latencyBuckets: string;
}

/** The raw counter selectors of one version. */
export function rawQueries(m: MetricNames, v: VersionRef): RawQueries {
  const base = versionMatchers(m, v);
  return {
    requests: selector(m.requests, base),
    errors: selector(m.requests, [...base, { label: m.statusLabel, op: "=~", value: SERVER_ERROR }]),
    latencyBuckets: selector(m.durationBuckets, base),
  };
}

/** Rate-based queries of one version, for dashboards and ad-hoc use. */
export interface RateQueries {
  /** Requests per second. */
  readonly requestRate: string;
  /** Fraction of requests answered with a 5xx status (0–1). */
  readonly errorRatio: string;
  /** Fraction of requests not answered with a 5xx status (0–1). */
  readonly successRatio: string;
  /** Latency quantiles in seconds. */
  readonly p50: string;
  readonly p95: string;
  readonly p99: string;
}

/** `histogram_quantile(q, sum by (le) (rate(buckets[range])))`. */
export function quantileQuery(q: number, buckets: string, range: string): string {
  if (!(q > 0 && q < 1)) throw new MonitoringError(`quantile: must be between 0 and 1, got ${q}`);
  assertRange("range", range);
  return `histogram_quantile(${q}, sum by (le) (rate(${buckets}[${range}])))`;
}

/** Request rate, error and success ratios and latency quantiles of one version over `range`. */
export function rateQueries(m: MetricNames, v: VersionRef, range: string): RateQueries {
  assertRange("range", range);
  const base = versionMatchers(m, v);
  const all = selector(m.requests, base);
  const errors = selector(m.requests, [...base, { label: m.statusLabel, op: "=~", value: SERVER_ERROR }]);
  const ok = selector(m.requests, [...base, { label: m.statusLabel, op: "!~", value: SERVER_ERROR }]);
  const buckets = selector(m.durationBuckets, base);
  const total = `sum(rate(${all}[${range}]))`;
  return {
    requestRate: total,
    errorRatio: `sum(rate(${errors}[${range}])) / ${total}`,
    successRatio: `sum(rate(${ok}[${range}])) / ${total}`,
    p50: quantileQuery(0.5, buckets, range),
    p95: quantileQuery(0.95, buckets, range),
    p99: quantileQuery(0.99, buckets, range),
  };
}
