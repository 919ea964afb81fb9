/**
 * Validation problems and how they are printed. Every refusal in the project, from the stack
 * config's zod schema, a component's argument check or the rollout plan, is a list of
 * {@link Problem}s printed by {@link formatProblem}: `<path>: <what is expected>, got <value>`.
 * One format, so a message reads the same whether it names `canary:segments[1].match.name` or
 * a component argument `traffic.segments[1].match.name`.
 */

/** Where a problem is: object keys and array indices from the root of the checked value. */
export type Path = readonly PropertyKey[];

/** One thing wrong with a value. */
export interface Problem {
  readonly path: Path;
  /** What is expected, e.g. `must be an integer from 0 to 100`. */
  readonly message: string;
  /** The offending value; printed as `, got <value>` when present (`hasValue`). */
  readonly value?: unknown;
  /** Whether `value` is part of the problem (a missing value is `undefined` and still printed as "nothing"). */
  readonly hasValue: boolean;
}

/** A problem with the value found at `path`. */
export function problem(path: Path, message: string, value: unknown): Problem {
  return { path, message, value, hasValue: true };
}

/** A problem that is not about one value (a missing key, an unsupported feature). */
export function note(path: Path, message: string): Problem {
  return { path, message, hasValue: false };
}

/** Prefixes every problem's path with `prefix` (a component's checks reused for a nested argument). */
export function under(prefix: Path, problems: readonly Problem[]): Problem[] {
  return problems.map((p) => ({ ...p, path: [...prefix, ...p.path] }));
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * `traffic.segments[1].match.name`: indices in brackets, identifiers dotted, any other key quoted
 * in brackets (`tags["aws:created-by"]`); the first segment as is (e.g. `canary:aws`); the empty
 * path (the value itself) as "".
 */
export function formatPath(path: Path): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (out === "") out = escapeControl(String(p));
    else if (IDENTIFIER.test(String(p))) out += `.${String(p)}`;
    else out += `[${escapeControl(JSON.stringify(String(p)))}]`;
  }
  return out;
}

/** A value for a message: JSON, cut to 80 characters so a huge value cannot flood the log. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = escapeControl(text);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * `text` with every control character (C0 but the line break, DEL, C1) and the Unicode line
 * separators written as `\uXXXX`: a refused value is shown, never acted on by the terminal or
 * log that prints it (an escape sequence, a carriage return hiding the line before).
 */
export function escapeControl(text: string, keepLineBreaks = false): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (keepLineBreaks && c === "\n" ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

/** `path: message, got value` (or without the value for a {@link note}; without the path for the value itself). */
export function formatProblem(p: Problem): string {
  const where = formatPath(p.path);
  return `${where ? `${where}: ` : ""}${p.message}${p.hasValue ? `, got ${formatValue(p.value)}` : ""}`;
}

/** One problem per line. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map(formatProblem).join("\n");
}

/**
 * Arguments a component cannot render, found before anything was registered: the component is
 * refused whole, so a bad argument never leaves a half-made component in the stack.
 */
export class ComponentArgsError extends Error {
  constructor(
    /** The component's type token, e.g. `canary:aws:AlbCanary`. */
    public readonly component: string,
    public readonly problems: readonly Problem[],
  ) {
    super(`${component}: invalid arguments\n${formatProblems(problems)}`);
    this.name = "ComponentArgsError";
  }
}

/** Throws {@link ComponentArgsError} when there are problems. */
export function assertNoProblems(component: string, problems: readonly Problem[]): void {
  if (problems.length > 0) throw new ComponentArgsError(component, problems);
}

/** A validation issue as zod reports it (the fields used here). */
export interface IssueLike {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
}

function valueAt(root: unknown, path: Path): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * The one translation of zod issues into problems: an unknown key is reported at its own path
 * (`steps[0].wieght: unknown key`); a missing value as `is required` (or the custom message);
 * anything else with the value found in `input` at the issue's path.
 * @param prefix prepended to every path (the key the validated value sits under).
 */
export function issueProblems(issues: readonly IssueLike[], input: unknown, prefix: Path = []): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") return (issue.keys ?? []).map((k) => note([...path, k], "unknown key"));
    // A map key that breaks the key rule: the key is the value shown.
    if (issue.code === "invalid_key") return [problem(path, issue.message, issue.path[issue.path.length - 1])];
    const value = valueAt(input, issue.path);
    if (value === undefined) return [note(path, issue.code === "custom" ? issue.message : "is required")];
    return [problem(path, issue.message, value)];
  });
}
