import * as assert from "node:assert/strict";
import { buildDashboard, CanaryMonitoringArgs, dashboardUrl, defaultDashboardUid, DRIVER_WEIGHT_METRIC, PANEL_TITLES, resolveSettings } from "../../../components/monitoring";

const base: CanaryMonitoringArgs = { service: "checkout", stableVersion: "v2.4.1", canaryVersion: "v2.5.0", canaryWeight: 5 };

interface Target {
  refId: string;
  expr: string;
  legendFormat: string;
  datasource: unknown;
}
interface BuiltPanel {
  type: string;
  title: string;
  datasource: unknown;
  targets: Target[];
  fieldConfig: { defaults: { unit: string } };
}

function panels(args: Partial<CanaryMonitoringArgs> = {}): BuiltPanel[] {
  return buildDashboard(resolveSettings({ ...base, ...args })).panels as unknown as BuiltPanel[];
}

/** The version label value a query selects; every selector in one query must agree. */
function versionsIn(expr: string): string[] {
  return [...new Set([...expr.matchAll(/version="([^"]*)"/g)].map((m) => m[1]!))];
}

describe("monitoring dashboard", () => {
  it("has the identity, time settings and Prometheus data-source variable of a provisioned dashboard", () => {
    const d = buildDashboard(resolveSettings(base));
    assert.equal(d.uid, "canary-checkout");
    assert.equal(d.title, "Canary: checkout");
    assert.deepEqual(d.tags, ["canary", "checkout"]);
    assert.equal(d.editable, false);
    assert.deepEqual(d.time, { from: "now-1h", to: "now" });
    assert.deepEqual(
      d.templating.list?.map((v) => [v.type, v.name, v.query]),
      [["datasource", "datasource", "prometheus"]],
    );
  });

  it("panels: canary weight, request rate, error and success ratios, p50/p95/p99, all time series on the chosen data source", () => {
    const ps = panels();
    assert.deepEqual(
      ps.map((p) => p.title),
      [...PANEL_TITLES],
    );
    assert.deepEqual(
      ps.map((p) => [p.type, p.fieldConfig.defaults.unit]),
      [
        ["timeseries", "percent"],
        ["timeseries", "reqps"],
        ["timeseries", "percentunit"],
        ["timeseries", "percentunit"],
        ["timeseries", "s"],
        ["timeseries", "s"],
        ["timeseries", "s"],
      ],
    );
    for (const p of ps) {
      assert.deepEqual(p.datasource, { type: "prometheus", uid: "${datasource}" }, p.title);
      for (const t of p.targets) assert.deepEqual(t.datasource, { type: "prometheus", uid: "${datasource}" }, `${p.title} ${t.refId}`);
    }
  });

  it("shows the deployed weight as a constant and the driver's gauge", () => {
    const weight = panels({ canaryWeight: 25 })[0]!;
    assert.deepEqual(
      weight.targets.map((t) => [t.refId, t.expr, t.legendFormat]),
      [
        ["A", "vector(25)", "deployed"],
        ["B", `max(${DRIVER_WEIGHT_METRIC}{service="checkout"})`, "driver"],
      ],
    );
  });

  it("every version panel has one query per version, and each query selects only its own version", () => {
    for (const p of panels().slice(1)) {
      assert.deepEqual(
        p.targets.map((t) => [t.refId, t.legendFormat]),
        [
          ["A", "canary v2.5.0"],
          ["B", "stable v2.4.1"],
        ],
        p.title,
      );
      assert.deepEqual(versionsIn(p.targets[0]!.expr), ["v2.5.0"], p.title);
      assert.deepEqual(versionsIn(p.targets[1]!.expr), ["v2.4.1"], p.title);
      for (const t of p.targets) assert.match(t.expr, /service="checkout"/);
    }
  });

  it("uses the exact rate queries with Grafana's $__rate_interval", () => {
    const byTitle = Object.fromEntries(panels().map((p) => [p.title, p.targets.map((t) => t.expr)]));
    assert.deepEqual(byTitle["Request rate"], [
      'sum(rate(http_requests_total{service="checkout",version="v2.5.0"}[$__rate_interval]))',
      'sum(rate(http_requests_total{service="checkout",version="v2.4.1"}[$__rate_interval]))',
    ]);
    assert.deepEqual(byTitle["Error ratio (5xx)"], [
      'sum(rate(http_requests_total{service="checkout",version="v2.5.0",code=~"5.."}[$__rate_interval])) / sum(rate(http_requests_total{service="checkout",version="v2.5.0"}[$__rate_interval]))',
      'sum(rate(http_requests_total{service="checkout",version="v2.4.1",code=~"5.."}[$__rate_interval])) / sum(rate(http_requests_total{service="checkout",version="v2.4.1"}[$__rate_interval]))',
    ]);
    assert.deepEqual(byTitle["Success ratio"], [
      'sum(rate(http_requests_total{service="checkout",version="v2.5.0",code!~"5.."}[$__rate_interval])) / sum(rate(http_requests_total{service="checkout",version="v2.5.0"}[$__rate_interval]))',
      'sum(rate(http_requests_total{service="checkout",version="v2.4.1",code!~"5.."}[$__rate_interval])) / sum(rate(http_requests_total{service="checkout",version="v2.4.1"}[$__rate_interval]))',
    ]);
    for (const [title, q] of [
      ["Latency p50", "0.5"],
      ["Latency p95", "0.95"],
      ["Latency p99", "0.99"],
    ] as const) {
      assert.deepEqual(byTitle[title], [
        `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout",version="v2.5.0"}[$__rate_interval])))`,
        `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout",version="v2.4.1"}[$__rate_interval])))`,
      ]);
    }
  });

  it("uses the configured metric and label names", () => {
    const p = panels({ requestsMetric: "requests_total", serviceLabel: "app", versionLabel: "track" })[1]!;
    assert.deepEqual(
      p.targets.map((t) => t.expr),
      ['sum(rate(requests_total{app="checkout",track="v2.5.0"}[$__rate_interval]))', 'sum(rate(requests_total{app="checkout",track="v2.4.1"}[$__rate_interval]))'],
    );
  });

  it("without a canary, shows the stable version alone", () => {
    for (const p of panels({ canaryVersion: undefined }).slice(1)) {
      assert.deepEqual(
        p.targets.map((t) => [t.refId, t.legendFormat]),
        [["A", "stable v2.4.1"]],
        p.title,
      );
    }
  });

  it("marks the error-rate threshold on the error-ratio panel", () => {
    const d = buildDashboard(resolveSettings({ ...base, errorRateThreshold: 0.02 }));
    const p = d.panels![2] as unknown as { fieldConfig: { defaults: { thresholds: unknown } } };
    assert.deepEqual(p.fieldConfig.defaults.thresholds, {
      mode: "absolute",
      steps: [
        { value: null, color: "green" },
        { value: 0.02, color: "red" },
      ],
    });
  });

  describe("uid and URL", () => {
    const uids: [string, string | undefined, string][] = [
      ["checkout", undefined, "canary-checkout"],
      ["checkout", "prod-us-east", "canary-checkout-prod-us-east"],
      ["checkout", "org/proj.prod", "canary-checkout-org-proj-prod"],
      ["a-very-long-service-name-for-payments", "production", "canary-a-very-long-service-name-a2d0d195"],
    ];
    for (const [service, stack, uid] of uids) {
      it(`defaultDashboardUid(${service}, ${stack}) = ${uid}`, () => {
        const got = defaultDashboardUid(service, stack);
        assert.ok(got.length <= 40, got);
        assert.equal(got, uid);
      });
    }
    it("keeps long uids distinct by hashing the whole name", () => {
      assert.notEqual(defaultDashboardUid("a-very-long-service-name-for-payments", "production"), defaultDashboardUid("a-very-long-service-name-for-payments", "productioN"));
    });
    it("links to /d/<uid> under the Grafana base URL, or nothing without one", () => {
      assert.equal(dashboardUrl("https://grafana.example.com/", "canary-checkout"), "https://grafana.example.com/d/canary-checkout");
      assert.equal(dashboardUrl(undefined, "canary-checkout"), undefined);
    });
  });
});
