import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AlbCanary } from "../../../components/aws";
import { GatewayCanary } from "../../../components/gateway/gatewayCanary";
import { CloudRunCanary } from "../../../components/gcp/cloudRunCanary";
import { IstioCanary } from "../../../components/istio";
import { LinkerdCanary } from "../../../components/linkerd/linkerdCanary";
import { CanaryMonitoring } from "../../../components/monitoring";
import { Stickiness, TrafficSpec } from "../../../components/routing";
import { ROLLOUT_RECORD_KEY } from "../../../automation/record/pulumiConfig";
import { canaryIsMonitored, noFullCanaryOutsideRollout, overrideClosedInProduction, policies, stickinessWithinLimits, weightsSumToTotal } from "../../../policy/policies";
import { renderedStack, validateResources, validateStack } from "../../helpers/policy";

const noStickiness: Stickiness = { enabled: false, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } };
const OVERRIDE = { kind: "header", name: "x-canary", value: "true" } as const;

function traffic(canaryWeight: number, extra: Partial<TrafficSpec> = {}): TrafficSpec {
  return { hasCanary: true, canaryWeight, segments: [], stickiness: noStickiness, mirrorPercent: 0, ...extra };
}

const images = { stableVersion: "v1", stableImage: "registry.example.com/checkout:v1", canaryVersion: "v2", canaryImage: "registry.example.com/checkout:v2" };

/**
 * A transformation that rewrites one child's properties: how a stack (or a hand edit mirrored
 * into it) can break an invariant the component itself never breaks.
 */
function rewrite(type: string, edit: (props: pulumi.Inputs) => pulumi.Inputs): pulumi.ResourceTransformation {
  return (a) => (a.type === type ? { props: edit(a.props), opts: a.opts } : undefined);
}

function istio(name: string, canaryWeight: number, extra: Partial<TrafficSpec> = {}, opts: pulumi.ComponentResourceOptions = {}): IstioCanary {
  return new IstioCanary(name, { service: name, ...images, traffic: traffic(canaryWeight, extra) }, opts);
}

function alb(name: string, canaryWeight: number, extra: { traffic?: Partial<TrafficSpec>; alarmsEnabled?: boolean } = {}, opts: pulumi.ComponentResourceOptions = {}): AlbCanary {
  return new AlbCanary(name, { traffic: traffic(canaryWeight, extra.traffic), vpcId: "vpc-0abc1234", subnetIds: ["subnet-0abc1234", "subnet-0abc1235"], alarmsEnabled: extra.alarmsEnabled }, opts);
}

const monitoring = (name: string) => new CanaryMonitoring(name, { service: name, stableVersion: "v1", canaryVersion: "v2", canaryWeight: 25 });

/** Runs `fn` with the stack config's rollout record set to `phase` (or unset), then restores the config. */
async function withRolloutPhase<T>(phase: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = pulumi.runtime.allConfig();
  const rest = Object.fromEntries(Object.entries(saved).filter(([k]) => k !== ROLLOUT_RECORD_KEY));
  pulumi.runtime.setAllConfig(phase === undefined ? rest : { ...rest, [ROLLOUT_RECORD_KEY]: JSON.stringify({ schema: 1, id: "r1", phase }) });
  try {
    return await fn();
  } finally {
    pulumi.runtime.setAllConfig(saved);
  }
}

describe("policy pack", () => {
  it("has the five policies, mandatory except the production override check", () => {
    assert.deepEqual(
      policies.map((p) => [p.name, p.enforcementLevel]),
      [
        ["canary-weights-sum-to-total", "mandatory"],
        ["canary-is-monitored", "mandatory"],
        ["canary-not-full-outside-rollout", "mandatory"],
        ["canary-stickiness-within-limits", "mandatory"],
        ["canary-override-closed-in-production", "advisory"],
      ],
    );
  });

  describe("canary-weights-sum-to-total", () => {
    it("passes every platform's rendered traffic resources", async () => {
      istio("pw-istio", 25, { override: OVERRIDE });
      alb("pw-alb", 25, { traffic: { override: OVERRIDE } });
      new LinkerdCanary("pw-linkerd", { service: "pw-linkerd", ...images, traffic: traffic(5) });
      new GatewayCanary("pw-gateway", { service: "pw-gateway", ...images, gateway: { name: "public", namespace: "gateways" }, traffic: traffic(5, { override: OVERRIDE }) });
      new CloudRunCanary("pw-run", { service: "pw-run", project: "shop-123", region: "europe-west1", ...images, traffic: traffic(5) });
      const stack = await renderedStack("pw-");
      // The stack holds each platform's traffic resource: the check really looked at them.
      assert.deepEqual(
        [...new Set(stack.map((r) => r.type))].filter((t) => /ListenerRule|VirtualService|TrafficSplit|HTTPRoute|cloudrunv2/.test(t)).sort(),
        [
          "aws:lb/listenerRule:ListenerRule",
          "gcp:cloudrunv2/service:Service",
          "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
          "kubernetes:networking.istio.io/v1:VirtualService",
          "kubernetes:split.smi-spec.io/v1alpha2:TrafficSplit",
        ],
      );
      assert.deepEqual(await validateResources(weightsSumToTotal, stack), []);
    });

    it("reports a VirtualService route whose weights were rewritten to sum to 105", async () => {
      const vs = "kubernetes:networking.istio.io/v1:VirtualService";
      istio("vw-istio", 25, {}, {
        transformations: [rewrite(vs, (p) => ({ ...p, spec: { ...p.spec, http: p.spec.http.map((h: { route: Array<{ weight: number }> }) => ({ ...h, route: [{ ...h.route[0], weight: 75 }, { ...h.route[1], weight: 30 }] })) } }))],
      });
      assert.deepEqual(await validateResources(weightsSumToTotal, await renderedStack("vw-istio")), ['VirtualService vw-istio-vs route "default": weights 75 + 30 sum to 105; a canary\'s weights must sum to 100']);
    });

    it("reports ALB forward weights off the total and above 999", async () => {
      const rule = "aws:lb/listenerRule:ListenerRule";
      alb("vw-alb", 25, {}, {
        transformations: [rewrite(rule, (p) => ({ ...p, actions: [{ ...p.actions[0], forward: { ...p.actions[0].forward, targetGroups: [{ ...p.actions[0].forward.targetGroups[0], weight: 1000 }, { ...p.actions[0].forward.targetGroups[1], weight: 1 }] } }] }))],
      });
      assert.deepEqual(await validateResources(weightsSumToTotal, await renderedStack("vw-alb")), [
        "listener rule vw-alb-rule-default action 0 forward: weights 1000 + 1 sum to 1001; a canary's weights must sum to 100",
        "listener rule vw-alb-rule-default action 0 forward: weights must be from 0 to 999, got 1000",
      ]);
    });

    it("reports an SMI TrafficSplit that does not sum to 1000", async () => {
      const split = "kubernetes:split.smi-spec.io/v1alpha2:TrafficSplit";
      new LinkerdCanary("vw-linkerd", { service: "vw-linkerd", ...images, traffic: traffic(5) }, {
        transformations: [rewrite(split, (p) => ({ ...p, spec: { ...p.spec, backends: [{ ...p.spec.backends[0], weight: 95 }, { ...p.spec.backends[1], weight: 5 }] } }))],
      });
      assert.deepEqual(await validateResources(weightsSumToTotal, await renderedStack("vw-linkerd")), ["TrafficSplit vw-linkerd-split: weights 95 + 5 sum to 100; a canary's weights must sum to 1000"]);
    });

    it("reports Cloud Run traffic that does not sum to 100", async () => {
      new CloudRunCanary("vw-run", { service: "vw-run", project: "shop-123", region: "europe-west1", ...images, traffic: traffic(5) }, {
        transformations: [rewrite("gcp:cloudrunv2/service:Service", (p) => ({ ...p, traffics: [{ ...p.traffics[0], percent: 90 }, p.traffics[1]] }))],
      });
      assert.deepEqual(await validateResources(weightsSumToTotal, await renderedStack("vw-run")), ["Cloud Run service vw-run-service traffic: weights 90 + 5 sum to 95; a canary's weights must sum to 100"]);
    });

    it("ignores weighted forwards outside the canary components", async () => {
      new aws.lb.ListenerRule("vw-plain-rule", {
        listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/2",
        actions: [{ type: "forward", forward: { targetGroups: [{ arn: "arn:a", weight: 1 }, { arn: "arn:b", weight: 1 }] } }],
        conditions: [{ pathPattern: { values: ["/*"] } }],
      });
      const stack = await renderedStack("vw-plain-rule");
      assert.equal(stack.length, 1);
      assert.deepEqual(await validateResources(weightsSumToTotal, stack), []);
    });
  });

  describe("canary-is-monitored", () => {
    it("reports a canary taking requests in a stack without monitoring", async () => {
      istio("mon-bare", 25);
      assert.deepEqual(await validateStack(canaryIsMonitored, await renderedStack("mon-bare")), [
        "mon-bare-vs sends 25% of requests to the canary, but the stack has no canary monitoring: add the CanaryMonitoring component (a PrometheusRule) or keep AlbCanary's alarms enabled",
      ]);
    });

    it("passes with CanaryMonitoring, and a canary at 0 needs none", async () => {
      istio("mon-with", 25);
      monitoring("mon-with-monitoring");
      istio("mon-zero", 0);
      assert.deepEqual(await validateStack(canaryIsMonitored, await renderedStack("mon-with")), []);
      assert.deepEqual(await validateStack(canaryIsMonitored, await renderedStack("mon-zero")), []);
    });

    it("counts AlbCanary's alarms, and reports an ALB canary whose alarms are off", async () => {
      alb("mon-alb-alarms", 25);
      alb("mon-alb-silent", 25, { alarmsEnabled: false });
      assert.deepEqual(await validateStack(canaryIsMonitored, await renderedStack("mon-alb-alarms")), []);
      assert.deepEqual(await validateStack(canaryIsMonitored, await renderedStack("mon-alb-silent")), [
        "mon-alb-silent-rule-default sends 25% of requests to the canary, but the stack has no canary monitoring: add the CanaryMonitoring component (a PrometheusRule) or keep AlbCanary's alarms enabled",
      ]);
    });
  });

  describe("canary-not-full-outside-rollout", () => {
    it("reports a canary at 100% with no rollout record, or one that ended", async () => {
      istio("full-istio", 100);
      new GatewayCanary("full-gateway", { service: "full-gateway", ...images, gateway: { name: "public", namespace: "gateways" }, traffic: traffic(100) });
      const stack = [...(await renderedStack("full-istio")), ...(await renderedStack("full-gateway"))];
      assert.deepEqual(await withRolloutPhase(undefined, () => validateStack(noFullCanaryOutsideRollout, stack)), [
        "full-istio-vs sends 100% of requests to the canary outside a rollout (rollout phase: none); promote it (stable := canary) or lower canary:weight",
        "full-gateway-route sends 100% of requests to the canary outside a rollout (rollout phase: none); promote it (stable := canary) or lower canary:weight",
      ]);
      assert.deepEqual(await withRolloutPhase("Succeeded", async () => validateStack(noFullCanaryOutsideRollout, await renderedStack("full-istio"))), [
        "full-istio-vs sends 100% of requests to the canary outside a rollout (rollout phase: Succeeded); promote it (stable := canary) or lower canary:weight",
      ]);
    });

    it("passes 100% during a rollout, and anything below 100% at any time", async () => {
      istio("full-rollout", 100);
      istio("full-half", 50);
      assert.deepEqual(await withRolloutPhase("Progressing", async () => validateStack(noFullCanaryOutsideRollout, await renderedStack("full-rollout"))), []);
      assert.deepEqual(await withRolloutPhase("Promoting", async () => validateStack(noFullCanaryOutsideRollout, await renderedStack("full-rollout"))), []);
      assert.deepEqual(await withRolloutPhase(undefined, async () => validateStack(noFullCanaryOutsideRollout, await renderedStack("full-half"))), []);
    });
  });

  describe("canary-stickiness-within-limits", () => {
    const sticky = (kind: "header" | "cookie"): Stickiness => ({ enabled: true, durationSeconds: 3600, hashKey: { kind, name: kind === "cookie" ? "session" : "x-user-id" } });

    it("passes the durations the components render", async () => {
      alb("st-ok-alb", 25, { traffic: { stickiness: sticky("header") } });
      istio("st-ok-istio", 25, { stickiness: sticky("cookie") });
      const stack = await renderedStack("st-ok-");
      assert.ok(stack.some((r) => r.props.spec?.trafficPolicy?.loadBalancer?.consistentHash?.httpCookie?.ttl === "3600s"));
      assert.deepEqual(await validateResources(stickinessWithinLimits, stack), []);
    });

    it("reports an ALB stickiness duration and an Istio cookie TTL out of range", async () => {
      alb("st-bad-alb", 25, { traffic: { stickiness: sticky("header") } }, {
        transformations: [rewrite("aws:lb/listenerRule:ListenerRule", (p) => ({ ...p, actions: [{ ...p.actions[0], forward: { ...p.actions[0].forward, stickiness: { enabled: true, duration: 700000 } } }] }))],
      });
      istio("st-bad-istio", 25, { stickiness: sticky("cookie") }, {
        transformations: [rewrite("kubernetes:networking.istio.io/v1:DestinationRule", (p) => ({ ...p, spec: { ...p.spec, trafficPolicy: { ...p.spec.trafficPolicy, loadBalancer: { consistentHash: { httpCookie: { name: "session", path: "/", ttl: "0s" } } } } } }))],
      });
      assert.deepEqual(await validateResources(stickinessWithinLimits, await renderedStack("st-bad-")), [
        "listener rule st-bad-alb-rule-default: stickiness duration must be from 1 to 604800 seconds, got 700000",
        'DestinationRule st-bad-istio-dr: hash cookie ttl must be from 1 to 604800 seconds, got "0s"',
      ]);
    });
  });

  describe("canary-override-closed-in-production", () => {
    it("warns about the override route in a production stack on ALB, Gateway API and Istio", async () => {
      istio("ov-istio", 5, { override: OVERRIDE });
      new GatewayCanary("ov-gateway", { service: "ov-gateway", ...images, gateway: { name: "public", namespace: "gateways" }, traffic: traffic(5, { override: OVERRIDE }) });
      alb("ov-alb", 5, { traffic: { override: OVERRIDE } });
      assert.deepEqual(await validateResources(overrideClosedInProduction, await renderedStack("ov-", "prod-us-east")), [
        "ov-alb-rule-override: the header override (x-canary) sends any request carrying it to the canary in production stack prod-us-east; turn it off (canary:override enabled: false) once the canary takes user traffic",
        "ov-gateway-route: the header override (x-canary) sends any request carrying it to the canary in production stack prod-us-east; turn it off (canary:override enabled: false) once the canary takes user traffic",
        "ov-istio-vs: the header override (x-canary) sends any request carrying it to the canary in production stack prod-us-east; turn it off (canary:override enabled: false) once the canary takes user traffic",
      ]);
    });

    it("is quiet outside production, without an override, and follows the configured pattern", async () => {
      istio("oq-istio", 5, { override: OVERRIDE });
      istio("oq-plain", 5);
      assert.deepEqual(await validateResources(overrideClosedInProduction, await renderedStack("oq-istio", "staging")), []);
      assert.deepEqual(await validateResources(overrideClosedInProduction, await renderedStack("oq-plain", "prod-us-east")), []);
      assert.deepEqual(await validateResources(overrideClosedInProduction, await renderedStack("oq-istio", "prod-us-east"), { productionStacks: "^live-" }), []);
      assert.equal((await validateResources(overrideClosedInProduction, await renderedStack("oq-istio", "live-eu"), { productionStacks: "^live-" })).length, 1);
    });
  });
});
