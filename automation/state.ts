/**
 * Rollout phases and their transitions. {@link transition} is a pure function from a record and
 * an event to the next record: it refuses an illegal transition with a named error and appends
 * every legal one to the record's history with its time, reason and evidence. The record also
 * holds everything else the driver goes by (the step's progress, the target change under way),
 * so a killed driver leaves a record the next run (on any machine that can read the store)
 * decides from exactly as the killed one would have (automation/rollout/decide.ts).
 *
 * ```
 * Idle → Initializing → Progressing(0) → … → Progressing(n) → Promoting → Succeeded
 *        Progressing(n) → Baking → Promoting        (a canary with a bake: all traffic on it, the old stable kept)
 *        Initializing → Baking → Promoting          (blue/green: the switch, blue kept)
 *          any active phase (or Succeeded, undone by a wave) → RollingBack → RolledBack
 *          Progressing ⇄ Paused, Progressing/Paused → Frozen → Progressing   (control verbs)
 * ```
 */
import { InfrastructureError } from "./errors";

/** Every phase a rollout can be in. */
export const PHASES = ["Idle", "Initializing", "Progressing", "Paused", "Frozen", "Baking", "Promoting", "Succeeded", "RollingBack", "RolledBack"] as const;
/** A rollout phase. */
export type Phase = (typeof PHASES)[number];

/** Phases in which the rollout is under way and may still change traffic. */
export const ACTIVE_PHASES: readonly Phase[] = ["Initializing", "Progressing", "Paused", "Frozen", "Baking", "Promoting"];
/** Phases a rollout ends in. */
export const TERMINAL_PHASES: readonly Phase[] = ["Succeeded", "RolledBack"];

/** Who asked for a rollback: the judge, an operator (control verb), or a failure of the driver or target. */
export type RollbackTrigger = "analysis" | "operator" | "error";

/** Who asked for an operator event (`alice@ci-7`), recorded in the history. */
interface Operator {
  readonly by?: string;
}

/** The inputs of {@link transition}; every one carries its time and a human-readable reason. */
export type RolloutEvent = Operator &
  (
  | { readonly type: "start"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  | { readonly type: "advance"; readonly at: string; readonly reason: string; readonly step: number; readonly weight: number; readonly evidence?: unknown }
  /**
   * All traffic to the new version at once, the previous version kept deployed: a blue/green
   * switch (from Initializing), or a canary's last judged step passed with a bake to follow.
   */
  | { readonly type: "switch"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  | { readonly type: "promote"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  | { readonly type: "complete"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  | {
      readonly type: "rollback";
      readonly at: string;
      readonly reason: string;
      readonly trigger: RollbackTrigger;
      readonly evidence?: unknown;
      /** `abort --gradual`: the lower weights to step down through before the restore, highest first. */
      readonly gradual?: readonly number[];
    }
  | { readonly type: "rolledBack"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  | { readonly type: "rollbackFailed"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  | { readonly type: "pause"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  | { readonly type: "resume"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  | { readonly type: "freeze"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  | { readonly type: "unfreeze"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  /** An operator ends the current step's wait (`canary promote`): the next step follows. */
  | { readonly type: "skip"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  /** An operator promotes at once, skipping the remaining steps (`canary promote --full`). */
  | { readonly type: "promoteFull"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  /** An operator approves a gate (`canary approve`): before a step, or before promotion. */
  | { readonly type: "approve"; readonly at: string; readonly reason: string; readonly gate: string; readonly evidence?: unknown }
  /** A new driver took over an unfinished rollout whose driver is gone. */
  | { readonly type: "takeOver"; readonly at: string; readonly reason: string; readonly evidence?: unknown }
  );

/** The kind of an event. */
export type EventType = RolloutEvent["type"];

/**
 * The transition table: for each event, the phases it is legal from and the phase it leads to.
 * `rollbackFailed` keeps the rollout in RollingBack (the restore must be retried); `advance`
 * from Progressing moves to the next step; `rollback` from Succeeded restores the snapshot of a
 * rollout that already promoted (a wave undoing a stage).
 */
export const TRANSITIONS: Readonly<Record<EventType, { readonly from: readonly Phase[]; readonly to: Phase | "unchanged" }>> = {
  start: { from: ["Idle"], to: "Initializing" },
  advance: { from: ["Initializing", "Progressing"], to: "Progressing" },
  switch: { from: ["Initializing", "Progressing"], to: "Baking" },
  promote: { from: ["Progressing", "Baking"], to: "Promoting" },
  complete: { from: ["Promoting"], to: "Succeeded" },
  // From Succeeded too: a wave whose later stage fails restores the stacks it already promoted
  // (automation/wave), through the same rollback as any other.
  rollback: { from: [...ACTIVE_PHASES, "Succeeded"], to: "RollingBack" },
  rolledBack: { from: ["RollingBack"], to: "RolledBack" },
  rollbackFailed: { from: ["RollingBack"], to: "RollingBack" },
  pause: { from: ["Progressing"], to: "Paused" },
  resume: { from: ["Paused"], to: "Progressing" },
  freeze: { from: ["Progressing", "Paused"], to: "Frozen" },
  unfreeze: { from: ["Frozen"], to: "Progressing" },
  skip: { from: ["Progressing", "Baking"], to: "unchanged" },
  promoteFull: { from: ["Progressing", "Paused", "Baking"], to: "Promoting" },
  approve: { from: ["Initializing", "Progressing", "Paused", "Frozen", "Baking"], to: "unchanged" },
  takeOver: { from: ACTIVE_PHASES.concat(["RollingBack"]), to: "unchanged" },
};

/** One entry of a rollout's history. */
export interface HistoryEntry {
  readonly at: string;
  readonly type: EventType;
  readonly from: Phase;
  readonly to: Phase;
  readonly reason: string;
  /** The step and weight in force after the transition, when one is. */
  readonly step?: number;
  readonly weight?: number;
  readonly trigger?: RollbackTrigger;
  /** Who asked (control verbs): `user@host`. */
  readonly by?: string;
  /** The gate approved (`step 2`, `promotion`). */
  readonly gate?: string;
  /** The numbers behind the transition (a judge verdict, an error, a verified weight). */
  readonly evidence?: unknown;
}

/** The step in force. */
export interface StepState {
  readonly index: number;
  readonly weight: number;
  /** When the step's weight was applied and verified, ISO time. */
  readonly startedAt: string;
  /**
   * The step passed: the judge said promote, or an operator ended its wait (`skip`). What
   * follows (the next step, or promotion) still waits for the step to be Progressing and for
   * any gate after it to be approved.
   */
  readonly passed?: { readonly at: string; readonly reason: string };
  /** The step reached its maximum duration undecided and holds (plan `inconclusive: hold`). */
  readonly inconclusive?: boolean;
  /**
   * When the step's observation window began: the start of the tick in which the new version's
   * first request at this weight was seen (absent until then). The step's minimum and maximum
   * durations count from here, not from when the weight was set.
   */
  readonly trafficAt?: string;
}

/**
 * A change of the target under way, written to the record before the change starts
 * (write-ahead): a driver that resumes a record holding one reads the target back and either
 * records the change as done (the target has it) or makes it again, never anything else.
 */
export type Intent =
  | { readonly action: "setCanary"; readonly at: string }
  | { readonly action: "setWeight"; readonly step: number; readonly weight: number; readonly at: string }
  /** All traffic to the new version (weight 100), the previous version kept. */
  | { readonly action: "switch"; readonly at: string }
  /** A lifecycle hook was started; a driver that resumes the record runs it again (its outcome is unknown). */
  | { readonly action: "hook"; readonly hook: string; readonly slot: string; readonly at: string };

/** How a rollout moves traffic: step by step (`canary`), or all at once beside the kept version (`blueGreen`). */
export type Strategy = "canary" | "blueGreen";

/**
 * The previous stable version's own rates before the rollout changed anything: what a bake
 * compares the new version with when there is no concurrent baseline left (everything is on the
 * new version). Counts over [`from`, `to`] (ISO).
 */
export type Reference =
  | {
      readonly version: string;
      readonly from: string;
      readonly to: string;
      readonly requests: number;
      readonly errors: number;
      /** Requests slower than each latency bound (seconds, as a string key), when the histogram has it. */
      readonly slower?: Readonly<Record<string, number>>;
    }
  /** No usable counts (the metrics backend failed, or the version had no series): why. */
  | { readonly version: string; readonly from: string; readonly to: string; readonly unavailable: string };

/** The new version's counts since the bake's observation began, for the comparison with the {@link Reference}. */
export interface BakeCounts {
  readonly requests: number;
  readonly errors: number;
  readonly slower?: Readonly<Record<string, number>>;
}

/** Where a lifecycle hook runs (plan `hooks[].at`). */
export const HOOK_POINTS = ["preRollout", "beforeStep", "beforePromotion", "afterPromotion", "onRollback"] as const;
/** A value of {@link HOOK_POINTS}. */
export type HookPoint = (typeof HOOK_POINTS)[number];

/** One run of a lifecycle hook, as the record keeps it (the latest run of each hook at each point). */
export interface HookRun {
  /** The hook's name (plan `hooks[].name`). */
  readonly hook: string;
  /** Where it ran: the point, with the step for `beforeStep` (`beforeStep 2`). */
  readonly slot: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ok: boolean;
  /** Attempts made (1 + retries used). */
  readonly attempts: number;
  /** What happened, in words: `HTTP 200`, `exit 0`, `timed out after 30s`, `HTTP 503, expected 200`. */
  readonly detail: string;
  /** The end of the output (a command's stdout and stderr, an HTTP response's body), secrets scrubbed. */
  readonly excerpt?: string;
  /** How many times it ran at this point (a blocking hook runs again every tick until it passes). */
  readonly runs: number;
}

/** The latest check of the firing alerts (plan `alerts`). */
export interface AlertCheck {
  /** What the check was for: a step's gate (`step 1`, `promotion`) or the bake (`bake`). */
  readonly gate: string;
  readonly at: string;
  /** The firing alerts, as `Name{label="value",…}`; empty when none fires. */
  readonly firing: readonly string[];
  /** The query failed (nothing is known): why. */
  readonly error?: string;
  /** Since when the queries have been failing, ISO (absent while they answer). */
  readonly failingSince?: string;
}

/** The latest judge verdict, kept for `status` (not every tick is a transition). */
export interface VerdictSummary {
  readonly at: string;
  readonly decision: string;
  readonly reasons: readonly string[];
  readonly hold?: string;
  readonly stepElapsedSeconds: number;
  readonly stepObservedSeconds: number;
  /** The step the verdict was judged at. */
  readonly step?: number;
}

/** The durable record of one rollout. Plain JSON. */
export interface RolloutRecord {
  readonly schema: 1;
  /** Unique per rollout (time-based), so two records are never confused. */
  readonly id: string;
  /** The stack (or sandbox) the rollout changes. */
  readonly stack: string;
  /** The target type, such as `pulumi` or `haproxy`. */
  readonly target: string;
  readonly version: string;
  readonly image: string;
  /** Every weight of the plan; all but the last are judged. */
  readonly steps: readonly number[];
  /**
   * The plan's approval gates (`step 1`, `promotion`), so a control call can refuse to approve a
   * gate the rollout does not have. Absent in records written before gates were recorded.
   */
  readonly gates?: readonly string[];
  readonly phase: Phase;
  readonly step?: StepState;
  /** Initializing: when the canary was deployed at weight 0 and verified. */
  readonly canaryDeployedAt?: string;
  /** The target change under way, if any (see {@link Intent}). */
  readonly intent?: Intent;
  /** RollingBack after `abort --gradual`: the lower weights to step down through, highest first. */
  readonly gradual?: readonly number[];
  /** The approval gate the driver last reported waiting at (`step 2`, `promotion`), so it reports each gate once. */
  readonly awaiting?: string;
  /** `blueGreen` for a blue/green rollout; absent for a canary. */
  readonly strategy?: "blueGreen";
  /** The target's snapshot taken before anything changed; what a rollback restores. */
  readonly snapshot?: unknown;
  /** The previous stable version's pre-rollout rates, when the plan bakes (taken before the new version is deployed). */
  readonly reference?: Reference;
  /** Baking: the new version's counts since the bake's observation began. */
  readonly bake?: BakeCounts;
  /** The latest run of each lifecycle hook at each point. */
  readonly hooks?: readonly HookRun[];
  /** The latest check of the firing alerts. */
  readonly alerts?: AlertCheck;
  /** The judge's state (plain JSON), so a resumed driver keeps its evidence. */
  readonly judge?: unknown;
  readonly lastVerdict?: VerdictSummary;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly history: readonly HistoryEntry[];
  /** Control requests from other processes (automation/rollout/control.ts): pending until the driver applies them. */
  readonly controls?: readonly ControlRequest[];
  /** The driver holding the rollout; absent when none does. */
  readonly lease?: Lease;
  /**
   * How many times the record has been saved (absent on a record never saved). A store writes a
   * record only over the revision it was derived from (compare-and-swap), so a writer that read
   * an older record cannot overwrite a newer one (automation/record/types.ts).
   */
  readonly revision?: number;
}

/** The control verbs that reach a rollout through its record. */
export const CONTROL_VERBS = ["promote", "promoteFull", "abort", "pause", "resume", "freeze", "unfreeze", "approve"] as const;
/** A control verb. */
export type ControlVerb = (typeof CONTROL_VERBS)[number];

/** A control request written into the record by `canary <verb>`, applied by the running driver. */
export interface ControlRequest {
  /** Unique, so a request re-written after a lost update is applied once. */
  readonly id: string;
  readonly verb: ControlVerb;
  readonly at: string;
  readonly by: string;
  readonly reason: string;
  /** `approve`: the gate (`step 2` or `promotion`). */
  readonly gate?: string;
  /** `abort`: step the weight down through the plan's steps instead of snapping to 0. */
  readonly gradual?: boolean;
  /** `pending` until the driver acts; then `applied` or `refused` with why. */
  readonly status: "pending" | "applied" | "refused";
  readonly result?: string;
  readonly doneAt?: string;
}

/** The single driver of a rollout: who, and until when (renewed every tick). */
export interface Lease {
  /** `user@host:pid`. */
  readonly holder: string;
  readonly host: string;
  readonly pid: number;
  readonly acquiredAt: string;
  readonly expiresAt: string;
}

/** Thrown for an event that is not legal in the record's phase. */
export class IllegalTransitionError extends InfrastructureError {
  constructor(
    public readonly phase: Phase,
    public readonly event: EventType,
    detail: string,
  ) {
    super(detail);
    this.name = "IllegalTransitionError";
  }
}

/** What a new record needs to know: who and what it rolls out, and when it was created (`at`). */
export type NewRecord = Pick<RolloutRecord, "id" | "stack" | "target" | "version" | "image" | "steps" | "gates"> & { readonly at: string; readonly strategy?: Strategy };

/** A new rollout, Idle, with an empty history. */
export function newRecord(r: NewRecord): RolloutRecord {
  return {
    schema: 1,
    id: r.id,
    stack: r.stack,
    target: r.target,
    version: r.version,
    image: r.image,
    steps: [...r.steps],
    ...(r.gates ? { gates: [...r.gates] } : {}),
    ...(r.strategy === "blueGreen" ? { strategy: r.strategy } : {}),
    phase: "Idle",
    createdAt: r.at,
    updatedAt: r.at,
    history: [],
  };
}

/** Whether a rollout in this phase is still under way (including an unfinished rollback). */
export function isUnfinished(phase: Phase): boolean {
  return phase !== "Idle" && !TERMINAL_PHASES.includes(phase);
}

/**
 * Applies one event. Pure: returns a new record with the phase changed and the event appended
 * to the history; the input is not modified.
 * @throws IllegalTransitionError when the event is not legal in the record's phase, naming the
 *   rollout, the phase and the legal ones.
 */
export function transition(record: RolloutRecord, event: RolloutEvent): RolloutRecord {
  const rule = TRANSITIONS[event.type];
  const where = `rollout ${record.id} of ${record.version} on ${record.stack}`;
  const to: Phase = rule.to === "unchanged" ? record.phase : rule.to;
  if (!rule.from.includes(record.phase)) {
    throw new IllegalTransitionError(record.phase, event.type, `cannot ${event.type} from ${record.phase} (${where}); ${event.type} is legal from ${rule.from.join(", ")}`);
  }
  let step = record.step;
  let gradual = record.gradual;
  switch (event.type) {
    case "advance": {
      const expected = record.phase === "Initializing" ? 0 : (record.step?.index ?? -1) + 1;
      const judged = record.steps.length - 1;
      if (event.step !== expected) {
        throw new IllegalTransitionError(record.phase, event.type, `cannot advance to step ${event.step} from ${describePhase(record)} (${where}); the next step is ${expected}`);
      }
      if (event.step >= judged) {
        throw new IllegalTransitionError(record.phase, event.type, `cannot advance to step ${event.step} (${where}): the plan judges steps 0–${judged - 1}; the final ${record.steps[judged]} is the promotion`);
      }
      if (event.weight !== record.steps[event.step]) {
        throw new IllegalTransitionError(record.phase, event.type, `cannot advance to step ${event.step} at weight ${event.weight} (${where}): the plan's weight is ${record.steps[event.step]}`);
      }
      step = { index: event.step, weight: event.weight, startedAt: event.at };
      break;
    }
    case "switch": {
      const last = record.steps.length - 1;
      const ready = record.phase === "Initializing" ? record.steps.length === 1 : record.step?.index === last - 1;
      if (!ready) {
        const why = record.phase === "Initializing" ? `only a blue/green rollout (a single step of ${record.steps[last]}) switches from Initializing` : `the last judged step is ${last - 1}`;
        throw new IllegalTransitionError(record.phase, event.type, `cannot switch all traffic from ${describePhase(record)} (${where}): ${why}`);
      }
      step = { index: last, weight: record.steps[last], startedAt: event.at };
      break;
    }
    case "promote": {
      const last = record.steps.length - 2;
      if (record.phase !== "Baking" && record.step?.index !== last) {
        throw new IllegalTransitionError(record.phase, event.type, `cannot promote from ${describePhase(record)} (${where}): the last judged step is ${last}`);
      }
      break;
    }
    case "rollback":
      if (record.phase === "Frozen" && event.trigger === "analysis") {
        throw new IllegalTransitionError(record.phase, event.type, `cannot rollback from Frozen on the analysis' verdict (${where}); a frozen rollout only rolls back when an operator asks`);
      }
      gradual = event.gradual?.length ? [...event.gradual] : undefined;
      break;
    case "skip":
      step = { ...record.step!, passed: { at: event.at, reason: event.reason } };
      break;
    default:
      break;
  }
  const entry: HistoryEntry = {
    at: event.at,
    type: event.type,
    from: record.phase,
    to,
    reason: event.reason,
    ...(step ? { step: step.index, weight: step.weight } : {}),
    ...(event.type === "rollback" ? { trigger: event.trigger } : {}),
    ...(event.by !== undefined ? { by: event.by } : {}),
    ...(event.type === "approve" ? { gate: event.gate } : {}),
    ...(event.evidence !== undefined ? { evidence: event.evidence } : {}),
  };
  // A change under way ends with the transition it leads to (or with the rollout's change of course).
  const { intent: _ended, gradual: _previous, ...rest } = record;
  void _previous;
  const keepIntent = to === record.phase && event.type !== "advance" && event.type !== "switch";
  return {
    ...rest,
    phase: to,
    ...(step ? { step } : {}),
    ...(keepIntent && _ended ? { intent: _ended } : {}),
    ...(gradual ? { gradual } : {}),
    updatedAt: event.at,
    history: [...record.history, entry],
  };
}

/** `Progressing(step 1, weight 25)` and the like, for messages and status lines. */
export function describePhase(record: Pick<RolloutRecord, "phase" | "step">): string {
  // A finished promotion has no step left in force (everything is on the new version).
  const withStep = record.step && record.phase !== "Idle" && record.phase !== "Initializing" && record.phase !== "Succeeded";
  if (withStep && record.phase === "Baking") return `Baking(weight ${record.step!.weight})`;
  return withStep ? `${record.phase}(step ${record.step!.index}, weight ${record.step!.weight})` : record.phase;
}

/** Thrown when a stored record cannot be read back (or, by a store, written). */
export class RecordError extends InfrastructureError {
  constructor(message: string) {
    super(message);
    this.name = "RecordError";
  }
}

/**
 * Checks that parsed JSON is a rollout record this code understands. Shallow on purpose: the
 * fields the driver and `status` rely on are checked; evidence stays opaque.
 * @throws RecordError naming the source and the first problem.
 */
export function checkRecord(value: unknown, source: string): RolloutRecord {
  const fail = (what: string): never => {
    throw new RecordError(`rollout record in ${source}: ${what}`);
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) return fail("must be a JSON object");
  const r = value as Record<string, unknown>;
  if (r.schema !== 1) fail(`unsupported schema ${JSON.stringify(r.schema)}; this driver reads schema 1`);
  if (!PHASES.includes(r.phase as Phase)) fail(`unknown phase ${JSON.stringify(r.phase)}`);
  for (const k of ["id", "stack", "target", "version", "image", "createdAt", "updatedAt"]) {
    if (typeof r[k] !== "string") fail(`${k} must be a string, got ${JSON.stringify(r[k])}`);
  }
  if (!Array.isArray(r.steps) || !r.steps.every((w) => typeof w === "number")) fail("steps must be a list of weights");
  if (r.gates !== undefined && !(Array.isArray(r.gates) && r.gates.every((g) => typeof g === "string"))) fail("gates must be a list of gate names");
  if (!Array.isArray(r.history)) fail("history must be a list");
  if (r.revision !== undefined && !(Number.isSafeInteger(r.revision) && (r.revision as number) >= 0)) fail(`revision must be a non-negative integer, got ${JSON.stringify(r.revision)}`);
  return value as RolloutRecord;
}
