/**
 * The judge's public API (`pulumi-canary/judge`): the sequential canary-versus-baseline judge,
 * its measurement and verdict types, the Prometheus metrics provider that feeds it raw
 * counters aligned to their samples, and the pre-flight forecast of a plan at the current
 * traffic. See docs/judge.md.
 */
export * from "./types";
export * from "./judge";
export * from "./prometheus";
export * from "./planner";
export * from "./preflight";
