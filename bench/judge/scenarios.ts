/**
 * The benchmark's scenarios. Healthy ones measure false rollbacks (and how long a good canary
 * takes to reach 100%); bad ones measure detection, and above all how often a bad canary is
 * promoted. Unless a scenario says otherwise: 1000 requests/s in total, a baseline error rate
 * of 1%, the default plan's weights 5 → 25 → 50 (then 100) with 60 s minimum and 600 s
 * maximum per step, 5 s ticks, and the baseline's ten minutes before the rollout as the
 * pre-flight reference.
 */
import { BenchPlan, Scenario } from "./simulator";

/** Judge variants a scenario adds to the table beyond the default set. */
export type Variant = "noReference" | "noWarmup";

/** A scenario with the extra judge variants worth showing on it. */
export interface BenchScenario extends Scenario {
  readonly variants?: readonly Variant[];
}

const PLAN: BenchPlan = { weights: [5, 25, 50], minDurationSeconds: 60, maxDurationSeconds: 600, tickSeconds: 5 };

const base: Omit<BenchScenario, "name" | "healthy" | "canary"> = {
  enoughTraffic: true,
  badKind: "errors",
  totalRps: 1000,
  baseErrorRate: 0.01,
  podSigma: 0,
  sharedSigma: 0,
  diurnalAmplitude: 0,
  plan: PLAN,
};

const same = { kind: "ratio", factor: 1 } as const;
const twice = { kind: "ratio", factor: 2 } as const;
/** A baseline-only incident: ×2–×10 for 20 s to 3 min, starting anywhere in the first four minutes. */
const baselineIncident = { start: [0, 240], length: [20, 180], factor: [2, 10] } as const;
const warmupErrors = { kind: "warmup", seconds: 15, rate: 0.04 } as const;

/** Every scenario, in table order. */
export const SCENARIOS: readonly BenchScenario[] = [
  { ...base, name: "healthy-steady", healthy: true, canary: same },
  { ...base, name: "healthy-better-than-baseline", healthy: true, canary: { kind: "ratio", factor: 0.5 } },
  { ...base, name: "healthy-shared-incident", healthy: true, canary: same, sharedIncident: { start: [0, 600], length: [60, 180], factor: [4, 10], latencyFactor: 1.5 } },
  { ...base, name: "healthy-baseline-incident", healthy: true, canary: same, baselineIncident },
  { ...base, name: "healthy-pod-noise-0.6", healthy: true, canary: same, podSigma: 0.6 },
  { ...base, name: "healthy-shared-noise-0.6", healthy: true, canary: same, sharedSigma: 0.6 },
  { ...base, name: "healthy-diurnal", healthy: true, canary: same, diurnalAmplitude: 0.5 },
  { ...base, name: "healthy-messy-metrics", healthy: true, canary: same, scrape: { intervalSeconds: 5, messy: true } },
  { ...base, name: "healthy-out-of-phase-scrapes", healthy: true, canary: same, scrape: { intervalSeconds: 15 } },
  { ...base, name: "healthy-warmup-errors", healthy: true, canary: { ...warmupErrors, factor: 1 }, plan: { ...PLAN, warmupSeconds: 20 }, variants: ["noWarmup"] },
  { ...base, name: "healthy-low-traffic", healthy: true, canary: same, totalRps: 10 },
  { ...base, name: "errors-2x", healthy: false, canary: twice },
  { ...base, name: "errors-2x-pod-noise-0.6", healthy: false, canary: twice, podSigma: 0.6 },
  { ...base, name: "errors-2x-shared-noise-0.6", healthy: false, canary: twice, sharedSigma: 0.6 },
  { ...base, name: "errors-2x-baseline-incident", healthy: false, canary: twice, baselineIncident, variants: ["noReference"] },
  { ...base, name: "errors-2x-out-of-phase-scrapes", healthy: false, canary: twice, scrape: { intervalSeconds: 15 } },
  { ...base, name: "errors-bursty-8x", healthy: false, canary: { kind: "bursty", factor: 8, burstSeconds: [15, 30], gapSeconds: [60, 150] } },
  { ...base, name: "errors-3x-above-25pct", healthy: false, canary: { kind: "aboveWeight", weight: 25, factor: 3 } },
  { ...base, name: "errors-2x-after-warmup", healthy: false, canary: { ...warmupErrors, factor: 2 }, plan: { ...PLAN, warmupSeconds: 20 } },
  { ...base, name: "errors-5x", healthy: false, canary: { kind: "ratio", factor: 5 } },
  { ...base, name: "errors-50pct", healthy: false, canary: { kind: "rate", rate: 0.5 } },
  { ...base, name: "latency-p95+50%", healthy: false, badKind: "latency", canary: same, canaryLatencyFactor: 1.5 },
  { ...base, name: "errors-2x-low-traffic", healthy: false, enoughTraffic: false, canary: twice, totalRps: 10 },
];
