import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { CanaryConfigError, parseConfig } from "../../../infra/config";
import { program } from "../../../infra/program";
import { registrations, resetRegistrations, setConfig } from "../../helpers/pulumi";

/** A minimal valid istio stack (its block is optional) and a minimal aws one. */
const istio = {
  "canary:platform": "istio",
  "canary:service": "checkout",
  "canary:stable": { version: "v1", image: "registry.example.com/checkout:v1" },
};
const aws = {
  "canary:platform": "aws",
  "canary:service": "checkout",
  "canary:stable": { version: "v1", image: "registry.example.com/checkout:v1" },
  "canary:aws": { vpcId: "vpc-0abc1234", listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2" },
};
const canary = { "canary:canary": { version: "v2", image: "registry.example.com/checkout:v2" } };

function raw(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

describe("stack config", () => {
  describe("valid config", () => {
    it("applies every default", () => {
      const c = parseConfig(raw(istio));
      assert.equal(c.weight, 0);
      assert.deepEqual(c.override, { enabled: true, header: "x-canary", value: "true" });
      assert.deepEqual(c.segments, []);
      assert.deepEqual(c.stickiness, { enabled: false, duration: 3600, hashKey: { type: "header", name: "x-user-id" } });
      assert.equal(c.mirror, 0);
      assert.equal(c.canary, undefined);
      assert.deepEqual(c.traffic, {
        hasCanary: false,
        canaryWeight: 0,
        override: { kind: "header", name: "x-canary", value: "true" },
        segments: [],
        stickiness: { enabled: false, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } },
        mirrorPercent: 0,
      });
    });

    it("derives the traffic model from segments, stickiness and mirror, lower-casing header names", () => {
      const c = parseConfig(
        raw({
          ...istio,
          ...canary,
          "canary:weight": "25",
          "canary:override": { header: "X-Canary-Test", value: "yes" },
          "canary:segments": [
            { name: "employees", match: { type: "header", name: "x-employee", value: "true" }, weight: 100 },
            { name: "beta", match: { type: "cookie", name: "beta", value: "1" }, weight: 50 },
          ],
          "canary:stickiness": { enabled: true, hashKey: { type: "cookie", name: "session" } },
          "canary:mirror": "10",
        }),
      );
      assert.deepEqual(c.traffic, {
        hasCanary: true,
        canaryWeight: 25,
        override: { kind: "header", name: "x-canary-test", value: "yes" },
        segments: [
          { name: "employees", match: { kind: "header", name: "x-employee", value: "true" }, weight: 100 },
          { name: "beta", match: { kind: "cookie", name: "beta", value: "1" }, weight: 50 },
        ],
        stickiness: { enabled: true, durationSeconds: 3600, hashKey: { kind: "cookie", name: "session" } },
        mirrorPercent: 10,
      });
    });

    it("turns the override off on a platform without header routing unless it is asked for", () => {
      const c = parseConfig(raw({ ...istio, "canary:platform": "linkerd", "canary:istio": undefined }));
      assert.equal(c.traffic.override, undefined);
    });
  });

  describe("invalid config is refused with the key, the value and what was expected, before any resource", () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["weight above 100", { ...istio, ...canary, "canary:weight": "120" }, "canary:weight: must be an integer from 0 to 100, got 120"],
      ["negative weight", { ...istio, ...canary, "canary:weight": "-5" }, "canary:weight: must be an integer from 0 to 100, got -5"],
      ["fractional weight", { ...istio, ...canary, "canary:weight": "2.5" }, "canary:weight: must be an integer from 0 to 100, got 2.5"],
      ["non-numeric weight", { ...istio, ...canary, "canary:weight": "five" }, 'canary:weight: must be an integer from 0 to 100, got "five"'],
      ["weight without a canary", { ...istio, "canary:weight": "5" }, "canary:weight: must be 0 when no canary is deployed, got 5"],
      ["unknown platform", { ...istio, "canary:platform": "gcloud" }, 'canary:platform: must be one of aws, istio, linkerd, gateway-api, gcp, got "gcloud"'],
      ["missing platform", { ...istio, "canary:platform": undefined }, "canary:platform: is required; one of aws, istio, linkerd, gateway-api, gcp"],
      ["missing service", { ...istio, "canary:service": undefined }, "canary:service: is required"],
      [
        "service not a DNS label",
        { ...istio, "canary:service": "Check_Out" },
        `canary:service: must be a DNS label: 1–63 lowercase letters, digits or '-', starting with a letter and not ending with '-', got "Check_Out"`,
      ],
      ["missing stable image", { ...istio, "canary:stable": { version: "v1" } }, "canary:stable.image: is required"],
      [
        "stable version with a space",
        { ...istio, "canary:stable": { version: "v 1", image: "x:1" } },
        `canary:stable.version: must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "v 1"`,
      ],
      ["unknown key in a block", { ...istio, "canary:stable": { version: "v1", image: "x:1", tag: "latest" } }, "canary:stable.tag: unknown key"],
      [
        "misspelt top-level key",
        { ...istio, "canary:wieght": "5" },
        "canary:wieght: unknown key; known keys: platform, service, stable, canary, weight, override, segments, stickiness, mirror, monitoring, aws, istio, linkerd, gateway, gcp",
      ],
      ["canary version equal to stable", { ...istio, "canary:canary": { version: "v1", image: "x:2" } }, 'canary:canary.version: must differ from the stable version, got "v1"'],
      [
        "segment weight out of range",
        { ...istio, ...canary, "canary:segments": [{ name: "beta", match: { type: "cookie", name: "beta", value: "1" }, weight: 150 }] },
        "canary:segments[0].weight: must be an integer from 0 to 100, got 150",
      ],
      [
        "segment matching on a query string",
        { ...istio, ...canary, "canary:segments": [{ name: "beta", match: { type: "query", name: "beta", value: "1" }, weight: 50 }] },
        'canary:segments[0].match.type: must be header or cookie, got "query"',
      ],
      [
        "duplicate segment names",
        {
          ...istio,
          ...canary,
          "canary:segments": [
            { name: "beta", match: { type: "cookie", name: "beta", value: "1" }, weight: 50 },
            { name: "beta", match: { type: "header", name: "x-beta", value: "1" }, weight: 20 },
          ],
        },
        'canary:segments[1].name: is used by an earlier segment, got "beta"',
      ],
      [
        "header value with a quote",
        { ...istio, ...canary, "canary:override": { value: 'a"b' } },
        `canary:override.value: must be 1–256 printable characters without quotes or backslashes, got "a\\"b"`,
      ],
      ["header name with a space", { ...istio, ...canary, "canary:override": { header: "x canary" } }, `canary:override.header: must be an HTTP header name: letters, digits and '-', got "x canary"`],
      ["stickiness too long", { ...istio, "canary:stickiness": { enabled: true, duration: 700000 } }, "canary:stickiness.duration: must be an integer number of seconds from 1 to 604800, got 700000"],
      ["stickiness enabled as a string", { ...istio, "canary:stickiness": { enabled: "yes" } }, 'canary:stickiness.enabled: must be true or false, got "yes"'],
      ["mirror without a canary", { ...istio, "canary:mirror": "10" }, "canary:mirror: must be 0 when no canary is deployed, got 10"],
      [
        "mirror on ALB",
        { ...aws, ...canary, "canary:mirror": "10" },
        "canary:mirror: aws does not support mirroring: ALB listener rules cannot copy requests; platforms that do: istio, gateway-api",
      ],
      ["aws without its block", { ...aws, "canary:aws": undefined }, "canary:aws: is required when canary:platform is aws"],
      ["aws block without subnets or listener", { ...aws, "canary:aws": { vpcId: "vpc-0abc1234" } }, "canary:aws.subnetIds: is required when no listenerArn is given (an ALB is created)"],
      ["aws vpc id malformed", { ...aws, "canary:aws": { vpcId: "my-vpc", subnetIds: ["subnet-0abc1234", "subnet-0abc1235"] } }, 'canary:aws.vpcId: must be an AWS id like vpc-0abc1234, got "my-vpc"'],
      ["another platform's block", { ...istio, "canary:aws": aws["canary:aws"] }, "canary:aws: is for platform aws, but canary:platform is istio"],
      ["istio replicas zero", { ...istio, "canary:istio": { replicas: 0 } }, "canary:istio.replicas: must be an integer from 1 to 1000, got 0"],
      [
        "several problems at once",
        { ...istio, "canary:service": "", "canary:weight": "101" },
        [
          `canary:service: must be a DNS label: 1–63 lowercase letters, digits or '-', starting with a letter and not ending with '-', got ""`,
          "canary:weight: must be an integer from 0 to 100, got 101",
        ].join("\n"),
      ],
    ];

    beforeEach(() => resetRegistrations());

    for (const [title, config, message] of cases) {
      it(title, async () => {
        const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
        setConfig(defined);
        assert.throws(
          () => program(),
          (e: unknown) => {
            assert.ok(e instanceof CanaryConfigError, `expected CanaryConfigError, got ${String(e)}`);
            assert.equal(e.message, message);
            return true;
          },
        );
        assert.deepEqual(await registrations(), []);
      });
    }
  });
});
