import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { CanaryConfigError, parseConfig } from "../../../infra/config";
import { program } from "../../../infra/program";
import { registrations, resetRegistrations, setConfig, unwrap } from "../../helpers/pulumi";
import { stackConfig } from "../../helpers/stackConfig";

const AWS_TYPES = [
  "canary:aws:AlbCanary",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:lb/targetGroup:TargetGroup",
  "aws:lb/loadBalancer:LoadBalancer",
  "aws:lb/listener:Listener",
  "aws:lb/listenerRule:ListenerRule",
  "aws:cloudwatch/metricAlarm:MetricAlarm",
];

/** The shared outputs and the aws platform's; other layers may add their own beside them. */
const OUTPUT_KEYS = [
  "service",
  "platform",
  "canaryWeight",
  "stableWeight",
  "stableVersion",
  "canaryVersion",
  "stableTargetGroupArn",
  "canaryTargetGroupArn",
  "listenerRuleArns",
  "listenerArn",
  "loadBalancerDnsName",
  "alarmNames",
  "appliedCanaryWeight",
];

const LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2";
const mockArn = (kind: string, name: string) => `arn:aws:mock:us-east-1:123456789012:${kind}/${name}`;

/** The dev stack's config (Pulumi.yaml + Pulumi.dev.yaml) with some keys replaced or removed (undefined). */
function dev(changes: Record<string, unknown> = {}): Record<string, unknown> {
  const raw: Record<string, unknown> = stackConfig("dev");
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete raw[k];
    else raw[k] = v;
  }
  return raw;
}

/** The dev stack's canary:aws block with some fields replaced or removed (undefined). */
function devBlock(changes: Record<string, unknown>): Record<string, unknown> {
  const block = JSON.parse(stackConfig("dev")["canary:aws"]!) as Record<string, unknown>;
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete block[k];
    else block[k] = v;
  }
  return block;
}

async function resolved(outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const entries = await Promise.all(OUTPUT_KEYS.filter((k) => k in outputs).map(async (k) => [k, await unwrap(outputs[k])] as const));
  return Object.fromEntries(entries);
}

async function awsShape(): Promise<Array<[string, string]>> {
  return (await registrations())
    .filter((r) => AWS_TYPES.includes(r.type) && (r.name === "checkout" || r.name.startsWith("checkout-")))
    .map((r): [string, string] => [r.type, r.name])
    .sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
}

const rules = (names: string[], first = 100) =>
  names.map((name, i) => ({ name, priority: first + i, arn: mockArn("ListenerRule", `checkout-rule-${name}`) }));

const COMMON = { service: "checkout", platform: "aws", stableVersion: "v2.4.1" };
const TGS = { stableTargetGroupArn: mockArn("TargetGroup", "checkout-stable-tg"), canaryTargetGroupArn: mockArn("TargetGroup", "checkout-canary-tg") };
const ALARMS = { alarmNames: ["checkout-canary-5xx-e25efe7", "checkout-canary-latency-e25efe7"] };

describe("program on aws", () => {
  beforeEach(() => resetRegistrations());

  it("the dev stack (Pulumi.dev.yaml): a created ALB, canary at 5% with segments: outputs and children", async () => {
    setConfig(stackConfig("dev"));
    assert.deepStrictEqual(await resolved(program()), {
      ...COMMON,
      canaryWeight: 5,
      stableWeight: 95,
      canaryVersion: "v2.5.0",
      ...TGS,
      listenerRuleArns: rules(["override", "employees", "beta", "default"]),
      listenerArn: mockArn("Listener", "checkout-listener"),
      loadBalancerDnsName: "checkout-alb.elb.example.com",
      ...ALARMS,
      appliedCanaryWeight: 5,
    });
    assert.deepStrictEqual(await awsShape(), [
      ["aws:cloudwatch/metricAlarm:MetricAlarm", "checkout-canary-5xx"],
      ["aws:cloudwatch/metricAlarm:MetricAlarm", "checkout-canary-latency"],
      ["aws:ec2/securityGroup:SecurityGroup", "checkout-alb-sg"],
      ["aws:lb/listener:Listener", "checkout-listener"],
      ["aws:lb/listenerRule:ListenerRule", "checkout-rule-beta"],
      ["aws:lb/listenerRule:ListenerRule", "checkout-rule-default"],
      ["aws:lb/listenerRule:ListenerRule", "checkout-rule-employees"],
      ["aws:lb/listenerRule:ListenerRule", "checkout-rule-override"],
      ["aws:lb/loadBalancer:LoadBalancer", "checkout-alb"],
      ["aws:lb/targetGroup:TargetGroup", "checkout-canary-tg"],
      ["aws:lb/targetGroup:TargetGroup", "checkout-stable-tg"],
      ["canary:aws:AlbCanary", "checkout"],
    ]);
  });

  for (const weight of [0, 50, 100]) {
    it(`the dev stack at weight ${weight}: the applied weight is read back from the default rule`, async () => {
      setConfig(dev({ "canary:weight": weight }));
      const out = await resolved(program());
      assert.deepStrictEqual([out.canaryWeight, out.stableWeight, out.appliedCanaryWeight], [weight, 100 - weight, weight]);
    });
  }

  it("a given listener: rules on it, no ALB and no DNS name output", async () => {
    setConfig(dev({ "canary:aws": devBlock({ subnetIds: undefined, listenerArn: LISTENER, priority: 500 }) }));
    assert.deepStrictEqual(await resolved(program()), {
      ...COMMON,
      canaryWeight: 5,
      stableWeight: 95,
      canaryVersion: "v2.5.0",
      ...TGS,
      listenerRuleArns: rules(["override", "employees", "beta", "default"], 500),
      listenerArn: LISTENER,
      ...ALARMS,
      appliedCanaryWeight: 5,
    });
    assert.deepStrictEqual(
      (await awsShape()).filter(([type]) => ["aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener", "aws:ec2/securityGroup:SecurityGroup"].includes(type)),
      [],
    );
  });

  it("no canary configured: only the default rule, applied weight 0", async () => {
    setConfig(dev({ "canary:canary": undefined, "canary:weight": 0, "canary:segments": [], "canary:aws": devBlock({ alarms: { enabled: false } }) }));
    assert.deepStrictEqual(await resolved(program()), {
      ...COMMON,
      canaryWeight: 0,
      stableWeight: 100,
      canaryVersion: null,
      ...TGS,
      listenerRuleArns: rules(["default"]),
      listenerArn: mockArn("Listener", "checkout-listener"),
      loadBalancerDnsName: "checkout-alb.elb.example.com",
      alarmNames: [],
      appliedCanaryWeight: 0,
    });
    const targetGroups = (await awsShape()).filter(([type]) => type === "aws:lb/targetGroup:TargetGroup");
    assert.deepStrictEqual(targetGroups, [
      ["aws:lb/targetGroup:TargetGroup", "checkout-canary-tg"],
      ["aws:lb/targetGroup:TargetGroup", "checkout-stable-tg"],
    ]);
  });

  it("a segment value with an ALB wildcard is refused, naming the key, before anything is registered", async () => {
    setConfig(dev({ "canary:segments": [{ name: "beta", match: { type: "cookie", name: "beta", value: "1*" }, weight: 50 }] }));
    assert.throws(() => program(), { name: "CanaryConfigError", message: 'canary:segments[0].match.value: cannot contain * or ? on ALB (ALB treats them as wildcards), got "1*"' });
    assert.deepStrictEqual(await registrations(), []);
  });

  describe("canary:aws block validation", () => {
    const errors: Array<[string, Record<string, unknown>, string[]]> = [
      ["4 path patterns", devBlock({ pathPatterns: ["/a", "/b", "/c", "/d"] }), ['canary:aws.pathPatterns: must have at most 3 values (ALB\'s limit per condition), got ["/a","/b","/c","/d"]']],
      ["4 host headers", devBlock({ hostHeaders: ["a.example.com", "b.example.com", "c.example.com", "d.example.com"] }), ['canary:aws.hostHeaders: must have at most 3 values (ALB\'s limit per condition), got ["a.example.com","b.example.com","c.example.com","d.example.com"]']],
      [
        "5 path and host values",
        devBlock({ pathPatterns: ["/a", "/b", "/c"], hostHeaders: ["a.example.com", "b.example.com"] }),
        ['canary:aws.hostHeaders: together with pathPatterns must have at most 4 values (ALB allows 5 per rule and the override and segment rules add one); pathPatterns has 3, got ["a.example.com","b.example.com"]'],
      ],
      [
        "a listener with subnets, security groups and internal",
        devBlock({ listenerArn: LISTENER, securityGroupIds: ["sg-0abc1234"], internal: true }),
        [
          'canary:aws.subnetIds: only applies to a created ALB; the listener given by listenerArn belongs to an existing one, got ["subnet-0a1b2c3d4e5f60001","subnet-0a1b2c3d4e5f60002"]',
          'canary:aws.securityGroupIds: only applies to a created ALB; the listener given by listenerArn belongs to an existing one, got ["sg-0abc1234"]',
          "canary:aws.internal: only applies to a created ALB; the listener given by listenerArn belongs to an existing one, got true",
        ],
      ],
      ["a health check timeout not below the interval", devBlock({ healthCheck: { interval: 10, timeout: 10 } }), ["canary:aws.healthCheck.timeout: must be less than the health check interval (10), got 10"]],
    ];
    for (const [title, block, messages] of errors) {
      it(`refuses ${title}`, () => {
        const raw = Object.fromEntries(Object.entries({ ...stackConfig("dev"), "canary:aws": JSON.stringify(block) }));
        assert.throws(
          () => parseConfig(raw),
          (e: unknown) => {
            assert.ok(e instanceof CanaryConfigError);
            assert.deepStrictEqual(e.message.split("\n"), messages);
            return true;
          },
        );
      });
    }

    it("accepts internal on a created ALB", () => {
      const raw = { ...stackConfig("dev"), "canary:aws": JSON.stringify(devBlock({ internal: true })) };
      assert.equal((parseConfig(raw).block as { internal?: boolean }).internal, true);
    });
  });
});
