import { strict as assert } from "node:assert";
import { Judge, JudgeConfigError, JudgeConfigInput, JudgeInputError, JudgeState, parseJudgeConfig } from "../../../automation/analysis/judge";
import { OkMeasurement, TickMeasurement, Verdict, VersionCounts } from "../../../automation/analysis/types";

const STEP = { index: 0, startedAt: 0, minDurationSeconds: 60, maxDurationSeconds: 600 };

function ok(end: number, canary: VersionCounts, baseline: VersionCounts, start = end - 5): OkMeasurement {
  return { kind: "ok", start, end, canary, baseline };
}

/** Feeds ticks in order, returning every verdict and the final state. */
function run(judge: Judge, ticks: readonly TickMeasurement[], state: JudgeState = judge.initialState(STEP)): { verdicts: Verdict[]; state: JudgeState } {
  const verdicts: Verdict[] = [];
  for (const m of ticks) {
    const r = judge.tick(state, m);
    state = r.state;
    verdicts.push(r.verdict);
  }
  return { verdicts, state };
}

/** n ticks of 5 s with the same counts. */
const repeat = (n: number, canary: VersionCounts, baseline: VersionCounts, from = 0): OkMeasurement[] =>
  Array.from({ length: n }, (_, i) => ok(from + 5 * (i + 1), canary, baseline));

const errorsOnly: JudgeConfigInput = { metrics: [{ name: "errors", source: { kind: "errors" } }] };

describe("judge: configuration", () => {
  it("rejects invalid configurations naming the exact path", () => {
    const table: [unknown, string][] = [
      [{ alpha: 2 }, "invalid judge config: alpha: Too big: expected number to be <1"],
      [{ metrics: [{ name: "x", source: { kind: "nope" } }] }, "invalid judge config: metrics[0].source.kind: Invalid discriminator value. Expected 'errors' | 'latencyAbove' | 'count'"],
      [
        { metrics: [{ name: "e", source: { kind: "errors" } }, { name: "e", source: { kind: "errors" } }] },
        'invalid judge config: metrics[1].name: duplicate name "e"',
      ],
      [{ guardrails: { windowTicks: 0 } }, "invalid judge config: guardrails.windowTicks: Too small: expected number to be >=1"],
    ];
    for (const [input, message] of table) assert.throws(() => parseJudgeConfig(input), { name: "JudgeConfigError", message });
    assert.throws(() => new Judge({ metrics: [{ name: "e", source: { kind: "errors" }, margin: 2, allowedRatio: 1.5 }] }), {
      name: "JudgeConfigError",
      message: "invalid judge config: metrics[0].margin: must be < allowedRatio (1.5), got 2",
    });
    assert.ok(new JudgeConfigError("x") instanceof Error);
  });

  it("fills documented defaults", () => {
    const c = parseJudgeConfig({});
    assert.equal(c.alpha, 0.01);
    assert.equal(c.promoteAlpha, 0.05);
    assert.deepEqual(
      c.metrics.map((m) => m.name),
      ["errors"],
    );
    assert.equal(c.guardrails.maxErrorRate, 0.05);
    assert.equal(c.guardrails.minSuccessRate, 0.95);
    assert.equal(c.noData.maxOutageSeconds, 120);
  });
});

describe("judge: no data is not failure", () => {
  const judge = new Judge(errorsOnly);

  it("holds on the priming read", () => {
    const { verdicts } = run(judge, [{ kind: "priming", end: 0 }]);
    assert.equal(verdicts[0].decision, "continue");
    assert.equal(verdicts[0].hold, "priming");
  });

  it("holds the step when the canary had no traffic, without counting the time", () => {
    const { verdicts } = run(judge, repeat(20, { requests: 0, errors: 0 }, { requests: 1000, errors: 10 }));
    assert.ok(verdicts.every((v) => v.decision === "continue" && v.hold === "noTraffic"));
    assert.equal(verdicts[19].stepObservedSeconds, 0);
    assert.equal(verdicts[19].stepElapsedSeconds, 100);
  });

  it("holds without an outage clock while no request has ever reached the canary, and never promotes", () => {
    const ticks: TickMeasurement[] = [5, 60, 125, 300].map((end) => ({ kind: "noValues", end, missing: ["canary"], neverSeen: ["canary"], detail: "no series" }));
    const { verdicts } = run(judge, ticks);
    assert.deepEqual(
      verdicts.map((v) => [v.decision, v.hold, v.reasons[0]]),
      ticks.map(() => ["continue", "noTraffic", "no canary series yet: no request has reached the canary; holding the step"]),
    );
  });

  it("treats canary series that existed and vanished as an outage (a crashed pod), not as no traffic", () => {
    const ticks: TickMeasurement[] = [
      ok(5, { requests: 250, errors: 2 }, { requests: 4750, errors: 47 }),
      { kind: "noValues", end: 60, missing: ["canary"], neverSeen: [], detail: "no series" },
      { kind: "noValues", end: 125, missing: ["canary"], neverSeen: [], detail: "no series" },
    ];
    const { verdicts } = run(judge, ticks);
    assert.deepEqual(
      verdicts.map((v) => [v.decision, v.hold]),
      [
        ["continue", undefined],
        ["continue", "metricsOutage"],
        ["rollback", undefined],
      ],
    );
  });

  it("holds through a metrics outage and rolls back once it outlasts the limit", () => {
    const ticks: TickMeasurement[] = [
      ok(5, { requests: 250, errors: 2 }, { requests: 4750, errors: 47 }),
      { kind: "queryFailed", end: 10, error: "connect ECONNREFUSED" },
      { kind: "noValues", end: 120, missing: ["canary"], neverSeen: [], detail: "no series" },
      { kind: "queryFailed", end: 125, error: "timed out" },
    ];
    const { verdicts } = run(judge, ticks);
    assert.deepEqual(
      verdicts.map((v) => [v.decision, v.hold]),
      [
        ["continue", undefined],
        ["continue", "metricsOutage"],
        ["continue", "metricsOutage"],
        ["rollback", undefined],
      ],
    );
    assert.equal(verdicts[3].reasons[0], "metrics unavailable for 120s, limit 120s");
    assert.equal(verdicts[1].reasons[0], "metrics query failed (connect ECONNREFUSED); no data for 5.00s (limit 120s)");
  });

  it("never promotes on a tick without data, even when the evidence would allow it", () => {
    const healthy = repeat(30, { requests: 250, errors: 0 }, { requests: 4750, errors: 0 });
    const { state, verdicts } = run(judge, healthy);
    assert.equal(verdicts[29].decision, "promote");
    const r = judge.tick(state, { kind: "queryFailed", end: 155, error: "timed out" });
    assert.equal(r.verdict.decision, "continue");
    assert.equal(r.verdict.hold, "metricsOutage");
  });
});

describe("judge: absolute guardrails", () => {
  const judge = new Judge(errorsOnly);
  const base = { requests: 4750, errors: 47 };

  it("table: minimum sample, lower bound, shared incidents", () => {
    const table: { name: string; canary: VersionCounts; baseline: VersionCounts; decision: string; status: string; hold?: string }[] = [
      // 1 error in 3 requests is under the 20-request minimum: no verdict on 33%.
      { name: "1 of 3", canary: { requests: 3, errors: 1 }, baseline: base, decision: "continue", status: "insufficientSample" },
      // 10 of 30 is 33% observed, and even its lower bound (8.96%) is above 5%.
      { name: "10 of 30", canary: { requests: 30, errors: 10 }, baseline: base, decision: "rollback", status: "breached" },
      // 5% observed, lower bound ≈ 2.4%: not a breach.
      { name: "at the limit", canary: { requests: 250, errors: 12 }, baseline: base, decision: "continue", status: "ok" },
      // Both versions at 16%: a shared incident, rolling back would not help.
      {
        name: "shared",
        canary: { requests: 250, errors: 40 },
        baseline: { requests: 4750, errors: 760 },
        decision: "continue",
        status: "sharedBreach",
        hold: "sharedGuardrailBreach",
      },
    ];
    for (const c of table) {
      const { verdicts } = run(judge, [ok(5, c.canary, c.baseline)]);
      const g = verdicts[0].guardrails.find((x) => x.name === "errorRate")!;
      assert.deepEqual([verdicts[0].decision, g.status, verdicts[0].hold], [c.decision, c.status, c.hold], c.name);
    }
  });

  it("rolls back a 50%-error canary on the first tick with data, with the numbers in the reason", () => {
    const { verdicts } = run(judge, [ok(5, { requests: 250, errors: 125 }, base)]);
    assert.equal(verdicts[0].decision, "rollback");
    assert.deepEqual(verdicts[0].reasons.slice(0, 2), [
      "guardrail errorRate: canary bad fraction ≥ 38.41% (observed 50.00% of 250 requests) exceeds limit 5.00%",
      "guardrail successRate: canary success ≤ 61.59% (observed 50.00% of 250 requests) below minimum 95.00%",
    ]);
  });

  it("p99 limit from bucket counts: fraction above the bucket", () => {
    const j = new Judge({ ...errorsOnly, guardrails: { latency: [{ name: "p99≤1s", le: 1, maxFraction: 0.01 }] } });
    const lat = (total: number, above: number) => [
      { le: 0.5, count: total - above - 1 },
      { le: 1, count: total - above },
      { le: Infinity, count: total },
    ];
    const slow = run(j, [ok(5, { requests: 250, errors: 0, latencyBuckets: lat(250, 25) }, { ...base, latencyBuckets: lat(4750, 5) })]);
    assert.equal(slow.verdicts[0].decision, "rollback");
    assert.equal(slow.verdicts[0].reasons[0], "guardrail p99≤1s: canary bad fraction ≥ 4.41% (observed 10.00% of 250 requests) exceeds limit 1.00%");
    const fine = run(j, [ok(5, { requests: 250, errors: 0, latencyBuckets: lat(250, 2) }, { ...base, latencyBuckets: lat(4750, 5) })]);
    assert.equal(fine.verdicts[0].guardrails.find((g) => g.name === "p99≤1s")!.status, "ok");
  });

  it("still applies to the canary when the baseline's series are missing", () => {
    const { verdicts } = run(judge, [{ kind: "noValues", end: 5, start: 0, missing: ["baseline"], neverSeen: [], canary: { requests: 250, errors: 125 }, detail: "no series" }]);
    assert.equal(verdicts[0].decision, "rollback");
  });
});

describe("judge: relative evidence", () => {
  // Canary at twice the baseline's error rate: 5 of 250 vs 47 of 4750 per tick.
  const canary = { requests: 250, errors: 5 };
  const baseline = { requests: 4750, errors: 47 };

  it("e-values of a known sequence equal the independent computation, rollback at 1/α", () => {
    // No dispersion, no cap: E_t = (1/6) Σ_{ψ ∈ S} Π LR(ψ), S = {2^(j/3): j = 1..6} (the default
    // alternatives), computed with mpmath (30 digits) directly from the binomial probabilities.
    const expected = [1.8104838317788396, 3.649098004377723, 7.815398503502039, 17.363326876605875, 39.52251549092665, 91.52252011213204, 214.6632974301426];
    const judge = new Judge({ ...errorsOnly, dispersion: { enabled: false }, tickEvidenceCap: 100 });
    const { verdicts } = run(judge, repeat(7, canary, baseline));
    verdicts.forEach((v, i) => {
      const e = v.metrics[0].eValue;
      assert.ok(Math.abs(e - expected[i]) <= 1e-9 * expected[i], `tick ${i + 1}: ${e} ≠ ${expected[i]}`);
    });
    assert.deepEqual(
      verdicts.map((v) => v.decision),
      ["continue", "continue", "continue", "continue", "continue", "continue", "rollback"],
    );
    assert.equal(verdicts[6].metrics[0].rollbackThreshold, 100);
    assert.match(verdicts[6].reasons[0], /^errors: canary\/baseline ratio above 1\.\d+ \(margin 1\.00\) \(e-value 215 ≥ 100\); canary 2\.00% vs baseline 0\.99%$/);
    // The lower bound and the e-value agree: rejected at the margin means bound ≥ margin.
    assert.ok(verdicts[6].metrics[0].ratioLower >= 1);
    assert.ok(verdicts[5].metrics[0].ratioLower < 1);
  });

  it("tempers the evidence by the spread between pods seen in earlier ticks", () => {
    // Version-wide noise off, so only the pod spread tempers.
    const judge = new Judge({ ...errorsOnly, dispersion: { versionNoise: { enabled: false } } });
    // The same totals as above, once with pods agreeing (binomial) and once with pods
    // disagreeing wildly (bursty errors): only the second is tempered.
    const pods = (errs: number[]) => errs.map((e) => ({ requests: 475, errors: e }));
    const calm = { ...baseline, bySeries: pods([5, 4, 5, 5, 4, 5, 5, 5, 4, 5]) };
    const bursty = { ...baseline, bySeries: pods([0, 0, 20, 0, 1, 0, 25, 0, 0, 1]) };
    const c = { ...canary, bySeries: [{ requests: 250, errors: 5 }] };
    const a = run(judge, repeat(5, c, calm)).verdicts[4].metrics[0];
    const b = run(judge, repeat(5, c, bursty)).verdicts[4].metrics[0];
    assert.equal(a.dispersion, 1);
    assert.ok(b.dispersion > 2, String(b.dispersion));
    assert.ok(b.eValue < a.eValue / 10, `${b.eValue} vs ${a.eValue}`);
  });

  it("no single tick can trigger a rollback on its own (tick evidence cap)", () => {
    const judge = new Judge({ ...errorsOnly, guardrails: { maxErrorRate: null, minSuccessRate: null } });
    const spike = { requests: 250, errors: 40 };
    // A clean reference: the baseline's noise is measured (about 0), not assumed.
    const reference = { start: -1200, end: 0, intervalSeconds: 30, baseline: Array.from({ length: 40 }, () => ({ requests: 28500, errors: 282 })) };
    const { verdicts } = run(judge, repeat(2, spike, baseline), judge.initialState(STEP, { reference }));
    assert.deepEqual(
      verdicts.map((v) => v.decision),
      ["continue", "rollback"],
    );
  });

  it("a business KPI dropping is worse (lowerIsWorse), and the report stays canary/baseline", () => {
    const judge = new Judge({ metrics: [{ name: "checkouts", source: { kind: "count", key: "checkouts" } }], guardrails: { maxErrorRate: null, minSuccessRate: null } });
    const c = { requests: 250, errors: 0, counts: { checkouts: 5 } };
    const b = { requests: 4750, errors: 0, counts: { checkouts: 190 } };
    const { verdicts } = run(judge, repeat(40, c, b));
    const first = verdicts.findIndex((v) => v.decision === "rollback");
    assert.ok(first > 0, "rolled back");
    const m = verdicts[first].metrics[0];
    assert.equal(m.direction, "lowerIsWorse");
    assert.equal(m.canaryRate, 0.02);
    assert.equal(m.baselineRate, 0.04);
    // Bounds are strict: the canary's ratio is below ratioUpper (rejected at the margin, 1).
    assert.ok(m.ratio < 1 && m.ratioUpper <= 1, JSON.stringify(m));
    assert.match(verdicts[first].reasons[0], /^checkouts: canary\/baseline ratio below 1\.00 \(margin 1\.00\) \(e-value 159 ≥ 100\); canary 2\.00% vs baseline 4\.00%$/);
    // The same counts with the versions swapped are a healthy canary: no rollback.
    const healthy = run(judge, repeat(40, b.counts.checkouts === 190 ? { ...c, counts: { checkouts: 10 } } : c, b));
    assert.ok(healthy.verdicts.every((v) => v.decision !== "rollback"));
  });

  it("a latency metric unavailable in a tick blocks promotion but is not a failure", () => {
    const judge = new Judge({ metrics: [{ name: "slow", source: { kind: "latencyAbove", le: 0.25 } }] });
    const { verdicts } = run(judge, repeat(20, { requests: 250, errors: 0 }, { requests: 4750, errors: 0 }));
    assert.ok(verdicts.every((v) => v.decision === "continue" && v.metrics[0].status === "unavailable"));
  });
});

describe("judge: promote and inconclusive", () => {
  it("promotes on a bounded ratio only after the step's minimum observed time", () => {
    const judge = new Judge(errorsOnly);
    const { verdicts } = run(judge, repeat(60, { requests: 250, errors: 5 }, { requests: 4750, errors: 95 }));
    const first = verdicts.findIndex((v) => v.decision === "promote");
    assert.ok(first >= 11, `promoted at tick ${first + 1}`);
    assert.ok(verdicts.slice(0, 11).every((v) => v.decision === "continue"));
    const m = verdicts[first].metrics[0];
    assert.equal(m.passedBy, "ratio");
    assert.ok(m.ratioUpper <= 1.5);
    assert.ok(m.promoteEValue >= 20);
  });

  it("promotes on a negligible rate when there are no errors to compare (time-uniform bound)", () => {
    const judge = new Judge(errorsOnly);
    const { verdicts } = run(judge, repeat(26, { requests: 250, errors: 0 }, { requests: 4750, errors: 0 }));
    // No errors: the canary's rate must be shown below 0.1% by the mixture over rates
    // 0.1%·2^(−j/3), j = 1..6: E = (1/6) Σ exp(N·0.001·(1 − g)/φ) with φ = 1 + 1.5·0.25·ν/5
    // (tail allowance 1.5, 0.25 expected errors per tick at the level) for the assumed
    // version noise ν = (e^0.49 − 1)·5 (no reference, no errors to measure it):
    // N = 6250 gives 19.8, N = 6500 gives 22.6 ≥ 20 — tick 26.
    assert.deepEqual(
      verdicts.map((v) => v.decision),
      [...Array<string>(25).fill("continue"), "promote"],
    );
    const m = verdicts[25].metrics[0];
    assert.deepEqual([m.passedBy, m.rateLevel, m.rateBound], ["negligibleRate", 0.001, 0.001]);
    assert.equal(verdicts[24].metrics[0].rateBound, 0.001 * 2 ** (1 / 6));
  });

  it("is inconclusive at the step's maximum duration", () => {
    const judge = new Judge(errorsOnly);
    const state = judge.initialState({ ...STEP, maxDurationSeconds: 30 });
    const { verdicts } = run(judge, repeat(6, { requests: 250, errors: 5 }, { requests: 4750, errors: 95 }), state);
    assert.equal(verdicts[5].decision, "inconclusive");
    assert.match(verdicts[5].reasons[0], /^step 0 reached its maximum duration \(30s\) without a decision: observed 30\.0s of the step's minimum 60s; /);
  });
});

describe("judge: state", () => {
  const judge = new Judge({
    metrics: [
      { name: "errors", source: { kind: "errors" } },
      { name: "slow", source: { kind: "latencyAbove", le: 0.25 } },
    ],
  });
  const lat = (total: number, slow: number) => [
    { le: 0.25, count: total - slow },
    { le: Infinity, count: total },
  ];
  const ticks = Array.from({ length: 30 }, (_, i) =>
    ok(5 * (i + 1), { requests: 250, errors: i % 3, latencyBuckets: lat(250, 10 + (i % 4)) }, { requests: 4750, errors: 40 + (i % 7), latencyBuckets: lat(4750, 160) }),
  );

  it("round-trips through JSON mid-rollout with identical verdicts", () => {
    const straight = run(judge, ticks).verdicts;
    const firstHalf = run(judge, ticks.slice(0, 15));
    const restored = JSON.parse(JSON.stringify(firstHalf.state)) as JudgeState;
    const resumed = run(judge, ticks.slice(15), restored).verdicts;
    assert.deepEqual([...firstHalf.verdicts, ...resumed], straight);
  });

  it("keeps the rollout's evidence across steps but restarts the step's own evidence, clocks and window", () => {
    const { state } = run(judge, ticks.slice(0, 10));
    const next = judge.startStep(state, { index: 1, startedAt: 50, minDurationSeconds: 60, maxDurationSeconds: 600 });
    const zeros = judge.grid.map(() => 0);
    next.metrics.forEach((m, i) => {
      const was = state.metrics[i];
      // Evidence of harm and the rollout-wide likelihood carry over…
      assert.deepEqual([m.cappedGain, m.logLik, m.canaryEvents, m.canaryRequests, m.podSpread, m.baselineNoise.logLik], [was.cappedGain, was.logLik, was.canaryEvents, was.canaryRequests, was.podSpread, was.baselineNoise.logLik]);
      // …the step's own likelihood, rate test and windows start over.
      assert.deepEqual([m.stepLogLik, m.rateLogLik, m.blocks, m.stepCanaryRequests, m.baselineNoise.last], [zeros, zeros, [], 0, undefined]);
      assert.ok(was.stepLogLik.some((x) => x !== 0));
    });
    assert.deepEqual(next.window, []);
    assert.deepEqual(next.step, { index: 1, startedAt: 50, minDurationSeconds: 60, maxDurationSeconds: 600, observedSeconds: 0, canaryRequests: 0 });
  });

  it("rejects time going backwards and state from another configuration", () => {
    const { state } = run(judge, ticks.slice(0, 2));
    assert.throws(() => judge.tick(state, ticks[0]), new JudgeInputError("tick ending at 5 is not after the previous tick (10)"));
    assert.throws(() => new Judge(errorsOnly).tick(state, ticks[2]), new JudgeInputError("judge state has 2 metrics, config has 1"));
  });
});
