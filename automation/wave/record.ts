/**
 * The wave record: the durable state of one wave, above the rollout records of its stacks. It
 * says which stage the wave is at, what became of each stack's rollout (its id in the stack's own
 * record store, and how it ended), the bake under way, the failure being handled, the approvals
 * and the operator's requests, and the history of every change with its time and reason. Like a
 * rollout record it is saved after every change, compare-and-swap, under a single driver's lease,
 * so a wave driver that dies is continued by the next one from exactly this record
 * (automation/wave/decide.ts).
 *
 * ```
 * Running(stage i) → [Baking(stage i)] → Running(stage i+1) → … → Succeeded
 * Running | Baking → RollingBack → Stopped     (onFailure: stop: earlier stages keep the release)
 *                                → RolledBack  (nothing the wave changed remains)
 * ```
 */
import { InfrastructureError } from "../errors";
import { Lease, RecordError, RollbackTrigger } from "../state";

/** Every phase of a wave. */
export const WAVE_PHASES = ["Running", "Baking", "RollingBack", "Succeeded", "Stopped", "RolledBack"] as const;
/** A wave phase. */
export type WavePhase = (typeof WAVE_PHASES)[number];
/** The phases a wave ends in. */
export const WAVE_TERMINAL_PHASES: readonly WavePhase[] = ["Succeeded", "Stopped", "RolledBack"];

/** Whether a wave in this phase is still under way. */
export function isWaveUnfinished(phase: WavePhase): boolean {
  return !WAVE_TERMINAL_PHASES.includes(phase);
}

/**
 * What became of one stack's rollout:
 * - `pending`: not started; `running`: the wave started it (its driver may have died with the wave's);
 * - `promoted`: the wave's rollout succeeded; `unchanged`: the version was already stable there
 *   (a rollout before the wave made it so: the wave changed nothing to undo);
 * - `rolledBack`, `restoreFailed`: the rollout rolled back, or its restore failed;
 * - `paused`: a signal paused it (its plan's `onSignal: pause`);
 * - `failed`: it could not run (the stack refused, another driver held it); nothing was changed by the wave;
 * - `cancelled`: never started, because its stage failed first.
 */
export type StackStatus = "pending" | "running" | "promoted" | "unchanged" | "rolledBack" | "restoreFailed" | "paused" | "failed" | "cancelled";

/** Statuses of a stack whose rollout has ended one way or another (a failed stage waits for none of these). */
export const SETTLED_STATUSES: readonly StackStatus[] = ["promoted", "unchanged", "rolledBack", "restoreFailed", "failed", "cancelled"];

/** One stack of the wave, as the record has it. */
export interface WaveStackState {
  readonly name: string;
  readonly status: StackStatus;
  /** The rollout the wave runs on the stack: its id in the stack's record store. */
  readonly rollout?: string;
  /** How the rollout ended (the reason of its deciding transition, or the error). */
  readonly reason?: string;
  /** Who ended it, when it rolled back. */
  readonly trigger?: RollbackTrigger;
  /** When the status last changed. */
  readonly at?: string;
  /** When the wave asked the stack's running rollout to abort (its stage failed). */
  readonly abortRequested?: string;
  /** The stack's promotion undone by the wave (its snapshot restored), or why not. */
  readonly revert?: { readonly status: "reverted" | "failed" | "skipped"; readonly at: string; readonly reason: string };
}

/** One stage, as the record has it. */
export interface WaveStageState {
  readonly name: string;
  readonly stacks: readonly WaveStackState[];
}

/** The bake after a stage: the promoted stacks watched under their guardrails. */
export interface BakeState {
  readonly stage: number;
  readonly startedAt: string;
  /** Seconds of the bake covered by ticks in which every watched stack had traffic and metrics. */
  readonly observedSeconds: number;
  /** The last reading (ISO): the next tick counts from here. */
  readonly lastTickAt?: string;
  /** Why the last tick did not count (`no requests reached eu-west-1`). */
  readonly holding?: string;
  /** A guardrail a watched stack breached: the bake failed. */
  readonly breach?: { readonly stack: string; readonly reason: string; readonly at: string; readonly evidence?: unknown };
}

/** The failure the wave is handling (RollingBack), and what it ended as. */
export interface WaveFailure {
  readonly stage: number;
  /** The stack whose rollout or guardrail failed (absent for an operator's abort). */
  readonly stack?: string;
  readonly reason: string;
  readonly trigger: RollbackTrigger;
  readonly at: string;
  /** Restore every promoted stage whatever the policy (`canary wave abort --all`). */
  readonly all?: boolean;
}

/** The control verbs of a wave. */
export const WAVE_CONTROL_VERBS = ["abort", "pause", "resume", "approve"] as const;
/** A wave control verb. */
export type WaveControlVerb = (typeof WAVE_CONTROL_VERBS)[number];

/** A request written into the wave record by `canary wave <verb>`, applied by the running wave driver. */
export interface WaveControlRequest {
  readonly id: string;
  readonly verb: WaveControlVerb;
  readonly at: string;
  readonly by: string;
  readonly reason: string;
  /** `approve`: the stage whose gate it opens. */
  readonly stage?: string;
  /** `abort`: restore every promoted stage whatever the policy. */
  readonly all?: boolean;
  readonly status: "pending" | "applied" | "refused";
  readonly result?: string;
  readonly doneAt?: string;
}

/** Every kind of wave event. */
export type WaveEventType =
  | "start"
  | "stackStarted"
  | "stackEnded"
  | "bake"
  | "bakeFailed"
  | "advance"
  | "fail"
  | "abortRequested"
  | "reverted"
  | "pause"
  | "resume"
  | "approve"
  | "takeOver"
  | "succeed"
  | "stop"
  | "rolledBack";

/** One entry of the wave's history. */
export interface WaveHistoryEntry {
  readonly at: string;
  readonly type: WaveEventType;
  readonly from: WavePhase;
  readonly to: WavePhase;
  /** The stage in force after the event. */
  readonly stage: number;
  readonly stack?: string;
  readonly reason: string;
  readonly by?: string;
  readonly evidence?: unknown;
}

/** The durable record of one wave. Plain JSON. */
export interface WaveRecord {
  readonly schema: 1;
  readonly kind: "wave";
  /** Unique per wave run (time-based). */
  readonly id: string;
  /** The wave file's name. */
  readonly name: string;
  /** What makes a rerun the same wave ({@link waveIdentity} of the file it started from). */
  readonly identity: string;
  readonly phase: WavePhase;
  /** The stage in force. */
  readonly stage: number;
  readonly stages: readonly WaveStageState[];
  readonly bake?: BakeState;
  readonly failure?: WaveFailure;
  /** An operator holds the wave: no stage starts until `canary wave resume`. */
  readonly paused?: { readonly by: string; readonly at: string; readonly reason: string };
  /** The gate the driver last reported waiting at (a stage name), so it reports each once. */
  readonly awaiting?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly history: readonly WaveHistoryEntry[];
  readonly controls?: readonly WaveControlRequest[];
  readonly lease?: Lease;
  /** How many times the record has been saved; every save is compare-and-swap on it. */
  readonly revision?: number;
}

/** The inputs of {@link recordWaveEvent}. */
export type WaveEvent = { readonly at: string; readonly reason: string; readonly by?: string; readonly evidence?: unknown } & (
  | { readonly type: "start" | "takeOver" | "succeed" | "stop" | "rolledBack" | "resume" | "pause" }
  | { readonly type: "stackStarted"; readonly stack: string; readonly rollout: string }
  | { readonly type: "stackEnded"; readonly stack: string; readonly status: StackStatus; readonly rollout?: string; readonly trigger?: RollbackTrigger }
  | { readonly type: "bake"; readonly stage: number }
  | { readonly type: "bakeFailed"; readonly stack: string }
  | { readonly type: "advance"; readonly stage: number }
  | { readonly type: "fail"; readonly stage: number; readonly stack?: string; readonly trigger: RollbackTrigger; readonly all?: boolean }
  | { readonly type: "abortRequested"; readonly stack: string }
  | { readonly type: "reverted"; readonly stack: string; readonly status: "reverted" | "failed" | "skipped" }
  | { readonly type: "approve"; readonly stage: string }
);

/** Where each event is legal, and the phase it leads to. */
const WAVE_TRANSITIONS: Readonly<Record<WaveEventType, { readonly from: readonly WavePhase[]; readonly to: WavePhase | "unchanged" }>> = {
  start: { from: ["Running"], to: "Running" },
  takeOver: { from: ["Running", "Baking", "RollingBack"], to: "unchanged" },
  stackStarted: { from: ["Running"], to: "unchanged" },
  stackEnded: { from: ["Running", "RollingBack"], to: "unchanged" },
  bake: { from: ["Running"], to: "Baking" },
  bakeFailed: { from: ["Baking"], to: "unchanged" },
  advance: { from: ["Running", "Baking"], to: "Running" },
  fail: { from: ["Running", "Baking"], to: "RollingBack" },
  abortRequested: { from: ["RollingBack"], to: "unchanged" },
  reverted: { from: ["RollingBack"], to: "unchanged" },
  pause: { from: ["Running", "Baking"], to: "unchanged" },
  resume: { from: ["Running", "Baking"], to: "unchanged" },
  approve: { from: ["Running", "Baking"], to: "unchanged" },
  succeed: { from: ["Running"], to: "Succeeded" },
  stop: { from: ["RollingBack"], to: "Stopped" },
  rolledBack: { from: ["RollingBack"], to: "RolledBack" },
};

/** Thrown for a wave event that is not legal now. Exit 3. */
export class WaveTransitionError extends InfrastructureError {
  constructor(message: string) {
    super(message);
    this.name = "WaveTransitionError";
  }
}

/** What a new wave record needs. */
export interface NewWave {
  readonly id: string;
  readonly name: string;
  readonly identity: string;
  readonly stages: readonly { readonly name: string; readonly stacks: readonly { readonly name: string }[] }[];
  readonly at: string;
}

/** A new wave at its first stage, every stack pending; its history starts with `start`. */
export function newWaveRecord(w: NewWave, reason: string): WaveRecord {
  const record: WaveRecord = {
    schema: 1,
    kind: "wave",
    id: w.id,
    name: w.name,
    identity: w.identity,
    phase: "Running",
    stage: 0,
    stages: w.stages.map((s) => ({ name: s.name, stacks: s.stacks.map((k) => ({ name: k.name, status: "pending" as const })) })),
    createdAt: w.at,
    updatedAt: w.at,
    history: [],
  };
  return recordWaveEvent(record, { type: "start", at: w.at, reason });
}

/** The stage index and state of stack `name`. */
export function findStack(record: Pick<WaveRecord, "stages">, name: string): { readonly stage: number; readonly stack: WaveStackState } | undefined {
  for (const [i, s] of record.stages.entries()) {
    const stack = s.stacks.find((k) => k.name === name);
    if (stack) return { stage: i, stack };
  }
  return undefined;
}

function mapStack(record: WaveRecord, name: string, f: (s: WaveStackState) => WaveStackState): WaveRecord {
  if (!findStack(record, name)) throw new WaveTransitionError(`wave ${record.id}: no stack ${JSON.stringify(name)}`);
  return { ...record, stages: record.stages.map((s) => ({ ...s, stacks: s.stacks.map((k) => (k.name === name ? f(k) : k)) })) };
}

/**
 * Applies one event. Pure: a new record with the event's changes and the event appended to the
 * history.
 * @throws WaveTransitionError when the event is not legal in the record's phase.
 */
export function recordWaveEvent(record: WaveRecord, event: WaveEvent): WaveRecord {
  const rule = WAVE_TRANSITIONS[event.type];
  if (!rule.from.includes(record.phase) || (event.type === "start" && record.history.length > 0)) {
    throw new WaveTransitionError(`wave ${record.id}: cannot ${event.type} from ${record.phase}; ${event.type} is legal from ${rule.from.join(", ")}`);
  }
  let next: WaveRecord = record;
  let stack: string | undefined;
  const at = event.at;
  switch (event.type) {
    case "stackStarted":
      stack = event.stack;
      next = mapStack(next, event.stack, (s) => ({ name: s.name, status: "running", rollout: event.rollout, at, ...(s.abortRequested ? { abortRequested: s.abortRequested } : {}) }));
      break;
    case "stackEnded":
      stack = event.stack;
      next = mapStack(next, event.stack, (s) => ({
        ...s,
        status: event.status,
        reason: event.reason,
        at,
        ...(event.rollout !== undefined ? { rollout: event.rollout } : {}),
        ...(event.trigger !== undefined ? { trigger: event.trigger } : {}),
      }));
      break;
    case "bake":
      next = { ...next, bake: { stage: event.stage, startedAt: at, observedSeconds: 0 } };
      break;
    case "bakeFailed":
      stack = event.stack;
      next = { ...next, bake: { ...next.bake!, breach: { stack: event.stack, reason: event.reason, at, ...(event.evidence !== undefined ? { evidence: event.evidence } : {}) } } };
      break;
    case "advance": {
      if (event.stage !== record.stage + 1 || event.stage >= record.stages.length) {
        throw new WaveTransitionError(`wave ${record.id}: cannot advance to stage ${event.stage} from stage ${record.stage}`);
      }
      const { bake: _bake, awaiting: _awaiting, ...rest } = next;
      void _bake;
      void _awaiting;
      next = { ...rest, stage: event.stage };
      break;
    }
    case "fail": {
      stack = event.stack;
      // The stacks that never started, in this stage or the ones after it, never will.
      const cancelled = record.stages.slice(event.stage).flatMap((s) => s.stacks.filter((k) => k.status === "pending").map((k) => k.name));
      for (const name of cancelled) next = mapStack(next, name, (s) => ({ ...s, status: "cancelled", reason: `stage ${record.stages[event.stage].name} failed before its rollout started`, at }));
      next = { ...next, failure: { stage: event.stage, ...(event.stack !== undefined ? { stack: event.stack } : {}), reason: event.reason, trigger: event.trigger, at, ...(event.all ? { all: true } : {}) } };
      break;
    }
    case "abortRequested":
      stack = event.stack;
      next = mapStack(next, event.stack, (s) => ({ ...s, abortRequested: at }));
      break;
    case "reverted":
      stack = event.stack;
      next = mapStack(next, event.stack, (s) => ({ ...s, revert: { status: event.status, at, reason: event.reason } }));
      break;
    case "pause":
      next = { ...next, paused: { by: event.by ?? "unknown", at, reason: event.reason } };
      break;
    case "resume": {
      const { paused: _paused, ...rest } = next;
      void _paused;
      next = rest;
      break;
    }
    default:
      break;
  }
  const to: WavePhase = rule.to === "unchanged" ? record.phase : rule.to;
  const entry: WaveHistoryEntry = {
    at,
    type: event.type,
    from: record.phase,
    to,
    stage: next.stage,
    ...(stack !== undefined ? { stack } : {}),
    reason: event.reason,
    ...(event.by !== undefined ? { by: event.by } : {}),
    ...(event.evidence !== undefined ? { evidence: event.evidence } : {}),
  };
  return { ...next, phase: to, updatedAt: at, history: [...record.history, entry] };
}

/** `Running(stage 1 europe)` and the like, for messages. */
export function describeWavePhase(record: Pick<WaveRecord, "phase" | "stage" | "stages">): string {
  const stage = record.stages[record.stage];
  return isWaveUnfinished(record.phase) ? `${record.phase}(stage ${record.stage} ${stage?.name ?? "?"})` : record.phase;
}

/**
 * Checks that parsed JSON is a wave record this code understands (shallow, like the rollout
 * record's check).
 * @throws RecordError naming the source and the first problem.
 */
export function checkWaveRecord(value: unknown, source: string): WaveRecord {
  const fail = (what: string): never => {
    throw new RecordError(`wave record in ${source}: ${what}`);
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) return fail("must be a JSON object");
  const r = value as Record<string, unknown>;
  if (r.kind !== "wave") fail(`kind must be "wave", got ${JSON.stringify(r.kind)} (is this a rollout record?)`);
  if (r.schema !== 1) fail(`unsupported schema ${JSON.stringify(r.schema)}; this driver reads schema 1`);
  if (!WAVE_PHASES.includes(r.phase as WavePhase)) fail(`unknown phase ${JSON.stringify(r.phase)}`);
  for (const k of ["id", "name", "identity", "createdAt", "updatedAt"]) if (typeof r[k] !== "string") fail(`${k} must be a string, got ${JSON.stringify(r[k])}`);
  if (!Array.isArray(r.stages) || !r.stages.every((s: { stacks?: unknown }) => s && Array.isArray(s.stacks))) fail("stages must be a list of stages with their stacks");
  if (!Number.isSafeInteger(r.stage) || (r.stage as number) < 0 || (r.stage as number) >= (r.stages as unknown[]).length) fail(`stage must be a stage index, got ${JSON.stringify(r.stage)}`);
  if (!Array.isArray(r.history)) fail("history must be a list");
  if (r.revision !== undefined && !(Number.isSafeInteger(r.revision) && (r.revision as number) >= 0)) fail(`revision must be a non-negative integer, got ${JSON.stringify(r.revision)}`);
  return value as WaveRecord;
}
