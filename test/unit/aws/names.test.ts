import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { AlbCanaryError, ELB_NAME_MAX, loadBalancerArnSuffix, loadBalancerName, physicalName, targetGroupArnSuffix } from "../../../components/aws";

/** AWS's rule for target group and load balancer names. */
const ELB_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const LONG = "payments-gateway-service-eu-west-with-a-very-long-name-abcdefghi";

describe("aws: physicalName", () => {
  const table: Array<[string, string, string, string[], number, string]> = [
    ["short base kept whole", "checkout", "canary", ["p", "s", "checkout"], 32, "checkout-canary-4dc6767"],
    ["same seed, other role", "checkout", "stable", ["p", "s", "checkout"], 32, "checkout-stable-4dc6767"],
    ["64-char base cut to fit 32, trailing hyphen dropped", LONG, "canary", ["p", "s", LONG], 32, "payments-gateway-canary-0b6d0ab"],
    ["same cut base, other full name: other hash", LONG.replace("-eu-", "-us-"), "canary", ["p", "s", LONG.replace("-eu-", "-us-")], 32, "payments-gateway-canary-aaa551d"],
    ["base cut to exactly 32", "abcdefghijklmnopq-rstu", "canary", ["x"], 32, "abcdefghijklmnopq-canary-2d71164"],
    ["lower-cased, invalid characters become single hyphens", "Checkout_API..v2", "stable", ["x"], 32, "checkout-api-v2-stable-2d71164"],
    ["nothing usable in the base", "---", "canary", ["x"], 32, "canary-canary-2d71164"],
    ["alarm names have room", "checkout", "canary-5xx", ["p", "s", "checkout"], 255, "checkout-canary-5xx-4dc6767"],
  ];
  for (const [title, base, role, seed, max, expected] of table) {
    it(title, () => {
      const name = physicalName(base, role, seed, max);
      assert.equal(name, expected);
      assert.ok(name.length <= max, `${name} is ${name.length} characters`);
    });
  }

  it("keeps every target group name valid for service names of 1 to 63 characters", () => {
    for (let n = 1; n <= 63; n++) {
      for (const role of ["stable", "canary"]) {
        // Alternating letters and hyphens, so every cut position is tried, including on a hyphen.
        const base = "s-".repeat(32).slice(0, n).replace(/-$/, "x");
        const name = physicalName(base, role, ["p", "s"], ELB_NAME_MAX);
        assert.match(name, ELB_NAME, `length ${n}: ${name}`);
      }
    }
  });

  it("refuses a role that leaves no room", () => {
    assert.throws(() => physicalName("x", "r".repeat(23), [], 32), new AlbCanaryError(`physical name role "${"r".repeat(23)}" leaves no room for a base in 32 characters`));
    assert.throws(() => physicalName("x", "--", [], 32), new AlbCanaryError('physical name role must contain a letter or digit, got "--"'));
  });
});

describe("aws: loadBalancerName", () => {
  const table: Array<[string, string, string]> = [
    ["plain", "checkout", "checkout-alb-2d71164"],
    ["internal- prefix is refused by AWS, shortened", "internal-api", "int-api-alb-2d71164"],
    ["long base cut", LONG, "payments-gateway-ser-alb-2d71164"],
  ];
  for (const [title, base, expected] of table) {
    it(title, () => {
      const name = loadBalancerName(base, ["x"]);
      assert.equal(name, expected);
      assert.match(name, ELB_NAME);
    });
  }
});

describe("aws: ARN suffixes (CloudWatch dimensions)", () => {
  const LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";
  const LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";
  const TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-canary-4dc6767/73e2d6bc24d8a067";
  const lbTable: Array<[string, string, string]> = [
    ["load balancer ARN", LB, "app/web/50dc6c495c0c9188"],
    ["listener ARN", LISTENER, "app/web/50dc6c495c0c9188"],
    ["GovCloud partition", LB.replace("arn:aws:", "arn:aws-us-gov:"), "app/web/50dc6c495c0c9188"],
  ];
  for (const [title, arn, expected] of lbTable) {
    it(`LoadBalancer from a ${title}`, () => assert.equal(loadBalancerArnSuffix(arn), expected));
  }
  it("TargetGroup from a target group ARN", () => assert.equal(targetGroupArnSuffix(TG), "targetgroup/checkout-canary-4dc6767/73e2d6bc24d8a067"));

  const errors: Array<[string, () => string, string]> = [
    ["a target group ARN as a load balancer", () => loadBalancerArnSuffix(TG), `expected a load balancer or listener ARN, got ${JSON.stringify(TG)}`],
    ["a listener ARN as a target group", () => targetGroupArnSuffix(LISTENER), `expected a target group ARN, got ${JSON.stringify(LISTENER)}`],
    ["a non-ARN", () => loadBalancerArnSuffix("app/web/1"), 'load balancer or listener ARN must be an ARN like arn:aws:elasticloadbalancing:<region>:<account>:<resource>, got "app/web/1"'],
    ["an ARN without a resource", () => targetGroupArnSuffix("arn:aws:elasticloadbalancing:us-east-1:123456789012:"), 'target group ARN must be an ARN like arn:aws:elasticloadbalancing:<region>:<account>:<resource>, got "arn:aws:elasticloadbalancing:us-east-1:123456789012:"'],
  ];
  for (const [title, fn, message] of errors) {
    it(`refuses ${title}`, () => assert.throws(fn, new AlbCanaryError(message)));
  }
});
