/**
 * The Kubernetes objects of the component, rendered as plain data (pure) so tests can validate
 * them against the upstream CRD schemas without the Pulumi runtime.
 */
import { RuleGroup } from "./rules";
import { MonitoringSettings } from "./settings";

/** Metadata of every rendered object; names are left to Pulumi's auto-naming. */
export interface RenderedMetadata {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A rendered custom resource: what goes into a CustomResource. */
export interface RenderedCustomResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: RenderedMetadata;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly spec: any;
}

/** A rendered ConfigMap. */
export interface RenderedConfigMap {
  readonly apiVersion: "v1";
  readonly kind: "ConfigMap";
  readonly metadata: RenderedMetadata;
  readonly data: Readonly<Record<string, string>>;
}

/** The label Grafana's dashboard sidecar (kube-prometheus-stack, grafana helm chart) watches for. */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;

/** Labels on every object: who owns it. */
export function commonLabels(s: MonitoringSettings): Record<string, string> {
  return { "app.kubernetes.io/name": s.service, "app.kubernetes.io/component": "canary-monitoring", "app.kubernetes.io/managed-by": "pulumi-canary" };
}

/** Prometheus' name for a pod label in service discovery: every character outside [a-zA-Z0-9_] becomes `_`. */
export function podLabelMeta(key: string): string {
  return `__meta_kubernetes_pod_label_${key.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

/** The PrometheusRule holding the rule groups, labelled so the Prometheus `ruleSelector` picks it up. */
export function renderPrometheusRule(s: MonitoringSettings, groups: readonly RuleGroup[]): RenderedCustomResource {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { namespace: s.namespace, labels: { ...commonLabels(s), ...s.prometheusSelectorLabels } },
    spec: { groups },
  };
}

/**
 * The ServiceMonitor scraping the service's pods. Relabelings set the service label to the
 * configured service name and copy the pod's version label onto every series, so the queries
 * select versions however the app labels its own metrics.
 */
export function renderServiceMonitor(s: MonitoringSettings): RenderedCustomResource {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { namespace: s.namespace, labels: { ...commonLabels(s), ...s.prometheusSelectorLabels } },
    spec: {
      selector: { matchLabels: { ...s.serviceSelector }, ...(s.serviceSelectorExpressions.length > 0 ? { matchExpressions: s.serviceSelectorExpressions } : {}) },
      namespaceSelector: { matchNames: [s.serviceNamespace] },
      endpoints: [
        {
          port: s.scrapePort,
          path: s.scrapePath,
          interval: s.scrapeInterval,
          relabelings: [
            { action: "replace", targetLabel: s.metrics.serviceLabel, replacement: s.service },
            { action: "replace", sourceLabels: [podLabelMeta(s.podVersionLabel)], targetLabel: s.metrics.versionLabel },
          ],
        },
      ],
    },
  };
}

/** The dashboard ConfigMap, labelled for Grafana's sidecar, holding `<uid>.json`. */
export function renderDashboardConfigMap(s: MonitoringSettings, dashboardJson: string): RenderedConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { namespace: s.namespace, labels: { ...commonLabels(s), ...DASHBOARD_LABEL } },
    data: { [`${s.dashboardUid}.json`]: dashboardJson },
  };
}
