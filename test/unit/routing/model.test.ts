import * as assert from "node:assert/strict";
import { buildRoutes, cookieHeaderRegex, RoutingError, TrafficSpec } from "../../../components/routing";

const base: TrafficSpec = {
  hasCanary: true,
  canaryWeight: 5,
  override: { kind: "header", name: "x-canary", value: "true" },
  segments: [
    { name: "employees", match: { kind: "header", name: "x-employee", value: "true" }, weight: 100 },
    { name: "beta", match: { kind: "cookie", name: "beta", value: "1" }, weight: 50 },
  ],
  stickiness: { enabled: false, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } },
  mirrorPercent: 0,
};

describe("buildRoutes", () => {
  it("orders override, segments in the given order, then the default route", () => {
    assert.deepEqual(buildRoutes(base), [
      { name: "override", kind: "override", match: { kind: "header", name: "x-canary", value: "true" }, split: { canary: 100, stable: 0 } },
      { name: "employees", kind: "segment", match: { kind: "header", name: "x-employee", value: "true" }, split: { canary: 100, stable: 0 } },
      { name: "beta", kind: "segment", match: { kind: "cookie", name: "beta", value: "1" }, split: { canary: 50, stable: 50 } },
      { name: "default", kind: "default", split: { canary: 5, stable: 95 } },
    ]);
  });

  for (const weight of [0, 1, 5, 25, 50, 99, 100]) {
    it(`default route carries weight ${weight}; segment weights do not follow it`, () => {
      const routes = buildRoutes({ ...base, canaryWeight: weight });
      assert.deepEqual(routes.map((r) => [r.name, r.split.canary, r.split.stable]), [
        ["override", 100, 0],
        ["employees", 100, 0],
        ["beta", 50, 50],
        ["default", weight, 100 - weight],
      ]);
    });
  }

  it("keeps the segment order given (priority is position, not weight)", () => {
    const routes = buildRoutes({ ...base, segments: [...base.segments].reverse() });
    assert.deepEqual(routes.map((r) => r.name), ["override", "beta", "employees", "default"]);
  });

  it("has no override route when the override is off", () => {
    assert.deepEqual(buildRoutes({ ...base, override: undefined, segments: [] }), [{ name: "default", kind: "default", split: { canary: 5, stable: 95 } }]);
  });

  it("routes everything to stable without a canary, ignoring override and segments", () => {
    assert.deepEqual(buildRoutes({ ...base, hasCanary: false, canaryWeight: 0 }), [{ name: "default", kind: "default", split: { canary: 0, stable: 100 } }]);
  });

  it("refuses a weight without a canary", () => {
    assert.throws(() => buildRoutes({ ...base, hasCanary: false, canaryWeight: 5 }), new RoutingError("traffic.canaryWeight: must be 0 when no canary is deployed, got 5"));
  });

  it("refuses duplicate and reserved segment names", () => {
    assert.throws(() => buildRoutes({ ...base, segments: [base.segments[0]!, base.segments[0]!] }), new RoutingError('traffic.segments[1].name: is used by an earlier segment, got "employees"'));
    assert.throws(() => buildRoutes({ ...base, segments: [{ ...base.segments[0]!, name: "default" }] }), new RoutingError('traffic.segments[0].name: is reserved for the default route, got "default"'));
  });

  for (const weight of [-1, 101, 2.5]) {
    it(`refuses default weight ${weight}`, () => {
      assert.throws(() => buildRoutes({ ...base, canaryWeight: weight }), new RoutingError(`traffic.canaryWeight: must be an integer from 0 to 100, got ${weight}`));
    });
  }
});

describe("cookieHeaderRegex", () => {
  const table: Array<[string, boolean]> = [
    ["beta=1", true],
    ["a=b; beta=1", true],
    ["a=b;beta=1; c=d", true],
    ["beta=10", false],
    ["xbeta=1", false],
    ["beta=2; other=beta=1x", false],
    ["", false],
  ];
  const re = new RegExp(`^${cookieHeaderRegex("beta", "1")}$`);
  for (const [header, matches] of table) {
    it(`${JSON.stringify(header)} ${matches ? "matches" : "does not match"}`, () => {
      assert.equal(re.test(header), matches);
    });
  }

  it("escapes regex characters in names and values", () => {
    assert.equal(cookieHeaderRegex("a.b", "x+y"), "(^|.*;\\s*)a\\.b=x\\+y(;.*|$)");
  });
});
