import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { buildDashboard, buildRuleGroups, CanaryMonitoring, CanaryMonitoringArgs, renderPrometheusRule, renderServiceMonitor, resolveSettings } from "../../../components/monitoring";
import { Registered, registrations, resetRegistrations, unwrap } from "../../helpers/pulumi";
import { caseInsensitivePattern, crdErrors } from "../../helpers/crds";

const T = {
  component: "canary:monitoring:CanaryMonitoring",
  rule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
  serviceMonitor: "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
  configMap: "kubernetes:core/v1:ConfigMap",
} as const;

const base: CanaryMonitoringArgs = { service: "checkout", stableVersion: "v2.4.1", canaryVersion: "v2.5.0", canaryWeight: 5 };

/** This component's registrations (other test files share the process), the component first, then children by name. */
async function tree(name: string): Promise<Registered[]> {
  const types: readonly string[] = Object.values(T);
  return (await registrations())
    .filter((r) => types.includes(r.type) && (r.name === name || r.name.startsWith(`${name}-`)))
    .sort((a, b) => Number(b.type === T.component) - Number(a.type === T.component) || a.name.localeCompare(b.name));
}

function one(rs: Registered[], type: string): Registered {
  const found = rs.filter((r) => r.type === type);
  assert.equal(found.length, 1, type);
  return found[0]!;
}

const OWNER = { "app.kubernetes.io/name": "checkout", "app.kubernetes.io/component": "canary-monitoring", "app.kubernetes.io/managed-by": "pulumi-canary" };

describe("CanaryMonitoring", () => {
  beforeEach(() => resetRegistrations());

  it("on Kubernetes: a PrometheusRule, a ServiceMonitor and a dashboard ConfigMap, named from the component", async () => {
    new CanaryMonitoring("checkout-monitoring", base);
    assert.deepEqual(
      (await tree("checkout-monitoring")).map((r) => [r.type, r.name]),
      [
        [T.component, "checkout-monitoring"],
        [T.configMap, "checkout-monitoring-dashboard"],
        [T.rule, "checkout-monitoring-rules"],
        [T.serviceMonitor, "checkout-monitoring-servicemonitor"],
      ],
    );
  });

  it("the PrometheusRule holds the rule groups, is valid against the CRD and carries the Prometheus selector labels", async () => {
    new CanaryMonitoring("checkout-monitoring", { ...base, namespace: "monitoring", prometheusSelectorLabels: { release: "kube-prometheus-stack" } });
    const rule = one(await tree("checkout-monitoring"), T.rule).inputs;
    assert.deepEqual(crdErrors(rule), []);
    assert.equal(rule.apiVersion, "monitoring.coreos.com/v1");
    assert.equal(rule.kind, "PrometheusRule");
    assert.deepEqual(rule.metadata, { namespace: "monitoring", labels: { ...OWNER, release: "kube-prometheus-stack" } });
    const expected = buildRuleGroups(resolveSettings({ ...base, namespace: "monitoring" }));
    assert.deepEqual(rule.spec, JSON.parse(JSON.stringify({ groups: expected })));
    assert.deepEqual(
      rule.spec.groups.map((g: { name: string; rules: unknown[] }) => [g.name, g.rules.length]),
      [
        ["canary-checkout-recording", 7],
        ["canary-checkout-alerts", 4],
      ],
    );
  });

  it("the ServiceMonitor scrapes the service's pods, labels series with service and pod version, and is valid against the CRD", async () => {
    new CanaryMonitoring("checkout-monitoring", { ...base, namespace: "monitoring", serviceNamespace: "shop", podVersionLabel: "app.kubernetes.io/version", scrapePort: "metrics", scrapeInterval: "30s" });
    const sm = one(await tree("checkout-monitoring"), T.serviceMonitor).inputs;
    assert.deepEqual(crdErrors(sm), []);
    assert.deepEqual(sm.metadata, { namespace: "monitoring", labels: OWNER });
    assert.deepEqual(sm.spec, {
      selector: { matchLabels: { app: "checkout" } },
      namespaceSelector: { matchNames: ["shop"] },
      endpoints: [
        {
          port: "metrics",
          path: "/metrics",
          interval: "30s",
          relabelings: [
            { action: "replace", targetLabel: "service", replacement: "checkout" },
            { action: "replace", sourceLabels: ["__meta_kubernetes_pod_label_app_kubernetes_io_version"], targetLabel: "version" },
          ],
        },
      ],
    });
  });

  it("an explicit service selector replaces the default one", async () => {
    new CanaryMonitoring("checkout-monitoring", { ...base, serviceSelector: { "app.kubernetes.io/name": "checkout", tier: "web" } });
    const sm = one(await tree("checkout-monitoring"), T.serviceMonitor).inputs;
    assert.deepEqual(sm.spec.selector, { matchLabels: { "app.kubernetes.io/name": "checkout", tier: "web" } });
    assert.deepEqual(crdErrors(sm), []);
  });

  it("label requirements narrow the scraped Services (each pod reached through one Service)", async () => {
    new CanaryMonitoring("checkout-monitoring", { ...base, serviceSelectorExpressions: [{ key: "track", operator: "In", values: ["stable", "canary"] }] });
    const sm = one(await tree("checkout-monitoring"), T.serviceMonitor).inputs;
    assert.deepEqual(sm.spec.selector, { matchLabels: { app: "checkout" }, matchExpressions: [{ key: "track", operator: "In", values: ["stable", "canary"] }] });
    assert.deepEqual(crdErrors(sm), []);
  });

  it("the dashboard ConfigMap is labelled for Grafana's sidecar and holds the dashboard JSON", async () => {
    new CanaryMonitoring("checkout-monitoring", base);
    const cm = one(await tree("checkout-monitoring"), T.configMap).inputs;
    assert.deepEqual(cm.metadata, { namespace: "default", labels: { ...OWNER, grafana_dashboard: "1" } });
    assert.deepEqual(Object.keys(cm.data), ["canary-checkout.json"]);
    assert.deepEqual(JSON.parse(cm.data["canary-checkout.json"]), JSON.parse(JSON.stringify(buildDashboard(resolveSettings(base)))));
  });

  it("outputs the rule file, dashboard JSON, uid, URL and the raw counter selectors", async () => {
    const m = new CanaryMonitoring("checkout-monitoring", { ...base, grafanaUrl: "https://grafana.example.com/", dashboardUid: "checkout-prod" });
    assert.deepEqual(parse(await unwrap(m.rulesYaml)), JSON.parse(JSON.stringify({ groups: buildRuleGroups(resolveSettings(base)) })));
    assert.equal(JSON.parse(await unwrap(m.dashboardJson)).uid, "checkout-prod");
    assert.equal(await unwrap(m.dashboardUid), "checkout-prod");
    assert.equal(await unwrap(m.dashboardUrl), "https://grafana.example.com/d/checkout-prod");
    assert.deepEqual(await unwrap(m.queries), {
      canary: {
        requests: 'http_requests_total{service="checkout",version="v2.5.0"}',
        errors: 'http_requests_total{service="checkout",version="v2.5.0",code=~"5.."}',
        latencyBuckets: 'http_request_duration_seconds_bucket{service="checkout",version="v2.5.0"}',
      },
      baseline: {
        requests: 'http_requests_total{service="checkout",version="v2.4.1"}',
        errors: 'http_requests_total{service="checkout",version="v2.4.1",code=~"5.."}',
        latencyBuckets: 'http_request_duration_seconds_bucket{service="checkout",version="v2.4.1"}',
      },
    });
    const cm = one(await tree("checkout-monitoring"), T.configMap).inputs;
    assert.deepEqual(Object.keys(cm.data), ["checkout-prod.json"]);
  });

  it("without Kubernetes: no child resources, but the rule file and dashboard JSON are still outputs", async () => {
    const m = new CanaryMonitoring("checkout-monitoring", { ...base, kubernetes: false });
    assert.deepEqual(
      (await tree("checkout-monitoring")).map((r) => [r.type, r.name]),
      [[T.component, "checkout-monitoring"]],
    );
    assert.equal(m.prometheusRuleName, undefined);
    assert.equal(m.serviceMonitorName, undefined);
    assert.equal(m.dashboardConfigMap, undefined);
    assert.match(await unwrap(m.rulesYaml), /alert: CanaryHighErrorRate/);
    assert.equal(JSON.parse(await unwrap(m.dashboardJson)).title, "Canary: checkout");
    assert.equal(await unwrap(m.dashboardUrl), undefined);
  });

  it("without a canary: recording rules only, and a null canary query set", async () => {
    const m = new CanaryMonitoring("checkout-monitoring", { ...base, canaryVersion: undefined, canaryWeight: 0 });
    const rule = one(await tree("checkout-monitoring"), T.rule).inputs;
    assert.deepEqual(
      rule.spec.groups.map((g: { name: string }) => g.name),
      ["canary-checkout-recording"],
    );
    assert.deepEqual(crdErrors(rule), []);
    assert.equal("canary" in (await unwrap(m.queries)), false, "no canary selectors without a canary");
  });

  describe("the CRD checks can fail", () => {
    const s = resolveSettings(base);
    it("a rule with a malformed `for` is refused by the PrometheusRule schema", () => {
      const rule = renderPrometheusRule(s, [{ name: "g", rules: [{ alert: "A", expr: "up == 0", for: "one minute", labels: {}, annotations: {} }] }]);
      assert.deepEqual(crdErrors(rule), ['/spec/groups/0/rules/0/for must match pattern "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$" {"pattern":"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}']);
    });
    it("a ServiceMonitor endpoint with a malformed interval is refused", () => {
      const sm = renderServiceMonitor(s);
      sm.spec.endpoints[0].interval = "15 seconds";
      assert.equal(crdErrors(sm).length, 1);
      assert.match(crdErrors(sm)[0]!, /^\/spec\/endpoints\/0\/interval must match pattern/);
    });
    it("Go's (?i) patterns are rewritten to equivalent case-insensitive ones", () => {
      assert.equal(caseInsensitivePattern("^(?i)(abort|warn)?$"), "^([aA][bB][oO][rR][tT]|[wW][aA][rR][nN])?$");
      assert.throws(() => caseInsensitivePattern("^(?i)[a-z]+$"), /escapes and character classes are not handled/);
    });
  });

  describe("refuses invalid args, naming the arg", () => {
    const unsafe = "must be 1–256 characters without quotes, braces, backslashes, '$', '[[', control or line-break characters";
    const cases: [string, Partial<CanaryMonitoringArgs>, string][] = [
      ["hostile service", { service: 'checkout"} or vector(1)' }, `service: ${unsafe}, got "checkout\\"} or vector(1)"`],
      ["hostile canary version", { canaryVersion: "v2\n- alert: x" }, `canaryVersion: ${unsafe}, got "v2\\n- alert: x"`],
      ["a version with U+2028 (a YAML and PromQL line break)", { canaryVersion: "v2\u2028x" }, `canaryVersion: ${unsafe}, got "v2\\u2028x"`],
      ["a version with a lone UTF-16 surrogate", { canaryVersion: "v2\ud800" }, 'canaryVersion: must be well-formed Unicode (no lone UTF-16 surrogate), got "v2\\ud800"'],
      ["a version Grafana would interpolate ($var)", { canaryVersion: "v2$x" }, `canaryVersion: ${unsafe}, got "v2$x"`],
      ["a version Grafana would interpolate ([[var]])", { canaryVersion: "[[x]]" }, `canaryVersion: ${unsafe}, got "[[x]]"`],
      ["a reserved Prometheus label name", { versionLabel: "__name__" }, 'versionLabel: must not start with __ (Prometheus reserves those label names), got "__name__"'],
      ["same canary and stable", { canaryVersion: "v2.4.1" }, 'canaryVersion: must differ from the stable version, got "v2.4.1"'],
      ["weight over 100", { canaryWeight: 120 }, "canaryWeight: must be an integer from 0 to 100, got 120"],
      ["metric name with a brace", { requestsMetric: "x{}" }, 'requestsMetric: must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got "x{}"'],
      ["same service and version label", { serviceLabel: "app", versionLabel: "app" }, 'versionLabel: must differ from the service label (app), got "app"'],
      ["namespace", { namespace: "Monitoring" }, `namespace: must be a DNS label: 1–63 lowercase letters, digits or '-', starting with a letter and not ending with '-', got "Monitoring"`],
      ["window", { window: "1m]" }, 'window: must be a duration such as 30s, 1m or 1h, got "1m]"'],
      ["window shorter than two scrapes", { window: "1m", scrapeInterval: "45s" }, 'window: must be at least twice the scrape interval (45s) so rate() always has two samples, got "1m"'],
      ["threshold above 1", { errorRateThreshold: 5 }, "errorRateThreshold: must be a number above 0 and at most 1, got 5"],
      ["negative ratio", { latencyRatioVsStable: -1 }, "latencyRatioVsStable: must be a number above 0, got -1"],
      ["for duration", { errorRateFor: "1 minute" }, 'errorRateFor: must be a duration such as 0s, 30s, 1m or 1h, got "1 minute"'],
      ["zero restarts window", { restartsWindow: "0s" }, 'restartsWindow: must be a duration such as 30s, 1m or 1h, got "0s"'],
      ["runbook URL", { runbookBaseUrl: "runbooks" }, 'runbookBaseUrl: must be an http(s) URL, got "runbooks"'],
      ["Grafana URL with a quote", { grafanaUrl: 'https://g"' }, 'grafanaUrl: must be an http(s) URL, got "https://g\\""'],
      ["dashboard uid", { dashboardUid: "a/b" }, 'dashboardUid: must be 1–40 letters, digits, \'-\' or \'_\', got "a/b"'],
      [
        "selector label value",
        { prometheusSelectorLabels: { release: "kube prometheus" } },
        `prometheusSelectorLabels.release: must be a Kubernetes label value: up to 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "kube prometheus"`,
      ],
      ["In without values", { serviceSelectorExpressions: [{ key: "track", operator: "In" }] }, "serviceSelectorExpressions[0].values: must list at least one value for In, got nothing"],
      ["Exists with values", { serviceSelectorExpressions: [{ key: "track", operator: "Exists", values: ["x"] }] }, 'serviceSelectorExpressions[0].values: must be absent for Exists, got ["x"]'],
      ["scrape port number", { scrapePort: "8080x_" }, `scrapePort: must be a port name: 1–15 lowercase letters, digits or '-', with at least one letter, got "8080x_"`],
    ];
    for (const [name, over, message] of cases) {
      it(name, async () => {
        assert.throws(() => new CanaryMonitoring("bad-monitoring", { ...base, ...over }), {
          name: "ComponentArgsError",
          message: `canary:monitoring:CanaryMonitoring: invalid arguments\n${message}`,
        });
        assert.deepEqual(await tree("bad-monitoring"), [], "nothing is registered");
      });
    }
  });
});
