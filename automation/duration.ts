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
 * Parses a duration to seconds.
 * @returns the seconds, or a message saying what is wrong (never throws).
 */
export function parseDuration(v: unknown): { readonly seconds: number } | { readonly error: string } {
  let seconds: number;
  if (typeof v === "number") seconds = v;
  else if (typeof v === "string") {
    const m = DURATION.exec(v.trim());
    if (!m) return { error: DURATION_MESSAGE };
    seconds = Number(m[1]) * DURATION_UNITS[m[2]];
  } else return { error: DURATION_MESSAGE };
  if (!Number.isFinite(seconds) || seconds <= 0) return { error: "must be a positive duration" };
  return { seconds };
}

/** A zod schema of a positive duration, output in seconds. */
export function durationSchema(): z.ZodType<number, number | string> {
  return z.union([z.number(), z.string()], { error: DURATION_MESSAGE }).transform((v, ctx) => {
    const parsed = parseDuration(v);
    if ("error" in parsed) {
      ctx.addIssue({ code: "custom", message: parsed.error });
      return z.NEVER;
    }
    return parsed.seconds;
  });
}
