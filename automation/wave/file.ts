/**
 * The wave file: a rollout of one release across several stacks (regions, or several services),
 * in stages. Stages run in order; the stacks of a stage are rolled out in parallel, each by a
 * normal rollout with its own plan (or the wave's shared one). Between two stages the promoted
 * stacks bake under their guardrails, and a stage may wait for an approval.
 *
 * ```yaml
 * name: checkout-2-5
 * version: v2.5.0
 * image: registry.example.com/checkout:v2.5.0
 * plan: plans/canary.yaml        # shared by every stack that names none; relative to this file
 * onFailure: rollbackAll         # or stop (default): what happens to already-promoted stages
 * bake: 10m                      # between two stages; a stage may override it. Default: none
 * stages:
 *   - name: us-east
 *     stacks: [{ name: us-east-1, stack: prod-us-east-1 }]
 *     bake: 30m
 *   - name: europe
 *     gate: true                 # waits for `canary wave approve --stage europe`
 *     stacks:
 *       - { name: eu-west-1, stack: prod-eu-west-1, plan: plans/eu.yaml }
 *       - { name: eu-central-1, stack: prod-eu-central-1 }
 * ```
 *
 * A file is validated whole before anything is contacted (zod, then the rules across fields,
 * then every plan it names), and every problem is reported with its path and value in the
 * project's one format (components/validation/problems.ts):
 * `stages[1].stacks[0].stack: is required with target pulumi`.
 */
import * as path from "node:path";
import { z } from "zod";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { formatPath, formatProblem, issueProblems, note, Path, problem, Problem } from "../../components/validation/problems";
import { dnsLabel, imageRef, labelValue, pattern, refine } from "../../components/validation/primitives";
import { zBoolean, zEnum, zString } from "../../infra/zod";
import { BackendFlags } from "../backends/types";
import { DURATION_MESSAGE, durationSchema, parseDuration } from "../duration";
import { InputError } from "../errors";
import { Plan, PlanError } from "../plan";
import { TARGET_TYPES } from "../targets";

/** What happens to the stages that already promoted when a later stage fails. */
export const FAILURE_POLICIES = ["stop", "rollbackAll"] as const;
/** A failure policy: `stop` keeps them, `rollbackAll` restores each of their stacks' snapshots. */
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

/** The wave's tick when the file sets none: how often it reads control requests and judges a bake. */
export const DEFAULT_WAVE_TICK_SECONDS = 10;
/** The largest wave file accepted, bytes (a wave is a page; a bigger file is a mistake). */
export const MAX_WAVE_BYTES = 1_048_576;

/** A Pulumi stack name: `prod-us-east`, or fully qualified `org/project/stack`. */
const stackName = pattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(\/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}){0,2}$/, "must be a Pulumi stack name (letters, digits, '-', '_' and '.'; or org/project/stack)");
/** A file or directory path (relative ones are relative to the wave file). */
const filePath = refine(pattern(/^.{1,4096}$/s, "must be a path (1–4096 characters, no control characters)"), (v) =>
  [...v].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) ? "must be a path (1–4096 characters, no control characters)" : undefined,
);
const targetType = pattern(new RegExp(`^(${TARGET_TYPES.join("|")})$`), `must be one of ${TARGET_TYPES.join(", ")}`);

/** A bake: a duration, or 0 for none. */
const bakeSchema = z.union([z.number(), z.string()], { error: DURATION_MESSAGE }).transform((v, ctx) => {
  if (v === 0 || (typeof v === "string" && /^0+(\.0+)?(ms|s|m|h)?$/.test(v.trim()))) return 0;
  const parsed = parseDuration(v);
  if ("error" in parsed) {
    ctx.addIssue({ code: "custom", message: `${parsed.error} (or 0 for no bake)` });
    return z.NEVER;
  }
  return parsed.seconds;
});

const stackSchema = z.strictObject(
  {
    /** The stack's name in the wave (unique across it): a DNS label such as `eu-west-1`. Required. */
    name: zString(dnsLabel),
    /** The target type. Defaults to the wave's `target`. */
    target: zString(targetType).optional(),
    /** The Pulumi stack (target pulumi). Required with target pulumi. */
    stack: zString(stackName).optional(),
    /** The Pulumi project directory (target pulumi). Defaults to the wave's `cwd`. */
    cwd: zString(filePath).optional(),
    /** The sandbox's state file (target haproxy). Required with target haproxy. */
    sandbox: zString(filePath).optional(),
    /** The rollout record file (target haproxy). Defaults to rollout.json next to the sandbox's state file. */
    record: zString(filePath).optional(),
    /** The stack's rollout plan. Defaults to the wave's `plan`. */
    plan: zString(filePath).optional(),
    /** The version rolled out on this stack. Defaults to the wave's `version` (or --version). */
    version: zString(labelValue).optional(),
    /** The image rolled out on this stack. Defaults to the wave's `image` (or --image). */
    image: zString(imageRef).optional(),
  },
  { error: "must be a map of stack settings" },
);

const stageSchema = z.strictObject(
  {
    /** The stage's name (unique in the wave): what `canary wave approve --stage` names. Required. */
    name: zString(dnsLabel),
    /** The stacks rolled out in parallel in this stage. At least one. */
    stacks: z.array(stackSchema, { error: "must be a list of stacks" }).min(1, { error: "must list at least one stack" }),
    /** The bake after this stage, before the next one starts. Defaults to the wave's `bake`. */
    bake: bakeSchema.optional(),
    /** Whether this stage waits for an approval before it starts. Defaults to false. */
    gate: zBoolean.default(false),
  },
  { error: "must be a map of stage settings" },
);

const waveSchema = z.strictObject({
  /** The wave's name: a DNS label. It names the wave's record. Required. */
  name: zString(dnsLabel),
  /** The version every stack rolls out unless it names its own. */
  version: zString(labelValue).optional(),
  /** The image every stack rolls out unless it names its own. */
  image: zString(imageRef).optional(),
  /** The stacks' target type unless they name one. Defaults to pulumi. */
  target: zString(targetType).default("pulumi"),
  /** The Pulumi project directory of the stacks that name none. Defaults to the wave file's directory. */
  cwd: zString(filePath).optional(),
  /** The plan of the stacks that name none. Defaults to the default plan. */
  plan: zString(filePath).optional(),
  /** What a failure does to the stages already promoted. Defaults to stop. */
  onFailure: zEnum(FAILURE_POLICIES).default("stop"),
  /** The bake between two stages (0: none). Defaults to none. */
  bake: bakeSchema.default(0),
  /** How often the wave reads control requests and judges a bake. Defaults to 10s. */
  tick: durationSchema().default(DEFAULT_WAVE_TICK_SECONDS),
  /** The stages, in order. At least one. */
  stages: z.array(stageSchema, { error: "must be a list of stages" }).min(1, { error: "must list at least one stage" }),
});

/** One stack of a validated wave: where it is, what it rolls out and with which plan. */
export interface WaveStack {
  /** Its name in the wave. */
  readonly name: string;
  /** Where the stack is, as the backends take it (`--target`, `--stack`, `--cwd`, `--sandbox`, `--record`). */
  readonly where: BackendFlags;
  readonly version: string;
  readonly image: string;
  /** The plan file (absolute), or undefined for the default plan. */
  readonly planFile?: string;
  /** The plan, validated. */
  readonly plan: Plan;
}

/** One validated stage. */
export interface WaveStage {
  readonly name: string;
  readonly stacks: readonly WaveStack[];
  /** The bake after this stage, seconds (0: none; the last stage has none). */
  readonly bakeSeconds: number;
  /** Whether it waits for an approval before it starts. */
  readonly gate: boolean;
}

/** A validated wave, every default filled in and every path absolute. */
export interface WaveFile {
  readonly name: string;
  readonly onFailure: FailurePolicy;
  readonly tickSeconds: number;
  readonly stages: readonly WaveStage[];
  /** Where it came from, for messages. */
  readonly source?: string;
}

/** An invalid wave file: every problem, one per line (`stages[0].stacks[1].stack: is required with target pulumi`). Exit 2. */
export class WaveFileError extends InputError {
  constructor(
    public readonly problems: readonly Problem[],
    public readonly source?: string,
  ) {
    // A problem with the whole file (its size, its YAML) has no path to print.
    super(`${source ? `invalid wave file ${source}:\n` : ""}${problems.map((p) => (p.path.length > 0 ? formatProblem(p) : formatProblem(p).replace(/^: /, ""))).join("\n")}`);
    this.name = "WaveFileError";
  }
}

/** What a wave file is read with. */
export interface WaveFileOptions {
  /** Where it came from (the file name), for messages. */
  readonly source?: string;
  /** The directory relative paths are resolved against (the wave file's). */
  readonly dir: string;
  /** --version: overrides the file's top-level `version`. */
  readonly version?: string;
  /** --image: overrides the file's top-level `image`. */
  readonly image?: string;
  /** Reads and validates a plan file. @throws PlanError, InputError */
  readonly readPlan: (file: string | undefined) => Plan;
}

/**
 * Parses and validates a wave file (YAML or JSON), reading every plan it names. Nothing is
 * contacted.
 * @throws WaveFileError listing every problem.
 */
export function parseWaveFile(text: string, o: WaveFileOptions): WaveFile {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_WAVE_BYTES) throw new WaveFileError([note([], `is ${bytes} bytes; a wave file may be at most ${MAX_WAVE_BYTES} bytes (1 MiB)`)], o.source);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    if (e instanceof YAMLParseError) throw new WaveFileError([note([], `not valid YAML: ${e.message.split("\n")[0].replace(/:$/, "")}`)], o.source);
    throw e;
  }
  return validateWave(doc, o);
}

/**
 * Validates a parsed wave file; see {@link parseWaveFile}.
 * @throws WaveFileError listing every problem.
 */
export function validateWave(input: unknown, o: WaveFileOptions): WaveFile {
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw new WaveFileError([problem([], "must be a map of wave settings", input)], o.source);
  const parsed = waveSchema.safeParse(input);
  if (!parsed.success) throw new WaveFileError(issueProblems(parsed.error.issues, input), o.source);
  const w = parsed.data;
  const problems: Problem[] = [];
  const resolve = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(o.dir, p));

  const stageNames = new Map<string, number>();
  const stackNames = new Map<string, Path>();
  const places = new Map<string, Path>();
  const plans = new Map<string | undefined, Plan | PlanError | InputError>();
  const reportedPlans = new Set<string>();
  const planOf = (file: string | undefined): Plan | PlanError | InputError => {
    if (!plans.has(file)) {
      try {
        plans.set(file, o.readPlan(file));
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        plans.set(file, e);
      }
    }
    return plans.get(file)!;
  };

  const stages: WaveStage[] = w.stages.map((s, i) => {
    const at: Path = ["stages", i];
    const first = stageNames.get(s.name);
    if (first !== undefined) problems.push(problem([...at, "name"], `must be unique in the wave (stages[${first}] has it too)`, s.name));
    else stageNames.set(s.name, i);
    const stacks = s.stacks.flatMap((k, j): WaveStack[] => {
      const here: Path = [...at, "stacks", j];
      const before = stackNames.get(k.name);
      if (before) problems.push(problem([...here, "name"], `must be unique in the wave (${formatPath(before)} has it too)`, k.name));
      else stackNames.set(k.name, [...here, "name"]);
      const target = k.target ?? w.target;
      const only = (field: "stack" | "cwd" | "sandbox" | "record", type: string): void => {
        if (k[field] !== undefined && target !== type) problems.push(problem([...here, field], `is only for target ${type} (this stack's target is ${target})`, k[field]));
      };
      only("stack", "pulumi");
      only("cwd", "pulumi");
      only("sandbox", "haproxy");
      only("record", "haproxy");
      if (target === "pulumi" && k.stack === undefined) problems.push(note([...here, "stack"], "is required with target pulumi"));
      if (target === "haproxy" && k.sandbox === undefined) problems.push(note([...here, "sandbox"], "is required with target haproxy"));
      const cwd = resolve(k.cwd ?? w.cwd) ?? path.resolve(o.dir);
      const where: BackendFlags = {
        target,
        cwd,
        ...(k.stack !== undefined ? { stack: k.stack } : {}),
        ...(k.sandbox !== undefined ? { sandbox: resolve(k.sandbox)! } : {}),
        ...(k.record !== undefined ? { record: resolve(k.record)! } : {}),
      };
      // The same stack twice would be two drivers on one record.
      const place = target === "pulumi" ? `pulumi ${cwd} ${k.stack ?? ""}` : `haproxy ${where.sandbox ?? ""} ${where.record ?? ""}`;
      const seen = places.get(place);
      if (seen && (k.stack !== undefined || k.sandbox !== undefined)) problems.push(problem([...here, target === "pulumi" ? "stack" : "sandbox"], `names the same stack as ${formatPath(seen)}`, k.stack ?? k.sandbox));
      else places.set(place, here);

      const version = o.version ?? k.version ?? w.version;
      const image = o.image ?? k.image ?? w.image;
      if (version === undefined) problems.push(note([...here, "version"], "is required (set version at the top of the wave file, on the stack, or pass --version)"));
      if (image === undefined) problems.push(note([...here, "image"], "is required (set image at the top of the wave file, on the stack, or pass --image)"));

      const planFile = resolve(k.plan ?? w.plan);
      const plan = planOf(planFile);
      if (!(plan instanceof Error)) {
        if (version === undefined || image === undefined) return [];
        return [{ name: k.name, where, version, image, ...(planFile !== undefined ? { planFile } : {}), plan }];
      }
      // A plan several stacks share is reported once, where it is named.
      const planPath: Path = k.plan !== undefined ? [...here, "plan"] : ["plan"];
      const key = `${formatPath(planPath)} ${planFile ?? ""}`;
      if (!reportedPlans.has(key)) {
        reportedPlans.add(key);
        if (plan instanceof PlanError) for (const p of plan.problems) problems.push(note(planPath, `${planFile}: ${p.path ? `${p.path}: ` : ""}${p.message}`));
        else problems.push(note(planPath, plan.message));
      }
      return [];
    });
    return { name: s.name, stacks, bakeSeconds: i === w.stages.length - 1 ? 0 : (s.bake ?? w.bake), gate: s.gate };
  });
  if (problems.length > 0) throw new WaveFileError(problems, o.source);
  return { name: w.name, onFailure: w.onFailure, tickSeconds: w.tick, stages, ...(o.source !== undefined ? { source: o.source } : {}) };
}

/** Every stack of the wave, stage by stage. */
export function waveStacks(wave: Pick<WaveFile, "stages">): readonly WaveStack[] {
  return wave.stages.flatMap((s) => s.stacks);
}

/**
 * What makes two runs the same wave: its name, and per stage the stacks with where they are and
 * what they roll out. A driver continues an unfinished wave only when this is unchanged (the bake
 * times, gates and policy may change between two runs; they are read from the file each time).
 */
export function waveIdentity(wave: Pick<WaveFile, "name" | "stages">): string {
  return JSON.stringify({
    name: wave.name,
    stages: wave.stages.map((s) => ({ name: s.name, stacks: s.stacks.map((k) => ({ name: k.name, where: k.where, version: k.version, image: k.image })) })),
  });
}
