/**
 * Prometheus recording and alerting rules for one service's canary (pure). Recording rules
 * aggregate every version of the service by its version label, so they do not change between
 * rollouts; the alerts name the current canary and stable versions and are re-rendered by each
 * `pulumi up`.
 */
import { stringify } from "yaml";
import { MetricNames, selector, SERVER_ERROR } from "./promql";
import { MonitoringSettings } from "./settings";

/** A recording rule. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

/** An alerting rule. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A rule group, as in a Prometheus rule file and a PrometheusRule's `spec.groups`. */
export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}

/** The alerts this module defines, in rule-file order. */
export const ALERT_NAMES = ["CanaryHighErrorRate", "CanaryErrorRateHigherThanStable", "CanaryLatencyHigherThanStable", "CanaryPodCrashLooping"] as const;

/** One of {@link ALERT_NAMES}. */
export type AlertName = (typeof ALERT_NAMES)[number];

/** Severity label of each alert: canary errors page, the rest warn. */
export const SEVERITIES: Readonly<Record<AlertName, "critical" | "warning">> = {
  CanaryHighErrorRate: "critical",
  CanaryErrorRateHigherThanStable: "critical",
  CanaryLatencyHigherThanStable: "warning",
  CanaryPodCrashLooping: "warning",
};

/** The quantile CanaryLatencyHigherThanStable compares. */
export const LATENCY_QUANTILE = 0.95;

/** The recording rules' names, following Prometheus's `level:metric:operations` convention. */
export interface RecordedNames {
  /** Requests per second, by service and version. */
  readonly requestRate: string;
  /** 5xx responses per second, by service and version (0 for a version with traffic but no 5xx series). */
  readonly errorRate: string;
  /** 5xx responses / requests, by service and version. */
  readonly errorRatio: string;
  /** Latency-bucket rates, by service, version and le. */
  readonly bucketRate: string;
  /** Latency quantiles in seconds, by service and version. */
  readonly p50: string;
  readonly p95: string;
  readonly p99: string;
}

function stripSuffix(name: string, suffix: string): string {
  return name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : name;
}

/**
 * Names of the recording rules: e.g. `service_version:http_requests:rate1m` and
 * `service_version:http_request_duration_seconds:p95_rate1m` with the default metrics.
 */
export function recordedNames(m: MetricNames, window: string): RecordedNames {
  const level = `${m.serviceLabel}_${m.versionLabel}`;
  const requests = stripSuffix(m.requests, "_total");
  const duration = stripSuffix(m.durationBuckets, "_bucket");
  return {
    requestRate: `${level}:${requests}:rate${window}`,
    errorRate: `${level}:${requests}_errors:rate${window}`,
    errorRatio: `${level}:${requests}_errors:ratio_rate${window}`,
    bucketRate: `${level}_le:${duration}_bucket:rate${window}`,
    p50: `${level}:${duration}:p50_rate${window}`,
    p95: `${level}:${duration}:p95_rate${window}`,
    p99: `${level}:${duration}:p99_rate${window}`,
  };
}

/** `0.05` → `5%`. */
export function percentText(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(6))}%`;
}

/** The runbook of an alert: `<base>/<alert name in lower case>`. */
export function runbookUrl(base: string, alert: AlertName): string {
  return `${base.replace(/\/+$/, "")}/${alert.toLowerCase()}`;
}

/** Kube-state-metrics' name for a pod label in `kube_pod_labels`: `label_` + the key with every other character as `_`. */
export function kubePodLabelName(key: string): string {
  return `label_${key.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

/** The recording rules of the service (all versions). */
export function recordingRules(s: MonitoringSettings): RecordingRule[] {
  const m = s.metrics;
  const n = recordedNames(m, s.window);
  const by = `${m.serviceLabel}, ${m.versionLabel}`;
  const svc = { label: m.serviceLabel, op: "=" as const, value: s.service };
  const requests = selector(m.requests, [svc]);
  const errors = selector(m.requests, [svc, { label: m.statusLabel, op: "=~", value: SERVER_ERROR }]);
  const buckets = selector(m.durationBuckets, [svc]);
  const rec = (name: string) => selector(name, [svc]);
  return [
    { record: n.requestRate, expr: `sum by (${by}) (rate(${requests}[${s.window}]))` },
    // A version that never answered 5xx has no error series at all; `or 0 * requests` gives it an
    // explicit 0, so "canary errors > 2 × stable errors" still compares against a clean stable.
    { record: n.errorRate, expr: `sum by (${by}) (rate(${errors}[${s.window}])) or 0 * ${rec(n.requestRate)}` },
    { record: n.errorRatio, expr: `${rec(n.errorRate)} / ${rec(n.requestRate)}` },
    { record: n.bucketRate, expr: `sum by (${by}, le) (rate(${buckets}[${s.window}]))` },
    { record: n.p50, expr: `histogram_quantile(0.5, ${rec(n.bucketRate)})` },
    { record: n.p95, expr: `histogram_quantile(0.95, ${rec(n.bucketRate)})` },
    { record: n.p99, expr: `histogram_quantile(0.99, ${rec(n.bucketRate)})` },
  ];
}

/** The canary alerts; empty when no canary is deployed. */
export function alertingRules(s: MonitoringSettings): AlertingRule[] {
  const canary = s.canaryVersion;
  if (canary === undefined) return [];
  const m = s.metrics;
  const n = recordedNames(m, s.window);
  const at = (name: string, version: string) =>
    selector(name, [
      { label: m.serviceLabel, op: "=", value: s.service },
      { label: m.versionLabel, op: "=", value: version },
    ]);
  const labels = (alert: AlertName) => ({ severity: SEVERITIES[alert], [m.serviceLabel]: s.service, [m.versionLabel]: canary });
  const annotations = (alert: AlertName, summary: string, description: string) => ({ summary, description, runbook_url: runbookUrl(s.runbookBaseUrl, alert) });
  const minTraffic = `${at(n.requestRate, canary)} >= ${s.minRequestRate}`;
  const who = `${s.service} canary ${canary}`;
  const stable = `stable ${s.stableVersion}`;
  // Go templates inside annotations: queries are quoted with backticks, which label values can never contain.
  const stableValue = (name: string, format: string) => `{{ with query \`${at(name, s.stableVersion)}\` }}{{ . | first | value | ${format} }}{{ else }}no data{{ end }}`;

  const pod = kubePodLabelName(s.podServiceLabel);
  const podVersion = kubePodLabelName(s.podVersionLabel);
  const restarts = selector("kube_pod_container_status_restarts_total", [{ label: "namespace", op: "=", value: s.serviceNamespace }]);
  const canaryPods = selector("kube_pod_labels", [
    { label: "namespace", op: "=", value: s.serviceNamespace },
    { label: pod, op: "=", value: s.service },
    { label: podVersion, op: "=", value: canary },
  ]);

  return [
    {
      alert: "CanaryHighErrorRate",
      expr: `${at(n.errorRatio, canary)} > ${s.errorRateThreshold}`,
      for: s.errorRateFor,
      labels: labels("CanaryHighErrorRate"),
      annotations: annotations(
        "CanaryHighErrorRate",
        `${who} fails more than ${percentText(s.errorRateThreshold)} of requests`,
        `{{ $value | humanizePercentage }} of requests to ${who} returned 5xx over the last ${s.window} (threshold ${percentText(s.errorRateThreshold)}).`,
      ),
    },
    {
      alert: "CanaryErrorRateHigherThanStable",
      expr: `(${at(n.errorRatio, canary)} > on (${m.serviceLabel}) (${s.errorRatioVsStable} * ${at(n.errorRatio, s.stableVersion)})) and on (${m.serviceLabel}) (${minTraffic})`,
      for: s.errorRateVsStableFor,
      labels: labels("CanaryErrorRateHigherThanStable"),
      annotations: annotations(
        "CanaryErrorRateHigherThanStable",
        `${who} fails more than ${s.errorRatioVsStable}× as often as ${stable}`,
        `{{ $value | humanizePercentage }} of requests to ${who} returned 5xx over the last ${s.window}, more than ${s.errorRatioVsStable}× ${stable} (${stableValue(n.errorRatio, "humanizePercentage")}).`,
      ),
    },
    {
      alert: "CanaryLatencyHigherThanStable",
      expr: `(${at(n.p95, canary)} > on (${m.serviceLabel}) (${s.latencyRatioVsStable} * ${at(n.p95, s.stableVersion)})) and on (${m.serviceLabel}) (${minTraffic})`,
      for: s.latencyVsStableFor,
      labels: labels("CanaryLatencyHigherThanStable"),
      annotations: annotations(
        "CanaryLatencyHigherThanStable",
        `${who} p95 latency is more than ${s.latencyRatioVsStable}× ${stable}'s`,
        `p95 latency of ${who} is {{ $value | humanizeDuration }} over the last ${s.window}, more than ${s.latencyRatioVsStable}× ${stable} (${stableValue(n.p95, "humanizeDuration")}).`,
      ),
    },
    {
      alert: "CanaryPodCrashLooping",
      expr: `sum by (namespace, pod) (increase(${restarts}[${s.restartsWindow}])) * on (namespace, pod) max by (namespace, pod) (${canaryPods}) > ${s.maxRestarts}`,
      for: s.crashLoopingFor,
      labels: labels("CanaryPodCrashLooping"),
      annotations: annotations(
        "CanaryPodCrashLooping",
        `A pod of ${who} is restarting`,
        `Pod {{ $labels.namespace }}/{{ $labels.pod }} of ${who} restarted {{ $value | printf "%.0f" }} time(s) in the last ${s.restartsWindow}; at most ${s.maxRestarts} allowed.`,
      ),
    },
  ];
}

/** The rule groups: recording rules, then (with a canary) the alerts. */
export function buildRuleGroups(s: MonitoringSettings): RuleGroup[] {
  const groups: RuleGroup[] = [{ name: `canary-${s.service}-recording`, rules: recordingRules(s) }];
  const alerts = alertingRules(s);
  if (alerts.length > 0) groups.push({ name: `canary-${s.service}-alerts`, rules: alerts });
  return groups;
}

/** A Prometheus rule file (`rule_files:`) holding the groups. */
export function renderRulesFile(groups: readonly RuleGroup[]): string {
  return stringify({ groups }, { lineWidth: 0 });
}
