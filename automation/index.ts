/**
 * The rollout driver's public API (`pulumi-canary/automation`): run a rollout from code with
 * {@link runRollout}, on a target (a Pulumi stack through the Automation API, or the local
 * HAProxy sandbox), persisting its record in a {@link RecordStore}; parse and validate plans;
 * read and transition records; decide a rollout's next action; control a rollout from another
 * process; run a wave of rollouts across several stacks ({@link runWave}). The command line
 * (`canary`) is built on exactly this.
 */
export * from "./rollout/run";
export * from "./rollout/judging";
export * from "./rollout/clock";
export type { DriverEvent } from "./rollout/events";
export type { Action, Observation, Outcome } from "./rollout/decide";
export { decide } from "./rollout/decide";
export { RolloutInProgressError } from "./rollout/session";
export type { RolloutResult } from "./rollout/loop";
export { leaseSecondsOf, LeaseHeldError, LeaseLostError } from "./rollout/lease";
export { controlRollout, ControlRefusedError } from "./rollout/control";
export type { ControlOutcome, StoppedRolloutAccess } from "./rollout/control";
export type { ControlInput } from "./rollout/requests";
export * from "./errors";
export * from "./plan";
export * from "./state";
export * from "./targets";
export * from "./record/types";
export { FileRecordStore } from "./record/file";
export { MemoryRecordStore } from "./record/memory";
export { PulumiConfigRecordStore, ROLLOUT_RECORD_KEY } from "./record/pulumiConfig";
export { runWave } from "./wave/run";
export type { WaveOptions, WaveResult, WaveDriverEvent } from "./wave/run";
export { decideWave } from "./wave/decide";
export type { WaveAction, WaveObservation, WaveOutcome } from "./wave/decide";
export { parseWaveFile, validateWave, WaveFileError, FAILURE_POLICIES } from "./wave/file";
export type { WaveFile, WaveStage, WaveStack, FailurePolicy } from "./wave/file";
export type { WaveRecord, WavePhase, StackStatus } from "./wave/record";
export { FileWaveStore, MemoryWaveStore, WaveConflictError } from "./wave/store";
export type { WaveStore } from "./wave/store";
export type { StackAccess } from "./wave/stacks";
export { controlWave } from "./wave/control";
export { WaveHeldError, WaveInProgressError, WaveLostError } from "./wave/session";
