/** The Grafana Foundation SDK modules the dashboard is built with, in one place. */
export * as common from "@grafana/grafana-foundation-sdk/common";
export * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
export * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
export * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";

/** A dashboard as the SDK builds it (Grafana's dashboard JSON model). */
export type { Dashboard, Panel } from "@grafana/grafana-foundation-sdk/dashboard";
