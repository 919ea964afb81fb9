/**
 * The one duration syntax of the plan and its sections: a number of seconds, or a string with a
 * unit (`500ms`, `30s`, `5m`, `1h`). Parsed to seconds; zero, negative and non-finite values are
 * refused. plan.ts and notify/config.ts both use {@link durationSchema}, so a duration means the
 * same everywhere in a plan.
 */
import { z } from "zod";

/** Seconds per duration unit. */
export const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
/** The message of a value that is not a duration. */
export const DURATION_MESSAGE = "must be a duration such as 30s, 5m or 1h (or a number of seconds)";

/**
 * The longest duration anything in a plan may have: setTimeout's limit (2³¹−1 ms, about 24.8
 * days). Node turns a longer timer into a 1 ms one, so a typo such as `tick: 1e9` would make the
 * driver spin instead of wait.
 */
export const MAX_DURATION_SECONDS = 2_147_483;

/** Bounds of a duration, seconds (inclusive). */
export interface DurationBounds {
  readonly min?: number;
  readonly max?: number;
}

/** A duration for a message, in the plan's syntax: `500ms`, `30s`, `5m`, `1h`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * Parses a duration to seconds, within `bounds` (at most {@link MAX_DURATION_SECONDS} unless
 * told less), named in the message (`must be ≤ 1h`).
 * @returns the seconds, or a message saying what is wrong (never throws).
 */
export function parseDuration(v: unknown, bounds: DurationBounds = {}): { readonly seconds: number } | { readonly error: string } {
  let seconds: number;
  if (typeof v === "number") seconds = v;
  else if (typeof v === "string") {
    const m = DURATION.exec(v.trim());
    if (!m) return { error: DURATION_MESSAGE };
    seconds = Number(m[1]) * DURATION_UNITS[m[2]];
  } else return { error: DURATION_MESSAGE };
  if (!Number.isFinite(seconds) || seconds <= 0) return { error: "must be a positive duration" };
  const max = Math.min(bounds.max ?? MAX_DURATION_SECONDS, MAX_DURATION_SECONDS);
  if (bounds.min !== undefined && seconds < bounds.min) return { error: `must be ≥ ${formatSeconds(bounds.min)}` };
  if (seconds > max) return { error: max === MAX_DURATION_SECONDS ? `must be ≤ ${max}s (about 24.8 days, the longest timer Node.js keeps)` : `must be ≤ ${formatSeconds(max)}` };
  return { seconds };
}

/** A zod schema of a positive duration within `bounds`, output in seconds. */
export function durationSchema(bounds: DurationBounds = {}): z.ZodType<number, number | string> {
  return z.union([z.number(), z.string()], { error: DURATION_MESSAGE }).transform((v, ctx) => {
    const parsed = parseDuration(v, bounds);
    if ("error" in parsed) {
      ctx.addIssue({ code: "custom", message: parsed.error });
      return z.NEVER;
    }
    return parsed.seconds;
  });
}
