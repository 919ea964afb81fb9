import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { LinkerdCanary, LinkerdCanaryArgs } from "../../../components/linkerd/linkerdCanary";
import { appliedCanaryPercent, renderTrafficSplit, TRAFFIC_SPLIT_API_VERSION } from "../../../components/linkerd/trafficSplit";
import { RoutingError, TrafficSpec } from "../../../components/routing";
import { CanaryConfigError, parseConfig } from "../../../infra/config";
import { program } from "../../../infra/program";
import { crdErrors } from "../../helpers/crds";
import { registrations, registrationsOf, resetRegistrations, setConfig, unwrap } from "../../helpers/pulumi";

const SERVICE = "kubernetes:core/v1:Service";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const TRAFFIC_SPLIT = "kubernetes:split.smi-spec.io/v1alpha2:TrafficSplit";
const COMPONENT = "canary:linkerd:LinkerdCanary";

function traffic(canaryWeight: number, hasCanary = true): TrafficSpec {
  return { hasCanary, canaryWeight, segments: [], stickiness: { enabled: false, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } }, mirrorPercent: 0 };
}

const services = { apex: "checkout", stable: "checkout-stable", canary: "checkout-canary" };

function args(canaryWeight: number): LinkerdCanaryArgs {
  return {
    service: "checkout",
    namespace: "shop",
    stableVersion: "v2.4.1",
    stableImage: "registry.example.com/checkout:v2.4.1",
    canaryVersion: "v2.5.0",
    canaryImage: "registry.example.com/checkout:v2.5.0",
    traffic: traffic(canaryWeight),
  };
}

/** The stack config of a Linkerd stack with a canary at 5%. */
const stack = {
  "canary:platform": "linkerd",
  "canary:service": "checkout",
  "canary:stable": { version: "v2.4.1", image: "registry.example.com/checkout:v2.4.1" },
  "canary:canary": { version: "v2.5.0", image: "registry.example.com/checkout:v2.5.0" },
  "canary:weight": 5,
  "canary:linkerd": { namespace: "shop" },
};

function raw(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

function deployment(name: string, track: string, version: string, image: string, replicas: number) {
  const labels = { app: "checkout", version, track };
  const probe = { httpGet: { path: "/health", port: "http" } };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "shop", labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: "checkout", track } },
      template: {
        metadata: { labels, annotations: { "linkerd.io/inject": "enabled" } },
        spec: {
          containers: [
            {
              name: "checkout",
              image,
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
            },
          ],
        },
      },
    },
  };
}

function service(name: string, selector: Record<string, string>) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "shop", labels: selector },
    spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
  };
}

describe("linkerd", () => {
  beforeEach(() => resetRegistrations());

  describe("renderTrafficSplit", () => {
    const table: Array<[number, number, number]> = [
      [0, 1000, 0],
      [5, 950, 50],
      [50, 500, 500],
      [100, 0, 1000],
    ];
    for (const [weight, stable, canary] of table) {
      it(`weights the backends ${stable}/${canary} at ${weight}% and renders a valid v1alpha2 TrafficSplit`, () => {
        const spec = renderTrafficSplit(traffic(weight), services);
        assert.deepEqual(spec, {
          service: "checkout",
          backends: [
            { service: "checkout-stable", weight: stable },
            { service: "checkout-canary", weight: canary },
          ],
        });
        assert.deepEqual(crdErrors({ apiVersion: TRAFFIC_SPLIT_API_VERSION, kind: "TrafficSplit", metadata: { name: "checkout" }, spec }), []);
        assert.equal(appliedCanaryPercent(spec, "checkout-canary"), weight);
      });
    }

    it("sends everything to stable when no canary is deployed", () => {
      const spec = renderTrafficSplit(traffic(0, false), services);
      assert.deepEqual(spec, { service: "checkout", backends: [{ service: "checkout-stable", weight: 1000 }] });
      assert.deepEqual(crdErrors({ apiVersion: TRAFFIC_SPLIT_API_VERSION, kind: "TrafficSplit", metadata: { name: "checkout" }, spec }), []);
      assert.equal(appliedCanaryPercent(spec, "checkout-canary"), 0);
    });

    it("is checked by the CRD schema: string weights (v1alpha1 style) and a missing apex are caught", () => {
      const broken = { service: undefined, backends: [{ service: "checkout-stable", weight: "950m" }] };
      assert.deepEqual(crdErrors({ apiVersion: TRAFFIC_SPLIT_API_VERSION, kind: "TrafficSplit", metadata: { name: "checkout" }, spec: broken }), [
        '/spec must have required property \'service\' {"missingProperty":"service"}',
        '/spec/backends/0/weight must be number {"type":"number"}',
      ]);
    });

    it("refuses an override or segments, which a TrafficSplit cannot express", () => {
      const withOverride = { ...traffic(5), override: { kind: "header" as const, name: "x-canary", value: "true" } };
      assert.throws(() => renderTrafficSplit(withOverride, services), new RoutingError("traffic.override: linkerd does not support header override: SMI TrafficSplit cannot route on headers; platforms that do: aws, istio, gateway-api, gcp"));
    });
  });

  describe("LinkerdCanary", () => {
    const table: Array<[number, number, number, number]> = [
      // weight, stable units, canary units, canary replicas
      [0, 1000, 0, 1],
      [5, 950, 50, 1],
      [50, 500, 500, 2],
      [100, 0, 1000, 3],
    ];
    for (const [weight, stableUnits, canaryUnits, replicas] of table) {
      it(`renders the apex, stable and canary Services, both Deployments and the TrafficSplit at ${weight}%`, async () => {
        const c = new LinkerdCanary("checkout", args(weight));
        assert.equal(await unwrap(c.appliedCanaryWeight), weight);

        const all = await registrations();
        assert.deepEqual(all.filter((r) => r.type.startsWith("canary:")).map((r) => [r.type, r.name]), [[COMPONENT, "checkout"]]);
        assert.deepEqual(
          (await registrationsOf(SERVICE)).sort((a, b) => a.name.localeCompare(b.name)).map((r) => [r.name, r.inputs]),
          [
            ["checkout-canary-svc", service("checkout-canary", { app: "checkout", track: "canary" })],
            ["checkout-stable-svc", service("checkout-stable", { app: "checkout", track: "stable" })],
            ["checkout-svc", service("checkout", { app: "checkout" })],
          ],
        );
        const deployments = (await registrationsOf(DEPLOYMENT)).sort((a, b) => b.name.localeCompare(a.name));
        assert.deepEqual(
          deployments.map((r) => [r.name, r.inputs]),
          [
            ["checkout-stable-deploy", deployment("checkout-stable", "stable", "v2.4.1", "registry.example.com/checkout:v2.4.1", 3)],
            ["checkout-canary-deploy", deployment("checkout-canary", "canary", "v2.5.0", "registry.example.com/checkout:v2.5.0", replicas)],
          ],
        );
        const splits = await registrationsOf(TRAFFIC_SPLIT);
        assert.deepEqual(
          splits.map((r) => [r.name, r.inputs]),
          [
            [
              "checkout-split",
              {
                apiVersion: "split.smi-spec.io/v1alpha2",
                kind: "TrafficSplit",
                metadata: { name: "checkout", namespace: "shop" },
                spec: {
                  service: "checkout",
                  backends: [
                    { service: "checkout-stable", weight: stableUnits },
                    { service: "checkout-canary", weight: canaryUnits },
                  ],
                },
              },
            ],
          ],
        );
        assert.deepEqual(crdErrors(splits[0]!.inputs), []);
        assert.equal(all.length - all.filter((r) => r.type.startsWith("pulumi:providers:")).length, 7);
      });
    }

    it("renders only the stable workload and a stable-only split without a canary", async () => {
      const c = new LinkerdCanary("checkout", { service: "checkout", stableVersion: "v2.4.1", stableImage: "registry.example.com/checkout:v2.4.1", traffic: traffic(0, false) });
      assert.equal(await unwrap(c.appliedCanaryWeight), 0);
      assert.equal(c.canaryService, undefined);
      assert.equal(c.canaryDeployment, undefined);
      assert.deepEqual((await registrationsOf(SERVICE)).map((r) => r.name).sort(), ["checkout-stable-svc", "checkout-svc"]);
      assert.deepEqual((await registrationsOf(DEPLOYMENT)).map((r) => r.name), ["checkout-stable-deploy"]);
      const [split] = await registrationsOf(TRAFFIC_SPLIT);
      assert.deepEqual(split!.inputs.spec, { service: "checkout", backends: [{ service: "checkout-stable", weight: 1000 }] });
      assert.deepEqual(split!.inputs.metadata, { name: "checkout", namespace: "default" });
    });

    it("refuses a header override before registering anything", async () => {
      const bad = { ...args(5), traffic: { ...traffic(5), override: { kind: "header" as const, name: "x-canary", value: "true" } } };
      assert.throws(() => new LinkerdCanary("checkout", bad), { name: "ComponentArgsError", message: ["canary:linkerd:LinkerdCanary: invalid arguments", "traffic.override: linkerd does not support header override: SMI TrafficSplit cannot route on headers; platforms that do: aws, istio, gateway-api, gcp"].join("\n") });
      assert.deepEqual(await registrations(), []);
    });

    it("refuses a canary version without a canary in the traffic model", async () => {
      assert.throws(
        () => new LinkerdCanary("checkout", { ...args(0), traffic: traffic(0, false) }),
        { name: "ComponentArgsError", message: ["canary:linkerd:LinkerdCanary: invalid arguments", "canaryVersion: canaryVersion and canaryImage must be given exactly when traffic.hasCanary is true (hasCanary is false)"].join("\n") },
      );
      assert.deepEqual(await registrations(), []);
    });

    it("refuses a fractional replica count before registering anything", async () => {
      assert.throws(() => new LinkerdCanary("checkout", { ...args(5), replicas: 2.5 }), { name: "ComponentArgsError", message: ["canary:linkerd:LinkerdCanary: invalid arguments", "replicas: must be an integer from 1 to 1000, got 2.5"].join("\n") });
      assert.deepEqual(await registrations(), []);
    });

    it("refuses a service name whose canary Service name would pass 63 characters", async () => {
      const long = "a".repeat(57);
      assert.throws(
        () => new LinkerdCanary("checkout", { ...args(5), service: long }),
        { name: "ComponentArgsError", message: ["canary:linkerd:LinkerdCanary: invalid arguments", `service: must have at most 56 characters, so that <service>-canary is a Kubernetes Service name (a DNS label of at most 63), got "${long}"`].join("\n") },
      );
      assert.deepEqual(await registrations(), []);
    });
  });

  describe("config", () => {
    const refusals: Array<[string, Record<string, unknown>, string]> = [
      [
        "a header override",
        { "canary:override": { enabled: true } },
        "canary:override: linkerd does not support header override: SMI TrafficSplit cannot route on headers; platforms that do: aws, istio, gateway-api, gcp",
      ],
      [
        "segments",
        { "canary:segments": [{ name: "beta", match: { type: "cookie", name: "beta", value: "1" }, weight: 50 }] },
        "canary:segments: linkerd does not support segments: SMI TrafficSplit cannot route on headers or cookies; platforms that do: aws, istio, gateway-api",
      ],
      ["stickiness", { "canary:stickiness": { enabled: true } }, "canary:stickiness: linkerd does not support stickiness: SMI TrafficSplit has no session affinity; platforms that do: aws, istio"],
      ["mirroring", { "canary:mirror": 10 }, "canary:mirror: linkerd does not support mirroring: SMI TrafficSplit cannot copy requests; platforms that do: istio, gateway-api"],
    ];
    for (const [what, extra, message] of refusals) {
      it(`refuses ${what} with the capability message, and the program registers nothing`, async () => {
        assert.throws(() => parseConfig(raw({ ...stack, ...extra })), (e: unknown) => e instanceof CanaryConfigError && e.message === message);
        setConfig({ ...stack, ...extra });
        assert.throws(() => program(), (e: unknown) => e instanceof CanaryConfigError && e.message === message);
        assert.deepEqual(await registrations(), []);
      });
    }

    it("turns the override off by default, since Linkerd cannot route on headers", () => {
      const c = parseConfig(raw(stack));
      assert.equal(c.override.enabled, false);
      assert.equal(c.traffic.override, undefined);
    });

    it("applies every block default when canary:linkerd is omitted", () => {
      const { "canary:linkerd": _omitted, ...rest } = stack;
      assert.deepEqual(parseConfig(raw(rest)).block, {
        namespace: "default",
        port: 80,
        targetPort: 8080,
        replicas: 3,
        healthPath: "/health",
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
      });
    });

    it("refuses a bad block value, naming the key and the value", () => {
      assert.throws(
        () => parseConfig(raw({ ...stack, "canary:linkerd": { replicas: 0, resources: { requests: { cpu: "lots", memory: "128Mi" }, limits: { cpu: "1", memory: "1Gi" } } } })),
        (e: unknown) =>
          e instanceof CanaryConfigError &&
          e.message === ['canary:linkerd.replicas: must be an integer from 1 to 1000, got 0', 'canary:linkerd.resources.requests.cpu: must be a Kubernetes quantity such as 100m or 128Mi, got "lots"'].join("\n"),
      );
    });
  });

  describe("program", () => {
    it("deploys the Linkerd canary and exports its names and the weight read back from the TrafficSplit", async () => {
      setConfig(stack);
      const out = program();
      assert.deepEqual(
        {
          service: out.service,
          platform: out.platform,
          canaryWeight: out.canaryWeight,
          stableWeight: out.stableWeight,
          stableVersion: out.stableVersion,
          canaryVersion: out.canaryVersion,
          namespace: await unwrap(out.namespace),
          apexService: await unwrap(out.apexService),
          stableService: await unwrap(out.stableService),
          canaryService: await unwrap(out.canaryService),
          trafficSplit: await unwrap(out.trafficSplit),
          appliedCanaryWeight: await unwrap(out.appliedCanaryWeight),
        },
        {
          service: "checkout",
          platform: "linkerd",
          canaryWeight: 5,
          stableWeight: 95,
          stableVersion: "v2.4.1",
          canaryVersion: "v2.5.0",
          namespace: "shop",
          apexService: "checkout",
          stableService: "checkout-stable",
          canaryService: "checkout-canary",
          trafficSplit: "checkout",
          appliedCanaryWeight: 5,
        },
      );
      const [split] = await registrationsOf(TRAFFIC_SPLIT);
      assert.deepEqual(split!.inputs.spec.backends, [
        { service: "checkout-stable", weight: 950 },
        { service: "checkout-canary", weight: 50 },
      ]);
    });

    it("exports no canary Service when no canary is configured", async () => {
      const { "canary:canary": _c, "canary:weight": _w, ...stableOnly } = stack;
      setConfig(stableOnly);
      const out = program();
      assert.equal(await unwrap(out.canaryService), null);
      assert.equal(out.canaryVersion, null);
      assert.equal(await unwrap(out.appliedCanaryWeight), 0);
      assert.deepEqual((await registrationsOf(DEPLOYMENT)).map((r) => r.name), ["checkout-stable-deploy"]);
    });
  });
});
