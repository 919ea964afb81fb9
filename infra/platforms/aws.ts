/** The AWS ALB platform: `canary:aws` block and the AlbCanary component. */
import { z } from "zod";
import { definePlatform } from "./types";

const int = (min: number, max: number) => {
  const message = `must be an integer from ${min} to ${max}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
};
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
    /** Port the targets listen on. Defaults to 80. */
    port: int(1, 65535).default(80),
    /** Protocol to the targets. Defaults to HTTP. */
    protocol: z.enum(["HTTP", "HTTPS"], { error: "must be HTTP or HTTPS" }).default("HTTP"),
    /** Target type of both target groups. Defaults to ip (ECS/EKS); instance for EC2. */
    targetType: z.enum(["ip", "instance"], { error: "must be ip or instance" }).default("ip"),
    /** Priority of the first listener rule; the rules take consecutive priorities. Defaults to 100. */
    priority: int(1, 50000).default(100),
    /** Path patterns every rule is scoped to. Defaults to ["/*"]. */
    pathPatterns: z.array(z.string({ error: "must be a path pattern" }).min(1).max(128), { error: "must be a list of path patterns" }).min(1).max(5).default(["/*"]),
    /** Host headers every rule is scoped to, for a listener shared by several services. */
    hostHeaders: z.array(z.string({ error: "must be a host name" }).min(1).max(128), { error: "must be a list of host names" }).max(5).optional(),
    /** Target-group health check. Defaults: /health, healthy 2, unhealthy 3, every 10 s, timeout 5 s, 200-399. */
    healthCheck: z
      .strictObject({
        path: z.string({ error: "must be a path starting with /" }).regex(/^\/\S*$/, { error: "must be a path starting with /" }).default("/health"),
        healthyThreshold: int(2, 10).default(2),
        unhealthyThreshold: int(2, 10).default(3),
        interval: int(5, 300).default(10),
        timeout: int(2, 120).default(5),
        matcher: z.string({ error: "must be HTTP codes such as 200 or 200-399" }).regex(/^\d{3}([-,]\d{3})*$/, { error: "must be HTTP codes such as 200 or 200-399" }).default("200-399"),
      })
      .default({ path: "/health", healthyThreshold: 2, unhealthyThreshold: 3, interval: 10, timeout: 5, matcher: "200-399" }),
    /** CloudWatch alarms on the canary target group. */
    alarms: z
      .strictObject({
        enabled: z.boolean({ error: "must be true or false" }).default(true),
        /** 5xx responses from canary targets per minute that trip the alarm. Defaults to 10. */
        max5xxPerMinute: int(1, 1_000_000).default(10),
        /** Average target response time in seconds that trips the alarm. Defaults to 1. */
        maxResponseTimeSeconds: z.number({ error: "must be a number of seconds from 0.001 to 60" }).min(0.001, { error: "must be a number of seconds from 0.001 to 60" }).max(60, { error: "must be a number of seconds from 0.001 to 60" }).default(1),
        /** Consecutive minutes over the threshold before the alarm fires. Defaults to 2. */
        evaluationPeriods: int(1, 60).default(2),
        /** SNS topic ARNs notified when an alarm fires. */
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
  });

/** The validated `canary:aws` block. */
export type AwsBlock = z.output<typeof awsBlockSchema>;

/** The AWS platform module. */
export const aws = definePlatform({
  platform: "aws",
  blockKey: "aws",
  blockSchema: awsBlockSchema,
  deploy: () => {
    throw new Error("the aws platform's component is not built yet");
  },
});
