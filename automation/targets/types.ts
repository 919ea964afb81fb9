/**
 * The seam between the driver and whatever carries the traffic split: a Pulumi stack, or the
 * local sandbox's HAProxy. One interface, one file per implementation, and a factory
 * ({@link createTarget} in ./index.ts) that throws on an unknown type.
 */
import { InfrastructureError, InputError, RollbackFailedError } from "../errors";
import { Strategy } from "../state";

/** How a rollback leaves the canary (the plan's `rollback.mode`). */
export type RollbackMode = "keepCanary" | "restore";

/**
 * A snapshot of everything the rollout may change, taken before it changes anything. Plain
 * JSON, stored in the rollout record so a rollback can be run by a later process. `type`
 * names the target that took it; the rest is the target's own.
 */
export interface TargetSnapshot {
  readonly type: string;
  /** The stable version before the rollout, when the target knows it: the metrics' baseline. */
  readonly stableVersion?: string;
  readonly [field: string]: unknown;
}

/** What the rollout changes traffic through. Every method either completes or throws. */
export interface Target {
  /** The target type (`pulumi`, `haproxy`): the factory's key. */
  readonly type: string;
  /** What is being changed, for messages: the stack name, the sandbox's address. */
  readonly name: string;
  /**
   * Checks the target can be changed now and snapshots its current state. Nothing is changed.
   * @throws ConcurrentUpdateRefusedError when another update is running.
   */
  prepare(): Promise<TargetSnapshot>;
  /**
   * Deploys `version` as the canary at weight 0 (reachable through the override route only).
   * `blueGreen`: as green, at the stable version's full size, ready to take all traffic at once.
   */
  setCanary(version: string, image: string, strategy?: Strategy): Promise<void>;
  /** Sends `weight` percent of the traffic to the canary. */
  setWeight(weight: number): Promise<void>;
  /**
   * The canary weight actually in effect, read back from the platform; `undefined` when the
   * target cannot tell (not an error: the driver records it and carries on).
   */
  verify(): Promise<number | undefined>;
  /** Makes the canary the stable version and removes the canary. */
  promote(): Promise<void>;
  /**
   * Restores `snapshot`; with `keepCanary`, the canary stays deployed at weight 0.
   * @throws RestoreError when the target could not be brought back to the snapshot.
   */
  rollback(snapshot: TargetSnapshot, mode: RollbackMode): Promise<void>;
  /**
   * Why the target cannot run a rollout of `strategy`, judged from its snapshot (the platform, the
   * override route), or `undefined` when it can. Absent: every strategy works.
   */
  strategyProblem?(strategy: Strategy, snapshot: TargetSnapshot): string | undefined;
  /**
   * How a check reaches the new version before users do (the hooks' `CANARY_OVERRIDE_*`): a URL
   * and, where the route matches a header, the header. `undefined` when the target cannot tell.
   */
  overrideRoute?(): Promise<OverrideRoute | undefined>;
}

/** The override route to the new version, for pre-traffic checks. */
export interface OverrideRoute {
  /** Where to send the request (a Cloud Run tag URL, the sandbox's frontend), when known. */
  readonly url?: string;
  /** The header that selects the new version, when the route matches one. */
  readonly header?: { readonly name: string; readonly value: string };
}

/** A blue/green rollout was asked of a target that cannot run one. Nothing was changed. Exit 2. */
export class StrategyRefusedError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "StrategyRefusedError";
  }
}

/** A target operation failed. The message names the target, the action and the cause. Exit 3. */
export class TargetError extends InfrastructureError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = "TargetError";
  }
}

/** Another update of the same stack is running; the rollout refuses rather than retrying blindly. */
export class ConcurrentUpdateRefusedError extends TargetError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = "ConcurrentUpdateRefusedError";
  }
}

/** A rollback could not restore the snapshot: the target may be left at a canary weight. Exit 4. */
export class RestoreError extends RollbackFailedError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = "RestoreError";
  }
}
