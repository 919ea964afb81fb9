/**
 * The Grafana Foundation SDK modules this component uses. The SDK publishes its entry points
 * only through package.json `exports` (`@grafana/grafana-foundation-sdk/dashboard`), which the
 * project's `moduleResolution: node` cannot see; so the modules are loaded by their exported
 * names at runtime and typed from the files those names point to.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const common = require("@grafana/grafana-foundation-sdk/common") as typeof import("@grafana/grafana-foundation-sdk/dist/common");
export const dashboard = require("@grafana/grafana-foundation-sdk/dashboard") as typeof import("@grafana/grafana-foundation-sdk/dist/dashboard");
export const prometheus = require("@grafana/grafana-foundation-sdk/prometheus") as typeof import("@grafana/grafana-foundation-sdk/dist/prometheus");
export const timeseries = require("@grafana/grafana-foundation-sdk/timeseries") as typeof import("@grafana/grafana-foundation-sdk/dist/timeseries");
/* eslint-enable @typescript-eslint/no-require-imports */

/** A dashboard as the SDK builds it (Grafana's dashboard JSON model). */
export type Dashboard = import("@grafana/grafana-foundation-sdk/dist/dashboard").Dashboard;
/** A panel of {@link Dashboard}. */
export type Panel = import("@grafana/grafana-foundation-sdk/dist/dashboard").Panel;
