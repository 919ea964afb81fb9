import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { GatewayCanary, GatewayCanaryArgs } from "../../../components/gateway/gatewayCanary";
import { appliedCanaryPercent, HTTP_ROUTE_API_VERSION, HttpRouteTarget, renderHttpRoute } from "../../../components/gateway/httpRoute";
import { cookieHeaderRegex, RoutingError, Segment, TrafficSpec } from "../../../components/routing";
import { CanaryConfigError, parseConfig } from "../../../infra/config";
import { program } from "../../../infra/program";
import { crdErrors } from "../../helpers/crds";
import { registrations, registrationsOf, resetRegistrations, setConfig, unwrap } from "../../helpers/pulumi";

const SERVICE = "kubernetes:core/v1:Service";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";
const COMPONENT = "canary:gateway:GatewayCanary";

const noStickiness = { enabled: false, durationSeconds: 3600, hashKey: { kind: "header" as const, name: "x-user-id" } };

function traffic(canaryWeight: number, extra: Partial<TrafficSpec> = {}): TrafficSpec {
  return { hasCanary: true, canaryWeight, segments: [], stickiness: noStickiness, mirrorPercent: 0, ...extra };
}

const override = { kind: "header" as const, name: "x-canary", value: "true" };
const segments: Segment[] = [
  { name: "employees", match: { kind: "header", name: "X-Employee", value: "true" }, weight: 100 },
  { name: "beta", match: { kind: "cookie", name: "beta", value: "1" }, weight: 50 },
];

const target: HttpRouteTarget = {
  gateway: { name: "public", namespace: "gateways", sectionName: "https" },
  hostnames: ["shop.example.com"],
  stableService: "checkout-stable",
  canaryService: "checkout-canary",
  port: 80,
};

const parentRefs = [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "public", namespace: "gateways", sectionName: "https" }];
const ALL = { type: "PathPrefix", value: "/" };
const refs = (stable: number, canary: number) => [
  { name: "checkout-stable", port: 80, weight: stable },
  { name: "checkout-canary", port: 80, weight: canary },
];

function route(spec: unknown) {
  return { apiVersion: HTTP_ROUTE_API_VERSION, kind: "HTTPRoute", metadata: { name: "checkout", namespace: "shop" }, spec };
}

function args(canaryWeight: number, extra: Partial<TrafficSpec> = {}): GatewayCanaryArgs {
  return {
    service: "checkout",
    namespace: "shop",
    gateway: { name: "public", namespace: "gateways", sectionName: "https" },
    hostnames: ["shop.example.com"],
    stableVersion: "v2.4.1",
    stableImage: "registry.example.com/checkout:v2.4.1",
    canaryVersion: "v2.5.0",
    canaryImage: "registry.example.com/checkout:v2.5.0",
    traffic: traffic(canaryWeight, extra),
  };
}

/** A Gateway API stack with a canary at 5%, the default override and two segments. */
const stack = {
  "canary:platform": "gateway-api",
  "canary:service": "checkout",
  "canary:stable": { version: "v2.4.1", image: "registry.example.com/checkout:v2.4.1" },
  "canary:canary": { version: "v2.5.0", image: "registry.example.com/checkout:v2.5.0" },
  "canary:weight": 5,
  "canary:segments": [
    { name: "employees", match: { type: "header", name: "x-employee", value: "true" }, weight: 100 },
    { name: "beta", match: { type: "cookie", name: "beta", value: "1" }, weight: 50 },
  ],
  "canary:gateway": { gateway: { name: "public", namespace: "gateways" }, namespace: "shop", hostnames: ["shop.example.com"] },
};

function raw(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

describe("gateway-api", () => {
  beforeEach(() => resetRegistrations());

  describe("renderHttpRoute", () => {
    it("renders the override, the segments in order (cookie as a regex on the cookie header), then the default with the mirror", () => {
      const spec = renderHttpRoute(traffic(5, { override, segments, mirrorPercent: 10 }), target);
      assert.deepEqual(spec, {
        parentRefs,
        hostnames: ["shop.example.com"],
        rules: [
          { name: "override", matches: [{ path: ALL, headers: [{ type: "Exact", name: "x-canary", value: "true" }] }], backendRefs: refs(0, 100) },
          { name: "employees", matches: [{ path: ALL, headers: [{ type: "Exact", name: "x-employee", value: "true" }] }], backendRefs: refs(0, 100) },
          { name: "beta", matches: [{ path: ALL, headers: [{ type: "RegularExpression", name: "cookie", value: "(^|.*;\\s*)beta=1(;.*|$)" }] }], backendRefs: refs(50, 50) },
          {
            name: "default",
            matches: [{ path: ALL }],
            filters: [{ type: "RequestMirror", requestMirror: { backendRef: { name: "checkout-canary", port: 80 }, percent: 10 } }],
            backendRefs: refs(95, 5),
          },
        ],
      });
      assert.equal(spec.rules[2]!.matches[0]!.headers![0]!.value, cookieHeaderRegex("beta", "1"));
      assert.deepEqual(crdErrors(route(spec)), []);
    });

    for (const [weight, stable, canary] of [
      [0, 100, 0],
      [5, 95, 5],
      [50, 50, 50],
      [100, 0, 100],
    ] as const) {
      it(`weights the default rule ${stable}/${canary} at ${weight}%`, () => {
        const spec = renderHttpRoute(traffic(weight), target);
        assert.deepEqual(spec.rules, [{ name: "default", matches: [{ path: ALL }], backendRefs: refs(stable, canary) }]);
        assert.deepEqual(crdErrors(route(spec)), []);
        assert.equal(appliedCanaryPercent(spec, "checkout-canary"), weight);
      });
    }

    it("sends everything to stable, without mirror or canary backend, when no canary is deployed", () => {
      const spec = renderHttpRoute({ ...traffic(0), hasCanary: false }, { ...target, gateway: { name: "public", namespace: "gateways" }, hostnames: undefined });
      assert.deepEqual(spec, {
        parentRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "public", namespace: "gateways" }],
        rules: [{ name: "default", matches: [{ path: ALL }], backendRefs: [{ name: "checkout-stable", port: 80, weight: 100 }] }],
      });
      assert.deepEqual(crdErrors(route(spec)), []);
      assert.equal(appliedCanaryPercent(spec, "checkout-canary"), 0);
    });

    it("is checked by the CRD schema: a mirror over 100% and an unknown match type are caught", () => {
      const spec = renderHttpRoute(traffic(5, { segments, mirrorPercent: 10 }), target);
      const broken = JSON.parse(JSON.stringify(spec));
      broken.rules[2].filters[0].requestMirror.percent = 150;
      broken.rules[0].matches[0].headers[0].type = "Regex";
      assert.deepEqual(crdErrors(route(broken)), [
        '/spec/rules/0/matches/0/headers/0/type must be equal to one of the allowed values {"allowedValues":["Exact","RegularExpression"]}',
        '/spec/rules/2/filters/0/requestMirror/percent must be <= 100 {"comparison":"<=","limit":100}',
      ]);
    });

    it("refuses routes that do not fit in the 16 rules of one HTTPRoute", () => {
      const many = Array.from({ length: 15 }, (_, i) => ({ name: `s${i}`, match: { kind: "header" as const, name: "x-segment", value: String(i) }, weight: 10 }));
      assert.doesNotThrow(() => renderHttpRoute(traffic(5, { segments: many.slice(0, 14), override }), target));
      assert.throws(
        () => renderHttpRoute(traffic(5, { segments: many, override }), target),
        new RoutingError("traffic.segments: must have at most 14 segments: an HTTPRoute has at most 16 rules and the override, the segments and the default need 17, got 15"),
      );
    });
  });

  describe("GatewayCanary", () => {
    for (const [weight, stable, canary, replicas] of [
      [0, 100, 0, 1],
      [5, 95, 5, 1],
      [50, 50, 50, 2],
      [100, 0, 100, 3],
    ] as const) {
      it(`renders stable and canary Services and Deployments and the HTTPRoute at ${weight}%`, async () => {
        const c = new GatewayCanary("checkout", args(weight, { override }));
        assert.equal(await unwrap(c.appliedCanaryWeight), weight);

        const all = await registrations();
        assert.deepEqual(all.filter((r) => r.type.startsWith("canary:")).map((r) => [r.type, r.name]), [[COMPONENT, "checkout"]]);
        const services = (await registrationsOf(SERVICE)).sort((a, b) => a.name.localeCompare(b.name));
        assert.deepEqual(
          services.map((r) => [r.name, r.inputs.metadata, r.inputs.spec]),
          (["canary", "stable"] as const).map((track) => [
            `checkout-${track}-svc`,
            { name: `checkout-${track}`, namespace: "shop", labels: { app: "checkout", track } },
            { type: "ClusterIP", selector: { app: "checkout", track }, ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
          ]),
        );
        const deployments = (await registrationsOf(DEPLOYMENT)).sort((a, b) => a.name.localeCompare(b.name));
        assert.deepEqual(
          deployments.map((r) => [r.name, r.inputs.metadata, r.inputs.spec.replicas, r.inputs.spec.selector, r.inputs.spec.template.metadata, r.inputs.spec.template.spec.containers[0].image]),
          [
            ["checkout-canary-deploy", { name: "checkout-canary", namespace: "shop", labels: { app: "checkout", version: "v2.5.0", track: "canary" } }, replicas, { matchLabels: { app: "checkout", track: "canary" } }, { labels: { app: "checkout", version: "v2.5.0", track: "canary" } }, "registry.example.com/checkout:v2.5.0"],
            ["checkout-stable-deploy", { name: "checkout-stable", namespace: "shop", labels: { app: "checkout", version: "v2.4.1", track: "stable" } }, 3, { matchLabels: { app: "checkout", track: "stable" } }, { labels: { app: "checkout", version: "v2.4.1", track: "stable" } }, "registry.example.com/checkout:v2.4.1"],
          ],
        );
        const routes = await registrationsOf(HTTP_ROUTE);
        assert.deepEqual(
          routes.map((r) => [r.name, r.inputs]),
          [
            [
              "checkout-route",
              route({
                parentRefs,
                hostnames: ["shop.example.com"],
                rules: [
                  { name: "override", matches: [{ path: ALL, headers: [{ type: "Exact", name: "x-canary", value: "true" }] }], backendRefs: refs(0, 100) },
                  { name: "default", matches: [{ path: ALL }], backendRefs: refs(stable, canary) },
                ],
              }),
            ],
          ],
        );
        assert.deepEqual(crdErrors(routes[0]!.inputs), []);
        assert.equal(all.filter((r) => !r.type.startsWith("pulumi:providers:")).length, 6);
      });
    }

    it("renders only the stable workload and a stable-only route without a canary", async () => {
      const c = new GatewayCanary("checkout", { service: "checkout", gateway: { name: "public", namespace: "gateways" }, stableVersion: "v2.4.1", stableImage: "registry.example.com/checkout:v2.4.1", traffic: { ...traffic(0), hasCanary: false } });
      assert.equal(await unwrap(c.appliedCanaryWeight), 0);
      assert.deepEqual((await registrationsOf(SERVICE)).map((r) => r.name), ["checkout-stable-svc"]);
      assert.deepEqual((await registrationsOf(DEPLOYMENT)).map((r) => r.name), ["checkout-stable-deploy"]);
      const [r] = await registrationsOf(HTTP_ROUTE);
      assert.deepEqual(r!.inputs.metadata, { name: "checkout", namespace: "default" });
      assert.deepEqual(r!.inputs.spec.rules, [{ name: "default", matches: [{ path: ALL }], backendRefs: [{ name: "checkout-stable", port: 80, weight: 100 }] }]);
    });

    it("refuses a zero replica count before registering anything", async () => {
      assert.throws(() => new GatewayCanary("checkout", { ...args(5), replicas: 0 }), { name: "ComponentArgsError", message: ["canary:gateway:GatewayCanary: invalid arguments", "replicas: must be an integer from 1 to 1000, got 0"].join("\n") });
      assert.deepEqual(await registrations(), []);
    });

    it("refuses stickiness before registering anything", async () => {
      assert.throws(
        () => new GatewayCanary("checkout", args(5, { stickiness: { ...noStickiness, enabled: true } })),
        { name: "ComponentArgsError", message: ["canary:gateway:GatewayCanary: invalid arguments", "traffic.stickiness: gateway-api does not support stickiness: session persistence is not in the Gateway API standard channel; platforms that do: aws, istio"].join("\n") },
      );
      assert.deepEqual(await registrations(), []);
    });
  });

  describe("config", () => {
    it("refuses stickiness with the capability message, and the program registers nothing", async () => {
      const config = { ...stack, "canary:stickiness": { enabled: true } };
      const message = "canary:stickiness: gateway-api does not support stickiness: session persistence is not in the Gateway API standard channel; platforms that do: aws, istio";
      assert.throws(() => parseConfig(raw(config)), (e: unknown) => e instanceof CanaryConfigError && e.message === message);
      setConfig(config);
      assert.throws(() => program(), (e: unknown) => e instanceof CanaryConfigError && e.message === message);
      assert.deepEqual(await registrations(), []);
    });

    it("accepts the override, segments and mirroring", () => {
      const c = parseConfig(raw({ ...stack, "canary:mirror": 10 }));
      assert.deepEqual(c.traffic.override, { kind: "header", name: "x-canary", value: "true" });
      assert.equal(c.traffic.segments.length, 2);
      assert.equal(c.traffic.mirrorPercent, 10);
    });

    it("requires the block, since the Gateway has no default", () => {
      const { "canary:gateway": _omitted, ...rest } = stack;
      assert.throws(() => parseConfig(raw(rest)), (e: unknown) => e instanceof CanaryConfigError && e.message === "canary:gateway: is required when canary:platform is gateway-api");
    });

    it("applies the block defaults and refuses bad values, naming the key and the value", () => {
      assert.deepEqual(parseConfig(raw({ ...stack, "canary:gateway": { gateway: { name: "public", namespace: "gateways" } } })).block, {
        gateway: { name: "public", namespace: "gateways" },
        namespace: "default",
        port: 80,
        targetPort: 8080,
        replicas: 3,
        healthPath: "/health",
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
      });
      assert.throws(
        () => parseConfig(raw({ ...stack, "canary:gateway": { gateway: { name: "Public", namespace: "gateways" }, hostnames: ["shop.example.com:443"] } })),
        (e: unknown) =>
          e instanceof CanaryConfigError &&
          e.message ===
            [
              `canary:gateway.gateway.name: must be a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253 characters, got "Public"`,
              `canary:gateway.hostnames[0]: must be a host name such as shop.example.com or *.example.com (no IP address, no port), got "shop.example.com:443"`,
            ].join("\n"),
      );
    });

    it("refuses segments that need more than 16 rules, naming canary:segments, before registering anything", async () => {
      const many = Array.from({ length: 15 }, (_, i) => ({ name: `s${i}`, match: { type: "header", name: "x-segment", value: String(i) }, weight: 10 }));
      setConfig({ ...stack, "canary:segments": many });
      assert.throws(() => program(), {
        name: "CanaryConfigError",
        message: "canary:segments: must have at most 14 segments: an HTTPRoute has at most 16 rules and the override, the segments and the default need 17, got 15",
      });
      assert.deepEqual(await registrations(), []);
    });
  });

  describe("program", () => {
    it("deploys the Gateway API canary and exports its names and the weight read back from the HTTPRoute", async () => {
      setConfig({ ...stack, "canary:mirror": 10 });
      const out = program();
      assert.deepEqual(
        {
          platform: out.platform,
          canaryWeight: out.canaryWeight,
          namespace: await unwrap(out.namespace),
          gateway: await unwrap(out.gateway),
          httpRoute: await unwrap(out.httpRoute),
          stableService: await unwrap(out.stableService),
          canaryService: await unwrap(out.canaryService),
          appliedCanaryWeight: await unwrap(out.appliedCanaryWeight),
        },
        {
          platform: "gateway-api",
          canaryWeight: 5,
          namespace: "shop",
          gateway: "gateways/public",
          httpRoute: "checkout",
          stableService: "checkout-stable",
          canaryService: "checkout-canary",
          appliedCanaryWeight: 5,
        },
      );
      const [r] = await registrationsOf(HTTP_ROUTE);
      assert.deepEqual(
        r!.inputs.spec.rules.map((rule: { name: string; backendRefs: Array<{ weight: number }>; filters?: unknown }) => [rule.name, rule.backendRefs.map((b) => b.weight), rule.filters ?? null]),
        [
          ["override", [0, 100], null],
          ["employees", [0, 100], null],
          ["beta", [50, 50], null],
          ["default", [95, 5], [{ type: "RequestMirror", requestMirror: { backendRef: { name: "checkout-canary", port: 80 }, percent: 10 } }]],
        ],
      );
      assert.deepEqual(crdErrors(r!.inputs), []);
    });
  });
});
