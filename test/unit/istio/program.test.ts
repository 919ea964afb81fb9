import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { CanaryConfigError } from "../../../infra/config";
import { program } from "../../../infra/program";
import { crdErrors } from "../../helpers/crds";
import { registrations, resetRegistrations, setConfig, unwrap } from "../../helpers/pulumi";

const ISTIO_TYPES = ["canary:istio:IstioCanary", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:networking.istio.io/v1:DestinationRule", "kubernetes:networking.istio.io/v1:VirtualService"];

const minimal = {
  "canary:platform": "istio",
  "canary:service": "checkout",
  "canary:stable": { version: "v1", image: "registry.example.com/checkout:v1" },
};

/** The shared outputs and the istio platform's; other layers (monitoring) add their own beside them. */
const OUTPUT_KEYS = [
  "service",
  "platform",
  "canaryWeight",
  "stableWeight",
  "stableVersion",
  "canaryVersion",
  "namespace",
  "virtualServiceName",
  "destinationRuleName",
  "serviceName",
  "stableDeploymentName",
  "canaryDeploymentName",
  "appliedCanaryWeight",
];

/** The shared and istio stack outputs with their Outputs resolved; a missing key resolves to undefined. */
async function resolved(outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const entries = await Promise.all(OUTPUT_KEYS.map(async (k) => [k, await unwrap(outputs[k])] as const));
  return Object.fromEntries(entries);
}

async function istioRegistrations() {
  return (await registrations()).filter((r) => ISTIO_TYPES.includes(r.type) && (r.name === "checkout" || r.name.startsWith("checkout-")));
}

describe("program on istio", () => {
  beforeEach(() => resetRegistrations());

  it("a canary at 25% with segments, cookie stickiness and a mirror: stack outputs and rendered resources", async () => {
    setConfig({
      ...minimal,
      "canary:canary": { version: "v2", image: "registry.example.com/checkout:v2" },
      "canary:weight": 25,
      "canary:segments": [
        { name: "employees", match: { type: "header", name: "X-Employee", value: "true" }, weight: 100 },
        { name: "beta", match: { type: "cookie", name: "beta", value: "1" }, weight: 50 },
      ],
      "canary:stickiness": { enabled: true, duration: 600, hashKey: { type: "cookie", name: "session" } },
      "canary:mirror": 10,
      "canary:istio": { namespace: "shop", hosts: ["checkout.example.com"], gateways: ["istio-system/public", "mesh"], replicas: 4 },
    });
    const outputs = await resolved(program());
    assert.deepEqual(outputs, {
      service: "checkout",
      platform: "istio",
      canaryWeight: 25,
      stableWeight: 75,
      stableVersion: "v1",
      canaryVersion: "v2",
      namespace: "shop",
      virtualServiceName: "checkout",
      destinationRuleName: "checkout",
      serviceName: "checkout",
      stableDeploymentName: "checkout-stable",
      canaryDeploymentName: "checkout-canary",
      appliedCanaryWeight: 25,
    });

    const registered = await istioRegistrations();
    assert.deepEqual(registered.map((r) => `${r.type} ${r.name}`).sort(), [
      "canary:istio:IstioCanary checkout",
      "kubernetes:apps/v1:Deployment checkout-canary-deploy",
      "kubernetes:apps/v1:Deployment checkout-stable-deploy",
      "kubernetes:core/v1:Service checkout-svc",
      "kubernetes:networking.istio.io/v1:DestinationRule checkout-dr",
      "kubernetes:networking.istio.io/v1:VirtualService checkout-vs",
    ]);
    const byName = (name: string) => registered.find((r) => r.name === name)!.inputs;
    const route = (stable: number, canary: number) => [
      { destination: { host: "checkout", subset: "stable" }, weight: stable },
      { destination: { host: "checkout", subset: "canary" }, weight: canary },
    ];
    assert.deepEqual(byName("checkout-vs").spec, {
      hosts: ["checkout.example.com"],
      gateways: ["istio-system/public", "mesh"],
      http: [
        { name: "override", match: [{ headers: { "x-canary": { exact: "true" } } }], route: route(0, 100) },
        { name: "employees", match: [{ headers: { "x-employee": { exact: "true" } } }], route: route(0, 100) },
        { name: "beta", match: [{ headers: { cookie: { regex: "(^|.*;\\s*)beta=1(;.*|$)" } } }], route: route(50, 50) },
        { name: "default", route: route(75, 25), mirror: { host: "checkout", subset: "canary" }, mirrorPercentage: { value: 10 } },
      ],
    });
    assert.deepEqual(byName("checkout-dr").spec, {
      host: "checkout",
      trafficPolicy: {
        loadBalancer: { consistentHash: { httpCookie: { name: "session", path: "/", ttl: "600s" } } },
        outlierDetection: { consecutive5xxErrors: 5, interval: "30s", baseEjectionTime: "30s", maxEjectionPercent: 50 },
      },
      subsets: [
        { name: "stable", labels: { version: "v1" } },
        { name: "canary", labels: { version: "v2" } },
      ],
    });
    assert.deepEqual(
      [byName("checkout-stable-deploy").spec.replicas, byName("checkout-canary-deploy").spec.replicas],
      [4, 1], // ceil(4 × 25 / 100) = 1
    );
    assert.deepEqual(crdErrors(byName("checkout-vs")), []);
    assert.deepEqual(crdErrors(byName("checkout-dr")), []);
  });

  it("no canary and no istio block: defaults, canaryDeploymentName null, applied weight 0", async () => {
    setConfig(minimal);
    const outputs = await resolved(program());
    assert.deepEqual(outputs, {
      service: "checkout",
      platform: "istio",
      canaryWeight: 0,
      stableWeight: 100,
      stableVersion: "v1",
      canaryVersion: null,
      namespace: "default",
      virtualServiceName: "checkout",
      destinationRuleName: "checkout",
      serviceName: "checkout",
      stableDeploymentName: "checkout-stable",
      canaryDeploymentName: null,
      appliedCanaryWeight: 0,
    });
    const registered = await istioRegistrations();
    assert.deepEqual(registered.map((r) => `${r.type} ${r.name}`).sort(), [
      "canary:istio:IstioCanary checkout",
      "kubernetes:apps/v1:Deployment checkout-stable-deploy",
      "kubernetes:core/v1:Service checkout-svc",
      "kubernetes:networking.istio.io/v1:DestinationRule checkout-dr",
      "kubernetes:networking.istio.io/v1:VirtualService checkout-vs",
    ]);
    const vs = registered.find((r) => r.name === "checkout-vs")!.inputs;
    assert.deepEqual(vs.spec, { hosts: ["checkout"], http: [{ name: "default", route: [{ destination: { host: "checkout", subset: "stable" }, weight: 100 }] }] });
    assert.deepEqual(crdErrors(vs), []);
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ["a zero outlier interval (the CRD's CEL rule wants at least 1ms)", { "canary:istio": { outlierDetection: { interval: "0s" } } }, 'canary:istio.outlierDetection.interval: must be a duration of at least 1ms, got "0s"'],
    ["a malformed base ejection time", { "canary:istio": { outlierDetection: { baseEjectionTime: "30 seconds" } } }, 'canary:istio.outlierDetection.baseEjectionTime: must be a duration such as 30s or 1m, got "30 seconds"'],
    ["zero replicas", { "canary:istio": { replicas: 0 } }, "canary:istio.replicas: must be an integer from 1 to 1000, got 0"],
  ];
  for (const [title, extra, message] of invalid) {
    it(`refuses ${title} before registering anything`, async () => {
      setConfig({ ...minimal, ...extra });
      assert.throws(() => program(), (e: unknown) => {
        assert.ok(e instanceof CanaryConfigError, `expected CanaryConfigError, got ${String(e)}`);
        assert.equal(e.message, message);
        return true;
      });
      assert.deepEqual(await istioRegistrations(), []);
    });
  }
});
