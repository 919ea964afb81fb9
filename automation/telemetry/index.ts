/** The rollout driver's own metrics: registry, `/metrics` endpoint, node-exporter textfile. */
export * from "./metrics";
export * from "./server";
export * from "./textfile";
export { writeFileAtomic } from "../atomicFile";
