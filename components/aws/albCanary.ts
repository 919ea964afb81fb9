/**
 * The AWS renderer of the traffic model: two target groups and weighted ALB listener rules, an
 * ALB and listener when none is given, and CloudWatch alarms on the canary target group.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { capabilityProblems, TrafficSpec, trafficProblems } from "../routing";
import { assertNoProblems, Checks, httpPath, intRange, isKnown, pattern, port, Problem, refine, Rule } from "../validation";
import { AlbCondition, appliedCanaryPercent, listenerRuleProblems, RenderedRule, renderListenerRules, TargetRole } from "./albRules";
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
  /** Priority of the first listener rule, 1–50000; the rules take consecutive priorities in route order. Defaults to 100. */
  readonly priority?: number;
  /** Path patterns every rule is scoped to, at most 3 (ALB path patterns: visible ASCII, 1–128 characters). Defaults to ["/*"]. */
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
  /** Tags added to every AWS resource created: at most 50, keys 1–128 and values 0–256 characters, no `aws:` prefix. Defaults to none. */
  readonly tags?: Record<string, string>;
}

/** The resource type token of {@link AlbCanary}. */
export const ALB_CANARY_TYPE = "canary:aws:AlbCanary";

/**
 * Every default of {@link AlbCanaryArgs}, in one place: the component applies them and the stack
 * config's `canary:aws` schema declares them (a test keeps the two equal).
 */
export const ALB_DEFAULTS = {
  port: 80,
  protocol: "HTTP",
  targetType: "ip",
  priority: 100,
  pathPatterns: ["/*"] as readonly string[],
  hostHeaders: [] as readonly string[],
  healthCheckPath: "/health",
  healthCheckHealthyThreshold: 2,
  healthCheckUnhealthyThreshold: 3,
  healthCheckInterval: 10,
  healthCheckTimeout: 5,
  healthCheckMatcher: "200-399",
  alarmsEnabled: true,
  alarmMax5xxPerMinute: 10,
  alarmMaxResponseTimeSeconds: 1,
  alarmEvaluationPeriods: 2,
  tags: {} as Readonly<Record<string, string>>,
} as const;

/**
 * Target-group health-check ranges. Source: CreateTargetGroup,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html
 * (HealthCheckIntervalSeconds 5–300, HealthCheckTimeoutSeconds 2–120 and less than the interval,
 * HealthyThresholdCount and UnhealthyThresholdCount 2–10, HealthCheckPath 1–1024 characters) and
 * Matcher (HTTP codes 200–499 for an ALB: a code, a list or a range):
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Matcher.html
 */
export const ALB_HEALTH_CHECK_RULES = {
  healthyThreshold: intRange(2, 10),
  unhealthyThreshold: intRange(2, 10),
  interval: intRange(5, 300),
  timeout: intRange(2, 120),
  path: refine(httpPath, (v) => (v.length > 1024 ? "must have at most 1024 characters" : undefined)),
  matcher: refine(pattern(/^\d{3}(-\d{3}|(,\d{3})*)$/, "must be HTTP codes such as 200, 200,202 or 200-399"), (v) =>
    (v.match(/\d{3}/g) ?? []).some((code) => Number(code) < 200 || Number(code) > 499) ? "must be HTTP codes from 200 to 499 (ALB's range)" : undefined,
  ),
} as const;

/** CloudWatch alarm ranges the component accepts (its own bounds: one-minute periods, up to an hour). */
export const ALB_ALARM_RULES = {
  max5xxPerMinute: intRange(1, 1_000_000),
  maxResponseTimeSeconds: { message: "must be a number of seconds from 0.001 to 60", check: (v: number) => (typeof v === "number" && v >= 0.001 && v <= 60 ? undefined : "must be a number of seconds from 0.001 to 60") } as Rule<number>,
  evaluationPeriods: intRange(1, 60),
} as const;

/**
 * A listener ARN (`arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<lb>/<id>/<id>`);
 * a load balancer or target group ARN is refused, since the rules and alarms need the listener.
 * Source: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-update-rules.html
 * and the ARN formats in https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancingv2.html
 */
export const listenerArn = pattern(
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/app\/[A-Za-z0-9-]{1,32}\/[0-9a-f]+\/[0-9a-f]+$/,
  "must be an ALB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>)",
);

/**
 * Tag limits of every resource the component creates (ELB, EC2 security groups, CloudWatch
 * alarms): at most 50 tags, keys 1–128 and values 0–256 characters of letters, digits, spaces and
 * `_ . : / = + - @`, and no `aws:` prefix, which AWS reserves.
 * Source: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Tag.html and
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-tags.html
 */
export const TAG_LIMITS = { maxTags: 50, keyLength: 128, valueLength: 256 } as const;
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Why a tag key is refused, or undefined. */
export function tagKeyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > TAG_LIMITS.keyLength || !TAG_CHARS.test(key)) return `must be 1–${TAG_LIMITS.keyLength} letters, digits, spaces or _ . : / = + - @`;
  if (key.toLowerCase().startsWith("aws:")) return "must not start with aws: (reserved by AWS)";
  return undefined;
}

/** Why a tag value is refused, or undefined. */
export function tagValueProblem(value: string): string | undefined {
  if (typeof value !== "string" || value.length > TAG_LIMITS.valueLength || !TAG_CHARS.test(value)) return `must be 0–${TAG_LIMITS.valueLength} letters, digits, spaces or _ . : / = + - @`;
  if (value.toLowerCase().startsWith("aws:")) return "must not start with aws: (reserved by AWS)";
  return undefined;
}

const PROTOCOLS: readonly string[] = ["HTTP", "HTTPS"];
const TARGET_TYPES: readonly string[] = ["ip", "instance"];

/**
 * Every problem with {@link AlbCanaryArgs}, by argument path, without registering anything: the
 * traffic model and what ALB cannot do with it (mirroring), the listener rules' limits, the
 * target group, health check, alarm and tag limits, and the created-ALB arguments that a given
 * listener excludes. Values that are Outputs are checked by AWS when they resolve.
 */
export function albCanaryProblems(args: AlbCanaryArgs): Problem[] {
  const c = new Checks();
  const traffic = trafficProblems(args.traffic);
  c.addAll(traffic);
  c.addAll(capabilityProblems("aws", args.traffic));
  if (traffic.length === 0) {
    c.addAll(listenerRuleProblems(args.traffic, { priority: args.priority ?? ALB_DEFAULTS.priority, pathPatterns: args.pathPatterns ?? ALB_DEFAULTS.pathPatterns, hostHeaders: args.hostHeaders ?? ALB_DEFAULTS.hostHeaders }));
  }
  c.rule(["port"], args.port, port);
  if (args.protocol !== undefined && !PROTOCOLS.includes(args.protocol)) c.add(["protocol"], "must be HTTP or HTTPS", args.protocol);
  if (args.targetType !== undefined && !TARGET_TYPES.includes(args.targetType)) c.add(["targetType"], "must be ip or instance", args.targetType);
  c.rule(["healthCheckPath"], args.healthCheckPath, ALB_HEALTH_CHECK_RULES.path);
  c.rule(["healthCheckHealthyThreshold"], args.healthCheckHealthyThreshold, ALB_HEALTH_CHECK_RULES.healthyThreshold);
  c.rule(["healthCheckUnhealthyThreshold"], args.healthCheckUnhealthyThreshold, ALB_HEALTH_CHECK_RULES.unhealthyThreshold);
  c.rule(["healthCheckInterval"], args.healthCheckInterval, ALB_HEALTH_CHECK_RULES.interval);
  c.rule(["healthCheckTimeout"], args.healthCheckTimeout, ALB_HEALTH_CHECK_RULES.timeout);
  c.rule(["healthCheckMatcher"], args.healthCheckMatcher, ALB_HEALTH_CHECK_RULES.matcher);
  const interval = args.healthCheckInterval ?? ALB_DEFAULTS.healthCheckInterval;
  const timeout = args.healthCheckTimeout ?? ALB_DEFAULTS.healthCheckTimeout;
  if (c.ok && timeout >= interval) c.add(["healthCheckTimeout"], `must be less than the health check interval (${interval})`, timeout);
  c.rule(["alarmMax5xxPerMinute"], args.alarmMax5xxPerMinute, ALB_ALARM_RULES.max5xxPerMinute);
  c.rule(["alarmMaxResponseTimeSeconds"], args.alarmMaxResponseTimeSeconds, ALB_ALARM_RULES.maxResponseTimeSeconds);
  c.rule(["alarmEvaluationPeriods"], args.alarmEvaluationPeriods, ALB_ALARM_RULES.evaluationPeriods);
  if (args.listenerArn === undefined && args.subnetIds === undefined) c.note(["subnetIds"], "is required when no listenerArn is given (an ALB is created)");
  if (args.listenerArn !== undefined) {
    c.rule(["listenerArn"], args.listenerArn, listenerArn);
    if (args.certificateArn !== undefined) c.note(["certificateArn"], "only applies to a created ALB; the listener given by listenerArn has its own certificate");
    for (const key of ["subnetIds", "securityGroupIds", "internal"] as const) {
      if (args[key] !== undefined) c.add([key], "only applies to a created ALB; the listener given by listenerArn belongs to an existing one", isKnown(args[key]) ? args[key] : "(an Output)");
    }
  } else if (isKnown(args.subnetIds) && args.subnetIds.length < 2) {
    c.add(["subnetIds"], "must list at least 2 subnets (an ALB needs subnets in two Availability Zones)", args.subnetIds);
  }
  const tags = args.tags ?? {};
  const keys = Object.keys(tags);
  if (keys.length > TAG_LIMITS.maxTags) c.add(["tags"], `must have at most ${TAG_LIMITS.maxTags} tags`, keys.length);
  for (const key of keys) {
    const keyProblem = tagKeyProblem(key);
    if (keyProblem) c.add(["tags"], `key ${keyProblem}`, key);
    const valueProblem = tagValueProblem(tags[key]!);
    if (valueProblem) c.add(["tags", key], valueProblem, tags[key]);
  }
  return c.problems;
}

/** The fixed response of a created listener when no rule matches. */
const NOT_FOUND = { contentType: "text/plain", messageBody: "Not Found", statusCode: "404" } as const;

/** TLS policy of a created HTTPS listener: TLS 1.3 and 1.2 only. */
export const SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

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
    // Validate and render before registering anything, so bad arguments leave no half-made component.
    assertNoProblems(ALB_CANARY_TYPE, albCanaryProblems(args));
    const d = ALB_DEFAULTS;
    const port = args.port ?? d.port;
    const protocol = args.protocol ?? d.protocol;
    const targetType = args.targetType ?? d.targetType;
    const healthCheck = {
      enabled: true,
      path: args.healthCheckPath ?? d.healthCheckPath,
      protocol,
      port: "traffic-port",
      healthyThreshold: args.healthCheckHealthyThreshold ?? d.healthCheckHealthyThreshold,
      unhealthyThreshold: args.healthCheckUnhealthyThreshold ?? d.healthCheckUnhealthyThreshold,
      interval: args.healthCheckInterval ?? d.healthCheckInterval,
      timeout: args.healthCheckTimeout ?? d.healthCheckTimeout,
      matcher: args.healthCheckMatcher ?? d.healthCheckMatcher,
    };
    const alarmsEnabled = args.alarmsEnabled ?? d.alarmsEnabled;
    const max5xx = args.alarmMax5xxPerMinute ?? d.alarmMax5xxPerMinute;
    const maxResponseTime = args.alarmMaxResponseTimeSeconds ?? d.alarmMaxResponseTimeSeconds;
    const evaluationPeriods = args.alarmEvaluationPeriods ?? d.alarmEvaluationPeriods;
    const rendered = renderListenerRules(args.traffic, { priority: args.priority ?? d.priority, pathPatterns: args.pathPatterns ?? d.pathPatterns, hostHeaders: args.hostHeaders ?? d.hostHeaders });
    super(ALB_CANARY_TYPE, name, {}, opts);

    // Derive. Physical names hash the stack, so stacks sharing an account never collide, and the
    // settings that force a replacement, so the replacement can exist beside the old resource.
    const seed = [pulumi.getProject(), pulumi.getStack(), name];
    const tags = { ...(args.tags ?? d.tags) };
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
