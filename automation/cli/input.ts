/** Checks of what a command is given: flags, the plan file, the plan's metrics settings. Nothing is contacted. */
import { ProviderConfigError } from "../analysis/prometheus";
import { errorMessage, InputError } from "../errors";
import { defaultPlan, MAX_PLAN_BYTES, parsePlan, Plan, PlanError } from "../plan";
import { BoundedText, readBounded, tooLargeMessage } from "../inputFile";
import { escapeControl, formatProblems, formatValue, note, problem, Problem, under } from "../../components/validation/problems";
import { parseDuration } from "../duration";
import { metricsFromPlan } from "../rollout/judging";
import { dnsLabel, imageRef, labelValue, plainText, queryValue, Rule } from "../../components/validation/primitives";

/** Parses --metrics-port. @throws InputError naming the flag. */
export function metricsPort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InputError(`--metrics-port: must be a port number 0–65535 (0 picks a free one), got ${JSON.stringify(value)}`);
  return port;
}

/**
 * Checks the plan's metrics settings by building the provider (nothing is contacted); provider
 * errors are reported with their path inside the plan (`analysis.metrics.selectors.service: …`).
 * @throws PlanError
 */
export function checkPlanMetrics(plan: Plan, defaults: { readonly canary: string; readonly url?: string }, source?: string): void {
  try {
    metricsFromPlan(plan, { ...defaults, baseline: "stable" });
  } catch (e) {
    if (e instanceof ProviderConfigError) throw new PlanError(under(["analysis", "metrics"], e.problems), source);
    throw e;
  }
}

/** The plan in `file`, or the default plan. @throws PlanError, InputError (unreadable file). */
export function readPlan(file: string | undefined): Plan {
  if (!file) return defaultPlan();
  let read: BoundedText;
  try {
    // Never more than the bound, whatever the file claims to hold (`/dev/zero` claims 0 bytes).
    read = readBounded(file, MAX_PLAN_BYTES);
  } catch (e) {
    throw new InputError(`cannot read the plan ${escapeControl(file)}: ${errorMessage(e)}`);
  }
  if (read.tooLarge) throw new PlanError([note([], tooLargeMessage(MAX_PLAN_BYTES, "a plan"))], file);
  return parsePlan(read.text, file);
}

/** A flag's value and the stack config's rule it must keep. */
export type FlagCheck = readonly [flag: string, value: string | undefined, rule: Rule<string>];

/**
 * Checks string flags by the rules the stack config uses for the same values (components/validation):
 * every broken rule is named with its flag and the value (control characters escaped).
 * @throws InputError listing every problem, one per line.
 */
export function checkFlags(checks: readonly FlagCheck[]): void {
  const problems: Problem[] = [];
  for (const [flag, value, rule] of checks) {
    if (value === undefined) continue;
    const message = rule.check(value);
    if (message !== undefined) problems.push(problem([flag], message, value));
  }
  if (problems.length > 0) throw new InputError(formatProblems(problems));
}

/**
 * Checks --version and --image by the stack config's rules for `canary:canary` (a version is a
 * Kubernetes label value), and --service by the rule for `canary:service` (a DNS label).
 * @throws InputError naming the flag and the value.
 */
export function checkVersion(version: string, image: string, service?: string): void {
  checkFlags([
    ["--version", version, labelValue],
    ["--image", image, imageRef],
    ["--service", service, dnsLabel],
  ]);
}

/** The longest --reason: a sentence or two, recorded with the event and sent with notifications. */
export const MAX_REASON = 500;

/**
 * Who asks and why, as control verbs record them: --who (default `fallback`, `$USER@hostname`),
 * by the rule of values the stack puts into queries and labels (1–256 characters without quotes,
 * braces, backslashes or control characters), and --reason (default "no reason given"), at most
 * {@link MAX_REASON} characters on one line.
 * @throws InputError naming the flag and the value.
 */
export function operatorInput(o: { readonly who?: string; readonly reason?: string }, fallback: string): { readonly who: string; readonly reason: string } {
  const who = o.who ?? fallback;
  const reason = o.reason ?? "no reason given";
  checkFlags([
    ["--who", who, queryValue],
    ["--reason", reason, plainText(MAX_REASON)],
  ]);
  return { who, reason };
}

/** The longest --wait for a running driver's acknowledgement. */
export const MAX_WAIT_SECONDS = 3600;

/** Parses --wait: a duration of at most {@link MAX_WAIT_SECONDS}, in milliseconds. @throws InputError naming the flag and the value. */
export function waitFlag(value: string): number {
  const wait = parseDuration(value, { max: MAX_WAIT_SECONDS });
  if ("error" in wait) throw new InputError(`--wait: ${wait.error}, got ${formatValue(value)}`);
  return wait.seconds * 1000;
}
