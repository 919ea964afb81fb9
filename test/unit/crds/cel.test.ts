import * as assert from "node:assert/strict";
import { HTTP_ROUTE_API_VERSION, renderHttpRoute } from "../../../components/gateway/httpRoute";
import { DEFAULT_OUTLIER_DETECTION, ISTIO_API_VERSION, renderDestinationRule, renderVirtualService } from "../../../components/istio/render";
import { TrafficSpec } from "../../../components/routing";
import { celErrors, celPropertyName, celRules, crdErrors, crdSchema, withDefaults } from "../../helpers/crds";

const traffic: TrafficSpec = {
  hasCanary: true,
  canaryWeight: 5,
  override: { kind: "header", name: "x-canary", value: "true" },
  segments: [{ name: "beta", match: { kind: "cookie", name: "beta", value: "1" }, weight: 50 }],
  stickiness: { enabled: false, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } },
  mirrorPercent: 10,
};
const meta = { name: "checkout", namespace: "shop" };
const vs = () => ({ apiVersion: ISTIO_API_VERSION, kind: "VirtualService", metadata: meta, spec: renderVirtualService({ service: "checkout", traffic }) });
const dr = (interval = DEFAULT_OUTLIER_DETECTION.interval) => ({
  apiVersion: ISTIO_API_VERSION,
  kind: "DestinationRule",
  metadata: meta,
  spec: renderDestinationRule({ service: "checkout", stableVersion: "v1", canaryVersion: "v2", outlierDetection: { ...DEFAULT_OUTLIER_DETECTION, interval }, stickiness: traffic.stickiness }),
});
const route = () => ({
  apiVersion: HTTP_ROUTE_API_VERSION,
  kind: "HTTPRoute",
  metadata: meta,
  spec: renderHttpRoute(traffic, { gateway: { name: "public", namespace: "gateways" }, stableService: "checkout-stable", canaryService: "checkout-canary", port: 80 }),
});
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
/** Schema errors only (what the check did before CEL): the broken renders below pass them. */
const schemaOnly = (r: { apiVersion: string; kind: string }) => crdErrors(r as never).filter((e) => !e.includes("(rule: ") && !e.includes("could not evaluate"));

describe("CRD CEL rules (x-kubernetes-validations)", () => {
  it("every rule of the rendered CRD versions parses and plans in the environment", () => {
    const counts = [
      [ISTIO_API_VERSION, "VirtualService"],
      [ISTIO_API_VERSION, "DestinationRule"],
      [HTTP_ROUTE_API_VERSION, "HTTPRoute"],
    ].map(([apiVersion, kind]) => {
      const rules = celRules(crdSchema(apiVersion!, kind!));
      // Evaluating a rule against nothing still parses and plans it, and celErrors skips absent values;
      // so plan each directly through an object that holds only that rule.
      for (const r of rules) assert.deepEqual(celErrors({ "x-kubernetes-validations": [{ rule: r.rule, message: "m" }] }, undefined), [], r.rule);
      return [kind, rules.length];
    });
    // The vendored CRDs (test/fixtures/crds/SOURCES.md): counted so a refresh that changes them is noticed.
    assert.deepEqual(counts, [
      ["VirtualService", 6],
      ["DestinationRule", 47],
      ["HTTPRoute", 89],
    ]);
  });

  it("every rendered resource passes its CRD's rules", () => {
    for (const r of [vs(), dr(), route()]) assert.deepEqual(crdErrors(r), [], r.kind);
  });

  it("VirtualService: a route timeout under 1ms is caught by the CEL rule, not by the schema", () => {
    const broken: Json = vs();
    broken.spec.http[2].timeout = "0s";
    assert.deepEqual(schemaOnly(broken), []);
    assert.deepEqual(crdErrors(broken), ["/spec/http/2/timeout must be a valid duration greater than 1ms (rule: duration(self) >= duration('1ms'))"]);
  });

  it("DestinationRule: an outlier-detection interval of 0s is caught by the CEL rule, not by the schema", () => {
    const broken = dr("0s");
    assert.deepEqual(schemaOnly(broken), []);
    assert.deepEqual(crdErrors(broken), ["/spec/trafficPolicy/outlierDetection/interval must be a valid duration greater than 1ms (rule: duration(self) >= duration('1ms'))"]);
  });

  it("HTTPRoute: a RequestMirror filter with both percent and fraction is caught by the CEL rule, not by the schema", () => {
    const broken: Json = route();
    broken.spec.rules[2].filters[0].requestMirror.fraction = { numerator: 1, denominator: 10 };
    assert.deepEqual(schemaOnly(broken), []);
    assert.deepEqual(crdErrors(broken), ["/spec/rules/2/filters/0/requestMirror " + "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter (rule: !(has(self.percent) && has(self.fraction)))"]);
  });

  it("HTTPRoute: the same parent twice is caught by the parentRefs rule, which reads the escaped __namespace__", () => {
    const twice: Json = route();
    twice.spec.parentRefs = [twice.spec.parentRefs[0], { ...twice.spec.parentRefs[0] }];
    assert.deepEqual(schemaOnly(twice), []);
    assert.equal(crdErrors(twice).length, 1);
    assert.match(crdErrors(twice)[0]!, /^\/spec\/parentRefs sectionName must be unique when parentRefs includes 2 or more references to the same parent/);
    // The same Gateway name in another namespace is another parent: the rule must see the namespaces differ.
    const elsewhere: Json = route();
    elsewhere.spec.parentRefs = [elsewhere.spec.parentRefs[0], { ...elsewhere.spec.parentRefs[0], namespace: "other" }];
    assert.deepEqual(crdErrors(elsewhere), []);
  });

  it("escapes property names as Kubernetes does", () => {
    assert.deepEqual(["namespace", "in", "a.b", "x-y", "a/b", "a__b", "plain"].map(celPropertyName), ["__namespace__", "__in__", "a__dot__b", "x__dash__y", "a__slash__b", "a__underscores__b", "plain"]);
  });

  it("applies schema defaults before the rules run (the API server defaults first)", () => {
    const schema = { type: "object", properties: { a: { type: "string", default: "x" }, b: { type: "object", properties: { c: { type: "integer", default: 3 } } } } };
    assert.deepEqual(withDefaults(schema, { b: {} }), { a: "x", b: { c: 3 } });
    const rules = { ...schema, "x-kubernetes-validations": [{ rule: "self.a == 'x' && self.b.c == 3", message: "defaults missing" }] };
    assert.deepEqual(celErrors(rules, withDefaults(rules, { b: {} })), []);
    assert.deepEqual(celErrors(rules, { a: "y", b: { c: 3 } }), ["/ defaults missing (rule: self.a == 'x' && self.b.c == 3)"]);
  });
});
