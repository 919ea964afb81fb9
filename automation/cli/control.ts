/** The control verbs: `canary promote|abort|pause|resume|freeze|unfreeze|approve|retry`. */
import { parseDuration } from "../duration";
import { InputError } from "../errors";
import { ControlOutcome, ControlRefusedError, controlRollout } from "../rollout/control";
import { operatorIdentity } from "../rollout/lease";
import { ControlVerb, describePhase } from "../state";
import { EXIT } from "./exit";
import { CommandDeps, CommonFlags, DEFAULT_DEPS } from "./flags";
import { operatorInput, readPlan } from "./input";
import { rollout } from "./rollout";

/** The flags of a control verb. */
export interface ControlFlags extends CommonFlags {
  readonly who?: string;
  readonly reason?: string;
  readonly wait: string;
  readonly plan?: string;
  readonly full?: boolean;
  readonly gradual?: boolean;
  readonly step?: string;
  readonly promotion?: boolean;
}

/** The exit code of a control call. */
const CONTROL_EXIT: Readonly<Record<ControlOutcome["status"], number>> = {
  applied: EXIT.promoted,
  recorded: EXIT.promoted,
  refused: EXIT.invalidInput,
  timeout: EXIT.infrastructure,
  rolledBack: EXIT.rolledBack,
  restoreFailed: EXIT.restoreFailed,
};

/** Runs one control verb; resolves with the exit code. */
export async function control(verb: ControlVerb | "retry", o: ControlFlags, deps: CommandDeps = DEFAULT_DEPS): Promise<number> {
  const waitSeconds = parseDuration(o.wait);
  if ("error" in waitSeconds) throw new InputError(`--wait: ${waitSeconds.error}, got ${JSON.stringify(o.wait)}`);
  const { who, reason } = operatorInput(o, operatorIdentity());
  let gate: string | undefined;
  if (verb === "approve") {
    if ((o.step === undefined) === (o.promotion !== true)) throw new InputError("approve: give exactly one of --step <n> and --promotion");
    if (o.step !== undefined && !/^\d{1,3}$/.test(o.step)) throw new InputError(`--step: must be a step index (0, 1, …), got ${JSON.stringify(o.step)}`);
    gate = o.step !== undefined ? `step ${Number(o.step)}` : "promotion";
  }
  const plan = readPlan(o.plan);
  const backend = deps.openBackend(o);
  const store = await backend.store();
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  if (verb === "retry") {
    const record = await store.load();
    if (!record || record.phase !== "RolledBack") {
      throw new ControlRefusedError(`retry: ${record ? `rollout ${record.id} of ${record.version} is ${describePhase(record)}` : `no rollout recorded in ${store.description}`}; only a rolled-back rollout can be retried`);
    }
    say(`retry of rollout ${record.id} (${record.version}) by ${who}: ${reason}`);
    return rollout({ ...o, version: record.version, image: record.image, plan: o.plan }, { id: record.id, by: who, reason }, deps);
  }
  const controlVerb: ControlVerb = verb === "promote" && o.full ? "promoteFull" : verb;
  const outcome = await controlRollout(
    store,
    { verb: controlVerb, by: who, reason, ...(gate ? { gate } : {}), ...(o.gradual ? { gradual: true } : {}) },
    { plan, target: () => backend.target(log) },
    { waitMs: waitSeconds.seconds * 1000, log },
  );
  if (o.json) say(JSON.stringify({ event: "control", verb: controlVerb, status: outcome.status, message: outcome.message, phase: outcome.record?.phase ?? null }));
  else say(outcome.status === "restoreFailed" ? `ROLLBACK FAILED: ${outcome.message}; the target may still route traffic to the canary` : outcome.message);
  return CONTROL_EXIT[outcome.status];
}
