import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { IstioCanary, IstioCanaryArgs } from "../../../components/istio";
import { Stickiness, TrafficSpec } from "../../../components/routing";
import { crdErrors } from "../../helpers/crds";
import { renderedStack } from "../../helpers/policy";
import { Registered, registrations, resetRegistrations, unwrap } from "../../helpers/pulumi";

const T = {
  component: "canary:istio:IstioCanary",
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  destinationRule: "kubernetes:networking.istio.io/v1:DestinationRule",
  virtualService: "kubernetes:networking.istio.io/v1:VirtualService",
} as const;

const COOKIE_BETA = "(^|.*;\\s*)beta=1(;.*|$)";
const noStickiness: Stickiness = { enabled: false, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } };

function traffic(canaryWeight: number, extra: Partial<TrafficSpec> = {}): TrafficSpec {
  return {
    hasCanary: true,
    canaryWeight,
    override: { kind: "header", name: "x-canary", value: "true" },
    segments: [
      { name: "employees", match: { kind: "header", name: "x-employee", value: "true" }, weight: 100 },
      { name: "beta", match: { kind: "cookie", name: "beta", value: "1" }, weight: 50 },
    ],
    stickiness: noStickiness,
    mirrorPercent: 0,
    ...extra,
  };
}

function withCanary(name: string, canaryWeight: number, extra: Partial<TrafficSpec> = {}): IstioCanaryArgs {
  return { service: name, stableVersion: "v1", stableImage: "registry.example.com/checkout:v1", canaryVersion: "v2", canaryImage: "registry.example.com/checkout:v2", traffic: traffic(canaryWeight, extra) };
}

/** The registrations of this component and its children (other test files share the process), sorted by type and name. */
async function tree(name: string): Promise<Registered[]> {
  const types: readonly string[] = Object.values(T);
  return (await registrations())
    .filter((r) => types.includes(r.type) && (r.name === name || r.name.startsWith(`${name}-`)))
    .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}

async function one(name: string, type: string): Promise<Registered> {
  const found = (await tree(name.replace(/-(stable-deploy|canary-deploy|svc|dr|vs)$/, ""))).filter((r) => r.type === type && r.name === name);
  assert.equal(found.length, 1, `expected one ${type} ${name}, got ${found.length}`);
  return found[0]!;
}

const RESOURCES = { limits: { cpu: "500m", memory: "256Mi" }, requests: { cpu: "100m", memory: "128Mi" } };

/** The Deployment inputs the component should register with the default args. */
function deployment(service: string, track: "stable" | "canary", version: string, replicas: number, opts: { namespace?: string; targetPort?: number; healthPath?: string; resources?: unknown } = {}) {
  const probe = { httpGet: { path: opts.healthPath ?? "/health", port: "http" } };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `${service}-${track}`, namespace: opts.namespace ?? "default", labels: { app: service, version, track } },
    spec: {
      replicas,
      selector: { matchLabels: { app: service, track } },
      template: {
        metadata: { labels: { app: service, version, track } },
        spec: {
          containers: [
            {
              name: service,
              image: `registry.example.com/checkout:${version}`,
              ports: [{ name: "http", containerPort: opts.targetPort ?? 8080 }],
              resources: opts.resources ?? RESOURCES,
              readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
            },
          ],
        },
      },
    },
  };
}

function split(host: string, stable: number, canary: number) {
  return [
    { destination: { host, subset: "stable" }, weight: stable },
    { destination: { host, subset: "canary" }, weight: canary },
  ];
}

const OUTLIER = { consecutive5xxErrors: 5, interval: "30s", baseEjectionTime: "30s", maxEjectionPercent: 50 };

function assertValidCrs(registered: Registered[]): void {
  for (const r of registered.filter((x) => x.type === T.virtualService || x.type === T.destinationRule)) {
    assert.deepEqual(crdErrors(r.inputs), [], `${r.type} ${r.name}`);
  }
}

describe("IstioCanary", () => {
  beforeEach(() => resetRegistrations());

  const weights: Array<[number, number]> = [
    // [canary weight, canary replicas with 3 stable]
    [0, 1],
    [5, 1],
    [50, 2],
    [100, 3],
  ];
  for (const [weight, replicas] of weights) {
    it(`weight ${weight} with override, header and cookie segments: exact children and inputs, ${replicas} canary replicas`, async () => {
      const canary = new IstioCanary("checkout", withCanary("checkout", weight));
      const registered = await tree("checkout");
      assert.deepEqual(
        registered.map((r) => [r.type, r.name]),
        [
          [T.component, "checkout"],
          [T.deployment, "checkout-canary-deploy"],
          [T.deployment, "checkout-stable-deploy"],
          [T.service, "checkout-svc"],
          [T.destinationRule, "checkout-dr"],
          [T.virtualService, "checkout-vs"],
        ],
      );
      assert.deepEqual((await one("checkout-stable-deploy", T.deployment)).inputs, deployment("checkout", "stable", "v1", 3));
      assert.deepEqual((await one("checkout-canary-deploy", T.deployment)).inputs, deployment("checkout", "canary", "v2", replicas));
      assert.deepEqual((await one("checkout-svc", T.service)).inputs, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "checkout", namespace: "default", labels: { app: "checkout" } },
        spec: { type: "ClusterIP", selector: { app: "checkout" }, ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
      });
      assert.deepEqual((await one("checkout-dr", T.destinationRule)).inputs, {
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: { name: "checkout", namespace: "default", labels: { app: "checkout" } },
        spec: {
          host: "checkout",
          trafficPolicy: { outlierDetection: OUTLIER },
          subsets: [
            { name: "stable", labels: { version: "v1" } },
            { name: "canary", labels: { version: "v2" } },
          ],
        },
      });
      assert.deepEqual((await one("checkout-vs", T.virtualService)).inputs, {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: "checkout", namespace: "default", labels: { app: "checkout" } },
        spec: {
          hosts: ["checkout"],
          http: [
            { name: "override", match: [{ headers: { "x-canary": { exact: "true" } } }], route: split("checkout", 0, 100) },
            { name: "employees", match: [{ headers: { "x-employee": { exact: "true" } } }], route: split("checkout", 0, 100) },
            { name: "beta", match: [{ headers: { cookie: { regex: COOKIE_BETA } } }], route: split("checkout", 50, 50) },
            { name: "default", route: split("checkout", 100 - weight, weight) },
          ],
        },
      });
      assertValidCrs(registered);
      assert.equal(await unwrap(canary.appliedCanaryWeight), weight);
    });
  }

  it("without a canary: no canary Deployment, stable-only route, canary subset on the stable version, applied weight 0", async () => {
    const canary = new IstioCanary("cart", { service: "cart", stableVersion: "v1", stableImage: "registry.example.com/checkout:v1", traffic: { hasCanary: false, canaryWeight: 0, override: { kind: "header", name: "x-canary", value: "true" }, segments: [], stickiness: noStickiness, mirrorPercent: 0 } });
    const registered = await tree("cart");
    assert.deepEqual(
      registered.map((r) => [r.type, r.name]),
      [
        [T.component, "cart"],
        [T.deployment, "cart-stable-deploy"],
        [T.service, "cart-svc"],
        [T.destinationRule, "cart-dr"],
        [T.virtualService, "cart-vs"],
      ],
    );
    assert.equal(canary.canaryDeployment, undefined);
    assert.deepEqual((await one("cart-stable-deploy", T.deployment)).inputs, deployment("cart", "stable", "v1", 3));
    assert.deepEqual((await one("cart-dr", T.destinationRule)).inputs.spec, {
      host: "cart",
      trafficPolicy: { outlierDetection: OUTLIER },
      subsets: [
        { name: "stable", labels: { version: "v1" } },
        { name: "canary", labels: { version: "v1" } },
      ],
    });
    assert.deepEqual((await one("cart-vs", T.virtualService)).inputs.spec, { hosts: ["cart"], http: [{ name: "default", route: [{ destination: { host: "cart", subset: "stable" }, weight: 100 }] }] });
    assertValidCrs(registered);
    assert.equal(await unwrap(canary.appliedCanaryWeight), 0);
  });

  const stickiness: Array<[string, Stickiness, unknown]> = [
    ["header", { enabled: true, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } }, { httpHeaderName: "x-user-id" }],
    ["cookie", { enabled: true, durationSeconds: 1800, hashKey: { kind: "cookie", name: "session" } }, { httpCookie: { name: "session", path: "/", ttl: "1800s" } }],
  ];
  for (const [kind, sticky, hash] of stickiness) {
    it(`${kind} stickiness: consistent hash in the DestinationRule, routes unchanged`, async () => {
      new IstioCanary("checkout", withCanary("checkout", 5, { stickiness: sticky, override: undefined, segments: [] }));
      const registered = await tree("checkout");
      assert.deepEqual((await one("checkout-dr", T.destinationRule)).inputs.spec, {
        host: "checkout",
        trafficPolicy: { loadBalancer: { consistentHash: hash }, outlierDetection: OUTLIER },
        subsets: [
          { name: "stable", labels: { version: "v1" } },
          { name: "canary", labels: { version: "v2" } },
        ],
      });
      assert.deepEqual((await one("checkout-vs", T.virtualService)).inputs.spec, { hosts: ["checkout"], http: [{ name: "default", route: split("checkout", 95, 5) }] });
      assertValidCrs(registered);
    });
  }

  it("mirror: the default route copies the given percent to the canary subset", async () => {
    const canary = new IstioCanary("checkout", withCanary("checkout", 0, { mirrorPercent: 25, override: undefined, segments: [] }));
    const registered = await tree("checkout");
    assert.deepEqual((await one("checkout-vs", T.virtualService)).inputs.spec, {
      hosts: ["checkout"],
      http: [{ name: "default", route: split("checkout", 100, 0), mirror: { host: "checkout", subset: "canary" }, mirrorPercentage: { value: 25 } }],
    });
    assert.deepEqual((await one("checkout-canary-deploy", T.deployment)).inputs.spec.replicas, 1);
    assertValidCrs(registered);
    assert.equal(await unwrap(canary.appliedCanaryWeight), 0);
  });

  it("passes every optional argument through: namespace, hosts, gateways, ports, replicas, probes, resources, outlier detection", async () => {
    const resources = { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } };
    new IstioCanary("pay", {
      ...withCanary("pay", 10, { override: undefined, segments: [] }),
      namespace: "shop",
      hosts: ["pay.example.com"],
      gateways: ["istio-system/public", "mesh"],
      port: 8000,
      targetPort: 9000,
      replicas: 12,
      healthPath: "/ready",
      resources,
      outlierDetection: { consecutive5xxErrors: 2, maxEjectionPercent: 100 },
    });
    const registered = await tree("pay");
    const opts = { namespace: "shop", targetPort: 9000, healthPath: "/ready", resources };
    assert.deepEqual((await one("pay-stable-deploy", T.deployment)).inputs, deployment("pay", "stable", "v1", 12, opts));
    // ceil(12 × 10 / 100) = ceil(1.2) = 2
    assert.deepEqual((await one("pay-canary-deploy", T.deployment)).inputs, deployment("pay", "canary", "v2", 2, opts));
    assert.deepEqual((await one("pay-svc", T.service)).inputs, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "pay", namespace: "shop", labels: { app: "pay" } },
      spec: { type: "ClusterIP", selector: { app: "pay" }, ports: [{ name: "http", port: 8000, targetPort: "http", protocol: "TCP" }] },
    });
    assert.deepEqual((await one("pay-dr", T.destinationRule)).inputs.spec.trafficPolicy, { outlierDetection: { consecutive5xxErrors: 2, interval: "30s", baseEjectionTime: "30s", maxEjectionPercent: 100 } });
    assert.deepEqual((await one("pay-vs", T.virtualService)).inputs, {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "pay", namespace: "shop", labels: { app: "pay" } },
      spec: { hosts: ["pay.example.com"], gateways: ["istio-system/public", "mesh"], http: [{ name: "default", route: split("pay", 90, 10) }] },
    });
    assertValidCrs(registered);
  });

  it("parents every child to the component", async () => {
    const canary = new IstioCanary("checkout", withCanary("checkout", 5));
    const prefix = "urn:pulumi:test::pulumi-canary::canary:istio:IstioCanary$";
    assert.deepEqual(
      await Promise.all([canary.stableDeployment, canary.canaryDeployment!, canary.service].map((r) => unwrap(r.urn))),
      [
        `${prefix}kubernetes:apps/v1:Deployment::checkout-stable-deploy`,
        `${prefix}kubernetes:apps/v1:Deployment::checkout-canary-deploy`,
        `${prefix}kubernetes:core/v1:Service::checkout-svc`,
      ],
    );
    // The custom resources are exposed by name only; their URNs are the ones the runtime registered.
    assert.deepEqual(await Promise.all([canary.destinationRuleName, canary.virtualServiceName].map((n) => unwrap(n))), ["checkout", "checkout"]);
    const urns = (await renderedStack("checkout-")).map((r) => r.urn);
    for (const urn of [`${prefix}kubernetes:networking.istio.io/v1:DestinationRule::checkout-dr`, `${prefix}kubernetes:networking.istio.io/v1:VirtualService::checkout-vs`]) {
      assert.ok(urns.includes(urn), urn);
    }
  });

  const both = "canaryVersion: canaryVersion and canaryImage must be given exactly when traffic.hasCanary is true";
  const invalid: Array<[string, IstioCanaryArgs, string[]]> = [
    ["canary version without image", { ...withCanary("bad", 5), canaryImage: undefined }, [`${both} (hasCanary is true)`]],
    ["canary version equal to stable", { ...withCanary("bad", 5), canaryVersion: "v1" }, ['canaryVersion: must differ from the stable version, got "v1"']],
    ["traffic says no canary but one is given", { ...withCanary("bad", 0), traffic: { ...traffic(0), hasCanary: false } }, [`${both} (hasCanary is false)`]],
    ["traffic says canary but none is given", { ...withCanary("bad", 5), canaryVersion: undefined, canaryImage: undefined }, [`${both} (hasCanary is true)`]],
    ["service not a DNS label", { ...withCanary("bad", 5), service: "Bad_Name" }, [`service: must be a DNS label: 1–63 lowercase letters, digits or '-', starting with a letter and not ending with '-', got "Bad_Name"`]],
    ["version not a label value", { ...withCanary("bad", 5), canaryVersion: "v 2" }, [`canaryVersion: must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "v 2"`]],
    ["zero replicas", { ...withCanary("bad", 5), replicas: 0 }, ["replicas: must be an integer from 1 to 1000, got 0"]],
    ["port out of range", { ...withCanary("bad", 5), targetPort: 70000 }, ["targetPort: must be an integer from 1 to 65535, got 70000"]],
    ["relative health path", { ...withCanary("bad", 5), healthPath: "health" }, ['healthPath: must be a path starting with / (visible ASCII, no spaces), got "health"']],
    ["a CPU request above its limit", { ...withCanary("bad", 5), resources: { requests: { cpu: "2", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } } }, ['resources.requests.cpu: must be at most the cpu limit (500m), got "2"']],
    ["an outlier interval under 1ms", { ...withCanary("bad", 5), outlierDetection: { interval: "0s" } }, ['outlierDetection.interval: must be a duration of at least 1ms, got "0s"']],
  ];
  for (const [title, args, lines] of invalid) {
    it(`refuses ${title} before registering anything`, async () => {
      assert.throws(() => new IstioCanary("bad", args), { name: "ComponentArgsError", message: ["canary:istio:IstioCanary: invalid arguments", ...lines].join("\n") });
      assert.deepEqual(await tree("bad"), []);
    });
  }

});
