/**
 * The zod schema of `canary:monitoring`. Each field takes its rule and default from the
 * CanaryMonitoring component (MONITORING_RULES, MONITORING_DEFAULTS), so the config and the
 * component accept the same values; the checks across fields (window versus scrape interval,
 * distinct service and version labels) are the component's and run on the component's
 * arguments (infra/monitoring.ts), named by their config key.
 */
import { z } from "zod";
import { MONITORING_DEFAULTS as D, MONITORING_RULES as R } from "../components/monitoring";
import { labelKey, optionalLabelValue } from "../components/validation";
import { zBoolean, zNumber, zString } from "./zod";

const k8sLabels = z.record(zString(labelKey), zString(optionalLabelValue), { error: "must be a map of Kubernetes labels" });
const url = zString(R.runbookBaseUrl).transform((u) => u.replace(/\/+$/, ""));

/** `canary:monitoring`. Every field has a default, so the block may be omitted. */
export const monitoringSchema = z
  .strictObject(
    {
      /** Create the monitoring component. Defaults to true. */
      enabled: zBoolean.default(true),
      /** Namespace of the PrometheusRule, ServiceMonitor and dashboard ConfigMap. Defaults to the platform block's namespace, else default. */
      namespace: zString(R.namespace).optional(),
      /** Namespace of the service's pods. Defaults to the platform block's namespace, else namespace. */
      serviceNamespace: zString(R.serviceNamespace).optional(),
      /** Range of the recording rules' rate(): at least twice scrape.interval. Defaults to 1m. */
      window: zString(R.window).default(D.window),
      /** Metric and label names of the service's instrumentation. */
      metrics: z
        .strictObject({
          requests: zString(R.requestsMetric).default(D.requestsMetric),
          statusLabel: zString(R.statusLabel).default(D.statusLabel),
          durationBuckets: zString(R.durationBucketsMetric).default(D.durationBucketsMetric),
          serviceLabel: zString(R.serviceLabel).default(D.serviceLabel),
          versionLabel: zString(R.versionLabel).default(D.versionLabel),
        })
        .prefault({}),
      /** Pod labels identifying the service and version (kube_pod_labels; ServiceMonitor relabeling). */
      pods: z
        .strictObject({
          serviceLabel: zString(R.podServiceLabel).default(D.podServiceLabel),
          versionLabel: zString(R.podVersionLabel).default(D.podVersionLabel),
        })
        .prefault({}),
      /** Alert thresholds. */
      thresholds: z
        .strictObject({
          errorRate: zNumber(R.errorRateThreshold).default(D.errorRateThreshold),
          errorRateFor: zString(R.errorRateFor).default(D.errorRateFor),
          errorRatioVsStable: zNumber(R.errorRatioVsStable).default(D.errorRatioVsStable),
          minRequestRate: zNumber(R.minRequestRate).default(D.minRequestRate),
          errorRateVsStableFor: zString(R.errorRateVsStableFor).default(D.errorRateVsStableFor),
          latencyRatioVsStable: zNumber(R.latencyRatioVsStable).default(D.latencyRatioVsStable),
          latencyVsStableFor: zString(R.latencyVsStableFor).default(D.latencyVsStableFor),
          maxRestarts: zNumber(R.maxRestarts).default(D.maxRestarts),
          restartsWindow: zString(R.restartsWindow).default(D.restartsWindow),
          crashLoopingFor: zString(R.crashLoopingFor).default(D.crashLoopingFor),
        })
        .prefault({}),
      /** Base of the alerts' runbook_url (`<base>/<alert name in lower case>`). */
      runbookBaseUrl: url.default(D.runbookBaseUrl),
      /** Grafana's base URL; with it the stack exports dashboardUrl. */
      grafanaUrl: url.optional(),
      /** Labels Prometheus' ruleSelector and serviceMonitorSelector match (e.g. release: kube-prometheus-stack). */
      prometheusSelectorLabels: k8sLabels.default({}),
      /** The ServiceMonitor. */
      scrape: z
        .strictObject({
          port: zString(R.scrapePort).default(D.scrapePort),
          path: zString(R.scrapePath).default(D.scrapePath),
          interval: zString(R.scrapeInterval).default(D.scrapeInterval),
          /** Labels of the Service(s) to scrape. Defaults to { <pods.serviceLabel>: <service> }. */
          serviceSelector: k8sLabels.optional(),
        })
        .prefault({}),
    },
    { error: "must be an object with the monitoring settings" },
  )
  .prefault({});

/** The validated `canary:monitoring` block. */
export type MonitoringBlock = z.output<typeof monitoringSchema>;
