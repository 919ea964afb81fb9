/**
 * End to end on the local sandbox: real HAProxy, real Prometheus, the sample service under
 * generated load, the real judge, the HAProxy target and the file record store. Each test
 * starts its own sandbox on free loopback ports and stops it.
 */
import * as assert from "node:assert/strict";
import { DriverEvent } from "../../automation/driver";
import { runSandboxRollout } from "../../automation/demo";
import { parsePlan } from "../../automation/plan";

/** Short steps (10% then 50%) so each run takes seconds; the judge as in the demo. */
const PLAN = (maxDuration = "60s") =>
  parsePlan(`
steps:
  - { weight: 10, minDuration: 4s, maxDuration: ${maxDuration} }
  - { weight: 50, minDuration: 4s, maxDuration: ${maxDuration} }
  - { weight: 100 }
tick: 2s
analysis:
  judge:
    metrics:
      - { name: errors, source: { kind: errors }, negligibleRate: 0.01 }
      - { name: latency, source: { kind: latencyAbove, le: 0.25 }, negligibleRate: 0.01 }
    guardrails: { latency: [{ name: p95, le: 0.5, maxFraction: 0.05 }] }
    minCanaryRequestsToPromote: 100
  metrics: { selectors: { job: app } }
`);

describe("end to end on the sandbox (HAProxy target, Prometheus, judge)", function () {
  this.timeout(150_000);

  it("a good canary is promoted: every step, HAProxy ends at 100% canary, the record says Succeeded", async () => {
    const r = await runSandboxRollout({ versions: { stable: "v1", canary: "v2" }, plan: PLAN() });
    assert.equal(r.result.outcome, "promoted", r.result.reason);
    assert.deepEqual(
      r.record.history.map((h) => `${h.type} ${h.to}${h.weight !== undefined ? ` ${h.weight}` : ""}`),
      ["start Initializing", "advance Progressing 10", "advance Progressing 50", "promote Promoting 50", "complete Succeeded 50"],
    );
    assert.deepEqual([r.weights.stable, r.weights.canary], [0, 100]);
    assert.equal(r.badRequests, 0);
    assert.ok(r.canaryRequests > 0);
  });

  it("an error regression mid-rollout is rolled back at once: HAProxy back to 0% canary, the record says RolledBack", async () => {
    const r = await runSandboxRollout({ versions: { stable: "v1", canary: "v2" }, plan: PLAN(), fault: { atStep: 1, fault: { errorRate: 0.3 } } });
    assert.equal(r.result.outcome, "rolledBack");
    assert.match(r.result.reason, /^guardrail errorRate: canary bad fraction ≥ [\d.]+% \(observed [\d.]+% of \d+ requests\) exceeds limit 5\.00%$|^errors: canary\/baseline ratio/);
    assert.deepEqual(
      r.record.history.map((h) => `${h.type} ${h.to}`),
      ["start Initializing", "advance Progressing", "advance Progressing", "rollback RollingBack", "rolledBack RolledBack"],
    );
    const rollback = r.record.history[3];
    assert.equal(rollback.trigger, "analysis");
    assert.equal(rollback.weight, 50, "rolled back during the step the fault started in, not after it");
    assert.deepEqual([r.weights.stable, r.weights.canary], [100, 0]);
    assert.deepEqual(r.record.history[4].evidence, { applied: 0 });
  });

  it("a latency regression is rolled back", async () => {
    const r = await runSandboxRollout({ versions: { stable: "v1", canary: "v2" }, plan: PLAN(), fault: { atStep: 0, fault: { latency: { kind: "fixed", ms: 600 } } } });
    assert.equal(r.result.outcome, "rolledBack");
    assert.match(r.result.reason, /^(guardrail p95|latency): /);
    assert.equal(r.record.history[2].weight, 10);
    assert.deepEqual([r.weights.stable, r.weights.canary], [100, 0]);
    assert.equal(r.record.phase, "RolledBack");
  });

  it("no traffic holds the step (never promotes) until its maximum duration, then the plan's inconclusive rollback", async () => {
    const ticks: string[] = [];
    const report = (e: DriverEvent): void => {
      if (e.kind === "tick") ticks.push(`${e.verdict.decision}${e.verdict.hold ? `/${e.verdict.hold}` : ""}`);
    };
    const r = await runSandboxRollout({ versions: { stable: "v1", canary: "v2" }, plan: PLAN("10s"), rps: 0, report });
    assert.equal(r.result.outcome, "rolledBack");
    assert.match(r.result.reason, /^inconclusive: step 0 reached its maximum duration \(10s\) without a decision: no data this tick/);
    assert.ok(ticks.length >= 4, ticks.join(", "));
    assert.deepEqual(new Set(ticks.slice(0, -1)), new Set(["continue/noTraffic"]));
    assert.equal(ticks[ticks.length - 1], "inconclusive");
    assert.deepEqual(r.record.history.map((h) => h.type), ["start", "advance", "rollback", "rolledBack"]);
    assert.deepEqual([r.weights.stable, r.weights.canary], [100, 0]);
  });
});
