/**
 * Weight arithmetic for the provider-neutral traffic model.
 *
 * The canary weight (an integer percent) is the only weight input anywhere in the project;
 * the stable weight is derived from it here and nowhere else, so a renderer can never send
 * more or less than 100% of the traffic.
 */

/** Thrown when a weight or a provider scale is out of range. */
export class RoutingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RoutingError";
  }
}

/** Percent of requests (integers, summing to 100) sent to each version. */
export interface WeightSplit {
  readonly canary: number;
  readonly stable: number;
}

/** Checks that `weight` is an integer percent; `what` names it in the error. */
export function assertPercent(weight: number, what = "canary weight"): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new RoutingError(`${what} must be an integer from 0 to 100, got ${String(weight)}`);
  }
}

/**
 * Derives the stable weight from the canary weight: the single place the split is computed.
 * @param canaryWeight integer percent of requests for the canary, 0–100.
 */
export function splitWeights(canaryWeight: number): WeightSplit {
  assertPercent(canaryWeight);
  return { canary: canaryWeight, stable: 100 - canaryWeight };
}

/** How a platform expresses weights: integer units per backend and their fixed total. */
export interface WeightScale {
  /** Human name used in errors. */
  readonly name: string;
  /** The sum of both backends' units (100 for percent platforms). */
  readonly total: number;
  /** The largest unit value one backend may carry. */
  readonly max: number;
}

/**
 * Platform weight scales.
 * - ALB forward actions take integer weights 0–999 per target group; percents fit as they are.
 * - SMI TrafficSplit (Linkerd) weights are integers; the 1000 scale gives the seeds' 950/50.
 * - Istio, Gateway API and Cloud Run take integer percents that must sum to 100.
 * - HAProxy server weights are 0–256; percents fit as they are.
 */
export const SCALES = {
  alb: { name: "ALB", total: 100, max: 999 },
  smi: { name: "SMI", total: 1000, max: 1000 },
  percent: { name: "percent", total: 100, max: 100 },
  haproxy: { name: "HAProxy", total: 100, max: 256 },
} as const satisfies Record<string, WeightScale>;

/** Integer units for each backend on a platform's scale. */
export interface ScaledWeights {
  readonly canary: number;
  readonly stable: number;
}

/**
 * Scales a percent split to a platform's integer units. The canary share is rounded and the
 * stable share is the remainder, so the units always sum to exactly `scale.total`.
 */
export function scaleSplit(split: WeightSplit, scale: WeightScale): ScaledWeights {
  assertPercent(split.canary);
  if (split.canary + split.stable !== 100) {
    throw new RoutingError(`weights must sum to 100, got canary ${split.canary} + stable ${split.stable}`);
  }
  const canary = Math.round((split.canary * scale.total) / 100);
  const stable = scale.total - canary;
  if (canary > scale.max || stable > scale.max) {
    throw new RoutingError(`${scale.name} weights must be at most ${scale.max}, got canary ${canary} and stable ${stable}`);
  }
  return { canary, stable };
}
