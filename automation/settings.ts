/**
 * How every settings section of a rollout (the plan, the judge's configuration, the metrics
 * provider's, the notifications) is validated: one strictness rule, one wording of zod's
 * checks, and one translation into the project's {@link Problem}s (components/validation), so a
 * problem reads the same whichever module found it (`analysis.judge.noData.foo: unknown key`).
 *
 * The strictness rule, {@link deepStrict},
 * rebuilds a zod schema with every object that does not say otherwise made strict, however deep
 * it sits (inside defaults, lists, unions, records, pipes). zod's `z.object` silently drops a key
 * it does not know, so a misspelt setting (`selector` for `selectors`, a key one level too high)
 * would run with its default; applied once at the top of the plan, this rule reaches every nested
 * section, including sections added later, without a list of objects to keep up to date.
 */
import { z } from "zod";
import { issueProblems, Path, Problem } from "../components/validation/problems";

type AnyDef = Record<string, unknown> & { readonly type: string };
type Cloneable = z.ZodType & { clone(def: AnyDef): z.ZodType };

const strictCache = new WeakMap<z.ZodType, z.ZodType>();

/**
 * `schema` with every object strict at every depth (an object's explicit catch-all, e.g.
 * `z.looseObject`, is kept: it says what other keys may hold). Checks, defaults, transforms and
 * messages are kept as they are.
 */
export function deepStrict<T extends z.ZodType>(schema: T): T {
  return strict(schema) as T;
}

function strict(schema: z.ZodType): z.ZodType {
  const cached = strictCache.get(schema);
  if (cached) return cached;
  const def = (schema as unknown as { _zod: { def: AnyDef } })._zod.def;
  const again = (s: unknown): z.ZodType => strict(s as z.ZodType);
  const clone = (changes: Record<string, unknown>): z.ZodType => (schema as Cloneable).clone({ ...def, ...changes });
  let out: z.ZodType;
  switch (def.type) {
    case "object": {
      const shape = def.shape as Record<string, z.ZodType>;
      const strictShape = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, strict(v)]));
      out = clone({ shape: strictShape, catchall: def.catchall === undefined ? z.never() : again(def.catchall) });
      break;
    }
    case "array":
      out = clone({ element: again(def.element) });
      break;
    case "record":
      out = clone({ valueType: again(def.valueType) });
      break;
    case "union":
      out = clone({ options: (def.options as z.ZodType[]).map(strict) });
      break;
    case "intersection":
      out = clone({ left: again(def.left), right: again(def.right) });
      break;
    case "tuple":
      out = clone({ items: (def.items as z.ZodType[]).map(strict), rest: def.rest === null || def.rest === undefined ? def.rest : again(def.rest) });
      break;
    case "pipe":
      out = clone({ in: again(def.in), out: again(def.out) });
      break;
    case "lazy": {
      const getter = def.getter as () => z.ZodType;
      out = clone({ getter: () => strict(getter()) });
      break;
    }
    case "default":
    case "prefault":
    case "optional":
    case "nullable":
    case "nonoptional":
    case "readonly":
    case "catch":
      out = clone({ innerType: again(def.innerType) });
      break;
    default:
      // Scalars, literals, enums, transforms: nothing inside them can hold a key.
      out = schema;
  }
  strictCache.set(schema, out);
  return out;
}

function bound(value: number | bigint, inclusive: boolean | undefined, below: boolean): string {
  return `${below ? (inclusive ? "≤" : "<") : inclusive ? "≥" : ">"} ${String(value)}`;
}

/**
 * zod's checks in the project's words (`must be ≤ 20`, `must be an integer`), for the checks a
 * schema gives no message of its own. A schema's own message always wins.
 */
export const settingsMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "too_big":
      if (issue.origin === "array") return `must list at most ${String(issue.maximum)} entries`;
      if (issue.origin === "string") return `must be at most ${String(issue.maximum)} characters`;
      return `must be ${bound(issue.maximum, issue.inclusive, true)}`;
    case "too_small":
      if (issue.origin === "array") return `must list at least ${String(issue.minimum)} ${Number(issue.minimum) === 1 ? "entry" : "entries"}`;
      if (issue.origin === "string") return Number(issue.minimum) === 1 ? "must not be empty" : `must be at least ${String(issue.minimum)} characters`;
      return `must be ${bound(issue.minimum, issue.inclusive, false)}`;
    case "invalid_type":
      if (issue.expected === "int") return "must be an integer";
      if (issue.expected === "object") return "must be a map of settings";
      if (issue.expected === "array") return "must be a list";
      if (issue.expected === "boolean") return "must be true or false";
      return `must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;
    case "invalid_value":
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((v) => String(v)).join(", ")}`;
    case "invalid_union": {
      const discriminator = (issue as { discriminator?: string }).discriminator;
      return discriminator ? `must be a known ${discriminator}` : "does not match any of the allowed forms";
    }
    case "invalid_key":
      return issue.issues[0]?.message ?? "is not an allowed key";
    case "invalid_format":
      return issue.format === "url" ? "must be an http(s) URL" : `must be ${issue.format === "regex" ? "in the expected format" : `a valid ${issue.format}`}`;
    default:
      return undefined;
  }
};

/** A validated value, or every problem found. */
export type SettingsResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly Problem[] };

/**
 * Validates `input` against `schema` made strict at every depth ({@link deepStrict}), with the
 * project's wording ({@link settingsMessage}).
 * @param prefix prepended to every problem's path (where the section sits, e.g. `analysis.judge`).
 */
export function parseSettings<T extends z.ZodType>(schema: T, input: unknown, prefix: Path = []): SettingsResult<z.output<T>> {
  const result = deepStrict(schema).safeParse(input, { error: settingsMessage });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: issueProblems(result.error.issues, input, prefix) };
}
