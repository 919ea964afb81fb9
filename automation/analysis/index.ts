/**
 * The judge's public API (`pulumi-canary/judge`): the sequential canary-versus-baseline judge,
 * its measurement and verdict types, and the Prometheus metrics provider that feeds it raw
 * counters. See docs/judge.md.
 */
export * from "./types";
export * from "./judge";
export * from "./prometheus";
