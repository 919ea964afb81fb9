/**
 * The canary-versus-stable Grafana dashboard (pure), built with the Grafana Foundation SDK:
 * canary weight, request rate, error and success ratios and p50/p95/p99 latency, each panel
 * with one query per version, and the rollout driver's events (Grafana annotations) on every panel.
 */
import { common, dashboard, Dashboard, prometheus, timeseries } from "./grafana";
import { rateQueries, selector } from "./promql";
import { MonitoringSettings } from "./settings";

/** The gauge the rollout driver will expose with the weight it last applied, labelled by service. */
export const DRIVER_WEIGHT_METRIC = "canary_rollout_weight";

/** Grafana's rate window: at least four scrape intervals, adjusted to the zoom level. */
const RATE_INTERVAL = "$__rate_interval";

/** Every panel reads the Prometheus data source chosen in the `datasource` variable. */
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** The panel titles, in dashboard order. */
export const PANEL_TITLES = ["Canary weight", "Request rate", "Error ratio (5xx)", "Success ratio", "Latency p50", "Latency p95", "Latency p99"] as const;

/** The tag on every Grafana annotation the rollout driver posts. */
export const ROLLOUT_ANNOTATION_TAG = "canary-rollout";

/**
 * The tags of a rollout event's Grafana annotation. The dashboard's annotation query selects the
 * first two, so it shows every rollout of its service whatever the version.
 */
export function rolloutAnnotationTags(e: { readonly service: string; readonly version: string; readonly stack: string; readonly event: string }): string[] {
  return [ROLLOUT_ANNOTATION_TAG, `service:${e.service}`, `version:${e.version}`, `stack:${e.stack}`, `event:${e.event}`];
}

/** The annotation query showing the rollout driver's events on every panel (Grafana's built-in annotation store, by tags). */
function rolloutAnnotations(service: string): { build: () => dashboard.AnnotationQuery } {
  const tags = rolloutAnnotationTags({ service, version: "", stack: "", event: "" }).slice(0, 2);
  // The SDK types a query target as a data-source query; the built-in store's tag filter is plain JSON.
  const target = { type: "tags", tags, matchAny: false, limit: 100 } as unknown as NonNullable<dashboard.AnnotationQuery["target"]>;
  return { build: () => ({ name: "Canary rollouts", datasource: { type: "grafana", uid: "-- Grafana --" }, enable: true, iconColor: "orange", target }) };
}

/** `https://grafana.example.com/d/<uid>`, or undefined without a Grafana URL. */
export function dashboardUrl(grafanaUrl: string | undefined, uid: string): string | undefined {
  return grafanaUrl === undefined ? undefined : `${grafanaUrl.replace(/\/+$/, "")}/d/${uid}`;
}

/** Builds the dashboard for the service's canary and stable versions. */
export function buildDashboard(s: MonitoringSettings): Dashboard {
  const versions = [
    ...(s.canaryVersion !== undefined ? [{ role: "canary", version: s.canaryVersion }] : []),
    { role: "stable", version: s.stableVersion },
  ];
  const queries = versions.map((v) => ({ ...v, q: rateQueries(s.metrics, { service: s.service, version: v.version }, RATE_INTERVAL) }));

  const panel = (title: string, unit: string, description: string) =>
    new timeseries.PanelBuilder().title(title).description(description).unit(unit).datasource(DATASOURCE).height(8)
      .span(12)
      .min(0)
      .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
      .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  const target = (refId: string, expr: string, legend: string) => new prometheus.DataqueryBuilder().refId(refId).datasource(DATASOURCE).expr(expr).legendFormat(legend).range();
  const perVersion = (title: string, unit: string, description: string, pick: (q: (typeof queries)[number]["q"]) => string) => {
    const p = panel(title, unit, description);
    queries.forEach((v, i) => p.withTarget(target(String.fromCharCode(65 + i), pick(v.q), `${v.role} ${v.version}`)));
    return p;
  };

  const weight = panel(
    "Canary weight",
    "percent",
    `Percent of requests sent to the canary. "deployed" is canary:weight as of the last pulumi up (${s.canaryWeight}%); "driver" is the ${DRIVER_WEIGHT_METRIC} gauge the rollout driver exposes while a rollout runs.`,
  )
    .max(100)
    .withTarget(target("A", `vector(${s.canaryWeight})`, "deployed"))
    .withTarget(target("B", `max(${selector(DRIVER_WEIGHT_METRIC, [{ label: "service", op: "=", value: s.service }])})`, "driver"));

  const errorRatio = perVersion("Error ratio (5xx)", "percentunit", `Fraction of requests answered with 5xx. CanaryHighErrorRate fires above ${s.errorRateThreshold}.`, (q) => q.errorRatio).thresholds(
    new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
      { value: null, color: "green" },
      { value: s.errorRateThreshold, color: "red" },
    ]),
  );

  return new dashboard.DashboardBuilder(`Canary: ${s.service}`)
    .uid(s.dashboardUid)
    .description(`Canary ${s.canaryVersion ?? "(none)"} versus stable ${s.stableVersion} of ${s.service}. Generated by pulumi-canary; edits are overwritten by the next pulumi up.`)
    .tags(["canary", s.service])
    .readonly()
    .refresh("30s")
    .time({ from: "now-1h", to: "now" })
    .timezone("browser")
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(new dashboard.DatasourceVariableBuilder("datasource").label("Prometheus").type("prometheus"))
    .annotation(rolloutAnnotations(s.service))
    .withPanel(weight)
    .withPanel(perVersion("Request rate", "reqps", "Requests per second served by each version.", (q) => q.requestRate))
    .withPanel(errorRatio)
    .withPanel(perVersion("Success ratio", "percentunit", "Fraction of requests not answered with 5xx.", (q) => q.successRatio))
    .withPanel(perVersion("Latency p50", "s", "Median request duration.", (q) => q.p50))
    .withPanel(perVersion("Latency p95", "s", "95th-percentile request duration. CanaryLatencyHigherThanStable compares these two.", (q) => q.p95))
    .withPanel(perVersion("Latency p99", "s", "99th-percentile request duration.", (q) => q.p99))
    .build();
}
