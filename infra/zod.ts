/**
 * The stack config's zod types built from the rules in components/validation, so the schema and
 * the components refuse the same values with the same message.
 */
import { z } from "zod";
import { Rule } from "../components/validation";

/** A string that keeps `rule`; the rule's message is also the message for a value of another type. */
export function zString(rule: Rule<string>) {
  return z.string({ error: rule.message }).superRefine((value, ctx) => {
    const message = rule.check(value);
    if (message !== undefined) ctx.addIssue({ code: "custom", message });
  });
}

/** A number that keeps `rule` (an integer range, a positive number). */
export function zNumber(rule: Rule<number>) {
  return z.number({ error: rule.message }).superRefine((value, ctx) => {
    const message = rule.check(value);
    if (message !== undefined) ctx.addIssue({ code: "custom", message });
  });
}

/** true or false. */
export const zBoolean = z.boolean({ error: "must be true or false" });

/** One of `values`, named in the message. */
export function zEnum<const T extends readonly [string, ...string[]]>(values: T) {
  const message = `must be ${values.length === 2 ? values.join(" or ") : `${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}`}`;
  return z.enum(values, { error: message });
}
