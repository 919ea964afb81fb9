/** The AWS ALB platform: `canary:aws` block and the AlbCanary component. */
import { z } from "zod";
import { ALB_ALARM_RULES, ALB_DEFAULTS, ALB_HEALTH_CHECK_RULES, ALB_LIMITS, AlbCanary, AlbCanaryArgs, albCanaryProblems, listenerArn } from "../../components/aws";
import { port as portRule } from "../../components/validation";
import { zBoolean, zEnum, zNumber, zString } from "../zod";
import { blockKeys, versionArgs } from "./args";
import { definePlatform, PlatformOutputs } from "./types";

const id = (prefix: string) => z.string({ error: `must be an AWS id like ${prefix}-0abc1234` }).regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), { error: `must be an AWS id like ${prefix}-0abc1234` });
const arn = (service: string) =>
  z.string({ error: `must be an ${service} ARN` }).regex(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:\\S+$`), { error: `must be an ${service} ARN` });
const D = ALB_DEFAULTS;

/**
 * `canary:aws`. Shapes and ranges here; the ALB limits across fields and keys (rule priorities,
 * condition values and wildcards, header names, tags) are AlbCanary's own check, run on the
 * arguments this block gives it and reported at the key that set them.
 */
export const awsBlockSchema = z.strictObject({
  /** VPC of the target groups. */
  vpcId: id("vpc"),
  /** An existing listener to add the rules to. Without one, an ALB and a listener are created. */
  listenerArn: zString(listenerArn).optional(),
  /** Subnets for a created ALB (at least two, in different zones). Required without listenerArn. */
  subnetIds: z.array(id("subnet"), { error: "must be a list of subnet ids" }).optional(),
  /** Security groups for a created ALB. Defaults to a created group open on the listener port. */
  securityGroupIds: z.array(id("sg"), { error: "must be a list of security group ids" }).optional(),
  /** ACM certificate for an HTTPS listener on a created ALB; HTTP on port 80 without one. */
  certificateArn: arn("acm").optional(),
  /** Whether a created ALB is internal (reachable only inside the VPC). Defaults to false. */
  internal: zBoolean.optional(),
  /** Port the targets listen on. Defaults to 80. */
  port: zNumber(portRule).default(D.port),
  /** Protocol to the targets. Defaults to HTTP. */
  protocol: zEnum(["HTTP", "HTTPS"]).default(D.protocol),
  /** Target type of both target groups. Defaults to ip (ECS/EKS); instance for EC2. */
  targetType: zEnum(["ip", "instance"]).default(D.targetType),
  /** Priority of the first listener rule; the rules take consecutive priorities. Defaults to 100. */
  priority: z.number({ error: `must be an integer from 1 to ${ALB_LIMITS.maxPriority}` }).default(D.priority),
  /** Path patterns every rule is scoped to, at most 3 (ALB's limit per condition). Defaults to ["/*"]. */
  pathPatterns: z.array(z.string({ error: "must be a path pattern" }), { error: "must be a list of path patterns" }).min(1, { error: "must list at least 1 path pattern" }).default([...D.pathPatterns]),
  /** Host headers every rule is scoped to, for a listener shared by several services; at most 3. */
  hostHeaders: z.array(z.string({ error: "must be a host name" }), { error: "must be a list of host names" }).optional(),
  /** Target-group health check. */
  healthCheck: z
    .strictObject({
      path: zString(ALB_HEALTH_CHECK_RULES.path).default(D.healthCheckPath),
      healthyThreshold: zNumber(ALB_HEALTH_CHECK_RULES.healthyThreshold).default(D.healthCheckHealthyThreshold),
      unhealthyThreshold: zNumber(ALB_HEALTH_CHECK_RULES.unhealthyThreshold).default(D.healthCheckUnhealthyThreshold),
      interval: zNumber(ALB_HEALTH_CHECK_RULES.interval).default(D.healthCheckInterval),
      timeout: zNumber(ALB_HEALTH_CHECK_RULES.timeout).default(D.healthCheckTimeout),
      matcher: zString(ALB_HEALTH_CHECK_RULES.matcher).default(D.healthCheckMatcher),
    })
    .prefault({}),
  /** CloudWatch alarms on the canary target group. */
  alarms: z
    .strictObject({
      enabled: zBoolean.default(D.alarmsEnabled),
      max5xxPerMinute: zNumber(ALB_ALARM_RULES.max5xxPerMinute).default(D.alarmMax5xxPerMinute),
      maxResponseTimeSeconds: zNumber(ALB_ALARM_RULES.maxResponseTimeSeconds).default(D.alarmMaxResponseTimeSeconds),
      evaluationPeriods: zNumber(ALB_ALARM_RULES.evaluationPeriods).default(D.alarmEvaluationPeriods),
      /** SNS topic ARNs notified when an alarm fires and when it recovers. Defaults to none. */
      actions: z.array(arn("sns"), { error: "must be a list of SNS topic ARNs" }).default([]),
    })
    .prefault({}),
  /** Tags added to every AWS resource. */
  tags: z.record(z.string(), z.string({ error: "must be a string" }), { error: "must be a map of strings" }).default({}),
});

/** The validated `canary:aws` block. */
export type AwsBlock = z.output<typeof awsBlockSchema>;

/** The AlbCanary arguments of a config: the one map from `canary:aws` (and the shared keys) to the component. */
export function awsArgs(config: Parameters<typeof versionArgs>[0], block: AwsBlock): AlbCanaryArgs {
  return {
    traffic: versionArgs(config).traffic,
    vpcId: block.vpcId,
    listenerArn: block.listenerArn,
    subnetIds: block.subnetIds,
    securityGroupIds: block.securityGroupIds,
    certificateArn: block.certificateArn,
    internal: block.internal,
    port: block.port,
    protocol: block.protocol,
    targetType: block.targetType,
    priority: block.priority,
    pathPatterns: block.pathPatterns,
    hostHeaders: block.hostHeaders,
    healthCheckPath: block.healthCheck.path,
    healthCheckHealthyThreshold: block.healthCheck.healthyThreshold,
    healthCheckUnhealthyThreshold: block.healthCheck.unhealthyThreshold,
    healthCheckInterval: block.healthCheck.interval,
    healthCheckTimeout: block.healthCheck.timeout,
    healthCheckMatcher: block.healthCheck.matcher,
    alarmsEnabled: block.alarms.enabled,
    alarmMax5xxPerMinute: block.alarms.max5xxPerMinute,
    alarmMaxResponseTimeSeconds: block.alarms.maxResponseTimeSeconds,
    alarmEvaluationPeriods: block.alarms.evaluationPeriods,
    alarmActions: block.alarms.actions,
    tags: block.tags,
  };
}

/** Where each AlbCanary argument is set in `canary:aws` (the inverse of {@link awsArgs}). */
export const AWS_ARG_KEYS = {
  vpcId: ["vpcId"],
  listenerArn: ["listenerArn"],
  subnetIds: ["subnetIds"],
  securityGroupIds: ["securityGroupIds"],
  certificateArn: ["certificateArn"],
  internal: ["internal"],
  port: ["port"],
  protocol: ["protocol"],
  targetType: ["targetType"],
  priority: ["priority"],
  pathPatterns: ["pathPatterns"],
  hostHeaders: ["hostHeaders"],
  healthCheckPath: ["healthCheck", "path"],
  healthCheckHealthyThreshold: ["healthCheck", "healthyThreshold"],
  healthCheckUnhealthyThreshold: ["healthCheck", "unhealthyThreshold"],
  healthCheckInterval: ["healthCheck", "interval"],
  healthCheckTimeout: ["healthCheck", "timeout"],
  healthCheckMatcher: ["healthCheck", "matcher"],
  alarmsEnabled: ["alarms", "enabled"],
  alarmMax5xxPerMinute: ["alarms", "max5xxPerMinute"],
  alarmMaxResponseTimeSeconds: ["alarms", "maxResponseTimeSeconds"],
  alarmEvaluationPeriods: ["alarms", "evaluationPeriods"],
  alarmActions: ["alarms", "actions"],
  tags: ["tags"],
} as const satisfies Partial<Record<keyof AlbCanaryArgs, readonly string[]>>;

/** The AWS platform module. */
export const aws = definePlatform({
  platform: "aws",
  blockKey: "aws",
  blockSchema: awsBlockSchema,
  args: awsArgs,
  check: albCanaryProblems,
  keyOf: blockKeys("aws", AWS_ARG_KEYS, []),
  deploy: (args, config) => deployAws(config.service, args),
});

/**
 * Creates the AlbCanary for the service and returns its stack outputs: target group ARNs, the
 * listener rules in route order, the listener, the created ALB's DNS name, the alarm names and
 * the canary weight read back from the default rule.
 */
export function deployAws(service: string, args: AlbCanaryArgs): PlatformOutputs {
  const alb = new AlbCanary(service, args);
  const alarms = [alb.errorAlarm, alb.latencyAlarm].filter((a) => a !== undefined);
  return {
    stableTargetGroupArn: alb.stableTargetGroup.arn,
    canaryTargetGroupArn: alb.canaryTargetGroup.arn,
    listenerRuleArns: alb.listenerRules.map((rule, i) => ({ name: alb.renderedRules[i]!.name, priority: alb.renderedRules[i]!.priority, arn: rule.arn })),
    listenerArn: alb.listenerArn,
    ...(alb.loadBalancer ? { loadBalancerDnsName: alb.loadBalancer.dnsName } : {}),
    alarmNames: alarms.map((a) => a.name),
    appliedCanaryWeight: alb.appliedCanaryWeight,
  };
}
