/**
 * Defaults live in the components (ALB_DEFAULTS, WORKLOAD_DEFAULTS, CLOUD_RUN_DEFAULTS,
 * DEFAULT_OUTLIER_DETECTION, MONITORING_DEFAULTS); the config schema declares them by reference.
 * These tests bind the two: an empty block gives the component exactly what it would apply
 * itself, and every argument a platform module sets maps back to the config key that set it.
 */
import * as assert from "node:assert/strict";
import { ALB_DEFAULTS } from "../../../components/aws";
import { CLOUD_RUN_DEFAULTS } from "../../../components/gcp/cloudRunCanary";
import { DEFAULT_OUTLIER_DETECTION } from "../../../components/istio/render";
import { WORKLOAD_DEFAULTS } from "../../../components/kubernetes/workloads";
import { MONITORING_DEFAULTS } from "../../../components/monitoring";
import { parseConfig } from "../../../infra/config";
import { MONITORING_ARG_KEYS, monitoringArgs, monitoringKey } from "../../../infra/monitoring";
import { blockKeys, commonKey } from "../../../infra/platforms/args";
import { AWS_ARG_KEYS, awsArgs, AwsBlock } from "../../../infra/platforms/aws";

const base = { "canary:service": "checkout", "canary:stable": JSON.stringify({ version: "v1", image: "i:1" }) };
const parse = (platform: string, block?: [string, unknown]) => parseConfig({ ...base, "canary:platform": platform, ...(block ? { [block[0]]: JSON.stringify(block[1]) } : {}) });

describe("defaults: one definition, declared by the config schema", () => {
  it("a Kubernetes block left out is the components' WORKLOAD_DEFAULTS", () => {
    for (const [platform, key] of [["istio", "canary:istio"], ["linkerd", "canary:linkerd"]] as const) {
      const block = parse(platform).block as Record<string, unknown>;
      for (const [k, v] of Object.entries(WORKLOAD_DEFAULTS)) assert.deepEqual(block[k], v, `${key}.${k}`);
    }
    const gateway = parse("gateway-api", ["canary:gateway", { gateway: { name: "public", namespace: "gateways" } }]).block as Record<string, unknown>;
    for (const [k, v] of Object.entries(WORKLOAD_DEFAULTS)) assert.deepEqual(gateway[k], v, `canary:gateway.${k}`);
  });

  it("Istio's outlier detection left out is DEFAULT_OUTLIER_DETECTION", () => {
    assert.deepEqual((parse("istio").block as { outlierDetection: unknown }).outlierDetection, DEFAULT_OUTLIER_DETECTION);
  });

  it("a minimal canary:aws block gives AlbCanary exactly ALB_DEFAULTS", () => {
    const config = parse("aws", ["canary:aws", { vpcId: "vpc-0abc1234", subnetIds: ["subnet-0abc1234", "subnet-0abc1235"] }]);
    const args = awsArgs(config, config.block as AwsBlock) as unknown as Record<string, unknown>;
    // An optional key left out leaves the argument undefined, so the component applies its own default.
    for (const [k, v] of Object.entries(ALB_DEFAULTS)) if (args[k] !== undefined) assert.deepEqual(args[k], v, k);
    assert.deepEqual(Object.keys(ALB_DEFAULTS).filter((k) => args[k] === undefined), ["hostHeaders"]);
  });

  it("a minimal canary:gcp block is CLOUD_RUN_DEFAULTS", () => {
    const block = parse("gcp", ["canary:gcp", { project: "shop-prod-1", region: "europe-west1" }]).block as Record<string, unknown>;
    for (const [k, v] of Object.entries(CLOUD_RUN_DEFAULTS)) assert.deepEqual(block[k], v, k);
  });

  it("canary:monitoring left out gives CanaryMonitoring its MONITORING_DEFAULTS (or leaves them to it)", () => {
    const args = monitoringArgs(parse("aws", ["canary:aws", { vpcId: "vpc-0abc1234", subnetIds: ["subnet-0abc1234", "subnet-0abc1235"] }])) as unknown as Record<string, unknown>;
    // canaryWeight and kubernetes come from the stack (canary:weight, the platform), not from defaults.
    for (const [k, v] of Object.entries(MONITORING_DEFAULTS)) {
      if (args[k] !== undefined && k !== "kubernetes") assert.deepEqual(args[k], v, k);
    }
    assert.deepEqual([args.canaryWeight, args.kubernetes, args.namespace], [0, false, undefined]);
  });
});

describe("every component argument maps back to the config key that set it", () => {
  it("AlbCanary's, from canary:aws and the shared keys", () => {
    const config = parse("aws", ["canary:aws", { vpcId: "vpc-0abc1234", listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/0abc/0abc" }]);
    const args = awsArgs(config, config.block as AwsBlock);
    const keyOf = blockKeys("aws", AWS_ARG_KEYS, []);
    for (const k of Object.keys(args)) assert.ok(keyOf(k === "traffic" ? [k, "canaryWeight"] : [k]), `AlbCanaryArgs.${k} has no config key`);
  });

  it("CanaryMonitoring's, from canary:monitoring and the shared keys", () => {
    const args = monitoringArgs(parse("istio"), "dev") as unknown as Record<string, unknown>;
    const derived = ["kubernetes", "dashboardUid", "serviceSelectorExpressions"]; // set by the program from the platform and stack, never by a key
    for (const k of Object.keys(args).filter((k) => !derived.includes(k))) assert.ok(monitoringKey([k]), `CanaryMonitoringArgs.${k} has no config key`);
    assert.deepEqual(MONITORING_ARG_KEYS.filter((k) => !(k in args)), []);
  });

  it("the traffic model's fields, from the shared keys", () => {
    const cases: Array<[PropertyKey[], PropertyKey[]]> = [
      [["traffic", "canaryWeight"], ["weight"]],
      [["traffic", "mirrorPercent"], ["mirror"]],
      [["traffic", "override", "name"], ["override", "header"]],
      [["traffic", "segments", 2, "match", "kind"], ["segments", 2, "match", "type"]],
      [["traffic", "stickiness", "durationSeconds"], ["stickiness", "duration"]],
      [["traffic", "stickiness", "hashKey", "kind"], ["stickiness", "hashKey", "type"]],
      [["stableVersion"], ["stable", "version"]],
      [["canaryImage"], ["canary", "image"]],
    ];
    for (const [arg, key] of cases) assert.deepEqual(commonKey(arg), key, arg.join("."));
  });
});
