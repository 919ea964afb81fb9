/**
 * The `canary:monitoring` block and the function that deploys CanaryMonitoring from the
 * validated config. This module must not import ./schema at runtime (schema.ts imports this
 * module's schema), so it only uses zod, the components, and types.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { CanaryMonitoring, CanaryMonitoringArgs, defaultDashboardUid, durationSeconds, LabelRequirement, MonitoringQueries, monitoringQueries, RawQueries, resolveSettings } from "../components/monitoring";
import type { Platform } from "../components/routing";
import type { CanaryConfig } from "./platforms/types";

/** Platforms whose workloads run on Kubernetes, where the PrometheusRule, ServiceMonitor and dashboard ConfigMap are created. */
export const KUBERNETES_PLATFORMS: ReadonlySet<Platform> = new Set<Platform>(["istio", "linkerd", "gateway-api"]);

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsLabelMessage = "must be a DNS label: 1–63 lowercase letters, digits or '-', starting with a letter and not ending with '-'";
const dnsLabel = z.string({ error: dnsLabelMessage }).regex(DNS_LABEL, { error: dnsLabelMessage });

const metricMessage = "must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)";
const metricName = z.string({ error: metricMessage }).regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, { error: metricMessage });
const labelNameMessage = "must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)";
const promLabelName = z.string({ error: labelNameMessage }).regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: labelNameMessage });

const k8sKeyMessage = "must be a Kubernetes label key such as app or app.kubernetes.io/name";
const k8sLabelKey = z.string({ error: k8sKeyMessage }).regex(/^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, { error: k8sKeyMessage });
const k8sValueMessage = "must be a Kubernetes label value: up to 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit";
const k8sLabels = z.record(k8sLabelKey, z.string({ error: k8sValueMessage }).regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, { error: k8sValueMessage }), {
  error: "must be a map of Kubernetes labels",
});

const DURATION = /^[1-9][0-9]*(s|m|h)$/;
const durationMessage = "must be a duration such as 30s, 1m or 1h";
const duration = z.string({ error: durationMessage }).regex(DURATION, { error: durationMessage });
const forMessage = "must be a duration such as 0s, 30s, 1m or 1h";
const forDuration = z.string({ error: forMessage }).regex(/^[0-9]+(s|m|h)$/, { error: forMessage });

const positive = (message: string) => z.number({ error: message }).positive({ error: message }).finite({ error: message });
const fraction = z.number({ error: "must be a number above 0 and at most 1" }).gt(0, { error: "must be a number above 0 and at most 1" }).max(1, { error: "must be a number above 0 and at most 1" });
const urlMessage = "must be an http(s) URL";
const url = z
  .string({ error: urlMessage })
  .regex(/^https?:\/\/[^\s"'`<>{}\\]+$/, { error: urlMessage })
  .transform((u) => u.replace(/\/+$/, ""));

/** `canary:monitoring`. Every field has a default, so the block may be omitted. */
export const monitoringSchema = z
  .strictObject(
    {
    /** Create the monitoring component. Defaults to true. */
    enabled: z.boolean({ error: "must be true or false" }).default(true),
    /** Namespace of the PrometheusRule, ServiceMonitor and dashboard ConfigMap. Defaults to the platform block's namespace, else default. */
    namespace: dnsLabel.optional(),
    /** Namespace of the service's pods. Defaults to the platform block's namespace, else namespace. */
    serviceNamespace: dnsLabel.optional(),
    /** Range of the recording rules' rate(): at least twice scrape.interval. Defaults to 1m. */
    window: duration.default("1m"),
    /** Metric and label names of the service's instrumentation. */
    metrics: z
      .strictObject({
        /** Request counter. Defaults to http_requests_total. */
        requests: metricName.default("http_requests_total"),
        /** Its HTTP status-code label. Defaults to code. */
        statusLabel: promLabelName.default("code"),
        /** Request-duration histogram buckets, seconds. Defaults to http_request_duration_seconds_bucket. */
        durationBuckets: metricName.default("http_request_duration_seconds_bucket"),
        /** Label with the service name. Defaults to service. */
        serviceLabel: promLabelName.default("service"),
        /** Label with the version. Defaults to version. */
        versionLabel: promLabelName.default("version"),
      })
      .prefault({}),
    /** Pod labels identifying the service and version (kube_pod_labels; ServiceMonitor relabeling). */
    pods: z
      .strictObject({
        /** Defaults to app. */
        serviceLabel: k8sLabelKey.default("app"),
        /** Defaults to version. */
        versionLabel: k8sLabelKey.default("version"),
      })
      .prefault({}),
    /** Alert thresholds. */
    thresholds: z
      .strictObject({
        /** CanaryHighErrorRate: canary 5xx ratio (0–1). Defaults to 0.05. */
        errorRate: fraction.default(0.05),
        /** Defaults to 1m. */
        errorRateFor: forDuration.default("1m"),
        /** CanaryErrorRateHigherThanStable: factor over the stable 5xx ratio. Defaults to 2. */
        errorRatioVsStable: positive("must be a number above 0").default(2),
        /** Canary requests per second below which the versus-stable alerts stay quiet. Defaults to 1. */
        minRequestRate: positive("must be a number above 0").default(1),
        /** Defaults to 2m. */
        errorRateVsStableFor: forDuration.default("2m"),
        /** CanaryLatencyHigherThanStable: factor over the stable p95. Defaults to 1.5. */
        latencyRatioVsStable: positive("must be a number above 0").default(1.5),
        /** Defaults to 2m. */
        latencyVsStableFor: forDuration.default("2m"),
        /** CanaryPodCrashLooping: restarts of one canary pod allowed within restartsWindow. Defaults to 0. */
        maxRestarts: z.number({ error: "must be an integer of at least 0" }).int({ error: "must be an integer of at least 0" }).min(0, { error: "must be an integer of at least 0" }).default(0),
        /** Defaults to 5m. */
        restartsWindow: duration.default("5m"),
        /** Defaults to 1m. */
        crashLoopingFor: forDuration.default("1m"),
      })
      .prefault({}),
    /** Base of the alerts' runbook_url (`<base>/<alert name in lower case>`). Defaults to https://runbooks.example.com/canary. */
    runbookBaseUrl: url.default("https://runbooks.example.com/canary"),
    /** Grafana's base URL; with it the stack exports dashboardUrl. */
    grafanaUrl: url.optional(),
    /** Labels Prometheus' ruleSelector and serviceMonitorSelector match (e.g. release: kube-prometheus-stack). Defaults to none. */
    prometheusSelectorLabels: k8sLabels.default({}),
    /** The ServiceMonitor. */
    scrape: z
      .strictObject({
        /** Named Service port. Defaults to http. */
        port: z.string({ error: "must be a port name: 1–15 lowercase letters, digits or '-'" }).regex(/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/, { error: "must be a port name: 1–15 lowercase letters, digits or '-'" }).default("http"),
        /** Defaults to /metrics. */
        path: z.string({ error: "must be a path starting with /" }).regex(/^\/[^\s"'{}\\]*$/, { error: "must be a path starting with /" }).default("/metrics"),
        /** Defaults to 15s. */
        interval: duration.default("15s"),
        /** Labels of the Service(s) to scrape. Defaults to { <pods.serviceLabel>: <service> }. */
        serviceSelector: k8sLabels.optional(),
      })
      .prefault({}),
    },
    { error: "must be an object with the monitoring settings" },
  )
  .superRefine((m, ctx) => {
    // Refinements also run when a field is invalid; compare only two valid durations.
    const valid = (d: unknown) => typeof d === "string" && DURATION.test(d);
    if (valid(m.window) && valid(m.scrape?.interval) && durationSeconds(m.window) < 2 * durationSeconds(m.scrape.interval)) {
      ctx.addIssue({ code: "custom", path: ["window"], message: `must be at least twice scrape.interval (${m.scrape.interval}) so rate() always has two samples` });
    }
    if (m.metrics?.serviceLabel !== undefined && m.metrics.serviceLabel === m.metrics.versionLabel) {
      ctx.addIssue({ code: "custom", path: ["metrics", "versionLabel"], message: "must differ from metrics.serviceLabel" });
    }
  })
  .prefault({});

/** The validated `canary:monitoring` block. */
export type MonitoringBlock = z.output<typeof monitoringSchema>;

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
 * `namespace` (Istio, Linkerd, Gateway API), so monitoring lands beside the workload.
 */
export function monitoringArgs(config: CanaryConfig, stack: string): CanaryMonitoringArgs {
  const m = config.monitoring;
  const platformNamespace = blockNamespace(config.block);
  return {
    service: config.service,
    stableVersion: config.stable.version,
    canaryVersion: config.canary?.version,
    canaryWeight: config.weight,
    kubernetes: KUBERNETES_PLATFORMS.has(config.platform),
    namespace: m.namespace ?? platformNamespace ?? "default",
    serviceNamespace: m.serviceNamespace ?? platformNamespace ?? m.namespace ?? "default",
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
    dashboardUid: defaultDashboardUid(config.service, stack),
    prometheusSelectorLabels: m.prometheusSelectorLabels,
    serviceSelector: m.scrape.serviceSelector,
    // A configured selector is complete; the platform's default requirements only refine the default one.
    serviceSelectorExpressions: m.scrape.serviceSelector ? [] : platformServiceSelectorExpressions(config.platform),
    scrapePort: m.scrape.port,
    scrapePath: m.scrape.path,
    scrapeInterval: m.scrape.interval,
  };
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
