/**
 * The policies of the pulumi-canary policy pack: the canary invariants of `rules.ts` as
 * `@pulumi/policy` resource and stack validations. Mandatory ones stop `pulumi up`; the advisory
 * one only warns.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { ROLLOUT_RECORD_KEY } from "../automation/record/pulumiConfig";
import { fullCanaryViolations, monitoringViolations, overrideViolations, PolicyTarget, rolloutPhase, stickinessViolations, weightViolations } from "./rules";

const asTargets = (resources: readonly PolicyResource[]): PolicyTarget[] => resources.map(({ type, urn, name, props }) => ({ type, urn, name, props }));

/** Weighted forwards and routes of every canary component sum to the provider's total. */
export const weightsSumToTotal: ResourceValidationPolicy = {
  name: "canary-weights-sum-to-total",
  description: "Weighted forwards and routes of a canary sum to the provider's total: 100 (ALB, Istio, Gateway API, Cloud Run) or 1000 (SMI TrafficSplit).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const message of weightViolations(args)) reportViolation(message);
  },
};

/** A canary taking requests has monitoring in the same stack. */
export const canaryIsMonitored: StackValidationPolicy = {
  name: "canary-is-monitored",
  description: "A canary at a weight above 0 has monitoring in its stack: the CanaryMonitoring component (PrometheusRule) or AlbCanary's CloudWatch alarms.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const message of monitoringViolations(asTargets(args.resources))) reportViolation(message);
  },
};

/**
 * No canary at 100% outside a rollout. The rollout's phase comes from the stack config
 * (`canary:rollout`, written by the rollout driver), which the Pulumi CLI passes to policy packs.
 */
export const noFullCanaryOutsideRollout: StackValidationPolicy = {
  name: "canary-not-full-outside-rollout",
  description: "A canary takes 100% of requests only during a rollout (on its way to promotion), never as a resting state.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const phase = rolloutPhase(pulumi.runtime.getConfig(ROLLOUT_RECORD_KEY));
    for (const message of fullCanaryViolations(asTargets(args.resources), phase)) reportViolation(message);
  },
};

/** Stickiness durations within the traffic model's limits. */
export const stickinessWithinLimits: ResourceValidationPolicy = {
  name: "canary-stickiness-within-limits",
  description: "Canary stickiness durations (ALB target-group stickiness, Istio hash-cookie TTL) are within 1–604800 seconds.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const message of stickinessViolations(args)) reportViolation(message);
  },
};

/** The production-stack pattern used when the policy config sets none. */
export const DEFAULT_PRODUCTION_STACKS = "^prod";

/** The policy config of {@link overrideClosedInProduction}. */
export interface OverrideConfig {
  /** A regular expression the names of production stacks match. */
  readonly productionStacks?: string;
}

/** The header override is not left open in production stacks (advisory). */
export const overrideClosedInProduction: ResourceValidationPolicy = {
  name: "canary-override-closed-in-production",
  description: "The canary's header override (any request with the header reaches the canary) is off in production stacks.",
  enforcementLevel: "advisory",
  configSchema: {
    properties: {
      productionStacks: { type: "string", default: DEFAULT_PRODUCTION_STACKS, description: "Regular expression that production stack names match." },
    },
  },
  validateResource: (args, reportViolation) => {
    const { productionStacks = DEFAULT_PRODUCTION_STACKS } = args.getConfig<OverrideConfig>();
    for (const message of overrideViolations(args, productionStacks)) reportViolation(message);
  },
};

/** Every policy of the pack, in the order the pack reports them. */
export const policies = [weightsSumToTotal, canaryIsMonitored, noFullCanaryOutsideRollout, stickinessWithinLimits, overrideClosedInProduction];
