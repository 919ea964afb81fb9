/**
 * The function that deploys CanaryMonitoring from the validated config (the block's schema is in
 * ./monitoringSchema.ts): the one map from `canary:monitoring` to the component's arguments, and
 * back from an argument to its config key for the component's problems.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryMonitoring, CanaryMonitoringArgs, defaultDashboardUid, LabelRequirement, MonitoringQueries, RawQueries, monitoringProblems, monitoringQueries, resolveSettings } from "../components/monitoring";
import type { Platform } from "../components/routing";
import { Path, Problem } from "../components/validation";
import type { CanaryConfig } from "./platforms/types";

/** Platforms whose workloads run on Kubernetes, where the PrometheusRule, ServiceMonitor and dashboard ConfigMap are created. */
export const KUBERNETES_PLATFORMS: ReadonlySet<Platform> = new Set<Platform>(["istio", "linkerd", "gateway-api"]);

/** The raw counter selectors as the stack exports them: `canary` is null, not absent, without a canary. */
export interface StackQueries {
  readonly canary: RawQueries | null;
  readonly baseline: RawQueries;
}

/** The component's queries in the stack output's shape. */
export function stackQueries(q: MonitoringQueries): StackQueries {
  return { canary: q.canary ?? null, baseline: q.baseline };
}

/** What monitoring adds to the stack outputs. */
export interface MonitoringOutputs {
  /** Raw counter selectors of canary (null without one) and baseline, for the rollout judge. Exported even when monitoring is disabled. */
  readonly queries: pulumi.Output<StackQueries>;
  /** The Grafana dashboard uid. */
  readonly dashboardUid?: pulumi.Output<string>;
  /** The dashboard URL; null without grafanaUrl. */
  readonly dashboardUrl?: pulumi.Output<string | null>;
  /** The rules as a Prometheus rule file (YAML). */
  readonly prometheusRulesYaml?: pulumi.Output<string>;
  /** The dashboard JSON model. */
  readonly dashboardJson?: pulumi.Output<string>;
}

/**
 * Which of the platform's Services the ServiceMonitor scrapes, so each pod is scraped exactly
 * once. Istio has one Service per service name; Linkerd and Gateway API add a Service per track
 * (labelled `track`) beside or instead of the apex one, so only the track Services are taken.
 */
export function platformServiceSelectorExpressions(platform: Platform): LabelRequirement[] {
  return platform === "linkerd" || platform === "gateway-api" ? [{ key: "track", operator: "In", values: ["stable", "canary"] }] : [];
}

function blockNamespace(block: unknown): string | undefined {
  const ns = block !== null && typeof block === "object" ? (block as { namespace?: unknown }).namespace : undefined;
  return typeof ns === "string" ? ns : undefined;
}

/**
 * The component's args from the validated config. Namespaces default to the platform block's
 * `namespace` (Istio, Linkerd, Gateway API), so monitoring lands beside the workload. Without a
 * stack the dashboard uid is the component's default (`canary-<service>`).
 */
export function monitoringArgs(config: CanaryConfig, stack?: string): CanaryMonitoringArgs {
  const m = config.monitoring;
  const platformNamespace = blockNamespace(config.block);
  return {
    service: config.service,
    stableVersion: config.stable.version,
    canaryVersion: config.canary?.version,
    canaryWeight: config.weight,
    kubernetes: KUBERNETES_PLATFORMS.has(config.platform),
    // Left undefined, the component's defaults apply (namespace "default"; serviceNamespace = namespace).
    namespace: m.namespace ?? platformNamespace,
    serviceNamespace: m.serviceNamespace ?? platformNamespace,
    requestsMetric: m.metrics.requests,
    statusLabel: m.metrics.statusLabel,
    durationBucketsMetric: m.metrics.durationBuckets,
    serviceLabel: m.metrics.serviceLabel,
    versionLabel: m.metrics.versionLabel,
    podServiceLabel: m.pods.serviceLabel,
    podVersionLabel: m.pods.versionLabel,
    window: m.window,
    errorRateThreshold: m.thresholds.errorRate,
    errorRateFor: m.thresholds.errorRateFor,
    errorRatioVsStable: m.thresholds.errorRatioVsStable,
    minRequestRate: m.thresholds.minRequestRate,
    errorRateVsStableFor: m.thresholds.errorRateVsStableFor,
    latencyRatioVsStable: m.thresholds.latencyRatioVsStable,
    latencyVsStableFor: m.thresholds.latencyVsStableFor,
    maxRestarts: m.thresholds.maxRestarts,
    restartsWindow: m.thresholds.restartsWindow,
    crashLoopingFor: m.thresholds.crashLoopingFor,
    runbookBaseUrl: m.runbookBaseUrl,
    grafanaUrl: m.grafanaUrl,
    dashboardUid: stack === undefined ? undefined : defaultDashboardUid(config.service, stack),
    prometheusSelectorLabels: m.prometheusSelectorLabels,
    serviceSelector: m.scrape.serviceSelector,
    // A configured selector is complete; the platform's default requirements only refine the default one.
    serviceSelectorExpressions: m.scrape.serviceSelector ? [] : platformServiceSelectorExpressions(config.platform),
    scrapePort: m.scrape.port,
    scrapePath: m.scrape.path,
    scrapeInterval: m.scrape.interval,
  };
}

/** Where each argument of {@link monitoringArgs} comes from in the config (after `canary:`). */
const MONITORING_KEYS: Readonly<Record<string, Path>> = {
  service: ["service"],
  stableVersion: ["stable", "version"],
  canaryVersion: ["canary", "version"],
  canaryWeight: ["weight"],
  namespace: ["monitoring", "namespace"],
  serviceNamespace: ["monitoring", "serviceNamespace"],
  requestsMetric: ["monitoring", "metrics", "requests"],
  statusLabel: ["monitoring", "metrics", "statusLabel"],
  durationBucketsMetric: ["monitoring", "metrics", "durationBuckets"],
  serviceLabel: ["monitoring", "metrics", "serviceLabel"],
  versionLabel: ["monitoring", "metrics", "versionLabel"],
  podServiceLabel: ["monitoring", "pods", "serviceLabel"],
  podVersionLabel: ["monitoring", "pods", "versionLabel"],
  window: ["monitoring", "window"],
  errorRateThreshold: ["monitoring", "thresholds", "errorRate"],
  errorRateFor: ["monitoring", "thresholds", "errorRateFor"],
  errorRatioVsStable: ["monitoring", "thresholds", "errorRatioVsStable"],
  minRequestRate: ["monitoring", "thresholds", "minRequestRate"],
  errorRateVsStableFor: ["monitoring", "thresholds", "errorRateVsStableFor"],
  latencyRatioVsStable: ["monitoring", "thresholds", "latencyRatioVsStable"],
  latencyVsStableFor: ["monitoring", "thresholds", "latencyVsStableFor"],
  maxRestarts: ["monitoring", "thresholds", "maxRestarts"],
  restartsWindow: ["monitoring", "thresholds", "restartsWindow"],
  crashLoopingFor: ["monitoring", "thresholds", "crashLoopingFor"],
  runbookBaseUrl: ["monitoring", "runbookBaseUrl"],
  grafanaUrl: ["monitoring", "grafanaUrl"],
  prometheusSelectorLabels: ["monitoring", "prometheusSelectorLabels"],
  serviceSelector: ["monitoring", "scrape", "serviceSelector"],
  scrapePort: ["monitoring", "scrape", "port"],
  scrapePath: ["monitoring", "scrape", "path"],
  scrapeInterval: ["monitoring", "scrape", "interval"],
};

/** The config path (after `canary:`) of a monitoring argument's path, or undefined when no key sets it. */
export function monitoringKey(argPath: Path): Path | undefined {
  const key = MONITORING_KEYS[String(argPath[0])];
  return key === undefined ? undefined : [...key, ...argPath.slice(1)];
}

/** The argument names {@link monitoringKey} maps; a test keeps them equal to the keys monitoringArgs sets. */
export const MONITORING_ARG_KEYS: readonly string[] = Object.keys(MONITORING_KEYS);

/** The component's problems with the config's monitoring arguments, by argument path. */
export function configMonitoringProblems(config: CanaryConfig): Problem[] {
  return monitoringProblems(monitoringArgs(config));
}

/**
 * Creates CanaryMonitoring for the stack (its Kubernetes resources only on Kubernetes
 * platforms) and returns its stack outputs. With `enabled: false` nothing is created and only
 * the queries are exported: the rollout driver needs them whether or not the stack manages
 * the monitoring.
 */
export function deployMonitoring(config: CanaryConfig): MonitoringOutputs {
  const args = monitoringArgs(config, pulumi.getStack());
  if (!config.monitoring.enabled) return { queries: pulumi.output(stackQueries(monitoringQueries(resolveSettings(args)))) };
  const component = new CanaryMonitoring(`${config.service}-monitoring`, args);
  return {
    queries: component.queries.apply(stackQueries),
    dashboardUid: component.dashboardUid,
    dashboardUrl: component.dashboardUrl.apply((u) => u ?? null),
    prometheusRulesYaml: component.rulesYaml,
    dashboardJson: component.dashboardJson,
  };
}
