/**
 * A small collector the components' argument checks use: each check adds a {@link Problem} at the
 * argument's path; the component throws them all at once, before `super()`.
 */
import type * as pulumi from "@pulumi/pulumi";
import { note, Path, problem, Problem } from "./problems";
import { Rule } from "./primitives";

/**
 * Whether an argument's value is known now: a string, number, boolean, array or plain object.
 * An Output or a promise (another resource's attribute) is only known after registration, so it
 * is not checked here; everything a stack config supplies is a plain value and always checked.
 */
export function isKnown<T>(value: pulumi.Input<T> | undefined): value is T {
  if (value === undefined) return false;
  if (value === null || typeof value !== "object") return true;
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Accumulates problems; see the module comment. */
export class Checks {
  readonly problems: Problem[] = [];

  /** Records a problem with `value` at `path`. */
  add(path: Path, message: string, value: unknown): void {
    this.problems.push(problem(path, message, value));
  }

  /** Records a problem that is not about one value. */
  note(path: Path, message: string): void {
    this.problems.push(note(path, message));
  }

  /** Adds problems found elsewhere. */
  addAll(problems: readonly Problem[]): void {
    this.problems.push(...problems);
  }

  /** Checks `value` against `rule` when it is known now (absent values are left to the caller's defaults). */
  rule<T>(path: Path, value: pulumi.Input<T> | undefined, rule: Rule<T>): void {
    if (!isKnown(value)) return;
    const message = rule.check(value);
    if (message !== undefined) this.add(path, message, value);
  }

  /** Checks every element of a known list against `rule`. */
  each<T>(path: Path, values: pulumi.Input<pulumi.Input<T>[]> | readonly T[] | undefined, rule: Rule<T>): void {
    if (!isKnown(values)) return;
    (values as readonly pulumi.Input<T>[]).forEach((v, i) => this.rule([...path, i], v, rule));
  }

  /** Whether nothing was found. */
  get ok(): boolean {
    return this.problems.length === 0;
  }
}
