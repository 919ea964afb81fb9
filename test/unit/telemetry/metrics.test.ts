import * as assert from "node:assert/strict";
import { register, Registry } from "prom-client";
import { DRIVER_WEIGHT_METRIC } from "../../../components/monitoring/dashboard";
import { appliedWeight, RolloutMetrics, WEIGHT_METRIC } from "../../../automation/telemetry/metrics";
import { Phase, transition } from "../../../automation/state";
import { fixtureRecord, fixtureTransitions } from "../../helpers/notifyFixtures";

const L = 'service="checkout",stack="prod"';

/** The sample lines (no comments, no histogram buckets), with phase lines only for the phase that is 1. */
async function samples(m: RolloutMetrics): Promise<string[]> {
  return (await m.text()).split("\n").filter((l) => l !== "" && !l.startsWith("#") && !l.includes("_bucket{") && !(l.startsWith("canary_rollout_phase{") && l.endsWith(" 0")));
}

describe("telemetry metrics", () => {
  it("keeps the weight metric the dashboard queries", () => {
    assert.equal(WEIGHT_METRIC, DRIVER_WEIGHT_METRIC);
  });

  const weights: [Phase, number | undefined, number][] = [
    ["Idle", undefined, 0],
    ["Initializing", undefined, 0],
    ["Progressing", 25, 25],
    ["Paused", 25, 25],
    ["Frozen", 25, 25],
    ["Promoting", 50, 50],
    ["Succeeded", 50, 100],
    ["RollingBack", 25, 25],
    ["RolledBack", 25, 0],
  ];
  for (const [phase, stepWeight, expected] of weights) {
    it(`appliedWeight in ${phase}${stepWeight !== undefined ? ` at step weight ${stepWeight}` : ""} is ${expected}`, () => {
      assert.equal(appliedWeight({ phase, steps: [5, 25, 50, 100], ...(stepWeight !== undefined ? { step: { index: 1, weight: stepWeight, startedAt: "" } } : {}) }), expected);
    });
  }

  it("exposition at start: weight 0, phase Idle, decisions at 0, empty histogram, in its own registry", async () => {
    const m = new RolloutMetrics({ service: "checkout", stack: "prod" });
    const buckets = ["0.01", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf"];
    assert.equal(
      await m.text(),
      [
        "# HELP canary_rollout_weight Canary traffic weight the rollout driver last applied, percent.",
        "# TYPE canary_rollout_weight gauge",
        `canary_rollout_weight{${L}} 0`,
        "",
        "# HELP canary_rollout_phase Rollout phase: 1 for the current phase, 0 for the others.",
        "# TYPE canary_rollout_phase gauge",
        ...["Idle", "Initializing", "Progressing", "Paused", "Frozen", "Baking", "Promoting", "Succeeded", "RollingBack", "RolledBack"].map((p) => `canary_rollout_phase{${L},phase="${p}"} ${p === "Idle" ? 1 : 0}`),
        "",
        "# HELP canary_rollout_step Index (0-based) of the judged step in force.",
        "# TYPE canary_rollout_step gauge",
        "",
        "# HELP canary_rollout_decisions_total Judge decisions, one per analysis tick, by decision.",
        "# TYPE canary_rollout_decisions_total counter",
        ...["continue", "promote", "rollback", "inconclusive"].map((d) => `canary_rollout_decisions_total{${L},decision="${d}"} 0`),
        "",
        "# HELP canary_rollout_decision_duration_seconds Time to reach one decision: reading the metrics and judging the tick.",
        "# TYPE canary_rollout_decision_duration_seconds histogram",
        ...buckets.map((b) => `canary_rollout_decision_duration_seconds_bucket{le="${b}",${L}} 0`),
        `canary_rollout_decision_duration_seconds_sum{${L}} 0`,
        `canary_rollout_decision_duration_seconds_count{${L}} 0`,
        "",
        "# HELP canary_rollout_info The versions of the rollout: always 1.",
        "# TYPE canary_rollout_info gauge",
        "",
      ].join("\n"),
    );
    assert.equal((await register.metrics()).includes("canary_rollout"), false);
  });

  it("follows the rollout: transitions set weight, phase, step, versions; ticks count decisions and their duration", async () => {
    const m = new RolloutMetrics({ service: "checkout", stack: "prod" });
    const [start, step0, step1, rollback, rolledBack] = fixtureTransitions();
    const info = `canary_rollout_info{${L},stable_version="v2.4.0",canary_version="v2.5.0"} 1`;
    const decisions = (c: number, r: number) => [
      `canary_rollout_decisions_total{${L},decision="continue"} ${c}`,
      `canary_rollout_decisions_total{${L},decision="promote"} 0`,
      `canary_rollout_decisions_total{${L},decision="rollback"} ${r}`,
      `canary_rollout_decisions_total{${L},decision="inconclusive"} 0`,
    ];
    const histogram = (sum: number, count: number) => [`canary_rollout_decision_duration_seconds_sum{${L}} ${sum}`, `canary_rollout_decision_duration_seconds_count{${L}} ${count}`];

    m.observe({ kind: "transition", ...start });
    assert.deepEqual(await samples(m), [`canary_rollout_weight{${L}} 0`, `canary_rollout_phase{${L},phase="Initializing"} 1`, ...decisions(0, 0), ...histogram(0, 0), info]);

    m.observe({ kind: "transition", ...step0 });
    m.observe({ kind: "tick", record: step0.record, verdict: { decision: "continue" }, decisionSeconds: 0.25 });
    m.observe({ kind: "action" });
    m.observe({ kind: "transition", ...step1 });
    m.observe({ kind: "tick", record: step1.record, verdict: { decision: "continue" }, decisionSeconds: 0.5 });
    assert.deepEqual(await samples(m), [`canary_rollout_weight{${L}} 25`, `canary_rollout_phase{${L},phase="Progressing"} 1`, `canary_rollout_step{${L}} 1`, ...decisions(2, 0), ...histogram(0.75, 2), info]);

    m.observe({ kind: "tick", record: step1.record, verdict: { decision: "rollback" } });
    m.observe({ kind: "transition", ...rollback });
    assert.deepEqual(await samples(m), [`canary_rollout_weight{${L}} 25`, `canary_rollout_phase{${L},phase="RollingBack"} 1`, `canary_rollout_step{${L}} 1`, ...decisions(2, 1), ...histogram(0.75, 2), info]);

    m.observe({ kind: "transition", ...rolledBack });
    assert.deepEqual(await samples(m), [`canary_rollout_weight{${L}} 0`, `canary_rollout_phase{${L},phase="RolledBack"} 1`, `canary_rollout_step{${L}} 1`, ...decisions(2, 1), ...histogram(0.75, 2), info]);
    const text = await m.text();
    assert.ok(text.includes(`canary_rollout_decision_duration_seconds_bucket{le="0.25",${L}} 1\ncanary_rollout_decision_duration_seconds_bucket{le="0.5",${L}} 2\n`));
  });

  it("a new rollout's versions replace the info series", async () => {
    const m = new RolloutMetrics({ service: "checkout", stack: "prod" });
    m.record(fixtureRecord(2));
    const next = transition({ ...fixtureRecord(0), id: "next", version: "v2.6.0", snapshot: { type: "pulumi", stableVersion: "v2.5.0" } }, { type: "start", at: "2026-01-02T00:00:00.000Z", reason: "again" });
    m.record(next);
    assert.deepEqual(
      (await m.text()).split("\n").filter((l) => l.startsWith("canary_rollout_info{")),
      [`canary_rollout_info{${L},stable_version="v2.5.0",canary_version="v2.6.0"} 1`],
    );
  });

  it("two instances in their own registries do not collide", async () => {
    const a = new RolloutMetrics({ service: "a", stack: "s" });
    const b = new RolloutMetrics({ service: "b", stack: "s" }, new Registry());
    a.decision("promote", 1);
    assert.ok((await a.text()).includes('canary_rollout_decisions_total{service="a",stack="s",decision="promote"} 1'));
    assert.ok((await b.text()).includes('canary_rollout_decisions_total{service="b",stack="s",decision="promote"} 0'));
    assert.ok(!(await b.text()).includes('service="a"'));
  });
});
