/**
 * Stack outputs are a public contract: the same names on every platform for the same things
 * (`<role><Kind>Name` for the objects the stack creates), and every former name kept as a
 * deprecated alias with the same value.
 */
import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { platformModule } from "../../../infra/platforms";
import { program } from "../../../infra/program";
import { resetRegistrations, setConfig, unwrap } from "../../helpers/pulumi";

const shared = { "canary:service": "checkout", "canary:stable": { version: "v1", image: "i:1" }, "canary:canary": { version: "v2", image: "i:2" }, "canary:weight": 5 };
const STACKS: Record<string, Record<string, unknown>> = {
  istio: { ...shared, "canary:platform": "istio", "canary:istio": { namespace: "shop" } },
  linkerd: { ...shared, "canary:platform": "linkerd", "canary:linkerd": { namespace: "shop" } },
  "gateway-api": { ...shared, "canary:platform": "gateway-api", "canary:gateway": { namespace: "shop", gateway: { name: "public", namespace: "gateways" } } },
  gcp: { ...shared, "canary:platform": "gcp", "canary:gcp": { project: "shop-prod-1", region: "europe-west1" } },
};

async function outputs(platform: string): Promise<Record<string, unknown>> {
  resetRegistrations();
  setConfig(STACKS[platform]!);
  const out = program() as Record<string, unknown>;
  return Object.fromEntries(await Promise.all(Object.entries(out).map(async ([k, v]) => [k, await unwrap(v)] as const)));
}

const SHARED = ["service", "platform", "canaryWeight", "stableWeight", "stableVersion", "canaryVersion", "appliedCanaryWeight", "overrideHeader", "queries", "dashboardUid", "dashboardUrl", "prometheusRulesYaml", "dashboardJson"];

describe("stack outputs", () => {
  const expected: Record<string, Record<string, unknown>> = {
    istio: { namespace: "shop", serviceName: "checkout", virtualServiceName: "checkout", destinationRuleName: "checkout", stableDeploymentName: "checkout-stable", canaryDeploymentName: "checkout-canary" },
    linkerd: {
      namespace: "shop",
      serviceName: "checkout",
      stableServiceName: "checkout-stable",
      canaryServiceName: "checkout-canary",
      stableDeploymentName: "checkout-stable",
      canaryDeploymentName: "checkout-canary",
      trafficSplitName: "checkout",
    },
    "gateway-api": {
      namespace: "shop",
      gateway: "gateways/public",
      httpRouteName: "checkout",
      stableServiceName: "checkout-stable",
      canaryServiceName: "checkout-canary",
      stableDeploymentName: "checkout-stable",
      canaryDeploymentName: "checkout-canary",
    },
    gcp: { project: "shop-prod-1", region: "europe-west1", serviceName: "checkout", stableRevisionName: "checkout-v1", canaryRevisionName: "checkout-v2", url: "https://checkout-abc123-ew.a.run.app", canaryUrl: "https://canary---checkout-abc123-ew.a.run.app" },
  };
  for (const [platform, names] of Object.entries(expected)) {
    it(`${platform}: one name per thing, the same names as the other platforms, and the former names as aliases`, async () => {
      const out = await outputs(platform);
      const deprecated = platformModule(platform).deprecatedOutputs;
      for (const [k, v] of Object.entries(names)) assert.deepEqual(out[k], v, k);
      for (const [old, current] of Object.entries(deprecated)) assert.deepEqual(out[old], out[current], `${old} (deprecated) = ${current}`);
      assert.deepEqual(Object.keys(out).sort(), [...SHARED, ...Object.keys(names), ...Object.keys(deprecated)].sort());
    });
  }

  it("the former names are exactly those published before the rename", () => {
    assert.deepEqual(
      Object.fromEntries(["istio", "linkerd", "gateway-api", "gcp", "aws"].map((p) => [p, platformModule(p).deprecatedOutputs])),
      {
        istio: {},
        linkerd: { apexService: "serviceName", stableService: "stableServiceName", canaryService: "canaryServiceName", trafficSplit: "trafficSplitName" },
        "gateway-api": { httpRoute: "httpRouteName", stableService: "stableServiceName", canaryService: "canaryServiceName" },
        gcp: { cloudRunService: "serviceName", stableRevision: "stableRevisionName", canaryRevision: "canaryRevisionName" },
        aws: {},
      },
    );
  });
});
