/** Canary monitoring: PromQL builders, Prometheus rules, the Grafana dashboard and the component. */
export * from "./promql";
export * from "./settings";
export * from "./rules";
export * from "./annotations";
export * from "./dashboard";
export * from "./resources";
export * from "./canaryMonitoring";
