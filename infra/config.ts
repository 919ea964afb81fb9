/**
 * Reads and validates the `canary:*` stack config. This is the only module that reads Pulumi
 * config; everything else receives the validated {@link CanaryConfig}.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { capabilitiesOf, Platform, TrafficSpec } from "../components/routing";
import { formatPath, formatValue, issueProblems, note, Path, Problem, problem } from "../components/validation";
import { NAMESPACE, ROLLOUT_RECORD_KEY } from "./keys";
import { configMonitoringProblems, monitoringKey } from "./monitoring";
import { platformModules } from "./platforms";
import { CanaryConfig } from "./platforms/types";
import { commonShape, STRING_KEYS } from "./schema";

/** One problem with the config: the key path (`canary:stable.version`) and what is wrong (with the value found). */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Invalid stack config. A RunError, so `pulumi up` prints the message alone (no stack trace)
 * and stops before any resource is registered.
 */
export class CanaryConfigError extends pulumi.RunError {
  constructor(public readonly problems: readonly ConfigProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
    this.name = "CanaryConfigError";
  }
}

/** A problem whose path starts with a key after `canary:`, as printed: `canary:aws.healthCheck.timeout`. */
function configProblem(p: Problem): ConfigProblem {
  const [first, ...rest] = p.path;
  return { path: formatPath([`${NAMESPACE}:${String(first)}`, ...rest]), message: p.hasValue ? `${p.message}, got ${formatValue(p.value)}` : p.message };
}

function keyNote(path: Path, message: string): ConfigProblem {
  return configProblem(note(path, message));
}

/** Decodes one raw config string: JSON for structured and numeric keys, verbatim for string keys. */
function decode(key: string, raw: string): unknown {
  if (STRING_KEYS.has(key)) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Validates raw config (full keys such as `canary:weight` mapped to the strings Pulumi stores)
 * and returns the typed config. Pure: tests call it without the Pulumi runtime.
 * @throws CanaryConfigError listing every problem found.
 */
export function parseConfig(raw: Readonly<Record<string, string>>): CanaryConfig {
  const values: Record<string, unknown> = {};
  for (const [fullKey, text] of Object.entries(raw)) {
    if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
    const key = fullKey.slice(NAMESPACE.length + 1);
    // The rollout driver keeps its record in this key (automation/record/); the program never reads it.
    if (key === ROLLOUT_RECORD_KEY) continue;
    values[key] = decode(key, text);
  }

  const modules = platformModules();
  const platforms = Object.keys(modules) as Platform[];
  const blockKeys = new Map(Object.values(modules).map((m) => [m.blockKey, m.platform]));
  const problems: ConfigProblem[] = [];

  const known = new Set(["platform", ...Object.keys(commonShape), ...blockKeys.keys()]);
  for (const key of Object.keys(values)) {
    if (!known.has(key)) problems.push(keyNote([key], `unknown key; known keys: ${[...known].join(", ")}`));
  }

  const platformValue = values.platform;
  let platform: Platform | undefined;
  if (platformValue === undefined) {
    problems.push(keyNote(["platform"], `is required; one of ${platforms.join(", ")}`));
  } else if (!platforms.includes(platformValue as Platform)) {
    problems.push(configProblem(problem(["platform"], `must be one of ${platforms.join(", ")}`, platformValue)));
  } else {
    platform = platformValue as Platform;
  }

  const common = z.object(commonShape).safeParse(values);
  if (!common.success) problems.push(...issueProblems(common.error.issues, values).map(configProblem));

  let block: unknown;
  if (platform) {
    const module = modules[platform]!;
    for (const [key, owner] of blockKeys) {
      if (owner !== platform && values[key] !== undefined) problems.push(keyNote([key], `is for platform ${owner}, but canary:platform is ${platform}`));
    }
    const parsed = module.blockSchema.safeParse(values[module.blockKey]);
    if (parsed.success) block = parsed.data;
    else if (values[module.blockKey] === undefined) problems.push(keyNote([module.blockKey], `is required when canary:platform is ${platform}`));
    else problems.push(...issueProblems(parsed.error.issues, values[module.blockKey], [module.blockKey]).map(configProblem));
  }

  if (!common.success || !platform || problems.length > 0) throw new CanaryConfigError(problems);
  const c = common.data;

  // A platform that cannot route on headers gets no override unless one was asked for explicitly.
  const override = values.override === undefined && !capabilitiesOf(platform).features.override.supported ? { ...c.override, enabled: false } : c.override;
  const traffic: TrafficSpec = {
    hasCanary: c.canary !== undefined,
    canaryWeight: c.weight,
    override: override.enabled ? { kind: "header", name: override.header, value: override.value } : undefined,
    segments: c.segments.map((s) => ({ name: s.name, match: { kind: s.match.type, name: s.match.name, value: s.match.value }, weight: s.weight })),
    stickiness: { enabled: c.stickiness.enabled, durationSeconds: c.stickiness.duration, hashKey: { kind: c.stickiness.hashKey.type, name: c.stickiness.hashKey.name } },
    mirrorPercent: c.mirror,
    ...(c.canary?.strategy === "blueGreen" ? { blueGreen: true } : {}),
  };
  const config: CanaryConfig = { ...c, override, platform, block, traffic };

  // The components' own checks, on the arguments this config gives them, reported at the keys
  // that set those arguments: the platform's limits are refused here, before any registration.
  const found = [...modules[platform]!.problems(config), ...configMonitoringProblems(config).map((p) => ({ ...p, path: monitoringKey(p.path) ?? ["monitoring", `(argument ${p.path.join(".")})`] }))];
  const seen = new Set<string>();
  for (const p of found.map(configProblem)) {
    const line = `${p.path}: ${p.message}`;
    if (!seen.has(line)) problems.push(p);
    seen.add(line);
  }
  if (problems.length > 0) throw new CanaryConfigError(problems);
  return config;
}

/** Reads the stack's `canary:*` config from the Pulumi runtime and validates it. */
export function loadConfig(): CanaryConfig {
  return parseConfig(pulumi.runtime.allConfig());
}
