/**
 * Blue/green through the Pulumi target, on every platform that can express it: in-memory stacks
 * whose every `up` evaluates the real program under the runtime mocks, judged by the real judge
 * on metrics that follow the weight each `up` deployed. Green is deployed beside blue at 0 % (at
 * blue's size), switched to at once, baked with blue kept, then promoted; a failing bake switches
 * back; the pre-traffic hook gets each platform's override route from the stack outputs. A
 * canary's bake keeps the old stable deployed and rolls back to it. A platform that cannot do it
 * (Linkerd) is refused before anything changes.
 */
import * as assert from "node:assert/strict";
import "../../helpers/pulumi";
import { parseConfig } from "../../../infra/config";
import { TickMeasurement } from "../../../automation/analysis/types";
import { parsePlan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { HookSpec, HookVariables } from "../../../automation/rollout/hooks";
import { ComparedVersions, MetricsSource } from "../../../automation/rollout/judging";
import { runRollout } from "../../../automation/rollout/run";
import { PulumiStackTarget } from "../../../automation/targets/pulumiStack";
import { FakeClock } from "../../helpers/fakes";
import { Deployment, MemoryStack } from "../../helpers/memoryStack";
import { stackConfig } from "../../helpers/stackConfig";

const BLUE = { version: "v2.4.1", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:v2.4.1" };
const GREEN = { version: "v2.5.0", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:v2.5.0" };

/** Each platform's stack at rest: blue only. */
function resting(platform: string): Record<string, string> {
  if (platform === "aws") {
    const raw = stackConfig("dev");
    delete raw["canary:canary"];
    raw["canary:weight"] = "0";
    return raw;
  }
  const blocks: Record<string, [string, unknown]> = {
    istio: ["canary:istio", { namespace: "shop", replicas: 4 }],
    "gateway-api": ["canary:gateway", { namespace: "shop", replicas: 4, gateway: { name: "public", namespace: "gateways" } }],
    gcp: ["canary:gcp", { project: "shop-prod-1", region: "europe-west1" }],
    linkerd: ["canary:linkerd", { namespace: "shop", replicas: 4 }],
  };
  const [key, block] = blocks[platform]!;
  return { "canary:platform": platform, "canary:service": "checkout", "canary:stable": JSON.stringify(BLUE), "canary:weight": "0", [key]: JSON.stringify(block) };
}

/**
 * Metrics that follow the weight the stack's last `up` deployed: 1000 requests a tick, split by the
 * applied weight, the new version failing `errorRate` of its requests. `subject` is the version
 * in the `canary` role (the new one, or the previous one for the bake's reference).
 */
class StackMetrics implements MetricsSource {
  private last?: number;
  constructor(
    private readonly stack: MemoryStack,
    private readonly subject: "new" | "previous",
    private readonly errorRate: () => number,
  ) {}
  async measure(at: number): Promise<TickMeasurement> {
    const start = this.last;
    this.last = at;
    if (start === undefined) return { kind: "priming", end: at };
    const w = (this.stack.deployments.at(-1)?.outputs.appliedCanaryWeight as number | undefined) ?? 0;
    const fresh = 10 * w;
    const old = 1000 - fresh;
    const newCounts = { requests: fresh, errors: Math.round(fresh * this.errorRate()) };
    const oldCounts = { requests: old, errors: 0 };
    return this.subject === "new" ? { kind: "ok", start, end: at, canary: newCounts, baseline: oldCounts } : { kind: "ok", start, end: at, canary: oldCounts, baseline: newCounts };
  }
}

const PLAN = parsePlan(`
strategy: blueGreen
tick: 10s
blueGreen: { scaleDownDelay: 40s }
bake: { duration: 20s, reference: 5m }
hooks: [{ name: smoke, at: beforePromotion, command: ["./smoke.sh"] }]
analysis: { judge: { minCanaryRequestsToPromote: 500 } }
`);

/** A hook runner that records what each hook was given and passes. */
class RecordingHooks {
  readonly seen: { hook: string; variables: HookVariables; deployments: number }[] = [];
  constructor(private readonly stack: MemoryStack) {}
  async run(hook: HookSpec, variables: HookVariables) {
    this.seen.push({ hook: hook.name, variables, deployments: this.stack.deployments.length });
    return { ok: true, attempts: 1, detail: "exit 0", excerpt: "smoke passed" };
  }
}

async function blueGreen(platform: string, errorRate: (stack: MemoryStack) => number = () => 0, plan = PLAN) {
  const stack = new MemoryStack("prod", resting(platform));
  const clock = new FakeClock();
  const store = new MemoryRecordStore();
  const hooks = new RecordingHooks(stack);
  const result = await runRollout({
    plan,
    ...GREEN,
    target: new PulumiStackTarget(stack),
    store,
    metrics: (v: ComparedVersions) => new StackMetrics(stack, v.canary === GREEN.version ? "new" : "previous", () => errorRate(stack)),
    hookRunner: hooks,
    clock,
    id: "bg1",
  });
  return { stack, result, record: result.record, hooks };
}

/** Replicas of a Deployment by its Pulumi name, in one deployment. */
function replicas(d: Deployment, name: string): number | undefined {
  return d.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === name)?.inputs.spec.replicas;
}

/** What the platform's traffic resource sends where, in one deployment. */
function traffic(platform: string, d: Deployment): unknown {
  const of = (type: string) => d.resources.find((r) => r.type === type)!.inputs;
  switch (platform) {
    case "aws":
      return d.resources.filter((r) => r.type === "aws:lb/listenerRule:ListenerRule").map((r) => [r.name, r.inputs.actions[0].forward.targetGroups.map((g: { weight: number }) => g.weight)]);
    case "istio":
      return of("kubernetes:networking.istio.io/v1:VirtualService").spec.http.map((h: { route: { destination: { subset: string }; weight: number }[] }) => h.route.map((r) => [r.destination.subset, r.weight]));
    case "gateway-api":
      return of("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").spec.rules.map((r: { backendRefs: { name: string; weight: number }[] }) => r.backendRefs.map((b) => [b.name, b.weight]));
    case "gcp":
      return of("gcp:cloudrunv2/service:Service").traffics.map((t: { revision: string; percent: number; tag?: string }) => [t.revision, t.percent, t.tag ?? null]);
  }
  return undefined;
}

describe("blue/green through the Pulumi target (in-memory stacks running the real program)", function () {
  this.timeout(60_000);

  // Green's deployment, the switch and the promotion as each platform renders them.
  const expected: Record<string, { deployed: unknown; switched: unknown; promoted: unknown }> = {
    // Listener rules [stable, canary]: the header rule (and the employees segment) reach green from its deployment.
    aws: {
      deployed: [["checkout-rule-default", [100, 0]], ["checkout-rule-override", [0, 100]], ["checkout-rule-employees", [0, 100]], ["checkout-rule-beta", [50, 50]]],
      switched: [["checkout-rule-default", [0, 100]], ["checkout-rule-override", [0, 100]], ["checkout-rule-employees", [0, 100]], ["checkout-rule-beta", [50, 50]]],
      promoted: [["checkout-rule-default", [100]]],
    },
    // VirtualService routes: the header route, then the default route.
    istio: {
      deployed: [[["stable", 0], ["canary", 100]], [["stable", 100], ["canary", 0]]],
      switched: [[["stable", 0], ["canary", 100]], [["stable", 0], ["canary", 100]]],
      promoted: [[["stable", 100]]],
    },
    // HTTPRoute rules: the header rule, then the default rule.
    "gateway-api": {
      deployed: [[["checkout-stable", 0], ["checkout-canary", 100]], [["checkout-stable", 100], ["checkout-canary", 0]]],
      switched: [[["checkout-stable", 0], ["checkout-canary", 100]], [["checkout-stable", 0], ["checkout-canary", 100]]],
      promoted: [[["checkout-stable", 100]]],
    },
    // Revision traffic: green tagged from its deployment (its tag URL is the override); blue's revision is kept by Cloud Run.
    gcp: {
      deployed: [["checkout-v2-4-1", 100, null], ["checkout-v2-5-0", 0, "canary"]],
      switched: [["checkout-v2-5-0", 100, "canary"]],
      promoted: [["checkout-v2-5-0", 100, null]],
    },
  };

  for (const platform of ["aws", "istio", "gateway-api", "gcp"]) {
    it(`${platform}: green beside blue at 0 %, the switch, the bake with blue kept, then the promotion`, async () => {
      const { stack, result, record, hooks } = await blueGreen(platform);
      assert.equal(result.outcome, "promoted", result.reason);
      // The pre-traffic check ran once green was deployed and before the switch, given the route that reaches green.
      assert.deepEqual(
        hooks.seen.map((h) => [h.hook, h.deployments, h.variables.CANARY_HOOK_POINT, h.variables.CANARY_STABLE_VERSION, h.variables.CANARY_OVERRIDE_URL, h.variables.CANARY_OVERRIDE_HEADER, h.variables.CANARY_OVERRIDE_VALUE]),
        [["smoke", 1, "beforePromotion", "v2.4.1", ...(platform === "gcp" ? ["https://canary---checkout-abc123-ew.a.run.app", undefined, undefined] : [undefined, "x-canary", "true"])]],
      );
      assert.deepEqual(record.hooks!.map((h) => [h.hook, h.slot, h.ok, h.excerpt]), [["smoke", "beforePromotion", true, "smoke passed"]]);
      assert.deepEqual(stack.upCalls, ["canary: deploy green v2.5.0 beside blue at weight 0", "canary: weight 100 (v2.5.0)", "canary: promote v2.5.0 to stable"]);
      const [deployed, switched, promoted] = stack.deployments;
      assert.deepEqual(
        stack.deployments.map((d) => [d.outputs.appliedCanaryWeight, d.outputs.stableVersion, d.outputs.canaryVersion]),
        [
          [0, "v2.4.1", "v2.5.0"],
          [100, "v2.4.1", "v2.5.0"],
          [0, "v2.5.0", null],
        ],
      );
      assert.deepEqual([traffic(platform, deployed), traffic(platform, switched), traffic(platform, promoted)], [expected[platform]!.deployed, expected[platform]!.switched, expected[platform]!.promoted]);
      assert.equal(deployed.config["canary:canary"], JSON.stringify({ ...GREEN, strategy: "blueGreen" }));
      if (platform === "istio" || platform === "gateway-api") {
        // Green runs at blue's size from its deployment, and blue stays at full size through the bake.
        assert.deepEqual([deployed, switched].map((d) => [replicas(d, "checkout-stable-deploy"), replicas(d, "checkout-canary-deploy")]), [[4, 4], [4, 4]]);
      }
      // The override route reaches green before any user does: a header, or Cloud Run's tag URL.
      assert.deepEqual(deployed.outputs.overrideHeader, platform === "gcp" ? null : { name: "x-canary", value: "true" });
      if (platform === "gcp") assert.equal(deployed.outputs.canaryUrl, "https://canary---checkout-abc123-ew.a.run.app");
      // Promotion: green is the stable version (a version and its image), nothing of the rollout left behind.
      assert.equal(stack.raw()["canary:stable"], JSON.stringify(GREEN));
      assert.equal("canary:canary" in stack.config, false);
      assert.deepEqual(record.history.map((h) => h.type), ["start", "switch", "promote", "complete"]);
      const at = (type: string) => Date.parse(record.history.find((h) => h.type === type)!.at);
      assert.ok(at("promote") - at("switch") >= 40_000, "blue is kept for scaleDownDelay after the switch");
      assert.deepEqual(record.reference && "requests" in record.reference ? [record.reference.version, record.reference.requests, record.reference.errors] : record.reference, ["v2.4.1", 1000, 0]);
    });
  }

  for (const platform of ["istio", "gcp"]) {
    it(`${platform}: green failing in the bake is switched back to blue at once, blue never having left`, async () => {
      // Green fails 20 % of its requests once it has the traffic.
      const { stack, result, record } = await blueGreen(platform, (s) => (s.deployments.length >= 2 ? 0.2 : 0));
      assert.equal(result.outcome, "rolledBack");
      assert.match(result.reason, /^guardrail errorRate: canary bad fraction ≥ /);
      assert.deepEqual(stack.upCalls, ["canary: deploy green v2.5.0 beside blue at weight 0", "canary: weight 100 (v2.5.0)", "canary: roll back (canary kept at weight 0)"]);
      const last = stack.deployments.at(-1)!;
      assert.deepEqual([last.outputs.appliedCanaryWeight, last.outputs.stableVersion, last.outputs.canaryVersion], [0, "v2.4.1", "v2.5.0"]);
      // Kept for debugging at weight 0, at a canary's size rather than green's.
      assert.equal(last.config["canary:canary"], JSON.stringify(GREEN));
      if (platform === "istio") assert.deepEqual([replicas(last, "checkout-stable-deploy"), replicas(last, "checkout-canary-deploy")], [4, 1]);
      assert.deepEqual(record.history.map((h) => h.type), ["start", "switch", "rollback", "rolledBack"]);
    });
  }

  it("istio: a canary's bake keeps the old stable deployed at full size with all traffic on the canary, and a failing bake rolls back to it", async () => {
    const plan = parsePlan(`
steps: [{ weight: 50, minDuration: 20s }, { weight: 100 }]
tick: 10s
bake: { duration: 60s, reference: 5m }
analysis: { judge: { minCanaryRequestsToPromote: 500, metrics: [{ name: errors, source: { kind: errors }, negligibleRate: 0.05 }] } }
`);
    // The canary fails 20 % of its requests once it has all the traffic.
    const { stack, result, record } = await blueGreen("istio", (s) => ((s.deployments.at(-1)?.outputs.appliedCanaryWeight as number) === 100 ? 0.2 : 0), plan);
    assert.equal(result.outcome, "rolledBack", result.reason);
    assert.match(result.reason, /^guardrail errorRate: canary bad fraction ≥ /);
    assert.deepEqual(record.history.map((h) => h.type), ["start", "advance", "switch", "rollback", "rolledBack"]);
    assert.deepEqual(stack.upCalls, ["canary: deploy v2.5.0 at weight 0", "canary: weight 50 (v2.5.0)", "canary: weight 100 (v2.5.0)", "canary: roll back (canary kept at weight 0)"]);
    const [, , baking, restored] = stack.deployments;
    // During the bake all traffic is on the canary and the old stable is still deployed at its full size.
    assert.deepEqual(traffic("istio", baking), [[["stable", 0], ["canary", 100]], [["stable", 0], ["canary", 100]]]);
    assert.deepEqual([baking.outputs.stableVersion, replicas(baking, "checkout-stable-deploy")], ["v2.4.1", 4]);
    // The rollback puts all traffic back on it: the previous version, never redeployed.
    assert.deepEqual(traffic("istio", restored), [[["stable", 0], ["canary", 100]], [["stable", 100], ["canary", 0]]]);
    assert.deepEqual([restored.outputs.stableVersion, replicas(restored, "checkout-stable-deploy")], ["v2.4.1", 4]);
    assert.equal(stack.raw()["canary:stable"], JSON.stringify(BLUE));
  });

  it("linkerd: refused with the reason before anything changes", async () => {
    const stack = new MemoryStack("prod", resting("linkerd"));
    const before = structuredClone(stack.config);
    const store = new MemoryRecordStore();
    await assert.rejects(
      runRollout({ plan: PLAN, ...GREEN, target: new PulumiStackTarget(stack), store, metrics: () => new StackMetrics(stack, "new", () => 0), clock: new FakeClock() }),
      {
        name: "StrategyRefusedError",
        message:
          "strategy: blueGreen cannot run on pulumi prod: platform linkerd cannot do blue/green: SMI TrafficSplit cannot route on headers, so green cannot be checked through an override route before it takes all traffic; platforms that can: aws, istio, gateway-api, gcp; nothing was changed",
      },
    );
    assert.deepEqual(stack.config, before);
    assert.deepEqual(stack.upCalls, []);
    assert.equal(store.saved.length, 0);
  });

  it("an override route switched off is refused: the pre-traffic checks could not reach green", async () => {
    const stack = new MemoryStack("prod", { ...resting("istio"), "canary:override": JSON.stringify({ enabled: false }) });
    await assert.rejects(runRollout({ plan: PLAN, ...GREEN, target: new PulumiStackTarget(stack), store: new MemoryRecordStore(), metrics: () => new StackMetrics(stack, "new", () => 0), clock: new FakeClock() }), {
      name: "StrategyRefusedError",
      message: "strategy: blueGreen cannot run on pulumi prod: canary:override.enabled is false: the pre-traffic checks reach green through the override route (enable it); nothing was changed",
    });
    assert.deepEqual(stack.upCalls, []);
  });

  it("the program refuses canary:canary.strategy blueGreen where the platform cannot express it, at the key", () => {
    const raw = { ...resting("linkerd"), "canary:canary": JSON.stringify({ ...GREEN, strategy: "blueGreen" }) };
    assert.throws(() => parseConfig(raw), {
      name: "CanaryConfigError",
      message: [
        "canary:override: is required with blueGreen: the pre-traffic checks reach green through the override route before any user does",
        "canary:canary.strategy: linkerd does not support blue/green: SMI TrafficSplit cannot route on headers, so green cannot be checked through an override route before it takes all traffic; platforms that do: aws, istio, gateway-api, gcp",
      ].join("\n"),
    });
    const istio = { ...resting("istio"), "canary:canary": JSON.stringify({ ...GREEN, strategy: "green" }) };
    assert.throws(() => parseConfig(istio), { name: "CanaryConfigError", message: 'canary:canary.strategy: must be canary or blueGreen, got "green"' });
  });
});
