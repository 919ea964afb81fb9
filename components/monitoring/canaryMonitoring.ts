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
import { CanaryMonitoringArgs, MONITORING_TYPE, MonitoringSettings, resolveSettings } from "./settings";

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

    super(MONITORING_TYPE, name, {}, opts);

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
