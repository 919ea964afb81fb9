import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { CanaryConfigError, parseConfig } from "../../../infra/config";
import { deployMonitoring, monitoringArgs, platformServiceSelectorExpressions } from "../../../infra/monitoring";
import { program } from "../../../infra/program";
import { registrations, resetRegistrations, setConfig, unwrap } from "../../helpers/pulumi";

const istio = {
  "canary:platform": "istio",
  "canary:service": "checkout",
  "canary:stable": JSON.stringify({ version: "v2.4.1", image: "registry.example.com/checkout:v2.4.1" }),
  "canary:canary": JSON.stringify({ version: "v2.5.0", image: "registry.example.com/checkout:v2.5.0" }),
  "canary:weight": "10",
};
const aws = {
  ...istio,
  "canary:platform": "aws",
  "canary:aws": JSON.stringify({ vpcId: "vpc-0abc1234", subnetIds: ["subnet-0abc1234", "subnet-0abc1235"] }),
};
const withBlock = (raw: Record<string, string>, block: unknown) => ({ ...raw, "canary:monitoring": typeof block === "string" ? block : JSON.stringify(block) });

const DEFAULT_BLOCK = {
  enabled: true,
  window: "1m",
  metrics: { requests: "http_requests_total", statusLabel: "code", durationBuckets: "http_request_duration_seconds_bucket", serviceLabel: "service", versionLabel: "version" },
  pods: { serviceLabel: "app", versionLabel: "version" },
  thresholds: {
    errorRate: 0.05,
    errorRateFor: "1m",
    errorRatioVsStable: 2,
    minRequestRate: 1,
    errorRateVsStableFor: "2m",
    latencyRatioVsStable: 1.5,
    latencyVsStableFor: "2m",
    maxRestarts: 0,
    restartsWindow: "5m",
    crashLoopingFor: "1m",
  },
  runbookBaseUrl: "https://runbooks.example.com/canary",
  prometheusSelectorLabels: {},
  scrape: { port: "http", path: "/metrics", interval: "15s" },
};

const MONITORING_TYPES = ["canary:monitoring:CanaryMonitoring", "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "kubernetes:core/v1:ConfigMap"];

async function monitoringRegistrations(): Promise<[string, string][]> {
  return (await registrations())
    .filter((r) => MONITORING_TYPES.includes(r.type))
    .map((r): [string, string] => [r.type, r.name])
    .sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
}

describe("canary:monitoring config", () => {
  beforeEach(() => resetRegistrations());

  it("may be omitted: every field has a default", () => {
    assert.deepEqual(parseConfig(istio).monitoring, DEFAULT_BLOCK);
  });

  it("a full block is read as given (URLs without trailing slashes)", () => {
    const block = {
      enabled: true,
      namespace: "monitoring",
      serviceNamespace: "shop",
      window: "2m",
      metrics: { requests: "requests_total", statusLabel: "status", durationBuckets: "latency_seconds_bucket", serviceLabel: "app", versionLabel: "track" },
      pods: { serviceLabel: "app.kubernetes.io/name", versionLabel: "app.kubernetes.io/version" },
      thresholds: { errorRate: 0.01, errorRateFor: "0s", errorRatioVsStable: 3, minRequestRate: 0.5, errorRateVsStableFor: "5m", latencyRatioVsStable: 2, latencyVsStableFor: "10m", maxRestarts: 2, restartsWindow: "10m", crashLoopingFor: "2m" },
      runbookBaseUrl: "https://wiki.example.com/runbooks/",
      grafanaUrl: "https://grafana.example.com/",
      prometheusSelectorLabels: { release: "kube-prometheus-stack" },
      scrape: { port: "metrics", path: "/internal/metrics", interval: "30s", serviceSelector: { "app.kubernetes.io/name": "checkout" } },
    };
    assert.deepEqual(parseConfig(withBlock(istio, block)).monitoring, { ...block, runbookBaseUrl: "https://wiki.example.com/runbooks", grafanaUrl: "https://grafana.example.com" });
  });

  describe("invalid blocks are refused with the key path, the value and what was expected", () => {
    const cases: [string, unknown, string[]][] = [
      ["not an object", "monitor everything", ['canary:monitoring: must be an object with the monitoring settings, got "monitor everything"']],
      ["a misspelt key", { thresholds: { errRate: 0.1 } }, ["canary:monitoring.thresholds.errRate: unknown key"]],
      ["enabled as a string", { enabled: "yes" }, ['canary:monitoring.enabled: must be true or false, got "yes"']],
      ["an error-rate threshold in percent", { thresholds: { errorRate: 5 } }, ["canary:monitoring.thresholds.errorRate: must be a number above 0 and at most 1, got 5"]],
      ["a zero ratio", { thresholds: { latencyRatioVsStable: 0 } }, ["canary:monitoring.thresholds.latencyRatioVsStable: must be a number above 0, got 0"]],
      ["fractional restarts", { thresholds: { maxRestarts: 0.5 } }, ["canary:monitoring.thresholds.maxRestarts: must be an integer from 0 to 1000000, got 0.5"]],
      ["a for duration in words", { thresholds: { errorRateFor: "one minute" } }, ['canary:monitoring.thresholds.errorRateFor: must be a duration such as 0s, 30s, 1m or 1h, got "one minute"']],
      ["a zero window", { window: "0m" }, ['canary:monitoring.window: must be a duration such as 30s, 1m or 1h, got "0m"']],
      ["a window shorter than two scrapes", { window: "1m", scrape: { interval: "45s" } }, ['canary:monitoring.window: must be at least twice the scrape interval (45s) so rate() always has two samples, got "1m"']],
      ["a metric name with a dash", { metrics: { requests: "http-requests" } }, ['canary:monitoring.metrics.requests: must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got "http-requests"']],
      ["a label name with a brace", { metrics: { statusLabel: "code}" } }, ['canary:monitoring.metrics.statusLabel: must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got "code}"']],
      ["the same service and version label", { metrics: { serviceLabel: "app", versionLabel: "app" } }, ['canary:monitoring.metrics.versionLabel: must differ from the service label (app), got "app"']],
      ["a pod label key with spaces", { pods: { versionLabel: "my version" } }, ['canary:monitoring.pods.versionLabel: must be a Kubernetes label key such as app or app.kubernetes.io/name, got "my version"']],
      ["a namespace in capitals", { namespace: "Monitoring" }, ['canary:monitoring.namespace: must be a DNS label: 1–63 lowercase letters, digits or \'-\', starting with a letter and not ending with \'-\', got "Monitoring"']],
      ["a Grafana URL without a scheme", { grafanaUrl: "grafana.example.com" }, ['canary:monitoring.grafanaUrl: must be an http(s) URL, got "grafana.example.com"']],
      ["a runbook URL with a quote", { runbookBaseUrl: 'https://wiki"' }, ['canary:monitoring.runbookBaseUrl: must be an http(s) URL, got "https://wiki\\""']],
      [
        "a selector label value with a space",
        { prometheusSelectorLabels: { release: "kube prometheus" } },
        ['canary:monitoring.prometheusSelectorLabels.release: must be a Kubernetes label value: up to 63 letters, digits, \'.\', \'_\' or \'-\', starting and ending with a letter or digit, got "kube prometheus"'],
      ],
      ["a numeric scrape port", { scrape: { port: 8080 } }, ["canary:monitoring.scrape.port: must be a port name: 1–15 lowercase letters, digits or '-', with at least one letter, got 8080"]],
      [
        "several problems of shape at once, all reported",
        { thresholds: { errorRate: 2, maxRestarts: -1 }, scrape: { port: "HTTP" } },
        [
          "canary:monitoring.thresholds.errorRate: must be a number above 0 and at most 1, got 2",
          "canary:monitoring.thresholds.maxRestarts: must be an integer from 0 to 1000000, got -1",
          "canary:monitoring.scrape.port: must be a port name: 1–15 lowercase letters, digits or '-', with at least one letter, got \"HTTP\"",
        ],
      ],
      // The default window (1m) is too short for a 1m scrape: the component's check quotes the value in effect.
      ["a scrape interval the default window cannot cover", { scrape: { interval: "1m" } }, ['canary:monitoring.window: must be at least twice the scrape interval (1m) so rate() always has two samples, got "1m"']],
      ["a reserved Prometheus label name", { metrics: { versionLabel: "__name__" } }, ['canary:monitoring.metrics.versionLabel: must not start with __ (Prometheus reserves those label names), got "__name__"']],
      ["a reserved Prometheus label name for the status", { metrics: { statusLabel: "__address__" } }, ['canary:monitoring.metrics.statusLabel: must not start with __ (Prometheus reserves those label names), got "__address__"']],
    ];
    for (const [name, block, problems] of cases) {
      it(name, () => {
        assert.throws(
          () => parseConfig(withBlock(istio, block)),
          (e: unknown) => {
            assert.ok(e instanceof CanaryConfigError);
            assert.deepEqual(
              e.problems.map((p) => `${p.path}: ${p.message}`),
              problems,
            );
            return true;
          },
        );
      });
    }
  });

  describe("deployMonitoring", () => {
    it("on Kubernetes platforms, creates the component in the platform's namespace and exports queries, uid, URL, rules and dashboard", async () => {
      const config = parseConfig(withBlock({ ...istio, "canary:istio": JSON.stringify({ namespace: "shop" }) }, { grafanaUrl: "https://grafana.example.com" }));
      assert.equal(monitoringArgs(config, "test").namespace, "shop");
      assert.equal(monitoringArgs(config, "test").serviceNamespace, "shop");
      const out = deployMonitoring(config);
      assert.deepEqual(await monitoringRegistrations(), [
        ["canary:monitoring:CanaryMonitoring", "checkout-monitoring"],
        ["kubernetes:core/v1:ConfigMap", "checkout-monitoring-dashboard"],
        ["kubernetes:monitoring.coreos.com/v1:PrometheusRule", "checkout-monitoring-rules"],
        ["kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "checkout-monitoring-servicemonitor"],
      ]);
      assert.deepEqual(Object.keys(out).sort(), ["dashboardJson", "dashboardUid", "dashboardUrl", "prometheusRulesYaml", "queries"]);
      assert.equal(await unwrap(out.dashboardUid!), "canary-checkout-test");
      assert.equal(await unwrap(out.dashboardUrl!), "https://grafana.example.com/d/canary-checkout-test");
      assert.deepEqual(await unwrap(out.queries), {
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
      const namespaces = (await registrations()).filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("checkout-monitoring-")).map((r) => r.inputs.metadata.namespace);
      assert.deepEqual(namespaces, ["shop", "shop", "shop"]);
    });

    describe("scrapes each pod through exactly one Service", () => {
      const tracks = [{ key: "track", operator: "In", values: ["stable", "canary"] }];
      const cases: [Parameters<typeof platformServiceSelectorExpressions>[0], unknown[]][] = [
        ["istio", []],
        ["linkerd", tracks],
        ["gateway-api", tracks],
        ["aws", []],
        ["gcp", []],
      ];
      for (const [platform, expected] of cases) it(platform, () => assert.deepEqual(platformServiceSelectorExpressions(platform), expected));

      it("linkerd's track Services by default; a configured selector is used as given", () => {
        const linkerd = { ...istio, "canary:platform": "linkerd" };
        assert.deepEqual(monitoringArgs(parseConfig(linkerd), "test").serviceSelectorExpressions, tracks);
        const custom = monitoringArgs(parseConfig(withBlock(linkerd, { scrape: { serviceSelector: { app: "checkout", monitored: "true" } } })), "test");
        assert.deepEqual([custom.serviceSelector, custom.serviceSelectorExpressions], [{ app: "checkout", monitored: "true" }, []]);
      });
    });

    it("the block's own namespaces win over the platform's", () => {
      const config = parseConfig(withBlock({ ...istio, "canary:istio": JSON.stringify({ namespace: "shop" }) }, { namespace: "monitoring", serviceNamespace: "checkout" }));
      const args = monitoringArgs(config, "prod");
      assert.deepEqual([args.namespace, args.serviceNamespace, args.dashboardUid], ["monitoring", "checkout", "canary-checkout-prod"]);
    });

    it("on AWS, creates no Kubernetes resources but exports the rule file and dashboard JSON; dashboardUrl is null without grafanaUrl", async () => {
      const out = deployMonitoring(parseConfig(aws));
      assert.deepEqual(await monitoringRegistrations(), [["canary:monitoring:CanaryMonitoring", "checkout-monitoring"]]);
      const rules = parse(await unwrap(out.prometheusRulesYaml!));
      assert.deepEqual(
        rules.groups.map((g: { name: string }) => g.name),
        ["canary-checkout-recording", "canary-checkout-alerts"],
      );
      assert.equal(JSON.parse(await unwrap(out.dashboardJson!)).uid, "canary-checkout-test");
      assert.equal(await unwrap(out.dashboardUrl!), null);
    });

    it("disabled: nothing is created, and only the queries are exported (the driver still needs them)", async () => {
      const out = deployMonitoring(parseConfig(withBlock(istio, { enabled: false })));
      assert.deepEqual(await monitoringRegistrations(), []);
      assert.deepEqual(Object.keys(out), ["queries"]);
      assert.equal((await unwrap(out.queries)).baseline.requests, 'http_requests_total{service="checkout",version="v2.4.1"}');
    });

    it("without a canary the queries output has canary: null (the stack output contract), enabled or disabled", async () => {
      const { "canary:canary": _canary, ...stableOnly } = { ...istio, "canary:weight": "0" };
      void _canary;
      for (const block of [{}, { enabled: false }]) {
        const queries = await unwrap(deployMonitoring(parseConfig(withBlock(stableOnly, block))).queries);
        assert.equal(queries.canary, null);
        assert.equal(queries.baseline.requests, 'http_requests_total{service="checkout",version="v2.4.1"}');
      }
    });
  });

  it("the program spreads the monitoring outputs into the stack outputs", async () => {
    setConfig({ ...istio, "canary:stable": JSON.parse(istio["canary:stable"]), "canary:canary": JSON.parse(istio["canary:canary"]), "canary:weight": 10 });
    const outputs = program() as unknown as Record<string, unknown>;
    for (const key of ["queries", "dashboardUid", "dashboardUrl", "prometheusRulesYaml", "dashboardJson"]) assert.ok(key in outputs, key);
    assert.equal(await unwrap(outputs.dashboardUid as string), "canary-checkout-test");
    assert.equal(JSON.parse(await unwrap(outputs.dashboardJson as string)).panels[0].targets[0].expr, "vector(10)");
  });
});
