/**
 * Every invalid stack config the platforms refuse is refused by `pulumi up` before anything is
 * registered, with the `canary:` key named: one case per kind of config that used to get through
 * (or fail only after a component was registered, or without the key), each with the exact
 * message. Direct use of the components is covered in the components' own tests.
 */
import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { program } from "../../../infra/program";
import { registrations, resetRegistrations, setConfig } from "../../helpers/pulumi";
import { stackConfig } from "../../helpers/stackConfig";

const image = (v: string) => `registry.example.com/checkout:${v}`;
const canary = { "canary:canary": { version: "v2", image: image("v2") } };
/** A minimal valid stack per platform (AWS: the dev stack, Pulumi.yaml + Pulumi.dev.yaml). */
const STACKS: Record<string, Record<string, unknown>> = {
  aws: stackConfig("dev"),
  istio: { "canary:platform": "istio", "canary:service": "checkout", "canary:stable": { version: "v1", image: image("v1") }, ...canary },
  linkerd: { "canary:platform": "linkerd", "canary:service": "checkout", "canary:stable": { version: "v1", image: image("v1") }, ...canary },
  "gateway-api": {
    "canary:platform": "gateway-api",
    "canary:service": "checkout",
    "canary:stable": { version: "v1", image: image("v1") },
    ...canary,
    "canary:gateway": { gateway: { name: "public", namespace: "gateways" } },
  },
};
const awsBlock = (changes: Record<string, unknown>) => ({ ...(JSON.parse(stackConfig("dev")["canary:aws"]!) as Record<string, unknown>), ...changes });
const segment = (name: string, match: Record<string, unknown>, weight = 50) => ({ name, match, weight });

/** [what, platform, config changes (undefined removes a key), the exact message]. */
const CASES: Array<[string, string, Record<string, unknown>, string]> = [
  // Refused only after a component was registered, without the key.
  ["ALB: a segment header name over 40 characters", "aws", { "canary:segments": [segment("long", { type: "header", name: `x-${"h".repeat(39)}`, value: "1" })] }, `canary:segments[0].match.name: must have at most 40 characters (ALB's limit on header names), got "x-${"h".repeat(39)}"`],
  ["ALB: an override header name over 40 characters", "aws", { "canary:override": { header: `x-${"h".repeat(39)}` } }, `canary:override.header: must have at most 40 characters (ALB's limit on header names), got "x-${"h".repeat(39)}"`],
  ["ALB: a segment value with *", "aws", { "canary:segments": [segment("beta", { type: "header", name: "x-beta", value: "a*" })] }, 'canary:segments[0].match.value: cannot contain * or ? on ALB (ALB treats them as wildcards), got "a*"'],
  ["ALB: an override value with ?", "aws", { "canary:override": { value: "yes?" } }, 'canary:override.value: cannot contain * or ? on ALB (ALB treats them as wildcards), got "yes?"'],
  [
    "ALB: a cookie segment whose *name=value* pattern exceeds 128 characters",
    "aws",
    { "canary:segments": [segment("beta", { type: "cookie", name: "beta", value: "v".repeat(122) })] },
    `canary:segments[0].match.value: makes the Cookie pattern *<name>=<value>* 129 characters long; ALB allows 128, so name and value together may have at most 125, got "${"v".repeat(76)}...`,
  ],
  ["ALB: a priority too close to 50000 for the rules", "aws", { "canary:aws": awsBlock({ priority: 49998 }) }, "canary:aws.priority: must be at most 49997: the 4 rules take consecutive priorities up to 50000, got 49998"],
  [
    "ALB: more than 5 wildcards in one rule (paths, hosts and a cookie segment together)",
    "aws",
    { "canary:aws": awsBlock({ pathPatterns: ["/a/*", "/b?"], hostHeaders: ["*.example.com", "w?.example.com"] }) },
    'canary:segments[1]: makes the rule of segment beta have 6 wildcards (* and ?) in ["/a/*","/b?","*.example.com","w?.example.com","*beta=1*"]; ALB allows 5 per rule',
  ],
  ["a segment named default", "istio", { "canary:segments": [segment("default", { type: "header", name: "x-a", value: "1" })] }, 'canary:segments[0].name: is reserved for the default route, got "default"'],
  ["a segment named override", "aws", { "canary:segments": [segment("override", { type: "header", name: "x-a", value: "1" })] }, 'canary:segments[0].name: is reserved for the override route, got "override"'],
  // Refused before registration, but without the key.
  [
    "Gateway API: more than 16 rules",
    "gateway-api",
    { "canary:segments": Array.from({ length: 15 }, (_, i) => segment(`s${i}`, { type: "header", name: "x-s", value: String(i) })) },
    "canary:segments: must have at most 14 segments: an HTTPRoute has at most 16 rules and the override, the segments and the default need 17, got 15",
  ],
  ["Linkerd: a service name too long for the canary Service", "linkerd", { "canary:service": "s".repeat(57) }, `canary:service: must have at most 56 characters, so that <service>-canary is a Kubernetes Service name (a DNS label of at most 63), got "${"s".repeat(57)}"`],
  ["Gateway API: a service name too long for the canary Service", "gateway-api", { "canary:service": "s".repeat(57) }, `canary:service: must have at most 56 characters, so that <service>-canary is a Kubernetes Service name (a DNS label of at most 63), got "${"s".repeat(57)}"`],
  // Accepted, though the platform refuses it.
  ["ALB: a segment on the Host header", "aws", { "canary:segments": [segment("eu", { type: "header", name: "Host", value: "eu.example.com" })] }, 'canary:segments[0].match.name: cannot be the Host header on ALB (an http-header condition cannot match it; use hostHeaders), got "Host"'],
  ["ALB: a non-ASCII path pattern", "aws", { "canary:aws": awsBlock({ pathPatterns: ["/café/*"] }) }, 'canary:aws.pathPatterns[0]: must be visible ASCII (ALB matches nothing else), got "/café/*"'],
  ["ALB: a control character in a host header", "aws", { "canary:aws": awsBlock({ hostHeaders: ["shop\u0007.example.com"] }) }, 'canary:aws.hostHeaders[0]: must be visible ASCII (ALB matches nothing else), got "shop\\u0007.example.com"'],
  ["AWS: a tag key with the reserved aws: prefix", "aws", { "canary:aws": awsBlock({ tags: { "aws:owner": "x" } }) }, 'canary:aws.tags: key must not start with aws: (reserved by AWS), got "aws:owner"'],
  ["AWS: a tag key over 128 characters", "aws", { "canary:aws": awsBlock({ tags: { ["k".repeat(129)]: "x" } }) }, `canary:aws.tags: key must be 1–128 letters, digits, spaces or _ . : / = + - @, got "${"k".repeat(76)}...`],
  [
    "ALB: a target-group ARN as listenerArn",
    "aws",
    { "canary:aws": { vpcId: "vpc-0a1b2c3d4e5f67890", listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/50dc6c495c0c9188" } },
    'canary:aws.listenerArn: must be an ALB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>), got "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/50dc6c49...',
  ],
  [
    "Kubernetes: a CPU request above its limit",
    "istio",
    { "canary:istio": { resources: { requests: { cpu: "2", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } } } },
    'canary:istio.resources.requests.cpu: must be at most the cpu limit (1), got "2"',
  ],
  [
    "Kubernetes: a memory request above its limit",
    "linkerd",
    { "canary:linkerd": { resources: { requests: { cpu: "100m", memory: "1Gi" }, limits: { cpu: "500m", memory: "512Mi" } } } },
    'canary:linkerd.resources.requests.memory: must be at most the memory limit (512Mi), got "1Gi"',
  ],
  ["Prometheus: __name__ as the version label", "istio", { "canary:monitoring": { metrics: { versionLabel: "__name__" } } }, 'canary:monitoring.metrics.versionLabel: must not start with __ (Prometheus reserves those label names), got "__name__"'],
  ["Prometheus: __address__ as the status label", "aws", { "canary:monitoring": { metrics: { statusLabel: "__address__" } } }, 'canary:monitoring.metrics.statusLabel: must not start with __ (Prometheus reserves those label names), got "__address__"'],
  ["a version with a lone UTF-16 surrogate", "istio", { "canary:canary": { version: "v2\ud800", image: image("v2") } }, `canary:canary.version: must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "v2\\ud800"`],
  ["a version with U+2028", "istio", { "canary:canary": { version: "v2\u2028", image: image("v2") } }, `canary:canary.version: must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "v2\\u2028"`],
  ["a version with U+2029", "aws", { "canary:stable": { version: "v1\u2029", image: image("v1") } }, `canary:stable.version: must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "v1\\u2029"`],
  ["a version Grafana would interpolate ($var)", "aws", { "canary:canary": { version: "v2$__interval", image: image("v2") } }, `canary:canary.version: must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "v2$__interval"`],
  ["a version Grafana would interpolate ([[var]])", "istio", { "canary:canary": { version: "[[v2]]", image: image("v2") } }, `canary:canary.version: must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "[[v2]]"`],
  ["a Grafana URL with a line separator", "istio", { "canary:monitoring": { grafanaUrl: "https://grafana.example.com/\u2028x" } }, 'canary:monitoring.grafanaUrl: must be an http(s) URL, got "https://grafana.example.com/\\u2028x"'],
  // Latent: without a canary the segments are not rendered, but they are checked on the first deploy.
  [
    "a segment ALB cannot match, before any canary exists",
    "aws",
    { "canary:canary": undefined, "canary:weight": 0, "canary:segments": [segment("beta", { type: "header", name: "x-beta", value: "b*" })] },
    'canary:segments[0].match.value: cannot contain * or ? on ALB (ALB treats them as wildcards), got "b*"',
  ],
  [
    "more rules than an HTTPRoute holds, before any canary exists",
    "gateway-api",
    { "canary:canary": undefined, "canary:segments": Array.from({ length: 16 }, (_, i) => segment(`s${i}`, { type: "header", name: "x-s", value: String(i) })) },
    "canary:segments: must have at most 14 segments: an HTTPRoute has at most 16 rules and the override, the segments and the default need 18, got 16",
  ],
];

describe("invalid stack config is refused at the platform's limits, naming the key, before anything is registered", () => {
  beforeEach(() => resetRegistrations());
  for (const [what, platform, changes, message] of CASES) {
    it(`${platform}: ${what}`, async () => {
      const config: Record<string, unknown> = { ...STACKS[platform]! };
      for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) delete config[k];
        else config[k] = v;
      }
      setConfig(config);
      assert.throws(() => program(), { name: "CanaryConfigError", message });
      assert.deepEqual(await registrations(), []);
    });
  }

  it("the unchanged stacks deploy (the cases above fail for their change alone)", async () => {
    for (const config of Object.values(STACKS)) {
      resetRegistrations();
      setConfig(config);
      program();
      assert.ok((await registrations()).length > 0);
    }
  });
});
