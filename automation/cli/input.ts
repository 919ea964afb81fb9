/** Checks of what a command is given: flags, the plan file, the plan's metrics settings. Nothing is contacted. */
import * as fs from "node:fs";
import { ProviderConfigError } from "../analysis/prometheus";
import { errorMessage, InputError } from "../errors";
import { defaultPlan, MAX_PLAN_BYTES, parsePlan, Plan, PlanError, planTooLarge } from "../plan";
import { metricsFromPlan } from "../rollout/judging";
import { labelValue } from "../../components/validation/primitives";

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
    if (e instanceof ProviderConfigError) {
      const problems = e.message
        .replace(/^invalid prometheus provider config: /, "")
        .split("; ")
        .map((p) => {
          const m = /^([A-Za-z0-9_.[\] ]+?): (.*)$/s.exec(p);
          return m ? { path: `analysis.metrics.${m[1]}`, message: m[2] } : { path: "analysis.metrics", message: p };
        });
      throw new PlanError(problems, source);
    }
    throw e;
  }
}

/** The plan in `file`, or the default plan. @throws PlanError, InputError (unreadable file). */
export function readPlan(file: string | undefined): Plan {
  if (!file) return defaultPlan();
  let text: string;
  try {
    // Checked before reading, so a huge file is never loaded.
    const fd = fs.openSync(file, "r");
    try {
      const size = fs.fstatSync(fd).size;
      if (size > MAX_PLAN_BYTES) throw new PlanError([{ path: "", message: planTooLarge(size) }], file);
      text = fs.readFileSync(fd, "utf8");
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (e instanceof PlanError) throw e;
    throw new InputError(`cannot read the plan ${file}: ${errorMessage(e)}`);
  }
  return parsePlan(text, file);
}

// The rules of `canary:canary` in infra/schema.ts (a test keeps them equal). Not imported: the
// program's schema module loads the Pulumi SDK, seconds the CLI need not pay for a dry run.
const IMAGE = /^[^\s]{1,512}$/;

/**
 * Checks --version and --image by the stack config's rules for `canary:canary`.
 * @throws InputError naming the flag and the value.
 */
export function checkVersion(version: string, image: string): void {
  const problems: string[] = [];
  // The same rule as canary:canary.version in the stack config: a version is a Kubernetes label value.
  const versionProblem = labelValue.check(version);
  if (versionProblem) problems.push(`--version: ${versionProblem}, got ${JSON.stringify(version)}`);
  if (!IMAGE.test(image)) problems.push(`--image: must be a container image reference without whitespace, got ${JSON.stringify(image)}`);
  if (problems.length > 0) throw new InputError(problems.join("\n"));
}

/** Whether text holds control characters (terminal escapes in a recorded reason would reach every reader). */
export function hasControlChars(text: string): boolean {
  return [...text].some((ch) => {
    const c = ch.charCodeAt(0);
    return c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0);
  });
}

/**
 * Who asks and why, as control verbs record them: --who (default `$USER@hostname`) and --reason.
 * @throws InputError naming the flag.
 */
export function operatorInput(o: { readonly who?: string; readonly reason?: string }, fallback: string): { readonly who: string; readonly reason: string } {
  const who = o.who ?? fallback;
  if (who.length < 1 || who.length > 100 || /\s/.test(who) || hasControlChars(who)) throw new InputError(`--who: must be 1–100 characters without spaces or control characters, got ${JSON.stringify(who.slice(0, 100))}`);
  const reason = o.reason ?? "no reason given";
  if (reason.length > 500 || hasControlChars(reason)) throw new InputError("--reason: must be at most 500 characters without control characters");
  return { who, reason };
}
