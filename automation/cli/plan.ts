/**
 * `canary plan --check`: the pre-flight a rollout runs before its first step, on its own. It
 * takes the baseline's label from the plan, or reads the target's stable version (nothing is
 * changed), then reads from Prometheus the targets' scrape interval and the baseline's recent
 * traffic, and prints per step the expected time to promote a good canary and to detect a 2×
 * regression (automation/analysis/preflight.ts). Exit 0, or 2 when a step cannot decide.
 */
import { formatPreflight, preflight } from "../analysis/preflight";
import { preflightPlan } from "../plan";
import { metricsFromPlan } from "../rollout/judging";
import { EXIT } from "./exit";
import { CommandDeps, CommonFlags, DEFAULT_DEPS } from "./flags";
import { checkPlanMetrics, readPlan } from "./input";

/** The flags of `canary plan`. */
export interface PlanFlags extends CommonFlags {
  readonly check?: boolean;
  readonly plan?: string;
  /** The canary's version label (only names the canary's series; none exist before the rollout). */
  readonly version?: string;
}

/** Runs the pre-flight check; resolves with the exit code. */
export async function planCheck(o: PlanFlags, deps: CommandDeps = DEFAULT_DEPS): Promise<number> {
  const plan = readPlan(o.plan);
  const backend = deps.openBackend(o);
  const defaults = backend.metricsDefaults();
  const canary = o.version ?? "canary";
  checkPlanMetrics(plan, { canary, ...defaults }, o.plan);
  // The stable version is the baseline's label: from the plan, else read from the target.
  let baseline = typeof plan.analysis.metrics.baseline === "string" ? plan.analysis.metrics.baseline : undefined;
  if (baseline === undefined) {
    const target = await backend.target((line) => void process.stderr.write(`${line}\n`));
    baseline = (await target.prepare()).stableVersion;
  }
  const provider = metricsFromPlan(plan, { canary, ...(baseline !== undefined ? { baseline } : {}), ...defaults });
  const result = await preflight(provider, preflightPlan(plan), Date.now() / 1000);
  if (o.json) {
    const { reference: _reference, ...rest } = result;
    process.stdout.write(`${JSON.stringify({ event: "plan", ...rest })}\n`);
  } else {
    for (const line of formatPreflight(result)) process.stdout.write(`${line}\n`);
  }
  return result.refuse ? EXIT.invalidInput : 0;
}
