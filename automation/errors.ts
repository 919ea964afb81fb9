/**
 * The few kinds of failure the `canary` command distinguishes, each carrying its exit code. Every
 * named error that can reach the command line extends one of them, so the CLI maps an error to
 * its exit code by its base class (docs/driver.md, "Exit codes"), never by a list of classes.
 *
 * - {@link InputError} (2): a flag, plan, setting or control call is wrong; nothing was
 *   contacted or changed.
 * - {@link InfrastructureError} (3): something the rollout depends on failed or refused (the stack,
 *   the record store, another driver holding the rollout).
 * - {@link RollbackFailedError} (4): a rollback could not restore the snapshot; the target may
 *   still send traffic to the canary.
 */

/** An error that says which exit code the command ends with. */
export abstract class CanaryError extends Error {
  /** The exit code of a `canary` command that ends with this error. */
  abstract readonly exitCode: number;
  constructor(
    message: string,
    /** The underlying error, when this one wraps another. */
    public readonly cause?: unknown,
  ) {
    super(message);
  }
}

/**
 * Bad input, found before anything was contacted or changed: a flag or its value (thrown as is),
 * or a plan, setting or control call (subclasses). Exit 2.
 */
export class InputError extends CanaryError {
  readonly exitCode = 2;
  override name = "InputError";
}

/** A failure of the stack, the record store or the rollout's ownership. Exit 3. */
export class InfrastructureError extends CanaryError {
  readonly exitCode = 3;
  override name = "InfrastructureError";
}

/** A rollback that could not restore the snapshot. Exit 4: a human must look. */
export class RollbackFailedError extends CanaryError {
  readonly exitCode = 4;
  override name = "RollbackFailedError";
}

/** The message of anything thrown, for wrapping it in a message with context. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
