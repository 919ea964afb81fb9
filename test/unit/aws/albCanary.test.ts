import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { AlbCanary, AlbCanaryArgs, loadBalancerName, physicalName } from "../../../components/aws";
import { Stickiness, TrafficSpec } from "../../../components/routing";
import { Registered, registrations, resetRegistrations, unwrap } from "../../helpers/pulumi";

const T = {
  component: "canary:aws:AlbCanary",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  listener: "aws:lb/listener:Listener",
  rule: "aws:lb/listenerRule:ListenerRule",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
} as const;

const VPC = "vpc-0abc1234";
const SUBNETS = ["subnet-0abc1234", "subnet-0abc1235"];
const LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2";
const CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0b7e1c2d-1111-2222-3333-444455556666";
const TOPIC = "arn:aws:sns:us-east-1:123456789012:oncall";
const TAGS = { team: "payments", environment: "dev" };

const sticky: Stickiness = { enabled: true, durationSeconds: 600, hashKey: { kind: "header", name: "x-user-id" } };

function traffic(canaryWeight: number, extra: Partial<TrafficSpec> = {}): TrafficSpec {
  return {
    hasCanary: true,
    canaryWeight,
    override: { kind: "header", name: "x-canary", value: "true" },
    segments: [
      { name: "employees", match: { kind: "header", name: "x-employee", value: "true" }, weight: 100 },
      { name: "beta", match: { kind: "cookie", name: "beta", value: "1" }, weight: 50 },
    ],
    stickiness: sticky,
    ...extra,
  };
}

const noCanary: TrafficSpec = { hasCanary: false, canaryWeight: 0, override: { kind: "header", name: "x-canary", value: "true" }, segments: [], stickiness: sticky };

function created(canaryWeight: number, extra: Partial<AlbCanaryArgs> = {}): AlbCanaryArgs {
  return { traffic: traffic(canaryWeight), vpcId: VPC, subnetIds: SUBNETS, port: 8080, tags: TAGS, ...extra };
}

/** The mock provider's ARN of a child (see test/helpers/pulumi.ts). */
const mockArn = (kind: string, name: string) => `arn:aws:mock:us-east-1:123456789012:${kind}/${name}`;

/** This component's registrations (other test files share the process), sorted by type and name. */
async function tree(name: string): Promise<Registered[]> {
  const types: readonly string[] = Object.values(T);
  return (await registrations())
    .filter((r) => types.includes(r.type) && (r.name === name || r.name.startsWith(`${name}-`)))
    .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}

async function shape(name: string): Promise<Array<[string, string]>> {
  return (await tree(name)).map((r) => [r.type, r.name]);
}

async function inputsOf(name: string, type: string, child: string): Promise<unknown> {
  const found = (await tree(name)).filter((r) => r.type === type && r.name === child);
  assert.equal(found.length, 1, `expected one ${type} ${child}, got ${found.length}`);
  return found[0]!.inputs;
}

const rulesOf = async (name: string) => (await tree(name)).filter((r) => r.type === T.rule).sort((a, b) => a.inputs.priority - b.inputs.priority);

/** The registered inputs of one listener rule. */
function rule(name: string, priority: number, listenerArn: string, match: unknown, canary: number | undefined, stickyEnabled: boolean, opts: { paths?: string[]; tags?: object; duration?: number } = {}) {
  const targetGroups = [{ arn: mockArn("TargetGroup", `${name}-stable-tg`), weight: canary === undefined ? 100 : 100 - canary }];
  if (canary !== undefined) targetGroups.push({ arn: mockArn("TargetGroup", `${name}-canary-tg`), weight: canary });
  return {
    listenerArn,
    priority,
    conditions: [{ pathPattern: { values: opts.paths ?? ["/*"] } }, ...(match ? [match] : [])],
    actions: [{ type: "forward", forward: { targetGroups, stickiness: { enabled: stickyEnabled, duration: opts.duration ?? 600 } } }],
    tags: opts.tags ?? TAGS,
  };
}

const OVERRIDE = { httpHeader: { httpHeaderName: "x-canary", values: ["true"] } };
const EMPLOYEES = { httpHeader: { httpHeaderName: "x-employee", values: ["true"] } };
const BETA = { httpHeader: { httpHeaderName: "Cookie", values: ["*beta=1*"] } };

/** Every child of a component that created its ALB, with alarms. */
function createdShape(name: string, ruleNames: string[], opts: { securityGroup?: boolean; alarms?: boolean } = {}): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    [T.alarm, `${name}-canary-5xx`],
    [T.alarm, `${name}-canary-latency`],
    [T.securityGroup, `${name}-alb-sg`],
    [T.listener, `${name}-listener`],
    ...ruleNames.map((r): [string, string] => [T.rule, `${name}-rule-${r}`]).sort((a, b) => a[1].localeCompare(b[1])),
    [T.loadBalancer, `${name}-alb`],
    [T.targetGroup, `${name}-canary-tg`],
    [T.targetGroup, `${name}-stable-tg`],
    [T.component, name],
  ];
  return rows.filter(([type]) => (opts.securityGroup ?? true) || type !== T.securityGroup).filter(([type]) => (opts.alarms ?? true) || type !== T.alarm);
}

describe("aws: AlbCanary", () => {
  beforeEach(() => resetRegistrations());

  describe("at weights 0, 5, 50 and 100 with segments and stickiness", () => {
    for (const w of [0, 5, 50, 100]) {
      it(`weight ${w}: children, rules in priority order, applied weight`, async () => {
        const name = `w${w}`;
        const alb = new AlbCanary(name, created(w));
        assert.deepStrictEqual(await shape(name), createdShape(name, ["override", "employees", "beta", "default"]));
        const listenerArn = mockArn("Listener", `${name}-listener`);
        // Stickiness only on splits with both sides above 0; the canary stays in every forward, even at 0.
        assert.deepStrictEqual(
          (await rulesOf(name)).map((r) => [r.name, r.inputs]),
          [
            [`${name}-rule-override`, rule(name, 100, listenerArn, OVERRIDE, 100, false)],
            [`${name}-rule-employees`, rule(name, 101, listenerArn, EMPLOYEES, 100, false)],
            [`${name}-rule-beta`, rule(name, 102, listenerArn, BETA, 50, true)],
            [`${name}-rule-default`, rule(name, 103, listenerArn, undefined, w, w > 0 && w < 100)],
          ],
        );
        assert.equal(await unwrap(alb.appliedCanaryWeight), w);
        assert.deepStrictEqual(
          alb.renderedRules.map((r) => [r.name, r.priority]),
          [["override", 100], ["employees", 101], ["beta", 102], ["default", 103]],
        );
        assert.equal(alb.listenerRules.length, 4);
        assert.equal(alb.defaultRule, alb.listenerRules[3]);
      });
    }
  });

  it("creates the target groups, ALB, security group, HTTP listener and alarms with exact inputs", async () => {
    const name = "checkout";
    const alb = new AlbCanary(name, created(5, { alarmActions: [TOPIC] }));
    const tg = (physical: string) => ({
      name: physical,
      vpcId: VPC,
      port: 8080,
      protocol: "HTTP",
      targetType: "ip",
      healthCheck: { enabled: true, path: "/health", protocol: "HTTP", port: "traffic-port", healthyThreshold: 2, unhealthyThreshold: 3, interval: 10, timeout: 5, matcher: "200-399" },
      tags: TAGS,
    });
    assert.deepStrictEqual(await inputsOf(name, T.targetGroup, "checkout-stable-tg"), tg("checkout-stable-eb552fd"));
    assert.deepStrictEqual(await inputsOf(name, T.targetGroup, "checkout-canary-tg"), tg("checkout-canary-eb552fd"));
    assert.deepStrictEqual(await inputsOf(name, T.securityGroup, "checkout-alb-sg"), {
      description: "ALB of the checkout canary",
      vpcId: VPC,
      ingress: [{ description: "HTTP from clients", protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"] }],
      egress: [{ description: "to targets and their health checks", protocol: "tcp", fromPort: 8080, toPort: 8080, cidrBlocks: ["0.0.0.0/0"] }],
      tags: TAGS,
    });
    assert.deepStrictEqual(await inputsOf(name, T.loadBalancer, "checkout-alb"), {
      name: "checkout-alb-d63a7a0",
      loadBalancerType: "application",
      internal: false,
      subnets: SUBNETS,
      securityGroups: ["checkout-alb-sg-id"],
      dropInvalidHeaderFields: true,
      tags: TAGS,
    });
    assert.deepStrictEqual(await inputsOf(name, T.listener, "checkout-listener"), {
      loadBalancerArn: mockArn("LoadBalancer", "checkout-alb"),
      port: 80,
      protocol: "HTTP",
      defaultActions: [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", messageBody: "Not Found", statusCode: "404" } }],
      tags: TAGS,
    });
    const alarm = (physical: string, description: string, metricName: string, statistic: string, threshold: number) => ({
      name: physical,
      alarmDescription: description,
      namespace: "AWS/ApplicationELB",
      metricName,
      statistic,
      threshold,
      dimensions: { LoadBalancer: "checkout-alb", TargetGroup: "targetgroup/checkout-canary-tg" },
      period: 60,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [TOPIC],
      okActions: [TOPIC],
      tags: TAGS,
    });
    assert.deepStrictEqual(
      await inputsOf(name, T.alarm, "checkout-canary-5xx"),
      alarm("checkout-canary-5xx-e25efe7", "checkout canary: at least 10 5xx responses from canary targets per minute for 2 minute(s)", "HTTPCode_Target_5XX_Count", "Sum", 10),
    );
    assert.deepStrictEqual(
      await inputsOf(name, T.alarm, "checkout-canary-latency"),
      alarm("checkout-canary-latency-e25efe7", "checkout canary: average target response time at least 1 s for 2 minute(s)", "TargetResponseTime", "Average", 1),
    );
    assert.equal(await unwrap(alb.listenerArn), mockArn("Listener", "checkout-listener"));
    assert.equal(await unwrap(alb.loadBalancer!.dnsName), "checkout-alb.elb.example.com");
  });

  it("puts the rules on a given listener and creates no ALB, security group or listener", async () => {
    const name = "given";
    const alb = new AlbCanary(name, { traffic: traffic(5), vpcId: VPC, listenerArn: LISTENER, priority: 2000, pathPatterns: ["/api/*"], tags: TAGS });
    assert.deepStrictEqual(await shape(name), [
      [T.alarm, "given-canary-5xx"],
      [T.alarm, "given-canary-latency"],
      [T.rule, "given-rule-beta"],
      [T.rule, "given-rule-default"],
      [T.rule, "given-rule-employees"],
      [T.rule, "given-rule-override"],
      [T.targetGroup, "given-canary-tg"],
      [T.targetGroup, "given-stable-tg"],
      [T.component, "given"],
    ]);
    const paths = ["/api/*"];
    assert.deepStrictEqual(
      (await rulesOf(name)).map((r) => r.inputs),
      [
        rule(name, 2000, LISTENER, OVERRIDE, 100, false, { paths }),
        rule(name, 2001, LISTENER, EMPLOYEES, 100, false, { paths }),
        rule(name, 2002, LISTENER, BETA, 50, true, { paths }),
        rule(name, 2003, LISTENER, undefined, 5, true, { paths }),
      ],
    );
    // The LoadBalancer dimension comes from the given listener's ARN.
    const alarm = (await inputsOf(name, T.alarm, "given-canary-5xx")) as { dimensions: unknown };
    assert.deepStrictEqual(alarm.dimensions, { LoadBalancer: "app/shared/50dc6c495c0c9188", TargetGroup: "targetgroup/given-canary-tg" });
    assert.equal(await unwrap(alb.listenerArn), LISTENER);
    assert.equal(alb.loadBalancer, undefined);
    assert.equal(alb.listener, undefined);
    assert.equal(alb.securityGroup, undefined);
    assert.equal(await unwrap(alb.appliedCanaryWeight), 5);
  });

  it("scopes every rule by path and host, with the route's header condition last", async () => {
    const name = "scoped";
    new AlbCanary(name, { traffic: traffic(5, { segments: [] }), vpcId: VPC, listenerArn: LISTENER, pathPatterns: ["/a/*", "/b"], hostHeaders: ["shop.example.com"] });
    const scope = [{ pathPattern: { values: ["/a/*", "/b"] } }, { hostHeader: { values: ["shop.example.com"] } }];
    assert.deepStrictEqual(
      (await rulesOf(name)).map((r) => [r.inputs.priority, r.inputs.conditions]),
      [
        [100, [...scope, OVERRIDE]],
        [101, scope],
      ],
    );
  });

  it("without a canary: both target groups, only the default rule, all to stable", async () => {
    const name = "solo";
    const alb = new AlbCanary(name, { traffic: noCanary, vpcId: VPC, listenerArn: LISTENER, tags: TAGS });
    assert.deepStrictEqual(await shape(name), [
      [T.alarm, "solo-canary-5xx"],
      [T.alarm, "solo-canary-latency"],
      [T.rule, "solo-rule-default"],
      [T.targetGroup, "solo-canary-tg"],
      [T.targetGroup, "solo-stable-tg"],
      [T.component, "solo"],
    ]);
    assert.deepStrictEqual((await rulesOf(name)).map((r) => r.inputs), [rule(name, 100, LISTENER, undefined, undefined, false)]);
    assert.equal(await unwrap(alb.appliedCanaryWeight), 0);
  });

  it("creates an HTTPS listener on 443 with the certificate, and opens 443", async () => {
    const name = "tls";
    new AlbCanary(name, created(5, { certificateArn: CERT, port: 80, tags: undefined }));
    assert.deepStrictEqual(await inputsOf(name, T.listener, "tls-listener"), {
      loadBalancerArn: mockArn("LoadBalancer", "tls-alb"),
      port: 443,
      protocol: "HTTPS",
      certificateArn: CERT,
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      defaultActions: [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", messageBody: "Not Found", statusCode: "404" } }],
      tags: {},
    });
    const sg = (await inputsOf(name, T.securityGroup, "tls-alb-sg")) as { description: string; ingress: unknown; egress: unknown };
    assert.deepStrictEqual([sg.description, sg.ingress, sg.egress], [
      "ALB of the tls canary",
      [{ description: "HTTPS from clients", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }],
      [{ description: "to targets and their health checks", protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"] }],
    ]);
  });

  it("uses given security groups instead of creating one; internal ALB", async () => {
    const name = "ownsg";
    const alb = new AlbCanary(name, created(5, { securityGroupIds: ["sg-0abc1234"], internal: true }));
    assert.deepStrictEqual(await shape(name), createdShape(name, ["override", "employees", "beta", "default"], { securityGroup: false }));
    const lb = (await inputsOf(name, T.loadBalancer, "ownsg-alb")) as { securityGroups: unknown; internal: unknown; name: string };
    assert.deepStrictEqual([lb.securityGroups, lb.internal, lb.name], [["sg-0abc1234"], true, "ownsg-alb-ec28fd8"]);
    assert.equal(alb.securityGroup, undefined);
  });

  it("takes health check, alarm thresholds and target settings from the args", async () => {
    const name = "tuned";
    new AlbCanary(name, {
      traffic: traffic(5),
      vpcId: VPC,
      listenerArn: LISTENER,
      port: 443,
      protocol: "HTTPS",
      targetType: "instance",
      healthCheckPath: "/ready",
      healthCheckHealthyThreshold: 3,
      healthCheckUnhealthyThreshold: 5,
      healthCheckInterval: 30,
      healthCheckTimeout: 10,
      healthCheckMatcher: "200",
      alarmMax5xxPerMinute: 25,
      alarmMaxResponseTimeSeconds: 0.25,
      alarmEvaluationPeriods: 3,
    });
    const tg = (await inputsOf(name, T.targetGroup, "tuned-canary-tg")) as Record<string, unknown>;
    assert.deepStrictEqual([tg.name, tg.port, tg.protocol, tg.targetType, tg.healthCheck, tg.tags], [
      "tuned-canary-03b6d14",
      443,
      "HTTPS",
      "instance",
      { enabled: true, path: "/ready", protocol: "HTTPS", port: "traffic-port", healthyThreshold: 3, unhealthyThreshold: 5, interval: 30, timeout: 10, matcher: "200" },
      {},
    ]);
    const pick = (a: Record<string, unknown>) => [a.threshold, a.evaluationPeriods, a.datapointsToAlarm, a.alarmDescription, a.alarmActions];
    assert.deepStrictEqual(pick((await inputsOf(name, T.alarm, "tuned-canary-5xx")) as Record<string, unknown>), [25, 3, 3, "tuned canary: at least 25 5xx responses from canary targets per minute for 3 minute(s)", []]);
    assert.deepStrictEqual(pick((await inputsOf(name, T.alarm, "tuned-canary-latency")) as Record<string, unknown>), [0.25, 3, 3, "tuned canary: average target response time at least 0.25 s for 3 minute(s)", []]);
  });

  it("creates no alarms when they are disabled", async () => {
    const name = "quiet";
    const alb = new AlbCanary(name, created(5, { alarmsEnabled: false }));
    assert.deepStrictEqual(await shape(name), createdShape(name, ["override", "employees", "beta", "default"], { alarms: false }));
    assert.equal(alb.errorAlarm, undefined);
    assert.equal(alb.latencyAlarm, undefined);
  });

  it("keeps target group and load balancer names valid for a 63-character service name", async () => {
    const name = "payments-gateway-service-eu-west-with-a-very-long-name-abcdefgh";
    assert.equal(name.length, 63);
    new AlbCanary(name, created(5));
    const names = (await tree(name)).filter((r) => r.type === T.targetGroup || r.type === T.loadBalancer).map((r) => r.inputs.name as string);
    assert.deepStrictEqual(names, ["payments-gateway-ser-alb-37b33f2", "payments-gateway-canary-edc247a", "payments-gateway-stable-edc247a"]);
    for (const n of names) assert.match(n, /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/);
  });

  it("hashes project, stack, name and the settings that replace a target group into the physical names", async () => {
    new AlbCanary("rn", created(5, { port: 9090 }));
    const seed = ["pulumi-canary", "test", "rn"];
    const inputs = async (type: string, child: string) => (await inputsOf("rn", type, child)) as { name: string };
    // A changed port, protocol, target type or VPC gives a new name, so the replacement target
    // group can be created before the old one is deleted; another stack gives another name.
    assert.equal((await inputs(T.targetGroup, "rn-canary-tg")).name, physicalName("rn", "canary", [...seed, VPC, "9090", "HTTP", "ip"], 32));
    assert.notEqual(physicalName("rn", "canary", [...seed, VPC, "9090", "HTTP", "ip"], 32), physicalName("rn", "canary", [...seed, VPC, "8080", "HTTP", "ip"], 32));
    assert.equal((await inputs(T.loadBalancer, "rn-alb")).name, loadBalancerName("rn", [...seed, "internet-facing"]));
    assert.equal((await inputs(T.alarm, "rn-canary-5xx")).name, physicalName("rn", "canary-5xx", seed, 255));
    assert.equal((await inputs(T.alarm, "rn-canary-latency")).name, physicalName("rn", "canary-latency", seed, 255));
  });

  describe("validates before registering anything, the component included", () => {
    const errors: Array<[string, AlbCanaryArgs, string[]]> = [
      ["no listener and no subnets", { traffic: traffic(5), vpcId: VPC }, ["subnetIds: is required when no listenerArn is given (an ALB is created)"]],
      ["a listener and subnets", { traffic: traffic(5), vpcId: VPC, listenerArn: LISTENER, subnetIds: SUBNETS }, ['subnetIds: only applies to a created ALB; the listener given by listenerArn belongs to an existing one, got ["subnet-0abc1234","subnet-0abc1235"]']],
      [
        "a target group ARN as the listener",
        { traffic: traffic(5), vpcId: VPC, listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/50dc6c495c0c9188" },
        ['listenerArn: must be an ALB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>), got "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/50dc6c49...'],
      ],
      ["health check timeout not below interval", created(5, { healthCheckTimeout: 10 }), ["healthCheckTimeout: must be less than the health check interval (10), got 10"]],
      ["port 0", created(5, { port: 0 }), ["port: must be an integer from 1 to 65535, got 0"]],
      ["evaluation periods 0", created(5, { alarmEvaluationPeriods: 0 }), ["alarmEvaluationPeriods: must be an integer from 1 to 60, got 0"]],
      ["a health check path without /", created(5, { healthCheckPath: "health" }), ['healthCheckPath: must be a path starting with / (visible ASCII, no spaces), got "health"']],
      [
        "too many condition values",
        created(5, { pathPatterns: ["/a", "/b", "/c"], hostHeaders: ["a.example.com", "b.example.com"] }),
        ['hostHeaders: together with pathPatterns must have at most 4 values (ALB allows 5 per rule and the override and segment rules add one); pathPatterns has 3, got ["a.example.com","b.example.com"]'],
      ],
      // What the component used to drop silently: ALB has no mirroring.
      ["a mirror", created(5, { traffic: traffic(5, { mirrorPercent: 10 }) }), ["traffic.mirrorPercent: aws does not support mirroring: ALB listener rules cannot copy requests; platforms that do: istio, gateway-api"]],
      ["a reserved tag key", created(5, { tags: { "aws:team": "x" } }), ['tags: key must not start with aws: (reserved by AWS), got "aws:team"']],
    ];
    for (const [title, args, lines] of errors) {
      it(`refuses ${title}`, async () => {
        const name = `bad-${title.replace(/[^a-z0-9]+/g, "-")}`;
        assert.throws(() => new AlbCanary(name, args), { name: "ComponentArgsError", message: ["canary:aws:AlbCanary: invalid arguments", ...lines].join("\n") });
        assert.deepStrictEqual(await shape(name), []);
      });
    }
  });
});
