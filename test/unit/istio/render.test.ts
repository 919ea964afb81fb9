import * as assert from "node:assert/strict";
import {
  canaryWeightOf,
  DEFAULT_OUTLIER_DETECTION,
  DestinationRuleSpec,
  renderDestinationRule,
  renderMatch,
  renderVirtualService,
  VirtualServiceSpec,
} from "../../../components/istio";
import { RoutingError, Stickiness, TrafficSpec } from "../../../components/routing";
import { crdErrors } from "../../helpers/crds";

const COOKIE_BETA = "(^|.*;\\s*)beta=1(;.*|$)";
const noStickiness: Stickiness = { enabled: false, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } };

/** A canary with the override, a header segment (mixed-case name) and a cookie segment. */
function traffic(canaryWeight: number, extra: Partial<TrafficSpec> = {}): TrafficSpec {
  return {
    hasCanary: true,
    canaryWeight,
    override: { kind: "header", name: "x-canary", value: "true" },
    segments: [
      { name: "employees", match: { kind: "header", name: "X-Employee", value: "true" }, weight: 100 },
      { name: "beta", match: { kind: "cookie", name: "beta", value: "1" }, weight: 50 },
    ],
    stickiness: noStickiness,
    mirrorPercent: 0,
    ...extra,
  };
}

const noCanary: TrafficSpec = { hasCanary: false, canaryWeight: 0, segments: [], stickiness: noStickiness, mirrorPercent: 0 };

/** Both destinations of a route with a canary, stable first. */
function split(stable: number, canary: number) {
  return [
    { destination: { host: "checkout", subset: "stable" }, weight: stable },
    { destination: { host: "checkout", subset: "canary" }, weight: canary },
  ];
}

function vsErrors(spec: unknown): string[] {
  return crdErrors({ apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "checkout", namespace: "default" }, spec });
}

function drErrors(spec: unknown): string[] {
  return crdErrors({ apiVersion: "networking.istio.io/v1", kind: "DestinationRule", metadata: { name: "checkout", namespace: "default" }, spec });
}

describe("renderVirtualService", () => {
  it("renders override, header segment, cookie segment and the default route in the model's order", () => {
    const spec = renderVirtualService({ service: "checkout", traffic: traffic(5) });
    assert.deepEqual(spec, {
      hosts: ["checkout"],
      http: [
        { name: "override", match: [{ headers: { "x-canary": { exact: "true" } } }], route: split(0, 100) },
        { name: "employees", match: [{ headers: { "x-employee": { exact: "true" } } }], route: split(0, 100) },
        { name: "beta", match: [{ headers: { cookie: { regex: COOKIE_BETA } } }], route: split(50, 50) },
        { name: "default", route: split(95, 5) },
      ],
    });
    assert.deepEqual(vsErrors(spec), []);
  });

  // Weight 0 keeps the canary destination at weight 0: the v1 CRD's weight is an int32 with no
  // minimum (checked by crdErrors below), and the two weights still total 100.
  const weights: Array<[number, number, number]> = [
    [0, 100, 0],
    [5, 95, 5],
    [50, 50, 50],
    [100, 0, 100],
  ];
  for (const [weight, stable, canary] of weights) {
    it(`weight ${weight}: default route stable ${stable} / canary ${canary}; segments and override unchanged; valid against the CRD`, () => {
      const spec = renderVirtualService({ service: "checkout", traffic: traffic(weight) });
      assert.deepEqual(
        spec.http.map((r) => [r.name, r.route.map((d) => [d.destination.subset, d.weight])]),
        [
          ["override", [["stable", 0], ["canary", 100]]],
          ["employees", [["stable", 0], ["canary", 100]]],
          ["beta", [["stable", 50], ["canary", 50]]],
          ["default", [["stable", stable], ["canary", canary]]],
        ],
      );
      assert.deepEqual(spec.http[3], { name: "default", route: split(stable, canary) });
      assert.deepEqual(vsErrors(spec), []);
    });
  }

  it("puts the mirror (to the canary subset) with its percentage on the default route only", () => {
    const spec = renderVirtualService({ service: "checkout", traffic: traffic(0, { mirrorPercent: 10 }) });
    assert.deepEqual(spec.http[3], { name: "default", route: split(100, 0), mirror: { host: "checkout", subset: "canary" }, mirrorPercentage: { value: 10 } });
    assert.deepEqual(
      spec.http.slice(0, 3).map((r) => [r.name, r.mirror, r.mirrorPercentage]),
      [
        ["override", undefined, undefined],
        ["employees", undefined, undefined],
        ["beta", undefined, undefined],
      ],
    );
    assert.deepEqual(vsErrors(spec), []);
  });

  it("routes everything to the stable subset alone without a canary", () => {
    const spec = renderVirtualService({ service: "checkout", traffic: noCanary });
    assert.deepEqual(spec, { hosts: ["checkout"], http: [{ name: "default", route: [{ destination: { host: "checkout", subset: "stable" }, weight: 100 }] }] });
    assert.deepEqual(vsErrors(spec), []);
  });

  it("renders only the default route when there is no override and no segment", () => {
    const spec = renderVirtualService({ service: "checkout", traffic: traffic(20, { override: undefined, segments: [] }) });
    assert.deepEqual(spec, { hosts: ["checkout"], http: [{ name: "default", route: split(80, 20) }] });
    assert.deepEqual(vsErrors(spec), []);
  });

  it("uses the given hosts and gateways", () => {
    const spec = renderVirtualService({ service: "checkout", hosts: ["shop.example.com", "checkout"], gateways: ["istio-system/public", "mesh"], traffic: traffic(5, { override: undefined, segments: [] }) });
    assert.deepEqual(spec, { hosts: ["shop.example.com", "checkout"], gateways: ["istio-system/public", "mesh"], http: [{ name: "default", route: split(95, 5) }] });
    assert.deepEqual(vsErrors(spec), []);
  });

  it("refuses a mirror without a canary", () => {
    assert.throws(() => renderVirtualService({ service: "checkout", traffic: { ...noCanary, mirrorPercent: 10 } }), new RoutingError("traffic.mirrorPercent: must be 0 when no canary is deployed, got 10"));
  });

  it("refuses a weight without a canary (the model's check)", () => {
    assert.throws(() => renderVirtualService({ service: "checkout", traffic: { ...noCanary, canaryWeight: 5 } }), new RoutingError("traffic.canaryWeight: must be 0 when no canary is deployed, got 5"));
  });
});

describe("renderMatch", () => {
  const table: Array<[Parameters<typeof renderMatch>[0], ReturnType<typeof renderMatch>]> = [
    [{ kind: "header", name: "x-canary", value: "true" }, { "x-canary": { exact: "true" } }],
    [{ kind: "header", name: "X-Employee", value: "Yes" }, { "x-employee": { exact: "Yes" } }],
    [{ kind: "cookie", name: "beta", value: "1" }, { cookie: { regex: COOKIE_BETA } }],
    [{ kind: "cookie", name: "a.b", value: "x+y" }, { cookie: { regex: "(^|.*;\\s*)a\\.b=x\\+y(;.*|$)" } }],
  ];
  for (const [match, expected] of table) {
    it(`${match.kind} ${match.name}=${match.value}`, () => assert.deepEqual(renderMatch(match), expected));
  }
});

describe("canaryWeightOf", () => {
  const table: Array<[string, Pick<VirtualServiceSpec, "http"> | undefined, number]> = [
    ["weight 5 on the default route", renderVirtualService({ service: "checkout", traffic: traffic(5) }), 5],
    ["weight 0 on the default route (segments at 100 and 50 do not count)", renderVirtualService({ service: "checkout", traffic: traffic(0) }), 0],
    ["weight 100", renderVirtualService({ service: "checkout", traffic: traffic(100) }), 100],
    ["no canary destination", renderVirtualService({ service: "checkout", traffic: noCanary }), 0],
    ["no default route", { http: [{ name: "override", route: split(0, 100) }] }, 0],
    ["no spec (not yet known)", undefined, 0],
  ];
  for (const [title, spec, expected] of table) {
    it(title, () => assert.equal(canaryWeightOf(spec), expected));
  }
});

describe("renderDestinationRule", () => {
  const base = { service: "checkout", stableVersion: "v1", canaryVersion: "v2", outlierDetection: DEFAULT_OUTLIER_DETECTION, stickiness: noStickiness };
  const outlier = { consecutive5xxErrors: 5, interval: "30s", baseEjectionTime: "30s", maxEjectionPercent: 50 };

  const table: Array<[string, Parameters<typeof renderDestinationRule>[0], DestinationRuleSpec]> = [
    [
      "stable and canary subsets by version, default outlier detection, no hashing",
      base,
      {
        host: "checkout",
        trafficPolicy: { outlierDetection: outlier },
        subsets: [
          { name: "stable", labels: { version: "v1" } },
          { name: "canary", labels: { version: "v2" } },
        ],
      },
    ],
    [
      "header stickiness: consistent hash on the lower-cased header",
      { ...base, stickiness: { enabled: true, durationSeconds: 3600, hashKey: { kind: "header", name: "X-User-Id" } } },
      {
        host: "checkout",
        trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: "x-user-id" } }, outlierDetection: outlier },
        subsets: [
          { name: "stable", labels: { version: "v1" } },
          { name: "canary", labels: { version: "v2" } },
        ],
      },
    ],
    [
      "cookie stickiness: consistent hash on a cookie with the duration as TTL",
      { ...base, stickiness: { enabled: true, durationSeconds: 7200, hashKey: { kind: "cookie", name: "session" } } },
      {
        host: "checkout",
        trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: "session", path: "/", ttl: "7200s" } } }, outlierDetection: outlier },
        subsets: [
          { name: "stable", labels: { version: "v1" } },
          { name: "canary", labels: { version: "v2" } },
        ],
      },
    ],
    [
      "custom outlier detection",
      { ...base, outlierDetection: { consecutive5xxErrors: 3, interval: "10s", baseEjectionTime: "1m", maxEjectionPercent: 100 } },
      {
        host: "checkout",
        trafficPolicy: { outlierDetection: { consecutive5xxErrors: 3, interval: "10s", baseEjectionTime: "1m", maxEjectionPercent: 100 } },
        subsets: [
          { name: "stable", labels: { version: "v1" } },
          { name: "canary", labels: { version: "v2" } },
        ],
      },
    ],
    [
      "without a canary the canary subset selects the stable version",
      { ...base, canaryVersion: undefined },
      {
        host: "checkout",
        trafficPolicy: { outlierDetection: outlier },
        subsets: [
          { name: "stable", labels: { version: "v1" } },
          { name: "canary", labels: { version: "v1" } },
        ],
      },
    ],
    [
      "disabled stickiness renders no load balancer even with a cookie key",
      { ...base, stickiness: { enabled: false, durationSeconds: 60, hashKey: { kind: "cookie", name: "session" } } },
      {
        host: "checkout",
        trafficPolicy: { outlierDetection: outlier },
        subsets: [
          { name: "stable", labels: { version: "v1" } },
          { name: "canary", labels: { version: "v2" } },
        ],
      },
    ],
  ];
  for (const [title, input, expected] of table) {
    it(`${title}; valid against the CRD`, () => {
      const spec = renderDestinationRule(input);
      assert.deepEqual(spec, expected);
      assert.deepEqual(drErrors(spec), []);
    });
  }
});

describe("CRD validation catches a broken render", () => {
  it("VirtualService: a destination without host and a fractional weight", () => {
    const good = renderVirtualService({ service: "checkout", traffic: traffic(5, { override: undefined, segments: [] }) });
    const broken = { ...good, http: [{ name: "default", route: [{ destination: { subset: "stable" }, weight: 94.5 }, { destination: { host: "checkout", subset: "canary" }, weight: 5.5 }] }] };
    assert.deepEqual(vsErrors(broken), [
      `/spec/http/0/route/0/destination must have required property 'host' {"missingProperty":"host"}`,
      `/spec/http/0/route/0/weight must be integer {"type":"integer"}`,
      `/spec/http/0/route/0/weight must match format "int32" {"format":"int32"}`,
      `/spec/http/0/route/1/weight must be integer {"type":"integer"}`,
      `/spec/http/0/route/1/weight must match format "int32" {"format":"int32"}`,
    ]);
  });

  it("DestinationRule: both a hash header and a hash cookie, and a string threshold", () => {
    const good = renderDestinationRule({ service: "checkout", stableVersion: "v1", canaryVersion: "v2", outlierDetection: DEFAULT_OUTLIER_DETECTION, stickiness: noStickiness });
    const broken = {
      ...good,
      trafficPolicy: {
        loadBalancer: { consistentHash: { httpHeaderName: "x-user-id", httpCookie: { name: "session", ttl: "60s" } } },
        outlierDetection: { ...good.trafficPolicy.outlierDetection, consecutive5xxErrors: "5" },
      },
    };
    assert.deepEqual(drErrors(broken), [
      "/spec/trafficPolicy/loadBalancer/consistentHash must NOT be valid {}",
      `/spec/trafficPolicy/loadBalancer/consistentHash must match exactly one schema in oneOf {"passingSchemas":[1,2]}`,
      `/spec/trafficPolicy/outlierDetection/consecutive5xxErrors must be integer {"type":"integer"}`,
    ]);
  });
});
