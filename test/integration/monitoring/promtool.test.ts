/**
 * The generated Prometheus rules through the real promtool: `check rules` on every variant and
 * `promtool test rules` on synthetic series for each alert.
 */
import * as assert from "node:assert/strict";
import { buildRuleGroups, CanaryMonitoringArgs, renderRulesFile, resolveSettings } from "../../../components/monitoring";
import { checkRules, RuleTest, testRules } from "../../helpers/promtool";
import { needs, PROMTOOL } from "../../helpers/tools";

const base: CanaryMonitoringArgs = { service: "checkout", stableVersion: "v2.4.1", canaryVersion: "v2.5.0", canaryWeight: 5 };
const settings = (over: Partial<CanaryMonitoringArgs> = {}) => resolveSettings({ ...base, ...over });

describe("monitoring rules with the real promtool", function () {
  needs(PROMTOOL);

  const checks: [string, Partial<CanaryMonitoringArgs>, number][] = [
    ["defaults, with a canary", {}, 11],
    ["no canary", { canaryVersion: undefined }, 7],
    [
      "custom metric, label and pod names, thresholds and durations",
      { requestsMetric: "requests", statusLabel: "status", durationBucketsMetric: "latency_bucket", serviceLabel: "app", versionLabel: "track", podVersionLabel: "app.kubernetes.io/version", window: "2m", errorRateFor: "0s", maxRestarts: 3 },
      11,
    ],
    ["a service name full of PromQL and YAML syntax, harmless inside quotes", { service: "x or vector(1) # - : [ ] | > ! % & * @", serviceSelector: { app: "x" }, kubernetes: false }, 11],
  ];
  for (const [name, over, count] of checks) {
    it(`promtool check rules: ${name}`, () => {
      const r = checkRules(renderRulesFile(buildRuleGroups(settings(over))));
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`SUCCESS: ${count} rules found`));
    });
  }

  const series = (labels: Record<string, string>, values: string) => ({
    series: `${labels.__name__}{${Object.entries(labels)
      .filter(([k]) => k !== "__name__")
      .map(([k, v]) => `${k}="${v}"`)
      .join(",")}}`,
    values,
  });
  /** Requests of one version per 15 s: `ok` 2xx and `failed` 5xx. */
  const requests = (version: string, ok: number, failed: number) => [
    series({ __name__: "http_requests_total", service: "checkout", version, code: "200" }, `0+${ok}x60`),
    ...(failed > 0 ? [series({ __name__: "http_requests_total", service: "checkout", version, code: "500" }, `0+${failed}x60`)] : []),
  ];
  /** Latency buckets of one version: `perStep` requests every 15 s, all falling in the bucket ending at `le`. */
  const latency = (version: string, perStep: number, le: string) =>
    ["0.1", "0.25", "0.5", "1", "+Inf"].map((b) =>
      series({ __name__: "http_request_duration_seconds_bucket", service: "checkout", version, le: b }, `0+${b === "+Inf" || Number(b) >= Number(le) ? perStep : 0}x60`),
    );
  const canaryLabels = { service: "checkout", version: "v2.5.0" };
  const runbook = (name: string) => `https://runbooks.example.com/canary/${name.toLowerCase()}`;
  const quiet = (alertname: string) => ({ eval_time: "10m", alertname, exp_alerts: [] });

  const tests: RuleTest[] = [
    {
      name: "canary at 10% errors (4 req/s), stable clean: both error alerts fire",
      interval: "15s",
      input_series: [...requests("v2.5.0", 54, 6), ...requests("v2.4.1", 150, 0)],
      promql_expr_test: [
        {
          expr: "service_version:http_requests_errors:rate1m",
          eval_time: "10m",
          exp_samples: [
            { labels: 'service_version:http_requests_errors:rate1m{service="checkout",version="v2.5.0"}', value: 0.4 },
            { labels: 'service_version:http_requests_errors:rate1m{service="checkout",version="v2.4.1"}', value: 0 },
          ],
        },
      ],
      alert_rule_test: [
        {
          eval_time: "10m",
          alertname: "CanaryHighErrorRate",
          exp_alerts: [
            {
              exp_labels: { severity: "critical", ...canaryLabels },
              exp_annotations: {
                summary: "checkout canary v2.5.0 fails more than 5% of requests",
                description: "10% of requests to checkout canary v2.5.0 returned 5xx over the last 1m (threshold 5%).",
                runbook_url: runbook("CanaryHighErrorRate"),
              },
            },
          ],
        },
        {
          eval_time: "10m",
          alertname: "CanaryErrorRateHigherThanStable",
          exp_alerts: [
            {
              exp_labels: { severity: "critical", ...canaryLabels },
              exp_annotations: {
                summary: "checkout canary v2.5.0 fails more than 2× as often as stable v2.4.1",
                description: "10% of requests to checkout canary v2.5.0 returned 5xx over the last 1m, more than 2× stable v2.4.1 (0%).",
                runbook_url: runbook("CanaryErrorRateHigherThanStable"),
              },
            },
          ],
        },
      ],
    },
    {
      name: "canary at 4%, stable at 1%: higher than stable fires, the absolute threshold does not",
      interval: "15s",
      input_series: [...requests("v2.5.0", 57.6, 2.4), ...requests("v2.4.1", 148.5, 1.5)],
      alert_rule_test: [
        quiet("CanaryHighErrorRate"),
        {
          eval_time: "10m",
          alertname: "CanaryErrorRateHigherThanStable",
          exp_alerts: [
            {
              exp_labels: { severity: "critical", ...canaryLabels },
              exp_annotations: {
                summary: "checkout canary v2.5.0 fails more than 2× as often as stable v2.4.1",
                description: "4% of requests to checkout canary v2.5.0 returned 5xx over the last 1m, more than 2× stable v2.4.1 (1%).",
                runbook_url: runbook("CanaryErrorRateHigherThanStable"),
              },
            },
          ],
        },
      ],
    },
    {
      name: "canary at 1.5%, stable at 1%: neither error alert fires",
      interval: "15s",
      input_series: [...requests("v2.5.0", 197, 3), ...requests("v2.4.1", 148.5, 1.5)],
      alert_rule_test: [quiet("CanaryHighErrorRate"), quiet("CanaryErrorRateHigherThanStable")],
    },
    {
      name: "canary at 10% errors but only 0.5 req/s: below the minimum rate, higher than stable stays quiet",
      interval: "15s",
      input_series: [...requests("v2.5.0", 6.75, 0.75), ...requests("v2.4.1", 148.5, 1.5)],
      alert_rule_test: [quiet("CanaryErrorRateHigherThanStable")],
    },
    {
      name: "canary p95 ≈ 0.49 s against stable's 0.095 s: the latency alert fires",
      interval: "15s",
      input_series: [...requests("v2.5.0", 60, 0), ...requests("v2.4.1", 150, 0), ...latency("v2.5.0", 60, "0.5"), ...latency("v2.4.1", 150, "0.1")],
      alert_rule_test: [
        {
          eval_time: "10m",
          alertname: "CanaryLatencyHigherThanStable",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", ...canaryLabels },
              exp_annotations: {
                summary: "checkout canary v2.5.0 p95 latency is more than 1.5× stable v2.4.1's",
                description: "p95 latency of checkout canary v2.5.0 is 487.5ms over the last 1m, more than 1.5× stable v2.4.1 (95ms).",
                runbook_url: runbook("CanaryLatencyHigherThanStable"),
              },
            },
          ],
        },
      ],
    },
    {
      name: "canary and stable equally fast: the latency alert stays quiet",
      interval: "15s",
      input_series: [...requests("v2.5.0", 60, 0), ...requests("v2.4.1", 150, 0), ...latency("v2.5.0", 60, "0.1"), ...latency("v2.4.1", 150, "0.1")],
      alert_rule_test: [quiet("CanaryLatencyHigherThanStable")],
    },
    {
      name: "a canary pod restarts: the crash-loop alert fires for that pod",
      interval: "15s",
      input_series: [
        series({ __name__: "kube_pod_container_status_restarts_total", namespace: "default", pod: "checkout-canary-abc", container: "app" }, "0+0x10 1+0x50"),
        series({ __name__: "kube_pod_labels", namespace: "default", pod: "checkout-canary-abc", label_app: "checkout", label_version: "v2.5.0" }, "1+0x60"),
        series({ __name__: "kube_pod_container_status_restarts_total", namespace: "default", pod: "checkout-stable-xyz", container: "app" }, "0+0x60"),
        series({ __name__: "kube_pod_labels", namespace: "default", pod: "checkout-stable-xyz", label_app: "checkout", label_version: "v2.4.1" }, "1+0x60"),
      ],
      alert_rule_test: [
        {
          eval_time: "5m",
          alertname: "CanaryPodCrashLooping",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", ...canaryLabels, namespace: "default", pod: "checkout-canary-abc" },
              exp_annotations: {
                summary: "A pod of checkout canary v2.5.0 is restarting",
                description: "Pod default/checkout-canary-abc of checkout canary v2.5.0 restarted 1 time(s) in the last 5m; at most 0 allowed.",
                runbook_url: runbook("CanaryPodCrashLooping"),
              },
            },
          ],
        },
      ],
    },
    {
      name: "only stable pods restart, and canary pods in another namespace: the crash-loop alert stays quiet",
      interval: "15s",
      input_series: [
        series({ __name__: "kube_pod_container_status_restarts_total", namespace: "default", pod: "checkout-stable-xyz", container: "app" }, "0+1x60"),
        series({ __name__: "kube_pod_labels", namespace: "default", pod: "checkout-stable-xyz", label_app: "checkout", label_version: "v2.4.1" }, "1+0x60"),
        series({ __name__: "kube_pod_container_status_restarts_total", namespace: "other", pod: "checkout-canary-abc", container: "app" }, "0+1x60"),
        series({ __name__: "kube_pod_labels", namespace: "other", pod: "checkout-canary-abc", label_app: "checkout", label_version: "v2.5.0" }, "1+0x60"),
      ],
      alert_rule_test: [quiet("CanaryPodCrashLooping")],
    },
  ];

  it("promtool test rules: each alert fires on synthetic series that should trip it, and not otherwise", () => {
    const r = testRules(renderRulesFile(buildRuleGroups(settings())), tests);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Unit Testing:\s+tests\.yaml\s+SUCCESS/);
  });

  it("promtool test rules fails when an expectation is wrong (the harness can fail)", () => {
    const wrong: RuleTest = { ...tests[2]!, name: "wrongly expecting an alert", alert_rule_test: [{ eval_time: "10m", alertname: "CanaryHighErrorRate", exp_alerts: [{ exp_labels: { severity: "critical", ...canaryLabels } }] }] };
    const r = testRules(renderRulesFile(buildRuleGroups(settings())), [wrong]);
    assert.equal(r.status, 1);
    assert.match(r.stdout + r.stderr, /FAILED/);
    assert.match(r.stdout + r.stderr, /alertname: CanaryHighErrorRate/);
  });
});
