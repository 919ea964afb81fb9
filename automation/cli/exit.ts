/** The exit codes of `canary`, documented in docs/driver.md, and how an error maps to one. */
import { CommanderError } from "commander";
import { CanaryError } from "../errors";

/** The exit codes. */
export const EXIT = {
  /** Promoted, a dry run completed, or the version is already stable. */
  promoted: 0,
  rolledBack: 1,
  invalidInput: 2,
  infrastructure: 3,
  restoreFailed: 4,
  /** SIGINT/SIGTERM with plan onSignal: pause: the rollout holds its weight with no driver. */
  paused: 5,
} as const;

/**
 * The exit code for an error thrown out of a command: its base class says it (automation/errors.ts);
 * a bad command line is invalid input; anything else is an infrastructure error.
 */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CanaryError) return e.exitCode;
  if (e instanceof CommanderError) return EXIT.invalidInput;
  return EXIT.infrastructure;
}
