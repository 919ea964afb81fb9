/**
 * The AWS renderer of the traffic model: two target groups and weighted ALB listener rules, an
 * ALB and listener when none is given, and CloudWatch alarms on the canary target group.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { TrafficSpec } from "../routing";
import { AlbCondition, appliedCanaryPercent, RenderedRule, renderListenerRules, TargetRole } from "./albRules";
import { AlbCanaryError } from "./errors";
import { ALARM_NAME_MAX, ELB_NAME_MAX, loadBalancerArnSuffix, loadBalancerName, physicalName, targetGroupArnSuffix } from "./names";

/** Protocol to the targets and of their health check. */
export const AlbProtocol = {
  /** Plain HTTP. */
  Http: "HTTP",
  /** HTTPS (the ALB does not verify the targets' certificates). */
  Https: "HTTPS",
} as const;
/** A value of {@link AlbProtocol}. */
export type AlbProtocol = (typeof AlbProtocol)[keyof typeof AlbProtocol];

/** How targets register in the target groups. */
export const AlbTargetType = {
  /** By IP address: ECS tasks, EKS pods. */
  Ip: "ip",
  /** By EC2 instance id. */
  Instance: "instance",
} as const;
/** A value of {@link AlbTargetType}. */
export type AlbTargetType = (typeof AlbTargetType)[keyof typeof AlbTargetType];

/** Arguments of {@link AlbCanary}. */
export interface AlbCanaryArgs {
  /** The traffic model to render: canary weight, override, segments, stickiness. Required. */
  readonly traffic: TrafficSpec;
  /** VPC of the target groups (and of the created security group). Required. */
  readonly vpcId: pulumi.Input<string>;
  /**
   * An existing ALB listener to add the rules to. Defaults to none: an ALB, a security group
   * (unless `securityGroupIds` is given) and a listener are created.
   */
  readonly listenerArn?: pulumi.Input<string>;
  /** Subnets of the created ALB, at least two in different zones. Required without `listenerArn`. */
  readonly subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** Security groups of the created ALB. Defaults to a created group open on the listener port. */
  readonly securityGroupIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** ACM certificate of the created listener: HTTPS on 443 with it, HTTP on 80 without. Defaults to none. */
  readonly certificateArn?: pulumi.Input<string>;
  /** Whether the created ALB is internal (reachable only inside the VPC). Defaults to false. */
  readonly internal?: boolean;
  /** Port the targets listen on. Defaults to 80. */
  readonly port?: number;
  /** Protocol to the targets and of the health check. Defaults to "HTTP". */
  readonly protocol?: AlbProtocol;
  /** Target type of both target groups: "ip" (ECS, EKS) or "instance" (EC2). Defaults to "ip". */
  readonly targetType?: AlbTargetType;
  /** Priority of the first listener rule; the rules take consecutive priorities in route order. Defaults to 100. */
  readonly priority?: number;
  /** Path patterns every rule is scoped to, at most 3. Defaults to ["/*"]. */
  readonly pathPatterns?: string[];
  /** Host headers every rule is scoped to, at most 3. Defaults to none. */
  readonly hostHeaders?: string[];
  /** Health check path of both target groups. Defaults to "/health". */
  readonly healthCheckPath?: string;
  /** Consecutive successful checks before a target is healthy. Defaults to 2. */
  readonly healthCheckHealthyThreshold?: number;
  /** Consecutive failed checks before a target is unhealthy. Defaults to 3. */
  readonly healthCheckUnhealthyThreshold?: number;
  /** Seconds between health checks. Defaults to 10. */
  readonly healthCheckInterval?: number;
  /** Seconds before a health check times out; must be less than the interval. Defaults to 5. */
  readonly healthCheckTimeout?: number;
  /** HTTP codes of a healthy response. Defaults to "200-399". */
  readonly healthCheckMatcher?: string;
  /** Whether to create the CloudWatch alarms on the canary target group. Defaults to true. */
  readonly alarmsEnabled?: boolean;
  /** 5xx responses from canary targets in one minute that trip the 5xx alarm. Defaults to 10. */
  readonly alarmMax5xxPerMinute?: number;
  /** Average canary target response time, seconds, that trips the latency alarm. Defaults to 1. */
  readonly alarmMaxResponseTimeSeconds?: number;
  /** Consecutive minutes at or over a threshold before an alarm fires. Defaults to 2. */
  readonly alarmEvaluationPeriods?: number;
  /** SNS topic ARNs notified when an alarm fires and when it recovers. Defaults to none. */
  readonly alarmActions?: pulumi.Input<pulumi.Input<string>[]>;
  /** Tags added to every AWS resource created. Defaults to none. */
  readonly tags?: Record<string, string>;
}

/** The resource type token of {@link AlbCanary}. */
export const ALB_CANARY_TYPE = "canary:aws:AlbCanary";

/** The fixed response of a created listener when no rule matches. */
const NOT_FOUND = { contentType: "text/plain", messageBody: "Not Found", statusCode: "404" } as const;

/** TLS policy of a created HTTPS listener: TLS 1.3 and 1.2 only. */
export const SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

function checkInt(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AlbCanaryError(`${what} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** Copies a rendered condition into the provider's (mutable) input shape. */
function conditionInput(c: AlbCondition): aws.types.input.lb.ListenerRuleCondition {
  if (c.pathPattern) return { pathPattern: { values: [...c.pathPattern.values] } };
  if (c.hostHeader) return { hostHeader: { values: [...c.hostHeader.values] } };
  return { httpHeader: { httpHeaderName: c.httpHeader!.httpHeaderName, values: [...c.httpHeader!.values] } };
}

/**
 * A canary traffic split on an AWS Application Load Balancer for one service.
 *
 * Creates a stable and a canary target group (the service's deployments register their targets
 * in them), one listener rule per route of the traffic model (override header, each segment,
 * then the default split) with weighted forward actions, and CloudWatch alarms on the canary
 * target group's 5xx count and response time. Without `listenerArn` it also creates the ALB, a
 * security group and a listener whose default action is a fixed 404.
 *
 * Physical names (target groups, ALB, alarms) are derived from `name` plus a hash of the Pulumi
 * project and stack, so stacks sharing an account and region never collide.
 */
export class AlbCanary extends pulumi.ComponentResource {
  /** Target group of the stable version. */
  public readonly stableTargetGroup: aws.lb.TargetGroup;
  /** Target group of the canary version; exists even without a canary, so adding one changes only weights. */
  public readonly canaryTargetGroup: aws.lb.TargetGroup;
  /** The rules as rendered (name, priority, conditions, weights), in route order. */
  public readonly renderedRules: RenderedRule[];
  /** One listener rule per rendered rule, in the same order; the last is the default rule. */
  public readonly listenerRules: aws.lb.ListenerRule[];
  /** The default rule: the main weighted split. */
  public readonly defaultRule: aws.lb.ListenerRule;
  /** Alarm on HTTPCode_Target_5XX_Count of the canary target group; undefined when alarms are disabled. */
  public readonly errorAlarm?: aws.cloudwatch.MetricAlarm;
  /** Alarm on TargetResponseTime of the canary target group; undefined when alarms are disabled. */
  public readonly latencyAlarm?: aws.cloudwatch.MetricAlarm;
  /** The created ALB; undefined when `listenerArn` was given. */
  public readonly loadBalancer?: aws.lb.LoadBalancer;
  /** The created ALB's security group; undefined when a listener or security groups were given. */
  public readonly securityGroup?: aws.ec2.SecurityGroup;
  /** The created listener; undefined when `listenerArn` was given. */
  public readonly listener?: aws.lb.Listener;
  /** The listener the rules are on: the given one or the created one. */
  public readonly listenerArn: pulumi.Output<string>;
  /** The canary percent the default rule forwards, read back from the rule's own outputs. */
  public readonly appliedCanaryWeight: pulumi.Output<number>;

  constructor(name: string, args: AlbCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
    super(ALB_CANARY_TYPE, name, {}, opts);

    // Validate.
    const port = args.port ?? 80;
    const protocol = args.protocol ?? "HTTP";
    const targetType = args.targetType ?? "ip";
    const healthCheck = {
      enabled: true,
      path: args.healthCheckPath ?? "/health",
      protocol,
      port: "traffic-port",
      healthyThreshold: args.healthCheckHealthyThreshold ?? 2,
      unhealthyThreshold: args.healthCheckUnhealthyThreshold ?? 3,
      interval: args.healthCheckInterval ?? 10,
      timeout: args.healthCheckTimeout ?? 5,
      matcher: args.healthCheckMatcher ?? "200-399",
    };
    const alarmsEnabled = args.alarmsEnabled ?? true;
    const max5xx = args.alarmMax5xxPerMinute ?? 10;
    const maxResponseTime = args.alarmMaxResponseTimeSeconds ?? 1;
    const evaluationPeriods = args.alarmEvaluationPeriods ?? 2;
    checkInt(port, 1, 65535, "port");
    checkInt(healthCheck.healthyThreshold, 2, 10, "healthCheckHealthyThreshold");
    checkInt(healthCheck.unhealthyThreshold, 2, 10, "healthCheckUnhealthyThreshold");
    checkInt(healthCheck.interval, 5, 300, "healthCheckInterval");
    checkInt(healthCheck.timeout, 2, 120, "healthCheckTimeout");
    if (healthCheck.timeout >= healthCheck.interval) {
      throw new AlbCanaryError(`healthCheckTimeout must be less than healthCheckInterval, got timeout ${healthCheck.timeout} and interval ${healthCheck.interval}`);
    }
    if (!healthCheck.path.startsWith("/")) throw new AlbCanaryError(`healthCheckPath must start with /, got ${JSON.stringify(healthCheck.path)}`);
    checkInt(max5xx, 1, 1_000_000, "alarmMax5xxPerMinute");
    if (!(maxResponseTime > 0)) throw new AlbCanaryError(`alarmMaxResponseTimeSeconds must be above 0, got ${maxResponseTime}`);
    checkInt(evaluationPeriods, 1, 60, "alarmEvaluationPeriods");
    if (args.listenerArn === undefined && args.subnetIds === undefined) {
      throw new AlbCanaryError("subnetIds is required when no listenerArn is given (an ALB is created)");
    }
    if (args.listenerArn !== undefined && (args.certificateArn !== undefined || args.securityGroupIds !== undefined || args.subnetIds !== undefined || args.internal !== undefined)) {
      throw new AlbCanaryError("certificateArn, securityGroupIds, subnetIds and internal only apply to a created ALB; they cannot be combined with listenerArn");
    }
    const rendered = renderListenerRules(args.traffic, {
      priority: args.priority ?? 100,
      pathPatterns: args.pathPatterns ?? ["/*"],
      hostHeaders: args.hostHeaders ?? [],
    });

    // Derive. Physical names hash the stack, so stacks sharing an account never collide, and the
    // settings that force a replacement, so the replacement can exist beside the old resource.
    const seed = [pulumi.getProject(), pulumi.getStack(), name];
    const tags = { ...(args.tags ?? {}) };
    const tls = args.certificateArn !== undefined;
    const listenerPort = tls ? 443 : 80;
    const internal = args.internal ?? false;
    const alarmActions = args.alarmActions ?? [];

    // Children: target groups.
    const targetGroup = (role: TargetRole) =>
      new aws.lb.TargetGroup(
        `${name}-${role}-tg`,
        {
          name: pulumi.output(args.vpcId).apply((vpc) => physicalName(name, role, [...seed, vpc, String(port), protocol, targetType], ELB_NAME_MAX)),
          vpcId: args.vpcId,
          port,
          protocol,
          targetType,
          healthCheck,
          tags,
        },
        { parent: this },
      );
    const stableTargetGroup = targetGroup("stable");
    const canaryTargetGroup = targetGroup("canary");
    const arnOf: Record<TargetRole, pulumi.Output<string>> = { stable: stableTargetGroup.arn, canary: canaryTargetGroup.arn };

    // Children: the ALB, its security group and listener, unless a listener was given.
    let loadBalancer: aws.lb.LoadBalancer | undefined;
    let securityGroup: aws.ec2.SecurityGroup | undefined;
    let listener: aws.lb.Listener | undefined;
    let listenerArn: pulumi.Output<string>;
    let loadBalancerArnSource: pulumi.Output<string>;
    if (args.listenerArn !== undefined) {
      listenerArn = pulumi.output(args.listenerArn);
      loadBalancerArnSource = listenerArn;
    } else {
      if (args.securityGroupIds === undefined) {
        securityGroup = new aws.ec2.SecurityGroup(
          `${name}-alb-sg`,
          {
            // Fixed text: a security group's description cannot change without replacing it.
            description: `ALB of the ${name} canary`,
            vpcId: args.vpcId,
            ingress: [{ description: `${tls ? "HTTPS" : "HTTP"} from clients`, protocol: "tcp", fromPort: listenerPort, toPort: listenerPort, cidrBlocks: ["0.0.0.0/0"] }],
            egress: [{ description: "to targets and their health checks", protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: ["0.0.0.0/0"] }],
            tags,
          },
          { parent: this },
        );
      }
      loadBalancer = new aws.lb.LoadBalancer(
        `${name}-alb`,
        {
          name: loadBalancerName(name, [...seed, internal ? "internal" : "internet-facing"]),
          loadBalancerType: "application",
          internal,
          subnets: args.subnetIds,
          securityGroups: securityGroup ? [securityGroup.id] : args.securityGroupIds,
          // Header routing must see the headers the targets see; invalid ones are dropped, not passed on.
          dropInvalidHeaderFields: true,
          tags,
        },
        { parent: this },
      );
      listener = new aws.lb.Listener(
        `${name}-listener`,
        {
          loadBalancerArn: loadBalancer.arn,
          port: listenerPort,
          protocol: tls ? "HTTPS" : "HTTP",
          ...(tls ? { certificateArn: args.certificateArn, sslPolicy: SSL_POLICY } : {}),
          defaultActions: [{ type: "fixed-response", fixedResponse: { ...NOT_FOUND } }],
          tags,
        },
        { parent: this },
      );
      listenerArn = listener.arn;
      loadBalancerArnSource = loadBalancer.arn;
    }

    // Children: one listener rule per route.
    const listenerRules = rendered.map(
      (rule) =>
        new aws.lb.ListenerRule(
          `${name}-rule-${rule.name}`,
          {
            listenerArn,
            priority: rule.priority,
            conditions: rule.conditions.map(conditionInput),
            actions: [
              {
                type: "forward",
                forward: {
                  targetGroups: rule.forward.targets.map((t) => ({ arn: arnOf[t.role], weight: t.weight })),
                  stickiness: { ...rule.forward.stickiness },
                },
              },
            ],
            tags,
          },
          { parent: this },
        ),
    );
    const defaultRule = listenerRules[listenerRules.length - 1]!;

    // Children: alarms on the canary target group.
    let errorAlarm: aws.cloudwatch.MetricAlarm | undefined;
    let latencyAlarm: aws.cloudwatch.MetricAlarm | undefined;
    if (alarmsEnabled) {
      const dimensions = pulumi.all([loadBalancerArnSource, canaryTargetGroup.arn]).apply(([lb, tg]) => ({
        LoadBalancer: loadBalancerArnSuffix(lb),
        TargetGroup: targetGroupArnSuffix(tg),
      }));
      const alarm = (suffix: string, description: string, metric: { metricName: string; statistic: string; threshold: number }) =>
        new aws.cloudwatch.MetricAlarm(
          `${name}-canary-${suffix}`,
          {
            name: physicalName(name, `canary-${suffix}`, seed, ALARM_NAME_MAX),
            alarmDescription: description,
            namespace: "AWS/ApplicationELB",
            ...metric,
            dimensions,
            period: 60,
            evaluationPeriods,
            datapointsToAlarm: evaluationPeriods,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            // No requests to the canary (no canary, or weight 0) is not a failure.
            treatMissingData: "notBreaching",
            alarmActions,
            okActions: alarmActions,
            tags,
          },
          { parent: this },
        );
      errorAlarm = alarm("5xx", `${name} canary: at least ${max5xx} 5xx responses from canary targets per minute for ${evaluationPeriods} minute(s)`, {
        metricName: "HTTPCode_Target_5XX_Count",
        statistic: "Sum",
        threshold: max5xx,
      });
      latencyAlarm = alarm("latency", `${name} canary: average target response time at least ${maxResponseTime} s for ${evaluationPeriods} minute(s)`, {
        metricName: "TargetResponseTime",
        statistic: "Average",
        threshold: maxResponseTime,
      });
    }

    // Public fields.
    this.stableTargetGroup = stableTargetGroup;
    this.canaryTargetGroup = canaryTargetGroup;
    this.renderedRules = rendered;
    this.listenerRules = listenerRules;
    this.defaultRule = defaultRule;
    this.errorAlarm = errorAlarm;
    this.latencyAlarm = latencyAlarm;
    this.loadBalancer = loadBalancer;
    this.securityGroup = securityGroup;
    this.listener = listener;
    this.listenerArn = listenerArn;
    this.appliedCanaryWeight = pulumi.all([defaultRule.actions, canaryTargetGroup.arn]).apply(([actions, arn]) => appliedCanaryPercent(actions, arn));

    this.registerOutputs({
      stableTargetGroup,
      canaryTargetGroup,
      renderedRules: rendered,
      listenerRules,
      defaultRule,
      errorAlarm,
      latencyAlarm,
      loadBalancer,
      securityGroup,
      listener,
      listenerArn,
      appliedCanaryWeight: this.appliedCanaryWeight,
    });
  }
}
