/**
 * The rollout driver's public API (`pulumi-canary/automation`): run a rollout from code with
 * {@link runRollout}, on a target (a Pulumi stack through the Automation API, or the local
 * HAProxy sandbox), persisting its record in a {@link RecordStore}; parse and validate plans;
 * read and transition records. The command line (`canary`) is built on exactly this.
 */
export * from "./driver";
export * from "./plan";
export * from "./state";
export * from "./targets";
export * from "./record/types";
export { FileRecordStore } from "./record/file";
export { MemoryRecordStore } from "./record/memory";
export { PulumiConfigRecordStore, ROLLOUT_RECORD_KEY } from "./record/pulumiConfig";
