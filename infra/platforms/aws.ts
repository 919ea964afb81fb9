/** The AWS ALB platform: `canary:aws` block and the AlbCanary component. */
import { z } from "zod";
import { intRange } from "../schema";
import { AlbCanary } from "../../components/aws";
import { TrafficSpec } from "../../components/routing";
import { definePlatform, PlatformOutputs } from "./types";

const id = (prefix: string) => z.string({ error: `must be an AWS id like ${prefix}-0abc1234` }).regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), { error: `must be an AWS id like ${prefix}-0abc1234` });
const arn = (service: string) =>
  z.string({ error: `must be an ${service} ARN` }).regex(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:\\S+$`), { error: `must be an ${service} ARN` });

/** `canary:aws`. */
export const awsBlockSchema = z
  .strictObject({
    /** VPC of the target groups. */
    vpcId: id("vpc"),
    /** An existing listener to add the rules to. Without one, an ALB and a listener are created. */
    listenerArn: arn("elasticloadbalancing").optional(),
    /** Subnets for a created ALB (at least two, in different zones). Required without listenerArn. */
    subnetIds: z.array(id("subnet"), { error: "must be a list of subnet ids" }).min(2, { error: "must list at least 2 subnets" }).optional(),
    /** Security groups for a created ALB. Defaults to a created group open on the listener port. */
    securityGroupIds: z.array(id("sg"), { error: "must be a list of security group ids" }).optional(),
    /** ACM certificate for an HTTPS listener on a created ALB; HTTP on port 80 without one. */
    certificateArn: arn("acm").optional(),
    /** Whether a created ALB is internal (reachable only inside the VPC). Defaults to false. */
    internal: z.boolean({ error: "must be true or false" }).optional(),
    /** Port the targets listen on. Defaults to 80. */
    port: intRange(1, 65535).default(80),
    /** Protocol to the targets. Defaults to HTTP. */
    protocol: z.enum(["HTTP", "HTTPS"], { error: "must be HTTP or HTTPS" }).default("HTTP"),
    /** Target type of both target groups. Defaults to ip (ECS/EKS); instance for EC2. */
    targetType: z.enum(["ip", "instance"], { error: "must be ip or instance" }).default("ip"),
    /** Priority of the first listener rule; the rules take consecutive priorities. Defaults to 100. */
    priority: intRange(1, 50000).default(100),
    /** Path patterns every rule is scoped to, at most 3 (ALB's limit per condition). Defaults to ["/*"]. */
    pathPatterns: z
      .array(z.string({ error: "must be a path pattern" }).min(1).max(128), { error: "must be a list of path patterns" })
      .min(1, { error: "must list at least 1 path pattern" })
      .max(3, { error: "must list at most 3 path patterns (ALB allows 3 values per condition)" })
      .default(["/*"]),
    /** Host headers every rule is scoped to, for a listener shared by several services; at most 3. */
    hostHeaders: z
      .array(z.string({ error: "must be a host name" }).min(1).max(128), { error: "must be a list of host names" })
      .max(3, { error: "must list at most 3 host names (ALB allows 3 values per condition)" })
      .optional(),
    /** Target-group health check. Defaults: /health, healthy 2, unhealthy 3, every 10 s, timeout 5 s, 200-399. */
    healthCheck: z
      .strictObject({
        path: z.string({ error: "must be a path starting with /" }).regex(/^\/\S*$/, { error: "must be a path starting with /" }).default("/health"),
        healthyThreshold: intRange(2, 10).default(2),
        unhealthyThreshold: intRange(2, 10).default(3),
        interval: intRange(5, 300).default(10),
        timeout: intRange(2, 120).default(5),
        matcher: z.string({ error: "must be HTTP codes such as 200 or 200-399" }).regex(/^\d{3}([-,]\d{3})*$/, { error: "must be HTTP codes such as 200 or 200-399" }).default("200-399"),
      })
      .default({ path: "/health", healthyThreshold: 2, unhealthyThreshold: 3, interval: 10, timeout: 5, matcher: "200-399" }),
    /** CloudWatch alarms on the canary target group. */
    alarms: z
      .strictObject({
        enabled: z.boolean({ error: "must be true or false" }).default(true),
        /** 5xx responses from canary targets in one minute that trip the alarm (at or over). Defaults to 10. */
        max5xxPerMinute: intRange(1, 1_000_000).default(10),
        /** Average target response time in seconds that trips the alarm (at or over). Defaults to 1. */
        maxResponseTimeSeconds: z.number({ error: "must be a number of seconds from 0.001 to 60" }).min(0.001, { error: "must be a number of seconds from 0.001 to 60" }).max(60, { error: "must be a number of seconds from 0.001 to 60" }).default(1),
        /** Consecutive minutes at or over the threshold before the alarm fires. Defaults to 2. */
        evaluationPeriods: intRange(1, 60).default(2),
        /** SNS topic ARNs notified when an alarm fires and when it recovers. Defaults to none. */
        actions: z.array(arn("sns"), { error: "must be a list of SNS topic ARNs" }).default([]),
      })
      .default({ enabled: true, max5xxPerMinute: 10, maxResponseTimeSeconds: 1, evaluationPeriods: 2, actions: [] }),
    /** Tags added to every AWS resource. */
    tags: z.record(z.string(), z.string({ error: "must be a string" }), { error: "must be a map of strings" }).default({}),
  })
  .superRefine((block, ctx) => {
    if (!block.listenerArn && !block.subnetIds) {
      ctx.addIssue({ code: "custom", path: ["subnetIds"], message: "is required when no listenerArn is given (an ALB is created)" });
    }
    if (block.listenerArn && block.certificateArn) {
      ctx.addIssue({ code: "custom", path: ["certificateArn"], message: "only applies to a created ALB; the listener given by listenerArn has its own certificate" });
    }
    for (const key of ["subnetIds", "securityGroupIds", "internal"] as const) {
      if (block.listenerArn && block[key] !== undefined) {
        ctx.addIssue({ code: "custom", path: [key], message: "only applies to a created ALB; the listener given by listenerArn belongs to an existing one" });
      }
    }
    // The header rules add one value to the path and host conditions; ALB allows 5 per rule.
    if (block.pathPatterns.length + (block.hostHeaders?.length ?? 0) > 4) {
      ctx.addIssue({ code: "custom", path: ["hostHeaders"], message: `together with pathPatterns must have at most 4 values (ALB allows 5 per rule and the header rules need one); pathPatterns has ${block.pathPatterns.length}` });
    }
    if (block.healthCheck.timeout >= block.healthCheck.interval) {
      ctx.addIssue({ code: "custom", path: ["healthCheck", "timeout"], message: `must be less than healthCheck.interval (${block.healthCheck.interval})` });
    }
  });

/** The validated `canary:aws` block. */
export type AwsBlock = z.output<typeof awsBlockSchema>;

/** The AWS platform module. */
export const aws = definePlatform({
  platform: "aws",
  blockKey: "aws",
  blockSchema: awsBlockSchema,
  deploy: (config, block) => deployAws(config.service, config.traffic, block),
});

/**
 * Creates the AlbCanary for the service and returns its stack outputs: target group ARNs, the
 * listener rules in route order, the listener, the created ALB's DNS name, the alarm names and
 * the canary weight read back from the default rule.
 */
export function deployAws(service: string, traffic: TrafficSpec, block: AwsBlock): PlatformOutputs {
  const alb = new AlbCanary(service, {
    traffic,
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
  });
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
