/**
 * The rollout plan: which canary weights to step through, how long each step may take, how
 * often to judge, how the judge is configured and what to do when it cannot decide.
 *
 * A plan is data (YAML on disk, validated with zod). Every field has a default, so an empty
 * file is the default plan 5 → 25 → 50 → 100. An invalid plan is rejected with every problem
 * named by its exact path and value (`steps[2].weight: must be ≤ 100, got 120`) before anything
 * is applied.
 */
import { z } from "zod";
import { escapeControl, formatProblems, note, Path, Problem, problem, under } from "../components/validation/problems";
import { checkJudgeConfig, JudgeConfigInput, parseJudgeConfig } from "./analysis/judge";
import { PreflightPlan } from "./analysis/preflight";
import { durationSchema, formatSeconds } from "./duration";
import { InputError } from "./errors";
import { parseYamlSettings } from "./inputFile";
import { defaultNotifications, NotificationsConfig, notificationsSchema } from "./notify/config";
import { parseSettings } from "./settings";
import { ALERT_ACTIONS, AlertsPlan, alertsSchema, generatedAlertMatchers, parseSelector } from "./rollout/alerts";
import { httpHookProblems, HookSpec, hookSchema } from "./rollout/hooks";
import { Strategy } from "./state";

/** An invalid plan. The message lists every problem, one per line, as `path: message, got value`. Exit 2. */
export class PlanError extends InputError {
  constructor(
    public readonly problems: readonly Problem[],
    /** Where the plan came from (a file name), for the message. */
    public readonly source?: string,
  ) {
    super(`${source ? `invalid plan ${escapeControl(source)}:\n` : ""}${formatProblems(problems)}`);
    this.name = "PlanError";
  }
}

/** The shortest tick: each tick sends a burst of queries to Prometheus. */
export const MIN_TICK_SECONDS = 1;
/** The longest tick. */
export const MAX_TICK_SECONDS = 3600;
/** The longest `minDuration` of a step (and the longest bake reference window, blue's scale-down delay): a day. */
export const MAX_MIN_DURATION_SECONDS = 86_400;
/** The longest `maxDuration` (and warm-up) of a step, and the longest bake: a week. */
export const MAX_STEP_SECONDS = 604_800;
/** The most steps a plan may list (weights are distinct integer percents). */
export const MAX_STEPS = 100;

/** A duration of at most a day. */
const dayDuration = durationSchema({ max: MAX_MIN_DURATION_SECONDS });
/** A duration of at most a week. */
const weekDuration = durationSchema({ max: MAX_STEP_SECONDS });

const weight = z
  .number({ error: "must be an integer percent" })
  .int({ error: "must be an integer percent" })
  .min(1, { error: "must be ≥ 1" })
  .max(100, { error: "must be ≤ 100" });

/** Default minimum time a step must be observed with traffic before it can pass. */
export const DEFAULT_MIN_DURATION_SECONDS = 60;
/** Default wall-clock limit of a step; past it the judge's verdict is inconclusive. */
export const DEFAULT_MAX_DURATION_SECONDS = 600;
/** Default time between two metric readings. */
export const DEFAULT_TICK_SECONDS = 30;
/** The default weights. */
export const DEFAULT_WEIGHTS: readonly number[] = [5, 25, 50, 100];

const stepSchema = z.strictObject({
  /** Canary percent of the step, 1–100. Required. */
  weight,
  /** Observed time with canary traffic before the step may pass; at least one tick, at most 24h. Defaults to 60s. */
  minDuration: dayDuration.default(DEFAULT_MIN_DURATION_SECONDS),
  /** Wall-clock limit; past it the verdict is inconclusive. At most a week. Defaults to 10m. */
  maxDuration: weekDuration.default(DEFAULT_MAX_DURATION_SECONDS),
  /**
   * Seconds after the step's weight change whose counts are kept out of the canary-versus-
   * baseline tests (new pods warming up); the catastrophic guardrails still see them. A
   * canary that fails only then passes: those failures are real ones users get at every
   * weight change. Defaults to 0.
   */
  warmup: weekDuration.optional(),
});

const defaultSteps = DEFAULT_WEIGHTS.map((w) => ({ weight: w, minDuration: DEFAULT_MIN_DURATION_SECONDS, maxDuration: DEFAULT_MAX_DURATION_SECONDS }));

/** What an inconclusive verdict (a step reached its maximum duration undecided) leads to. */
export const INCONCLUSIVE_ACTIONS = ["hold", "rollback"] as const;
/** How a rollback leaves the canary. */
export const ROLLBACK_MODES = ["keepCanary", "restore"] as const;
/** What a new driver does with an unfinished rollout whose driver is gone. */
export const RESUME_ACTIONS = ["resume", "rollback"] as const;
/** What SIGINT/SIGTERM do to a running rollout. */
export const SIGNAL_ACTIONS = ["rollback", "pause"] as const;
/** How a rollout moves traffic. */
export const STRATEGIES = ["canary", "blueGreen"] as const;

/** Default time blue stays deployed after a blue/green switch (Argo Rollouts' scaleDownDelaySeconds default). */
export const DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30;
/** Default window before the rollout over which the previous version's own rates are read. */
export const DEFAULT_REFERENCE_SECONDS = 600;
/** Default bound on the new version's rates during a bake, as a multiple of the previous version's. */
export const DEFAULT_BAKE_MAX_RATIO = 2;

const bakeSchema = z.strictObject({
  /** Time observed with traffic on the new version before the bake passes, at most a week. Required. */
  duration: weekDuration,
  /** Wall-clock limit; past it undecided, the plan's `inconclusive` applies. At most a week. Defaults to the larger of 10m and twice duration. */
  maxDuration: weekDuration.optional(),
  /** Roll back when the new version's error (or slow-request) rate is confidently above maxRatio × the previous version's. Defaults to 2. */
  maxRatio: z.number({ error: "must be a number > 1" }).gt(1, { error: "must be > 1" }).default(DEFAULT_BAKE_MAX_RATIO),
  /** The window before the rollout over which the previous version's own rates are read. Defaults to 10m. */
  reference: dayDuration.default(DEFAULT_REFERENCE_SECONDS),
});

const planSchema = z.strictObject({
  /**
   * The weights to step through, strictly increasing and ending at 100. Every step before the
   * last is judged; the final 100 is the promotion (with all traffic on the canary there is no
   * baseline left to compare with). Defaults to 5 → 25 → 50 → 100.
   */
  steps: z.array(stepSchema, { error: "must be a list of steps" }).max(MAX_STEPS, { error: `must list at most ${MAX_STEPS} steps` }).default(defaultSteps),
  /** Time between two metric readings (one judge tick), 1s–1h. Defaults to 30s. */
  tick: durationSchema({ min: MIN_TICK_SECONDS, max: MAX_TICK_SECONDS }).default(DEFAULT_TICK_SECONDS),
  /** Analysis configuration. */
  analysis: z
    .strictObject({
      /** Judge configuration, validated by the judge module (checkJudgeConfig). Defaults to the judge's own defaults. */
      judge: z.record(z.string(), z.unknown(), { error: "must be a map of judge settings" }).default({}),
      /** Metrics provider settings (Prometheus URL, selectors), validated by the provider when the command knows the versions (cli/input.ts). */
      metrics: z.record(z.string(), z.unknown(), { error: "must be a map of metrics provider settings" }).default({}),
    })
    .default({ judge: {}, metrics: {} }),
  /** `rollback` (default) rolls back at an inconclusive step; `hold` keeps the weight and keeps judging. */
  inconclusive: z.enum(INCONCLUSIVE_ACTIONS, { error: `must be one of ${INCONCLUSIVE_ACTIONS.join(", ")}` }).default("rollback"),
  rollback: z
    .strictObject({
      /**
       * `keepCanary` (default): restore the snapshot but keep the canary deployed at weight 0
       * (reachable through the header route) for debugging. `restore`: the exact snapshot.
       */
      mode: z.enum(ROLLBACK_MODES, { error: `must be one of ${ROLLBACK_MODES.join(", ")}` }).default("keepCanary"),
    })
    .default({ mode: "keepCanary" }),
  /** Print every action without applying any. Defaults to false. */
  dryRun: z.boolean({ error: "must be true or false" }).default(false),
  /** Manual approvals the rollout waits for (`canary approve`), written to the durable record. */
  gates: z
    .strictObject({
      /** Indexes (0-based) of judged steps that need an approval before their weight is applied. */
      beforeSteps: z
        .array(z.number({ error: "must be a step index" }).int({ error: "must be an integer step index" }).min(0, { error: "must be ≥ 0" }), { error: "must be a list of step indexes" })
        .max(MAX_STEPS, { error: `must list at most ${MAX_STEPS} steps` })
        .default([]),
      /** Whether promotion needs an approval. Defaults to false. */
      beforePromotion: z.boolean({ error: "must be true or false" }).default(false),
    })
    .default({ beforeSteps: [], beforePromotion: false }),
  /** An unfinished rollout whose driver is gone: `resume` (default) continues it, `rollback` restores the snapshot. */
  onResume: z.enum(RESUME_ACTIONS, { error: `must be one of ${RESUME_ACTIONS.join(", ")}` }).default("resume"),
  /** SIGINT/SIGTERM: `rollback` (default) or `pause` (hold the weight, exit; resume later). */
  onSignal: z.enum(SIGNAL_ACTIONS, { error: `must be one of ${SIGNAL_ACTIONS.join(", ")}` }).default("rollback"),
  /** Slack and webhook channels, retry policy and incident records (notify/config.ts). Defaults to none. */
  notifications: notificationsSchema.default(defaultNotifications()),
  /** `canary` (default): step through `steps`. `blueGreen`: deploy beside the stable version, switch all traffic at once. */
  strategy: z.enum(STRATEGIES, { error: `must be one of ${STRATEGIES.join(", ")}` }).default("canary"),
  /** Blue/green settings (strategy: blueGreen only). */
  blueGreen: z
    .strictObject({
      /** How long blue stays deployed after the switch (an instant switch back stays possible). Defaults to 30s. */
      scaleDownDelay: dayDuration.default(DEFAULT_SCALE_DOWN_DELAY_SECONDS),
    })
    .optional(),
  /** Watch the new version with all traffic on it, the previous version kept, before promoting. Required by blueGreen. */
  bake: bakeSchema.optional(),
  /** Lifecycle hooks: HTTP calls or local commands at points of the rollout. Defaults to none. */
  hooks: z.array(hookSchema, { error: "must be a list of hooks" }).default([]),
  /** Gate on the service's firing alerts before each step and during the bake. Defaults to off. */
  alerts: alertsSchema.optional(),
});

/** One validated step; durations in seconds. */
export interface PlanStep {
  readonly weight: number;
  readonly minDurationSeconds: number;
  readonly maxDurationSeconds: number;
  /** Seconds after the weight change kept out of the relative tests; absent when 0. */
  readonly warmupSeconds?: number;
}

/** A validated plan with every default filled in. */
export interface Plan {
  /** Strictly increasing weights ending at 100; all but the last are judged. */
  readonly steps: readonly PlanStep[];
  readonly tickSeconds: number;
  readonly analysis: {
    /** Judge settings, already validated against the judge's schema. */
    readonly judge: JudgeConfigInput;
    /** Provider settings, passed through unvalidated to the metrics provider. */
    readonly metrics: Readonly<Record<string, unknown>>;
  };
  readonly inconclusive: (typeof INCONCLUSIVE_ACTIONS)[number];
  readonly rollback: { readonly mode: (typeof ROLLBACK_MODES)[number] };
  readonly dryRun: boolean;
  /** Notification channels and incident records; durations in seconds. */
  readonly notifications: NotificationsConfig;
  /** Approvals required before given judged steps and before promotion. */
  readonly gates: { readonly beforeSteps: readonly number[]; readonly beforePromotion: boolean };
  readonly onResume: (typeof RESUME_ACTIONS)[number];
  readonly onSignal: (typeof SIGNAL_ACTIONS)[number];
  /** How traffic moves. A blue/green plan has one step: the switch to 100. */
  readonly strategy: Strategy;
  /** Blue/green only: seconds blue stays deployed after the switch. */
  readonly blueGreen?: { readonly scaleDownDelaySeconds: number };
  /** The bake after all traffic is on the new version (always set for blue/green). Seconds. */
  readonly bake?: BakePlan;
  /** Lifecycle hooks in plan order, defaults applied. */
  readonly hooks: readonly HookSpec[];
  /** The alert gate, when the plan has one. */
  readonly alerts?: AlertsPlan;
}

/** A validated bake; durations in seconds. */
export interface BakePlan {
  readonly durationSeconds: number;
  readonly maxDurationSeconds: number;
  readonly maxRatio: number;
  readonly referenceSeconds: number;
}

/**
 * Validates a plan object (parsed YAML or JSON; `undefined`/`null` is the default plan): every
 * key at every depth known, every duration and count within its bounds, and the rules between
 * fields.
 * @throws PlanError listing every problem.
 */
export function validatePlan(input: unknown, source?: string): Plan {
  const parsed = parseSettings(planSchema, input ?? {});
  if (!parsed.ok) throw new PlanError(parsed.problems, source);
  const p = parsed.value;
  const problems: Problem[] = [];
  const blueGreen = p.strategy === "blueGreen";
  const given = (key: string): boolean => input !== null && typeof input === "object" && key in (input as Record<string, unknown>);

  // Blue/green has one step, the switch, judged by its bake.
  const steps = blueGreen ? [{ weight: 100, minDuration: 0, maxDuration: 0 }] : p.steps;
  if (blueGreen && given("steps")) problems.push(note(["steps"], "a blue/green plan switches all traffic at once and takes no steps (its judging is the bake); remove steps, or use strategy: canary"));
  if (!blueGreen && p.blueGreen !== undefined) problems.push(note(["blueGreen"], "is for strategy: blueGreen; this plan's strategy is canary"));
  if (blueGreen && p.bake === undefined) problems.push(note(["bake"], "is required with strategy: blueGreen: green is judged during the bake, against blue's own rates from before the switch"));
  if (!blueGreen && steps.length < 2) problems.push(note(["steps"], `must list at least 2 steps (a judged step, then the final 100), got ${steps.length}`));
  steps.forEach((s, i) => {
    if (i > 0 && s.weight <= steps[i - 1].weight) problems.push(problem(["steps", i, "weight"], `must be greater than steps[${i - 1}].weight (${steps[i - 1].weight})`, s.weight));
    if (s.warmup !== undefined && s.warmup >= s.maxDuration) problems.push(note(["steps", i, "warmup"], `must be < maxDuration (${formatSeconds(s.maxDuration)}), got ${formatSeconds(s.warmup)}`));
    if (s.minDuration > s.maxDuration) problems.push(note(["steps", i, "maxDuration"], `must be ≥ minDuration (${formatSeconds(s.minDuration)}), got ${formatSeconds(s.maxDuration)}`));
  });
  const last = steps[steps.length - 1];
  if (last && last.weight !== 100) problems.push(problem(["steps", steps.length - 1, "weight"], "the last step must be 100", last.weight));
  // A judged step passes at a tick: a minimum shorter than one tick would not mean what it says (the final 100 is not judged).
  steps.slice(0, -1).forEach((s, i) => {
    if (s.minDuration < p.tick) problems.push(note(["steps", i, "minDuration"], `must be ≥ tick (${formatSeconds(p.tick)}), got ${formatSeconds(s.minDuration)}`));
  });

  // The judge module owns its schema; run it here so a bad judge setting fails before anything
  // is applied, with its path inside the plan.
  const judged = checkJudgeConfig(p.analysis.judge);
  if (judged.problems) problems.push(...under(["analysis", "judge"], judged.problems));
  const gateSteps = p.gates.beforeSteps;
  if (blueGreen && gateSteps.length > 0) problems.push(note(["gates", "beforeSteps"], "a blue/green plan has no steps; gates.beforePromotion is the approval before the switch"));
  else
    gateSteps.forEach((g, i) => {
      if (i > 0 && g <= gateSteps[i - 1]) problems.push(problem(["gates", "beforeSteps", i], `must be greater than gates.beforeSteps[${i - 1}] (${gateSteps[i - 1]}): sorted, no duplicates`, g));
      if (g >= steps.length - 1) problems.push(problem(["gates", "beforeSteps", i], `must name a judged step (0–${Math.max(steps.length - 2, 0)})`, g));
    });
  const bake = p.bake ? { durationSeconds: p.bake.duration, maxDurationSeconds: p.bake.maxDuration ?? Math.max(DEFAULT_MAX_DURATION_SECONDS, 2 * p.bake.duration), maxRatio: p.bake.maxRatio, referenceSeconds: p.bake.reference } : undefined;
  if (bake && bake.maxDurationSeconds < bake.durationSeconds) problems.push(note(["bake", "maxDuration"], `must be ≥ duration (${formatSeconds(bake.durationSeconds)}), got ${formatSeconds(bake.maxDurationSeconds)}`));
  if (bake && bake.maxDurationSeconds < p.tick) problems.push(note(["bake", "maxDuration"], `must be ≥ tick (${formatSeconds(p.tick)}), got ${formatSeconds(bake.maxDurationSeconds)}`));
  const hooks = hookProblems(p.hooks, { bakes: bake !== undefined, judged: steps.length - 1 }, problems);
  const maxOutageSeconds = judged.problems ? 0 : judged.config.noData.maxOutageSeconds;
  const alerts = alertsPlan(p.alerts, p.analysis.metrics, maxOutageSeconds, problems);
  if (problems.length > 0) throw new PlanError(problems, source);

  return {
    steps: steps.map((s) => ({ weight: s.weight, minDurationSeconds: s.minDuration, maxDurationSeconds: s.maxDuration, ...(s.warmup ? { warmupSeconds: s.warmup } : {}) })),
    tickSeconds: p.tick,
    analysis: { judge: p.analysis.judge as JudgeConfigInput, metrics: p.analysis.metrics },
    inconclusive: p.inconclusive,
    rollback: p.rollback,
    dryRun: p.dryRun,
    notifications: p.notifications,
    gates: p.gates,
    onResume: p.onResume,
    onSignal: p.onSignal,
    strategy: p.strategy,
    ...(blueGreen ? { blueGreen: { scaleDownDelaySeconds: p.blueGreen?.scaleDownDelay ?? DEFAULT_SCALE_DOWN_DELAY_SECONDS } } : {}),
    ...(bake ? { bake } : {}),
    hooks,
    ...(alerts ? { alerts } : {}),
  };
}

type HookInput = z.output<typeof planSchema>["hooks"][number];

/**
 * The hooks with their `onFailure` defaults, checking what only the whole plan can tell: unique
 * names, judged steps, and that a hook after the point of no return (after a promotion with
 * nothing kept to roll back to, after a rollback) can only be recorded.
 */
function hookProblems(hooks: readonly HookInput[], o: { readonly bakes: boolean; readonly judged: number }, problems: Problem[]): HookSpec[] {
  const names = new Map<string, number>();
  return hooks.map((h, i) => {
    const at: Path = ["hooks", i];
    const first = names.get(h.name);
    if (first !== undefined) problems.push(problem([...at, "name"], `is used by hooks[${first}] already`, h.name));
    else names.set(h.name, i);
    if (h.http) for (const p of httpHookProblems(h.http)) problems.push(note([...at, "http", ...p.path.split(".")], p.message));
    (h.steps ?? []).forEach((s, j) => {
      if (s >= o.judged) problems.push(o.judged === 0 ? note([...at, "steps", j], "a blue/green plan has no steps: run pre-traffic checks at beforePromotion") : problem([...at, "steps", j], `must name a judged step (0–${o.judged - 1})`, s));
    });
    if (h.at === "beforeStep" && o.judged === 0) problems.push(note([...at, "at"], "a blue/green plan has no steps: pre-traffic checks run at beforePromotion (green reachable through the override route only)"));
    // After a promotion without a bake the previous version is gone, and after a rollback there is nothing left to undo.
    const final = h.at === "onRollback" || (h.at === "afterPromotion" && !o.bakes);
    const onFailure = h.onFailure ?? (final ? "ignore" : "rollback");
    if (final && onFailure !== "ignore") {
      const why = h.at === "onRollback" ? "an onRollback hook runs once the rollback is done" : "without a bake, afterPromotion runs once the previous version is gone (add a bake to roll back on it)";
      problems.push(problem([...at, "onFailure"], `must be ignore: ${why}`, onFailure));
    }
    return {
      name: h.name,
      at: h.at,
      ...(h.steps !== undefined ? { steps: h.steps } : {}),
      ...(h.command !== undefined ? { command: h.command } : {}),
      ...(h.http !== undefined ? { http: h.http } : {}),
      timeoutSeconds: h.timeout,
      retries: h.retries,
      onFailure,
    };
  });
}

/** The alert gate: the plan's selector, or the generated alerts of the service it names (or the metrics' service selector). */
function alertsPlan(a: z.output<typeof planSchema>["alerts"], metrics: Readonly<Record<string, unknown>>, maxOutageSeconds: number, problems: Problem[]): AlertsPlan | undefined {
  if (a === undefined) return undefined;
  const common = { onFiring: a.onFiring as (typeof ALERT_ACTIONS)[number], maxOutageSeconds, ...(a.url !== undefined ? { url: a.url } : {}) };
  if (a.selector !== undefined) {
    if (a.service !== undefined) problems.push(note(["alerts", "service"], "must not be set together with alerts.selector: the selector chooses the alerts"));
    const parsed = parseSelector(a.selector);
    return "matchers" in parsed ? { ...common, matchers: parsed.matchers, description: `firing alerts matching ${a.selector}` } : undefined;
  }
  const selectors = metrics.selectors as Record<string, unknown> | undefined;
  const service = a.service ?? (typeof selectors?.service === "string" ? selectors.service : undefined);
  if (service === undefined) {
    problems.push(note(["alerts", "service"], "is required (or alerts.selector, or analysis.metrics.selectors.service): whose generated alerts to watch"));
    return undefined;
  }
  return { ...common, matchers: generatedAlertMatchers(service, a.serviceLabel), description: `the generated alerts of ${a.serviceLabel}="${service}" firing` };
}

/** The largest plan accepted, bytes: a plan is a page of settings, a bigger file is a mistake (or an attack on the parser). */
export const MAX_PLAN_BYTES = 1_048_576;

/**
 * Parses and validates a plan from YAML text (JSON is YAML too). Empty text is the default plan.
 * @throws PlanError for text over {@link MAX_PLAN_BYTES}, YAML syntax errors, duplicate keys,
 * alias bombs (each with its line) and every invalid field.
 */
export function parsePlan(text: string, source?: string): Plan {
  const doc = parseYamlSettings(text, MAX_PLAN_BYTES, "a plan");
  if ("problems" in doc) throw new PlanError(doc.problems, source);
  if (doc.value !== null && doc.value !== undefined && (typeof doc.value !== "object" || Array.isArray(doc.value))) {
    throw new PlanError([problem([], "must be a map of plan settings", doc.value)], source);
  }
  return validatePlan(doc.value, source);
}

/** The default plan. */
export function defaultPlan(): Plan {
  return validatePlan({});
}

/** The plan's approval gates by name, as the record keeps them and `canary approve` names them: `step 1`, `promotion`. */
export function gateNames(plan: Pick<Plan, "gates">): string[] {
  return [...plan.gates.beforeSteps.map((i) => `step ${i}`), ...(plan.gates.beforePromotion ? ["promotion"] : [])];
}

/** The judged steps: every step but the final 100 (which is the promotion). */
export function judgedSteps(plan: Plan): readonly PlanStep[] {
  return plan.steps.slice(0, -1);
}

/** The plan as the pre-flight check (analysis/preflight.ts) sees it: the judged steps, the tick, the judge. */
export function preflightPlan(plan: Plan): PreflightPlan {
  return {
    steps: judgedSteps(plan),
    tickSeconds: plan.tickSeconds,
    judge: plan.analysis.judge,
    inconclusive: plan.inconclusive,
    maxOutageSeconds: parseJudgeConfig(plan.analysis.judge).noData.maxOutageSeconds,
  };
}
