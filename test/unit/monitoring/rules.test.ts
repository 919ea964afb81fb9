import * as assert from "node:assert/strict";
import { parse } from "yaml";
import {
  ALERT_NAMES,
  AlertingRule,
  alertingRules,
  buildRuleGroups,
  CanaryMonitoringArgs,
  DEFAULT_METRICS,
  kubePodLabelName,
  percentText,
  recordedNames,
  recordingRules,
  renderRulesFile,
  resolveSettings,
  runbookUrl,
} from "../../../components/monitoring";

const base: CanaryMonitoringArgs = { service: "checkout", stableVersion: "v2.4.1", canaryVersion: "v2.5.0", canaryWeight: 5 };
const settings = (over: Partial<CanaryMonitoringArgs> = {}) => resolveSettings({ ...base, ...over });
const alert = (name: string, over: Partial<CanaryMonitoringArgs> = {}): AlertingRule => {
  const found = alertingRules(settings(over)).find((r) => r.alert === name);
  assert.ok(found, name);
  return found;
};

describe("monitoring rules", () => {
  describe("recording-rule names follow level:metric:operations", () => {
    const cases: [string, Parameters<typeof recordedNames>, ReturnType<typeof recordedNames>][] = [
      [
        "defaults, 1m",
        [DEFAULT_METRICS, "1m"],
        {
          requestRate: "service_version:http_requests:rate1m",
          errorRate: "service_version:http_requests_errors:rate1m",
          errorRatio: "service_version:http_requests_errors:ratio_rate1m",
          bucketRate: "service_version_le:http_request_duration_seconds_bucket:rate1m",
          p50: "service_version:http_request_duration_seconds:p50_rate1m",
          p95: "service_version:http_request_duration_seconds:p95_rate1m",
          p99: "service_version:http_request_duration_seconds:p99_rate1m",
        },
      ],
      [
        "custom names without _total/_bucket suffixes, 5m",
        [{ requests: "requests", statusLabel: "status", durationBuckets: "latency", serviceLabel: "app", versionLabel: "track" }, "5m"],
        {
          requestRate: "app_track:requests:rate5m",
          errorRate: "app_track:requests_errors:rate5m",
          errorRatio: "app_track:requests_errors:ratio_rate5m",
          bucketRate: "app_track_le:latency_bucket:rate5m",
          p50: "app_track:latency:p50_rate5m",
          p95: "app_track:latency:p95_rate5m",
          p99: "app_track:latency:p99_rate5m",
        },
      ],
    ];
    for (const [name, args, expected] of cases) it(name, () => assert.deepEqual(recordedNames(...args), expected));
  });

  it("records every version of the service, aggregated by service and version", () => {
    assert.deepEqual(recordingRules(settings()), [
      { record: "service_version:http_requests:rate1m", expr: 'sum by (service, version) (rate(http_requests_total{service="checkout"}[1m]))' },
      {
        record: "service_version:http_requests_errors:rate1m",
        expr: 'sum by (service, version) (rate(http_requests_total{service="checkout",code=~"5.."}[1m])) or 0 * service_version:http_requests:rate1m{service="checkout"}',
      },
      { record: "service_version:http_requests_errors:ratio_rate1m", expr: 'service_version:http_requests_errors:rate1m{service="checkout"} / service_version:http_requests:rate1m{service="checkout"}' },
      { record: "service_version_le:http_request_duration_seconds_bucket:rate1m", expr: 'sum by (service, version, le) (rate(http_request_duration_seconds_bucket{service="checkout"}[1m]))' },
      { record: "service_version:http_request_duration_seconds:p50_rate1m", expr: 'histogram_quantile(0.5, service_version_le:http_request_duration_seconds_bucket:rate1m{service="checkout"})' },
      { record: "service_version:http_request_duration_seconds:p95_rate1m", expr: 'histogram_quantile(0.95, service_version_le:http_request_duration_seconds_bucket:rate1m{service="checkout"})' },
      { record: "service_version:http_request_duration_seconds:p99_rate1m", expr: 'histogram_quantile(0.99, service_version_le:http_request_duration_seconds_bucket:rate1m{service="checkout"})' },
    ]);
  });

  describe("alert expressions", () => {
    const cases: [string, Partial<CanaryMonitoringArgs>, string, string][] = [
      ["CanaryHighErrorRate", {}, 'service_version:http_requests_errors:ratio_rate1m{service="checkout",version="v2.5.0"} > 0.05', "1m"],
      ["CanaryHighErrorRate", { errorRateThreshold: 0.01, errorRateFor: "30s" }, 'service_version:http_requests_errors:ratio_rate1m{service="checkout",version="v2.5.0"} > 0.01', "30s"],
      [
        "CanaryErrorRateHigherThanStable",
        {},
        '(service_version:http_requests_errors:ratio_rate1m{service="checkout",version="v2.5.0"} > on (service) (2 * service_version:http_requests_errors:ratio_rate1m{service="checkout",version="v2.4.1"})) and on (service) (service_version:http_requests:rate1m{service="checkout",version="v2.5.0"} >= 1)',
        "2m",
      ],
      [
        "CanaryErrorRateHigherThanStable",
        { errorRatioVsStable: 3, minRequestRate: 0.2, errorRateVsStableFor: "5m" },
        '(service_version:http_requests_errors:ratio_rate1m{service="checkout",version="v2.5.0"} > on (service) (3 * service_version:http_requests_errors:ratio_rate1m{service="checkout",version="v2.4.1"})) and on (service) (service_version:http_requests:rate1m{service="checkout",version="v2.5.0"} >= 0.2)',
        "5m",
      ],
      [
        "CanaryLatencyHigherThanStable",
        {},
        '(service_version:http_request_duration_seconds:p95_rate1m{service="checkout",version="v2.5.0"} > on (service) (1.5 * service_version:http_request_duration_seconds:p95_rate1m{service="checkout",version="v2.4.1"})) and on (service) (service_version:http_requests:rate1m{service="checkout",version="v2.5.0"} >= 1)',
        "2m",
      ],
      [
        "CanaryPodCrashLooping",
        {},
        'sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{namespace="default"}[5m])) * on (namespace, pod) max by (namespace, pod) (kube_pod_labels{namespace="default",label_app="checkout",label_version="v2.5.0"}) > 0',
        "1m",
      ],
      [
        "CanaryPodCrashLooping",
        { serviceNamespace: "shop", podServiceLabel: "app.kubernetes.io/name", podVersionLabel: "app.kubernetes.io/version", maxRestarts: 2, restartsWindow: "10m", crashLoopingFor: "0s" },
        'sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{namespace="shop"}[10m])) * on (namespace, pod) max by (namespace, pod) (kube_pod_labels{namespace="shop",label_app_kubernetes_io_name="checkout",label_app_kubernetes_io_version="v2.5.0"}) > 2',
        "0s",
      ],
      ["CanaryHighErrorRate", { serviceLabel: "app", versionLabel: "track", window: "2m" }, 'app_track:http_requests_errors:ratio_rate2m{app="checkout",track="v2.5.0"} > 0.05', "1m"],
    ];
    for (const [name, over, expr, forDuration] of cases) {
      it(`${name} ${JSON.stringify(over)}`, () => {
        const rule = alert(name, over);
        assert.equal(rule.expr, expr);
        assert.equal(rule.for, forDuration);
      });
    }
  });

  it("every alert has severity, the service and canary version, a summary, a description with {{ $value }} and a runbook URL", () => {
    const rules = alertingRules(settings({ runbookBaseUrl: "https://wiki.example.com/runbooks/" }));
    assert.deepEqual(
      rules.map((r) => r.alert),
      [...ALERT_NAMES],
    );
    assert.deepEqual(
      rules.map((r) => [r.alert, r.labels]),
      [
        ["CanaryHighErrorRate", { severity: "critical", service: "checkout", version: "v2.5.0" }],
        ["CanaryErrorRateHigherThanStable", { severity: "critical", service: "checkout", version: "v2.5.0" }],
        ["CanaryLatencyHigherThanStable", { severity: "warning", service: "checkout", version: "v2.5.0" }],
        ["CanaryPodCrashLooping", { severity: "warning", service: "checkout", version: "v2.5.0" }],
      ],
    );
    for (const r of rules) {
      assert.deepEqual(Object.keys(r.annotations), ["summary", "description", "runbook_url"], r.alert);
      assert.match(r.annotations.description!, /\{\{ \$value \| [a-zA-Z]+( "%\.0f")? \}\}/, r.alert);
      assert.equal(r.annotations.runbook_url, `https://wiki.example.com/runbooks/${r.alert.toLowerCase()}`);
    }
    assert.deepEqual(alert("CanaryHighErrorRate").annotations, {
      summary: "checkout canary v2.5.0 fails more than 5% of requests",
      description: "{{ $value | humanizePercentage }} of requests to checkout canary v2.5.0 returned 5xx over the last 1m (threshold 5%).",
      runbook_url: "https://runbooks.example.com/canary/canaryhigherrorrate",
    });
  });

  describe("helpers", () => {
    const percents: [number, string][] = [
      [0.05, "5%"],
      [0.005, "0.5%"],
      [0.123456789, "12.3457%"],
      [1, "100%"],
    ];
    for (const [f, text] of percents) it(`percentText(${f}) = ${text}`, () => assert.equal(percentText(f), text));
    it("runbookUrl trims the base's trailing slashes", () => assert.equal(runbookUrl("https://r.example.com/x//", "CanaryPodCrashLooping"), "https://r.example.com/x/canarypodcrashlooping"));
    it("kubePodLabelName sanitises like kube-state-metrics", () => assert.equal(kubePodLabelName("app.kubernetes.io/name"), "label_app_kubernetes_io_name"));
  });

  it("without a canary there are only the recording rules", () => {
    const groups = buildRuleGroups(settings({ canaryVersion: undefined }));
    assert.deepEqual(
      groups.map((g) => [g.name, g.rules.length]),
      [["canary-checkout-recording", 7]],
    );
  });

  it("renders a rule file that parses back to the same groups", () => {
    const groups = buildRuleGroups(settings());
    assert.deepEqual(parse(renderRulesFile(groups)), { groups: JSON.parse(JSON.stringify(groups)) });
  });
});
