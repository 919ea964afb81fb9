/**
 * Reads and validates the `canary:*` stack config. This is the only module that reads Pulumi
 * config; everything else receives the validated {@link CanaryConfig}.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { capabilitiesOf, capabilityViolations, Platform, TrafficSpec } from "../components/routing";
import { NAMESPACE, ROLLOUT_RECORD_KEY } from "./keys";
import { platformModules } from "./platforms";
import { CanaryConfig } from "./platforms/types";
import { commonShape, STRING_KEYS } from "./schema";


/** One problem with the config: the key path (`canary:stable.version`) and what is wrong. */
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

/** Formats a config value for an error message, cut short so a huge value cannot flood the log. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function keyPath(path: readonly PropertyKey[]): string {
  const [first, ...rest] = path;
  let out = `${NAMESPACE}:${String(first)}`;
  for (const p of rest) out += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return out;
}

/** Turns zod issues into problems that name the key path and the offending value. */
function problemsOf(error: z.ZodError, input: unknown, prefix: readonly PropertyKey[] = []): ConfigProblem[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      return { path: keyPath(path), message: `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}` };
    }
    const value = valueAt(input, issue.path);
    if (value === undefined) return { path: keyPath(path), message: issue.code === "custom" ? issue.message : "is required" };
    return { path: keyPath(path), message: `${issue.message}, got ${formatValue(value)}` };
  });
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
    if (!known.has(key)) {
      problems.push({ path: keyPath([key]), message: `unknown key; known keys: ${[...known].join(", ")}` });
    }
  }

  const platformValue = values.platform;
  let platform: Platform | undefined;
  if (platformValue === undefined) {
    problems.push({ path: keyPath(["platform"]), message: `is required; one of ${platforms.join(", ")}` });
  } else if (!platforms.includes(platformValue as Platform)) {
    problems.push({ path: keyPath(["platform"]), message: `must be one of ${platforms.join(", ")}, got ${formatValue(platformValue)}` });
  } else {
    platform = platformValue as Platform;
  }

  const common = z.object(commonShape).safeParse(values);
  if (!common.success) problems.push(...problemsOf(common.error, values));

  let block: unknown;
  if (platform) {
    const module = modules[platform]!;
    for (const [key, owner] of blockKeys) {
      if (owner !== platform && values[key] !== undefined) {
        problems.push({ path: keyPath([key]), message: `is for platform ${owner}, but canary:platform is ${platform}` });
      }
    }
    const parsed = module.blockSchema.safeParse(values[module.blockKey]);
    if (parsed.success) block = parsed.data;
    else if (values[module.blockKey] === undefined) {
      problems.push({ path: keyPath([module.blockKey]), message: `is required when canary:platform is ${platform}` });
    } else problems.push(...problemsOf(parsed.error, values[module.blockKey], [module.blockKey]));
  }

  if (!common.success || !platform || problems.length > 0) throw new CanaryConfigError(problems);
  const c = common.data;

  // A platform that cannot route on headers gets no override unless one was asked for explicitly.
  const override = values.override === undefined && !capabilitiesOf(platform).features.override.supported ? { ...c.override, enabled: false } : c.override;

  if (!c.canary && c.weight !== 0) {
    problems.push({ path: keyPath(["weight"]), message: `must be 0 when no canary is configured (canary:canary is not set), got ${c.weight}` });
  }
  if (!c.canary && c.mirror !== 0) {
    problems.push({ path: keyPath(["mirror"]), message: `must be 0 when no canary is configured (canary:canary is not set), got ${c.mirror}` });
  }
  if (c.canary && c.canary.version === c.stable.version) {
    problems.push({ path: keyPath(["canary", "version"]), message: `must differ from canary:stable.version, got ${formatValue(c.canary.version)}` });
  }
  const names = new Set<string>();
  c.segments.forEach((s, i) => {
    if (names.has(s.name)) problems.push({ path: keyPath(["segments", i, "name"]), message: `is used by an earlier segment, got ${formatValue(s.name)}` });
    names.add(s.name);
  });

  const traffic: TrafficSpec = {
    hasCanary: c.canary !== undefined,
    canaryWeight: c.weight,
    override: override.enabled ? { kind: "header", name: override.header, value: override.value } : undefined,
    segments: c.segments.map((s) => ({ name: s.name, match: { kind: s.match.type, name: s.match.name, value: s.match.value }, weight: s.weight })),
    stickiness: { enabled: c.stickiness.enabled, durationSeconds: c.stickiness.duration, hashKey: { kind: c.stickiness.hashKey.type, name: c.stickiness.hashKey.name } },
    mirrorPercent: c.mirror,
  };
  for (const v of capabilityViolations(platform, traffic)) problems.push({ path: v.key, message: v.message });

  if (problems.length > 0) throw new CanaryConfigError(problems);
  return { ...c, override, platform, block, traffic };
}

/** Reads the stack's `canary:*` config from the Pulumi runtime and validates it. */
export function loadConfig(): CanaryConfig {
  return parseConfig(pulumi.runtime.allConfig());
}
