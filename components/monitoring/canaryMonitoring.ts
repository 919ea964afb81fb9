/**
 * `canary:monitoring:CanaryMonitoring`: Prometheus rules, a ServiceMonitor and a Grafana
 * dashboard comparing a service's canary with its stable version. On Kubernetes it creates a
 * PrometheusRule, a ServiceMonitor and a dashboard ConfigMap; elsewhere (`kubernetes: false`)
 * it creates nothing and only exposes the rule file and dashboard JSON for another system to load.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { buildDashboard, dashboardUrl } from "./dashboard";
import { RawQueries, rawQueries } from "./promql";
import { renderDashboardConfigMap, renderPrometheusRule, renderServiceMonitor } from "./resources";
import { buildRuleGroups, renderRulesFile } from "./rules";
import { LabelRequirement, MonitoringSettings, resolveSettings } from "./settings";

/** The arguments of {@link CanaryMonitoring}. Only service and stableVersion are required. */
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
  /** Range of the recording rules' rate(). Defaults to "1m". */
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

/** The raw counter selectors of both versions: what the rollout judge reads. */
export interface MonitoringQueries {
  /** The canary's selectors; absent when no canary is deployed. */
  readonly canary?: RawQueries;
  /** The baseline's (stable version's) selectors. */
  readonly baseline: RawQueries;
}

/** The raw counter selectors of the settings' canary (if any) and stable version. */
export function monitoringQueries(s: MonitoringSettings): MonitoringQueries {
  return {
    ...(s.canaryVersion !== undefined ? { canary: rawQueries(s.metrics, { service: s.service, version: s.canaryVersion }) } : {}),
    baseline: rawQueries(s.metrics, { service: s.service, version: s.stableVersion }),
  };
}

/** Prometheus rules, ServiceMonitor and Grafana dashboard for one service's canary. */
export class CanaryMonitoring extends pulumi.ComponentResource {
  /** Name of the PrometheusRule (a name: a generic custom resource has no schema type); undefined without Kubernetes. */
  public readonly prometheusRuleName?: pulumi.Output<string>;
  /** Name of the ServiceMonitor; undefined without Kubernetes. */
  public readonly serviceMonitorName?: pulumi.Output<string>;
  /** The ConfigMap Grafana's sidecar loads the dashboard from; undefined without Kubernetes. */
  public readonly dashboardConfigMap?: k8s.core.v1.ConfigMap;
  /** The rules as a Prometheus rule file (YAML), for `rule_files:` or `promtool`. */
  public readonly rulesYaml: pulumi.Output<string>;
  /** The dashboard JSON model, for provisioning or import. */
  public readonly dashboardJson: pulumi.Output<string>;
  /** The dashboard uid. */
  public readonly dashboardUid: pulumi.Output<string>;
  /** The dashboard's URL; undefined without grafanaUrl. */
  public readonly dashboardUrl: pulumi.Output<string | undefined>;
  /** Raw counter selectors of canary and baseline. */
  public readonly queries: pulumi.Output<MonitoringQueries>;

  constructor(name: string, args: CanaryMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate and render before registering anything, so bad args leave no half-made component.
    const s = resolveSettings(args);

    const groups = buildRuleGroups(s);
    const rulesYaml = renderRulesFile(groups);
    const dashboardJson = JSON.stringify(buildDashboard(s), null, 2);
    const queries = monitoringQueries(s);
    const configMap = renderDashboardConfigMap(s, dashboardJson);

    super("canary:monitoring:CanaryMonitoring", name, {}, opts);

    if (s.kubernetes) {
      this.prometheusRuleName = new k8s.apiextensions.CustomResource(`${name}-rules`, renderPrometheusRule(s, groups), { parent: this }).metadata.name;
      this.serviceMonitorName = new k8s.apiextensions.CustomResource(`${name}-servicemonitor`, renderServiceMonitor(s), { parent: this }).metadata.name;
      this.dashboardConfigMap = new k8s.core.v1.ConfigMap(
        `${name}-dashboard`,
        { metadata: configMap.metadata, data: configMap.data },
        { parent: this },
      );
    }

    this.rulesYaml = pulumi.output(rulesYaml);
    this.dashboardJson = pulumi.output(dashboardJson);
    this.dashboardUid = pulumi.output(s.dashboardUid);
    this.dashboardUrl = pulumi.output(dashboardUrl(s.grafanaUrl, s.dashboardUid));
    this.queries = pulumi.output(queries);

    this.registerOutputs({
      prometheusRuleName: this.prometheusRuleName,
      serviceMonitorName: this.serviceMonitorName,
      dashboardConfigMap: this.dashboardConfigMap,
      rulesYaml: this.rulesYaml,
      dashboardJson: this.dashboardJson,
      dashboardUid: this.dashboardUid,
      dashboardUrl: this.dashboardUrl,
      queries: this.queries,
    });
  }
}
