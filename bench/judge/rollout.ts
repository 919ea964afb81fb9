/**
 * One simulated rollout, closed loop: the judge's decisions choose the weight the world
 * serves next, as in automation/driver.ts — a promote passes the step and applies the next
 * weight, a rollback ends the run, an inconclusive step ends it too (the default plan rolls
 * back; it is scored apart from a rollback on evidence).
 */
import { BenchJudge, BenchStep } from "./judges";
import { Rng } from "./random";
import { Scenario, World } from "./simulator";

/** How a run ended. */
export type RunOutcome = "rolledBack" | "promoted" | "inconclusive" | "unfinished";

/** One run's result, for scoring. */
export interface RunResult {
  readonly outcome: RunOutcome;
  /** When it ended (seconds since the rollout started). */
  readonly at: number;
  /** A step passed while the canary was bad at that step's weight. */
  readonly badStepPassed: boolean;
  /** The rollout promoted a canary that was bad at some step's weight (it becomes the stable version). */
  readonly badPromoted: boolean;
  /** Seconds from the canary turning bad to the rollback; Infinity when not rolled back in time (or never bad). */
  readonly detectionSeconds: number;
  /** Bad responses the canary served beyond the baseline's normal rate, until the run's horizon or its rollback. */
  readonly excessBad: number;
}

/** Runs one rollout of `s` judged by `judge`. Deterministic for a given generator state. */
export function runRollout(s: Scenario, judge: BenchJudge, rng: Rng): RunResult {
  const world = new World(s, rng);
  const plan = s.plan;
  const horizon = plan.weights.length * plan.maxDurationSeconds;
  const step = (index: number, startedAt: number): BenchStep => ({
    index,
    startedAt,
    weight: plan.weights[index],
    minDurationSeconds: plan.minDurationSeconds,
    maxDurationSeconds: plan.maxDurationSeconds,
    warmupSeconds: plan.warmupSeconds ?? 0,
  });
  judge.start(world.reference(), step(0, 0));
  judge.tick(world.prime());
  let index = 0;
  let weight = plan.weights[0];
  let badInStep = false;
  let badStepPassed = false;
  let excess = 0;
  for (let t = plan.tickSeconds; t <= horizon + 1e-9; t += plan.tickSeconds) {
    const { measurement, truth } = world.tick(t, weight);
    excess += truth.canaryBad - truth.canaryBadAtBaselineRate;
    badInStep ||= truth.canaryBadNow;
    const d = judge.tick(measurement);
    if (d === "rollback") {
      const detectionSeconds = world.badSince !== undefined ? t - world.badSince : Infinity;
      return { outcome: "rolledBack", at: t, badStepPassed, badPromoted: false, detectionSeconds, excessBad: excess };
    }
    if (d === "inconclusive") return { outcome: "inconclusive", at: t, badStepPassed, badPromoted: false, detectionSeconds: Infinity, excessBad: excess };
    if (d === "promote") {
      if (badInStep) badStepPassed = true;
      if (index === plan.weights.length - 1) {
        const badPromoted = badStepPassed || world.canaryBadAt(t, 100);
        // Promoted: a bad canary now serves everyone until the horizon.
        if (badPromoted) for (let u = t + plan.tickSeconds; u <= horizon + 1e-9; u += plan.tickSeconds) {
          const r = world.tick(u, 100).truth;
          excess += r.canaryBad - r.canaryBadAtBaselineRate;
        }
        return { outcome: "promoted", at: t, badStepPassed, badPromoted, detectionSeconds: Infinity, excessBad: excess };
      }
      index++;
      weight = plan.weights[index];
      badInStep = false;
      judge.stepChanged(step(index, t));
    }
  }
  return { outcome: "unfinished", at: horizon, badStepPassed, badPromoted: false, detectionSeconds: Infinity, excessBad: excess };
}
