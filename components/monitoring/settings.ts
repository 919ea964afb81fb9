/**
 * The arguments of CanaryMonitoring, their one check, and the settings the pure rule, dashboard
 * and resource builders read: every argument validated and with its default applied.
 */
import { assertNoProblems, Checks, dnsLabel, labelValue, duration, durationOrZero, durationSeconds, httpUrl, intRange, labelKey, metricName, optionalLabelValue, pattern, portName, positiveNumber, Problem, promLabelName, queryValue } from "../validation";
import { DEFAULT_METRICS, MetricNames } from "./promql";

/** The resource type token of CanaryMonitoring. */
export const MONITORING_TYPE = "canary:monitoring:CanaryMonitoring";

/** One requirement of a Kubernetes label selector's matchExpressions. */
export interface LabelRequirement {
  /** The label key. */
  readonly key: string;
  /** How the label is compared with `values`. */
  readonly operator: LabelOperator;
  /** Required for In and NotIn, absent for Exists and DoesNotExist. */
  readonly values?: string[];
}

/** The operator of a {@link LabelRequirement}, as Kubernetes spells it. */
export const LabelOperator = {
  /** The label's value is one of `values`. */
  In: "In",
  /** The label is absent or its value is none of `values`. */
  NotIn: "NotIn",
  /** The label is present. */
  Exists: "Exists",
  /** The label is absent. */
  DoesNotExist: "DoesNotExist",
} as const;
/** A value of {@link LabelOperator}. */
export type LabelOperator = (typeof LabelOperator)[keyof typeof LabelOperator];

/** The arguments of CanaryMonitoring (canaryMonitoring.ts). Only service and stableVersion are required. */
export interface CanaryMonitoringArgs {
  /** The service name, as in the `service` label of its metrics. */
  readonly service: string;
  /** The stable (baseline) version, as in the `version` label of its metrics. */
  readonly stableVersion: string;
  /** The canary version. Without one, only recording rules are created and the dashboard shows stable alone. */
  readonly canaryVersion?: string;
  /** The configured canary weight, percent, shown on the dashboard. Defaults to 0. */
  readonly canaryWeight?: number;
  /** Create the PrometheusRule, ServiceMonitor and dashboard ConfigMap. False on platforms without Kubernetes. Defaults to true. */
  readonly kubernetes?: boolean;
  /** Namespace of the PrometheusRule, ServiceMonitor and dashboard ConfigMap. Defaults to "default". */
  readonly namespace?: string;
  /** Namespace the service's pods run in (ServiceMonitor target and crash-loop alert). Defaults to namespace. */
  readonly serviceNamespace?: string;
  /** Request counter. Defaults to "http_requests_total". */
  readonly requestsMetric?: string;
  /** Label of the request counter with the HTTP status code. Defaults to "code". */
  readonly statusLabel?: string;
  /** Request-duration histogram buckets (seconds). Defaults to "http_request_duration_seconds_bucket". */
  readonly durationBucketsMetric?: string;
  /** Metric label with the service name. Defaults to "service". */
  readonly serviceLabel?: string;
  /** Metric label with the version. Defaults to "version". */
  readonly versionLabel?: string;
  /** Pod label with the service name (kube_pod_labels, default ServiceMonitor selector). Defaults to "app". */
  readonly podServiceLabel?: string;
  /** Pod label with the version (kube_pod_labels, copied onto scraped series). Defaults to "version". */
  readonly podVersionLabel?: string;
  /** Range of the recording rules' rate(); at least twice scrapeInterval. Defaults to "1m". */
  readonly window?: string;
  /** CanaryHighErrorRate: canary 5xx ratio above which it fires (0–1). Defaults to 0.05. */
  readonly errorRateThreshold?: number;
  /** CanaryHighErrorRate `for`. Defaults to "1m". */
  readonly errorRateFor?: string;
  /** CanaryErrorRateHigherThanStable: canary/stable 5xx-ratio factor. Defaults to 2. */
  readonly errorRatioVsStable?: number;
  /** Canary requests per second below which the versus-stable alerts stay quiet. Defaults to 1. */
  readonly minRequestRate?: number;
  /** CanaryErrorRateHigherThanStable `for`. Defaults to "2m". */
  readonly errorRateVsStableFor?: string;
  /** CanaryLatencyHigherThanStable: canary/stable p95 factor. Defaults to 1.5. */
  readonly latencyRatioVsStable?: number;
  /** CanaryLatencyHigherThanStable `for`. Defaults to "2m". */
  readonly latencyVsStableFor?: string;
  /** CanaryPodCrashLooping: restarts of one canary pod allowed within restartsWindow. Defaults to 0. */
  readonly maxRestarts?: number;
  /** CanaryPodCrashLooping: range of increase(). Defaults to "5m". */
  readonly restartsWindow?: string;
  /** CanaryPodCrashLooping `for`. Defaults to "1m". */
  readonly crashLoopingFor?: string;
  /** Base of every alert's runbook_url (`<base>/<alert name in lower case>`). Defaults to "https://runbooks.example.com/canary". */
  readonly runbookBaseUrl?: string;
  /** Grafana's base URL; with it, dashboardUrl is set. Defaults to none. */
  readonly grafanaUrl?: string;
  /** Dashboard uid. Defaults to "canary-<service>". */
  readonly dashboardUid?: string;
  /** Labels Prometheus' ruleSelector and serviceMonitorSelector match (e.g. release: kube-prometheus-stack). Defaults to none. */
  readonly prometheusSelectorLabels?: Record<string, string>;
  /** Labels of the Kubernetes Service(s) to scrape (matchLabels). Defaults to { <podServiceLabel>: <service> }. */
  readonly serviceSelector?: Record<string, string>;
  /**
   * Label requirements the scraped Services must also meet (matchExpressions), so that each pod
   * is reached through exactly one Service, e.g. track In [stable, canary] where an apex Service
   * and per-track Services select the same pods. Defaults to none.
   */
  readonly serviceSelectorExpressions?: LabelRequirement[];
  /** Named Service port to scrape. Defaults to "http". */
  readonly scrapePort?: string;
  /** Metrics path. Defaults to "/metrics". */
  readonly scrapePath?: string;
  /** Scrape interval. Defaults to "15s". */
  readonly scrapeInterval?: string;
}

/**
 * Every default of {@link CanaryMonitoringArgs}, in one place: the component applies them and the
 * stack config's `canary:monitoring` schema declares them (a test keeps the two equal).
 */
export const MONITORING_DEFAULTS = {
  canaryWeight: 0,
  kubernetes: true,
  namespace: "default",
  requestsMetric: DEFAULT_METRICS.requests,
  statusLabel: DEFAULT_METRICS.statusLabel,
  durationBucketsMetric: DEFAULT_METRICS.durationBuckets,
  serviceLabel: DEFAULT_METRICS.serviceLabel,
  versionLabel: DEFAULT_METRICS.versionLabel,
  podServiceLabel: "app",
  podVersionLabel: "version",
  window: "1m",
  errorRateThreshold: 0.05,
  errorRateFor: "1m",
  errorRatioVsStable: 2,
  minRequestRate: 1,
  errorRateVsStableFor: "2m",
  latencyRatioVsStable: 1.5,
  latencyVsStableFor: "2m",
  maxRestarts: 0,
  restartsWindow: "5m",
  crashLoopingFor: "1m",
  runbookBaseUrl: "https://runbooks.example.com/canary",
  scrapePort: "http",
  scrapePath: "/metrics",
  scrapeInterval: "15s",
} as const;

/** The rule of each scalar argument: one definition for the component and the config schema. */
export const MONITORING_RULES = {
  service: queryValue,
  stableVersion: queryValue,
  canaryVersion: queryValue,
  canaryWeight: intRange(0, 100),
  namespace: dnsLabel,
  serviceNamespace: dnsLabel,
  requestsMetric: metricName,
  statusLabel: promLabelName,
  durationBucketsMetric: metricName,
  serviceLabel: promLabelName,
  versionLabel: promLabelName,
  podServiceLabel: labelKey,
  podVersionLabel: labelKey,
  window: duration,
  errorRateThreshold: positiveNumber(1),
  errorRateFor: durationOrZero,
  errorRatioVsStable: positiveNumber(),
  minRequestRate: positiveNumber(),
  errorRateVsStableFor: durationOrZero,
  latencyRatioVsStable: positiveNumber(),
  latencyVsStableFor: durationOrZero,
  maxRestarts: intRange(0, 1_000_000),
  restartsWindow: duration,
  crashLoopingFor: durationOrZero,
  runbookBaseUrl: httpUrl,
  grafanaUrl: httpUrl,
  /** Grafana's uid limit: https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/ (at most 40 characters). */
  dashboardUid: pattern(/^[A-Za-z0-9_-]{1,40}$/, "must be 1–40 letters, digits, '-' or '_'"),
  scrapePort: portName,
  scrapePath: pattern(/^\/[\x21-\x7e]*$/, "must be a path starting with / (visible ASCII, no spaces)"),
  scrapeInterval: duration,
} as const;

/** The resolved settings: every arg present and checked. */
export interface MonitoringSettings {
  readonly service: string;
  readonly stableVersion: string;
  readonly canaryVersion?: string;
  readonly canaryWeight: number;
  readonly kubernetes: boolean;
  readonly namespace: string;
  readonly serviceNamespace: string;
  readonly metrics: MetricNames;
  readonly podServiceLabel: string;
  readonly podVersionLabel: string;
  readonly window: string;
  readonly errorRateThreshold: number;
  readonly errorRateFor: string;
  readonly errorRatioVsStable: number;
  readonly minRequestRate: number;
  readonly errorRateVsStableFor: string;
  readonly latencyRatioVsStable: number;
  readonly latencyVsStableFor: string;
  readonly maxRestarts: number;
  readonly restartsWindow: string;
  readonly crashLoopingFor: string;
  readonly runbookBaseUrl: string;
  readonly grafanaUrl?: string;
  readonly dashboardUid: string;
  readonly prometheusSelectorLabels: Readonly<Record<string, string>>;
  readonly serviceSelector: Readonly<Record<string, string>>;
  readonly serviceSelectorExpressions: readonly LabelRequirement[];
  readonly scrapePort: string;
  readonly scrapePath: string;
  readonly scrapeInterval: string;
}

/**
 * A Grafana dashboard uid for the service, stable across runs: `canary-<service>`, or
 * `canary-<service>-<stack>` when a stack name is given. Characters Grafana refuses become `-`;
 * longer than Grafana's 40 characters, the tail is replaced by a hash so uids stay distinct.
 */
export function defaultDashboardUid(service: string, stack?: string): string {
  const raw = `canary-${service}${stack ? `-${stack}` : ""}`.replace(/[^A-Za-z0-9_-]/g, "-");
  if (raw.length <= 40) return raw;
  let h = 0x811c9dc5;
  for (const ch of raw) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `${raw.slice(0, 31)}-${h.toString(16).padStart(8, "0")}`;
}

const trimSlashes = (u: string | undefined): string | undefined => u?.replace(/\/+$/, "");

function labelProblems(c: Checks, path: string, labels: Readonly<Record<string, string>> | undefined): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (labelKey.check(k) !== undefined) c.add([path], `key ${labelKey.message}`, k);
    c.rule([path, k], v, optionalLabelValue);
  }
}

/**
 * Every problem with {@link CanaryMonitoringArgs}, by argument path, without registering anything:
 * each scalar against {@link MONITORING_RULES} (so a service or version can never break out of a
 * PromQL string, the rules YAML, an alert template or a Grafana query), distinct service and
 * version labels, a window of at least two scrape intervals, labels and selector requirements.
 */
export function monitoringProblems(args: CanaryMonitoringArgs): Problem[] {
  const c = new Checks();
  for (const [key, rule] of Object.entries(MONITORING_RULES) as Array<[keyof typeof MONITORING_RULES, { check(v: unknown): string | undefined }]>) {
    const given = args[key];
    const value = key === "runbookBaseUrl" || key === "grafanaUrl" ? trimSlashes(given as string | undefined) : given;
    const message = value === undefined ? undefined : rule.check(value);
    if (message !== undefined) c.add([key], message, given);
  }
  // On Kubernetes the service also labels every object (app.kubernetes.io/name) and, by default, selects the scraped Services.
  if ((args.kubernetes ?? MONITORING_DEFAULTS.kubernetes) && queryValue.check(args.service) === undefined) c.rule(["service"], args.service, labelValue);
  if (args.canaryVersion !== undefined && args.canaryVersion === args.stableVersion) c.add(["canaryVersion"], "must differ from the stable version", args.canaryVersion);
  const serviceLabel = args.serviceLabel ?? MONITORING_DEFAULTS.serviceLabel;
  if ((args.versionLabel ?? MONITORING_DEFAULTS.versionLabel) === serviceLabel) c.add(["versionLabel"], `must differ from the service label (${serviceLabel})`, args.versionLabel ?? MONITORING_DEFAULTS.versionLabel);
  const window = args.window ?? MONITORING_DEFAULTS.window;
  const interval = args.scrapeInterval ?? MONITORING_DEFAULTS.scrapeInterval;
  if (c.ok && durationSeconds(window) < 2 * durationSeconds(interval)) {
    c.add(["window"], `must be at least twice the scrape interval (${interval}) so rate() always has two samples`, window);
  }
  labelProblems(c, "prometheusSelectorLabels", args.prometheusSelectorLabels);
  labelProblems(c, "serviceSelector", args.serviceSelector);
  (args.serviceSelectorExpressions ?? []).forEach((r, i) => {
    const at = (k: string) => ["serviceSelectorExpressions", i, k];
    c.rule(at("key"), r.key, labelKey);
    const needsValues = r.operator === "In" || r.operator === "NotIn";
    if (!needsValues && r.operator !== "Exists" && r.operator !== "DoesNotExist") c.add(at("operator"), "must be In, NotIn, Exists or DoesNotExist", r.operator);
    else if (needsValues && (!r.values || r.values.length === 0)) c.add(at("values"), `must list at least one value for ${r.operator}`, r.values);
    else if (!needsValues && r.values !== undefined) c.add(at("values"), `must be absent for ${r.operator}`, r.values);
    (r.values ?? []).forEach((v, j) => c.rule([...at("values"), j], v, refuseEmpty));
  });
  return c.problems;
}

const refuseEmpty = { message: optionalLabelValue.message, check: (v: string) => (v === "" ? "must not be empty" : optionalLabelValue.check(v)) };

/** Validates the args and applies every default. @throws ComponentArgsError naming every bad arg. */
export function resolveSettings(args: CanaryMonitoringArgs): MonitoringSettings {
  assertNoProblems(MONITORING_TYPE, monitoringProblems(args));
  const d = MONITORING_DEFAULTS;
  const namespace = args.namespace ?? d.namespace;
  const podServiceLabel = args.podServiceLabel ?? d.podServiceLabel;
  return {
    service: args.service,
    stableVersion: args.stableVersion,
    canaryVersion: args.canaryVersion,
    canaryWeight: args.canaryWeight ?? d.canaryWeight,
    kubernetes: args.kubernetes ?? d.kubernetes,
    namespace,
    serviceNamespace: args.serviceNamespace ?? namespace,
    metrics: {
      requests: args.requestsMetric ?? d.requestsMetric,
      statusLabel: args.statusLabel ?? d.statusLabel,
      durationBuckets: args.durationBucketsMetric ?? d.durationBucketsMetric,
      serviceLabel: args.serviceLabel ?? d.serviceLabel,
      versionLabel: args.versionLabel ?? d.versionLabel,
    },
    podServiceLabel,
    podVersionLabel: args.podVersionLabel ?? d.podVersionLabel,
    window: args.window ?? d.window,
    errorRateThreshold: args.errorRateThreshold ?? d.errorRateThreshold,
    errorRateFor: args.errorRateFor ?? d.errorRateFor,
    errorRatioVsStable: args.errorRatioVsStable ?? d.errorRatioVsStable,
    minRequestRate: args.minRequestRate ?? d.minRequestRate,
    errorRateVsStableFor: args.errorRateVsStableFor ?? d.errorRateVsStableFor,
    latencyRatioVsStable: args.latencyRatioVsStable ?? d.latencyRatioVsStable,
    latencyVsStableFor: args.latencyVsStableFor ?? d.latencyVsStableFor,
    maxRestarts: args.maxRestarts ?? d.maxRestarts,
    restartsWindow: args.restartsWindow ?? d.restartsWindow,
    crashLoopingFor: args.crashLoopingFor ?? d.crashLoopingFor,
    runbookBaseUrl: trimSlashes(args.runbookBaseUrl ?? d.runbookBaseUrl)!,
    grafanaUrl: trimSlashes(args.grafanaUrl),
    dashboardUid: args.dashboardUid ?? defaultDashboardUid(args.service),
    prometheusSelectorLabels: { ...(args.prometheusSelectorLabels ?? {}) },
    serviceSelector: { ...(args.serviceSelector ?? { [podServiceLabel]: args.service }) },
    serviceSelectorExpressions: (args.serviceSelectorExpressions ?? []).map((r) => ({ key: r.key, operator: r.operator, ...(r.values !== undefined ? { values: [...r.values] } : {}) })),
    scrapePort: args.scrapePort ?? d.scrapePort,
    scrapePath: args.scrapePath ?? d.scrapePath,
    scrapeInterval: args.scrapeInterval ?? d.scrapeInterval,
  };
}
