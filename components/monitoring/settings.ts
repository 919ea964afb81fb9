/**
 * The component's flat args, validated and with every default applied: the one value the pure
 * rule, dashboard and resource builders read.
 */
import type { CanaryMonitoringArgs } from "./canaryMonitoring";
import { assertLabelValue, assertMetricNames, assertRange, DEFAULT_METRICS, durationSeconds, MetricNames, MonitoringError } from "./promql";

/** Every default of {@link CanaryMonitoringArgs}, in one place. */
export const DEFAULTS = {
  canaryWeight: 0,
  kubernetes: true,
  namespace: "default",
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

/** One requirement of a Kubernetes label selector's matchExpressions. */
export interface LabelRequirement {
  /** The label key. */
  readonly key: string;
  /** How the label's value is compared with `values`. */
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

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const K8S_LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const K8S_LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const URL = /^https?:\/\/[^\s"'`<>{}\\]+$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;
const DASHBOARD_UID = /^[A-Za-z0-9_-]{1,40}$/;

function fail(what: string, message: string, value: unknown): never {
  throw new MonitoringError(`${what}: ${message}, got ${JSON.stringify(value)}`);
}

function duration(what: string, value: string, allowZero: boolean): string {
  if (typeof value !== "string" || !/^[0-9]+(s|m|h)$/.test(value) || (!allowZero && durationSeconds(value) === 0)) {
    fail(what, `must be a duration such as ${allowZero ? "0s, " : ""}30s, 1m or 1h`, value);
  }
  return value;
}

function positive(what: string, value: number, max = Infinity): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max) fail(what, `must be a number above 0${max < Infinity ? ` and at most ${max}` : ""}`, value);
  return value;
}

function labels(what: string, value: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  for (const [k, v] of Object.entries(value)) {
    if (!K8S_LABEL_KEY.test(k)) fail(`${what} key`, "must be a Kubernetes label key", k);
    if (typeof v !== "string" || !K8S_LABEL_VALUE.test(v)) fail(`${what}.${k}`, "must be a Kubernetes label value", v);
  }
  return { ...value };
}

function requirements(what: string, value: readonly LabelRequirement[]): LabelRequirement[] {
  return value.map((r, i) => {
    if (!K8S_LABEL_KEY.test(r.key)) fail(`${what}[${i}].key`, "must be a Kubernetes label key", r.key);
    const needsValues = r.operator === "In" || r.operator === "NotIn";
    if (!needsValues && r.operator !== "Exists" && r.operator !== "DoesNotExist") fail(`${what}[${i}].operator`, "must be In, NotIn, Exists or DoesNotExist", r.operator);
    if (needsValues && (!r.values || r.values.length === 0)) fail(`${what}[${i}].values`, `must list at least one value for ${r.operator}`, r.values);
    if (!needsValues && r.values !== undefined) fail(`${what}[${i}].values`, `must be absent for ${r.operator}`, r.values);
    for (const v of r.values ?? []) if (!K8S_LABEL_VALUE.test(v) || v === "") fail(`${what}[${i}].values`, "must be Kubernetes label values", r.values);
    return { key: r.key, operator: r.operator, ...(needsValues ? { values: [...r.values!] } : {}) };
  });
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

/** Validates the args and applies every default. @throws MonitoringError naming the arg. */
export function resolveSettings(args: CanaryMonitoringArgs): MonitoringSettings {
  assertLabelValue("service", args.service);
  assertLabelValue("stableVersion", args.stableVersion);
  if (args.canaryVersion !== undefined) {
    assertLabelValue("canaryVersion", args.canaryVersion);
    if (args.canaryVersion === args.stableVersion) fail("canaryVersion", "must differ from stableVersion", args.canaryVersion);
  }
  const canaryWeight = args.canaryWeight ?? DEFAULTS.canaryWeight;
  if (!Number.isInteger(canaryWeight) || canaryWeight < 0 || canaryWeight > 100) fail("canaryWeight", "must be an integer from 0 to 100", canaryWeight);

  const metrics: MetricNames = {
    requests: args.requestsMetric ?? DEFAULT_METRICS.requests,
    statusLabel: args.statusLabel ?? DEFAULT_METRICS.statusLabel,
    durationBuckets: args.durationBucketsMetric ?? DEFAULT_METRICS.durationBuckets,
    serviceLabel: args.serviceLabel ?? DEFAULT_METRICS.serviceLabel,
    versionLabel: args.versionLabel ?? DEFAULT_METRICS.versionLabel,
  };
  assertMetricNames(metrics);

  const namespace = args.namespace ?? DEFAULTS.namespace;
  if (!DNS_LABEL.test(namespace)) fail("namespace", "must be a DNS label", namespace);
  const serviceNamespace = args.serviceNamespace ?? namespace;
  if (!DNS_LABEL.test(serviceNamespace)) fail("serviceNamespace", "must be a DNS label", serviceNamespace);

  const podServiceLabel = args.podServiceLabel ?? DEFAULTS.podServiceLabel;
  const podVersionLabel = args.podVersionLabel ?? DEFAULTS.podVersionLabel;
  for (const [what, key] of [["podServiceLabel", podServiceLabel], ["podVersionLabel", podVersionLabel]] as const) {
    if (!K8S_LABEL_KEY.test(key)) fail(what, "must be a Kubernetes label key", key);
  }

  const window = args.window ?? DEFAULTS.window;
  assertRange("window", window);
  duration("window", window, false);

  const runbookBaseUrl = (args.runbookBaseUrl ?? DEFAULTS.runbookBaseUrl).replace(/\/+$/, "");
  if (!URL.test(runbookBaseUrl)) fail("runbookBaseUrl", "must be an http(s) URL", args.runbookBaseUrl);
  const grafanaUrl = args.grafanaUrl?.replace(/\/+$/, "");
  if (grafanaUrl !== undefined && !URL.test(grafanaUrl)) fail("grafanaUrl", "must be an http(s) URL", args.grafanaUrl);

  const dashboardUid = args.dashboardUid ?? defaultDashboardUid(args.service);
  if (!DASHBOARD_UID.test(dashboardUid)) fail("dashboardUid", "must be 1–40 letters, digits, '-' or '_'", dashboardUid);

  const scrapePort = args.scrapePort ?? DEFAULTS.scrapePort;
  if (!PORT_NAME.test(scrapePort)) fail("scrapePort", "must be a port name (1–15 lowercase letters, digits or '-')", scrapePort);
  const scrapePath = args.scrapePath ?? DEFAULTS.scrapePath;
  if (!/^\/[^\s"'{}\\]*$/.test(scrapePath)) fail("scrapePath", "must be a path starting with /", scrapePath);

  const maxRestarts = args.maxRestarts ?? DEFAULTS.maxRestarts;
  if (!Number.isInteger(maxRestarts) || maxRestarts < 0) fail("maxRestarts", "must be an integer of at least 0", maxRestarts);

  return {
    service: args.service,
    stableVersion: args.stableVersion,
    canaryVersion: args.canaryVersion,
    canaryWeight,
    kubernetes: args.kubernetes ?? DEFAULTS.kubernetes,
    namespace,
    serviceNamespace,
    metrics,
    podServiceLabel,
    podVersionLabel,
    window,
    errorRateThreshold: positive("errorRateThreshold", args.errorRateThreshold ?? DEFAULTS.errorRateThreshold, 1),
    errorRateFor: duration("errorRateFor", args.errorRateFor ?? DEFAULTS.errorRateFor, true),
    errorRatioVsStable: positive("errorRatioVsStable", args.errorRatioVsStable ?? DEFAULTS.errorRatioVsStable),
    minRequestRate: positive("minRequestRate", args.minRequestRate ?? DEFAULTS.minRequestRate),
    errorRateVsStableFor: duration("errorRateVsStableFor", args.errorRateVsStableFor ?? DEFAULTS.errorRateVsStableFor, true),
    latencyRatioVsStable: positive("latencyRatioVsStable", args.latencyRatioVsStable ?? DEFAULTS.latencyRatioVsStable),
    latencyVsStableFor: duration("latencyVsStableFor", args.latencyVsStableFor ?? DEFAULTS.latencyVsStableFor, true),
    maxRestarts,
    restartsWindow: duration("restartsWindow", args.restartsWindow ?? DEFAULTS.restartsWindow, false),
    crashLoopingFor: duration("crashLoopingFor", args.crashLoopingFor ?? DEFAULTS.crashLoopingFor, true),
    runbookBaseUrl,
    grafanaUrl,
    dashboardUid,
    prometheusSelectorLabels: labels("prometheusSelectorLabels", args.prometheusSelectorLabels ?? {}),
    serviceSelector: labels("serviceSelector", args.serviceSelector ?? { [podServiceLabel]: args.service }),
    serviceSelectorExpressions: requirements("serviceSelectorExpressions", args.serviceSelectorExpressions ?? []),
    scrapePort,
    scrapePath,
    scrapeInterval: duration("scrapeInterval", args.scrapeInterval ?? DEFAULTS.scrapeInterval, false),
  };
}
