import { strict as assert } from "node:assert";
import { chiSquareQuantile, emptyNoise, noiseUpperBound, podNoiseFactor, poissonRateBounds, updateNoise, updatePodSpread } from "../../../automation/analysis/evidence";
import { Judge, JudgeConfigInput, JudgeState } from "../../../automation/analysis/judge";
import { OkMeasurement, ReferenceWindow, TickMeasurement, Verdict, VersionCounts } from "../../../automation/analysis/types";

// The judge under non-stationary traffic: the pre-flight reference, baseline episodes,
// heterogeneity, the baseline's own guardrail, warm-up, sample-aligned readings, noise
// measured before the first tick, evidence across steps.

const STEP = { index: 0, startedAt: 0, minDurationSeconds: 60, maxDurationSeconds: 600 };
const errorsOnly: JudgeConfigInput = { metrics: [{ name: "errors", source: { kind: "errors" } }] };

function ok(end: number, canary: VersionCounts, baseline: VersionCounts, start = end - 5): OkMeasurement {
  return { kind: "ok", start, end, canary, baseline };
}

function run(judge: Judge, ticks: readonly TickMeasurement[], state: JudgeState): { verdicts: Verdict[]; state: JudgeState } {
  const verdicts: Verdict[] = [];
  for (const m of ticks) {
    const r = judge.tick(state, m);
    state = r.state;
    verdicts.push(r.verdict);
  }
  return { verdicts, state };
}

const close = (actual: number, expected: number, tol = 1e-12): void =>
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} ≠ ${expected}`);

const repeat = (n: number, canary: VersionCounts, baseline: VersionCounts, from = 0): OkMeasurement[] =>
  Array.from({ length: n }, (_, i) => ok(from + 5 * (i + 1), canary, baseline));

/** Twenty minutes of a steady baseline at 1% errors, in 30 s intervals. */
const flat: ReferenceWindow = { start: -1200, end: 0, intervalSeconds: 30, baseline: Array.from({ length: 40 }, () => ({ requests: 30000, errors: 300 })) };
/** The same with ±10% swings from interval to interval (noise shared by the baseline's pods). */
const swinging: ReferenceWindow = { ...flat, baseline: flat.baseline.map((v, i) => ({ ...v, errors: i % 2 ? 270 : 330 })) };

describe("judge: the pre-flight reference", () => {
  const judge = new Judge(errorsOnly);

  it("sets the canary-rate level at referenceRatio × the reference rate's lower bound, widened by its measured noise", () => {
    const s = judge.initialState(STEP, { reference: swinging });
    let noise = emptyNoise();
    for (const v of swinging.baseline) noise = updateNoise(noise, v.errors, v.requests, 30, 30);
    const nu = noiseUpperBound(noise, (Math.exp(0.49) - 1) * 5);
    const inflation = 1 + (300 * nu) / 30;
    const expected = 2 * poissonRateBounds(12000 / inflation, 1.2e6 / inflation, 0.001).lower;
    assert.deepEqual([s.metrics[0].referenceRate, s.metrics[0].rateLevel], [0.01, expected]);
    assert.ok(expected > 0.018 && expected < 0.02, String(expected));
    assert.deepEqual(s.reference, { start: -1200, end: 0, intervals: 40 });
    // Without a reference the level is the negligible rate alone.
    const bare = judge.initialState(STEP);
    assert.deepEqual([bare.metrics[0].referenceRate, bare.metrics[0].rateLevel, bare.reference], [undefined, 0.001, undefined]);
  });

  it("measures the baseline's noise before the first tick: clean traffic is barely tempered, none is assumed", () => {
    const withRef = run(judge, [ok(5, { requests: 250, errors: 3 }, { requests: 4750, errors: 47 })], judge.initialState(STEP, { reference: flat })).verdicts[0];
    const without = run(judge, [ok(5, { requests: 250, errors: 3 }, { requests: 4750, errors: 47 })], judge.initialState(STEP)).verdicts[0];
    // With the reference: ν is the flat reference's upper bound; φ = 1 + 1.5·n̂·θ(1−θ)·2ν/5 with
    // θ = 0.05 (ψ0 = 1 at a 5% share) and n̂ = 5000 requests × the reference's 1%.
    let noise = emptyNoise();
    for (const v of flat.baseline) noise = updateNoise(noise, v.errors, v.requests, 30, 30);
    const assumed = (Math.exp(0.49) - 1) * 5;
    const nu = noiseUpperBound(noise, assumed);
    assert.equal(withRef.metrics[0].noise, nu);
    assert.ok(nu < 0.01, String(nu));
    close(withRef.metrics[0].dispersion, 1 + (1.5 * 50 * 0.05 * 0.95 * 2 * nu) / 5);
    assert.ok(withRef.metrics[0].dispersion < 1.02, String(withRef.metrics[0].dispersion));
    // Without one the assumed noise (lognormal sd 0.7 per 5 s) stands in: n̂ is the tick's own 50 events.
    assert.equal(without.metrics[0].noise, assumed);
    close(without.metrics[0].dispersion, 1 + (1.5 * 50 * 0.05 * 0.95 * 2 * assumed) / 5);
  });
});

describe("judge: baseline episodes", () => {
  const judge = new Judge(errorsOnly);
  const healthy = repeat(6, { requests: 250, errors: 3 }, { requests: 4750, errors: 47 });
  const episode = ok(35, { requests: 250, errors: 3 }, { requests: 4750, errors: 400 });

  it("sets aside a tick in which the baseline is far above its usual rate, and blocks promotion while it is in the window", () => {
    const before = run(judge, healthy, judge.initialState(STEP, { reference: flat }));
    const after = run(judge, [episode], before.state);
    const m = after.state.metrics[0];
    // The evidence is exactly what it was: the episode's 8.4% baseline cannot make the canary look better.
    assert.deepEqual([m.logLik, m.stepLogLik, m.cappedGain, m.rateLogLik, m.canaryRequests], [before.state.metrics[0].logLik, before.state.metrics[0].stepLogLik, before.state.metrics[0].cappedGain, before.state.metrics[0].rateLogLik, before.state.metrics[0].canaryRequests]);
    assert.equal(m.episodes, 1);
    assert.deepEqual(after.state.window[after.state.window.length - 1].episodes, ["errors"]);
    const v = after.verdicts[0];
    assert.equal(v.metrics[0].episodes, 1);
    assert.equal(v.reasons[0].endsWith("baseline episode (errors far from its usual rate) within the last 6 ticks: no promotion while it lasts"), true, v.reasons[0]);
    // Six more ticks and the episode has left the window.
    const later = run(judge, repeat(6, { requests: 250, errors: 3 }, { requests: 4750, errors: 47 }, 35), after.state).verdicts;
    assert.ok(later[4].reasons[0].includes("baseline episode"));
    assert.ok(!later[5].reasons[0].includes("baseline episode"), later[5].reasons[0]);
  });

  it("without a reference, only once the rollout's own baseline rate is known (2000 requests, 30 events)", () => {
    const early = run(judge, [ok(5, { requests: 250, errors: 3 }, { requests: 4750, errors: 400 })], judge.initialState(STEP)).state.metrics[0];
    assert.equal(early.episodes, 0);
    // After six ticks the rate is known, but the assumed noise (not yet measured) widens the range: ×8.4 is inside it.
    const late = run(judge, [...healthy, episode], judge.initialState(STEP)).state.metrics[0];
    assert.equal(late.episodes, 0);
  });

  it("a low episode counts too (the baseline far below its usual rate)", () => {
    const low = run(judge, [...healthy, ok(35, { requests: 250, errors: 3 }, { requests: 4750, errors: 5 })], judge.initialState(STEP, { reference: flat })).state.metrics[0];
    assert.equal(low.episodes, 1);
  });
});

describe("judge: promotion that an unusually bad baseline cannot carry", () => {
  // A canary at 2% against a baseline at 2% (ψ = 1) — but the baseline's usual rate is 1%:
  // the canary is twice as bad as usual. The swinging reference's noise keeps a 2× baseline
  // inside its usual range, so this is no episode: only the canary-rate test can tell.
  const judge = new Judge(errorsOnly);
  const ticks = repeat(120, { requests: 250, errors: 5 }, { requests: 4750, errors: 95 });

  it("with the reference: never promoted; the reason names the canary's rate and its level", () => {
    const { verdicts } = run(judge, ticks, judge.initialState(STEP, { reference: swinging }));
    assert.equal(verdicts.filter((v) => v.decision === "promote").length, 0);
    assert.equal(verdicts[119].decision, "inconclusive");
    const m = verdicts[119].metrics[0];
    assert.equal(m.episodes, 0);
    assert.ok(m.ratioUpper < 1.5 && m.stepRatioBound < 1.5, "the ratio alone would pass");
    const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
    assert.ok(m.rateBound! > 0.02 && m.rateLevel! < 0.02, JSON.stringify(m));
    assert.equal(verdicts[119].reasons[0], `step 0 reached its maximum duration (600s) without a decision: errors: canary rate bound ${pct(m.rateBound!)} not yet below ${pct(m.rateLevel!)} (2.00 × the baseline's usual 1.00%)`);
  });

  it("without it (a driver that could not read one): promoted on the ratio alone", () => {
    const { verdicts } = run(judge, ticks, judge.initialState(STEP));
    const first = verdicts.findIndex((v) => v.decision === "promote");
    assert.ok(first > 0, "promoted");
    assert.equal(verdicts[first].metrics[0].passedBy, "ratio");
  });
});

describe("judge: heterogeneity of the ratio across windows", () => {
  // Two minutes at ψ ≈ 2.4 then ψ ≈ 0.4: pooled, the ratio looks fine; window by window it is not one ratio.
  const ticks = Array.from({ length: 120 }, (_, i) => ok(5 * (i + 1), { requests: 250, errors: i < 24 ? 6 : 1 }, { requests: 4750, errors: 47 }));
  const cfg: JudgeConfigInput = { ...errorsOnly, dispersion: { enabled: false }, tickEvidenceCap: 0.5 };

  it("blocks promotion while the windows differ beyond chance (χ² at 1%)", () => {
    const judge = new Judge(cfg);
    const { verdicts } = run(judge, ticks, judge.initialState(STEP));
    assert.equal(verdicts.filter((v) => v.decision === "promote").length, 0);
    const v = verdicts[119];
    const h = v.metrics[0].heterogeneity;
    assert.equal(h.windows, 20);
    assert.equal(h.threshold, chiSquareQuantile(0.99, 19));
    assert.ok(h.statistic > h.threshold, JSON.stringify(h));
    assert.ok(v.metrics[0].ratioUpper < 1.5, "the pooled bound alone would pass");
    assert.ok(v.reasons[0].includes(`errors: the ratio differs between windows (heterogeneity ${Math.round(h.statistic)} > ${h.threshold.toPrecision(3)} over 20 windows)`), v.reasons[0]);
  });

  it("with the test off, the same ticks promote", () => {
    const judge = new Judge({ ...cfg, heterogeneity: { enabled: false } });
    const { verdicts } = run(judge, ticks, judge.initialState(STEP));
    assert.ok(verdicts.some((v) => v.decision === "promote"));
  });
});

describe("judge: the baseline's own guardrail", () => {
  it("a baseline over the error-rate limit blocks promotion (baselineBreach), a canary over it alone rolls back", () => {
    const judge = new Judge(errorsOnly);
    const { verdicts } = run(judge, repeat(13, { requests: 250, errors: 2 }, { requests: 4750, errors: 400 }), judge.initialState(STEP));
    const v = verdicts[12];
    assert.deepEqual(
      v.guardrails.map((g) => [g.name, g.status]),
      [
        ["errorRate", "baselineBreach"],
        ["successRate", "baselineBreach"],
      ],
    );
    assert.notEqual(v.decision, "promote");
    assert.ok(v.reasons[0].includes("guardrail errorRate: the baseline breaches it (8.42% > 5.00%): no promotion while it does"), v.reasons[0]);
  });
});

describe("judge: warm-up", () => {
  const judge = new Judge(errorsOnly);
  const step = { ...STEP, warmupSeconds: 20 };

  it("keeps counts that start inside the warm-up out of the relative tests and the observed time", () => {
    const warm = repeat(4, { requests: 250, errors: 10 }, { requests: 4750, errors: 47 });
    const { verdicts, state } = run(judge, warm, judge.initialState(step));
    assert.deepEqual(
      verdicts.map((v) => [v.decision, v.hold]),
      warm.map(() => ["continue", "warmup"]),
    );
    assert.equal(verdicts[0].reasons[0], "warm-up: counts from 0.00s into the step, warm-up 20.0s: guardrails only");
    assert.deepEqual([state.step.observedSeconds, state.metrics[0].canaryRequests, state.metrics[0].logLik.every((x) => x === 0)], [0, 0, true]);
    // From 20 s on, the ticks count.
    const after = run(judge, repeat(1, { requests: 250, errors: 3 }, { requests: 4750, errors: 47 }, 20), state);
    assert.deepEqual([after.verdicts[0].hold, after.state.step.observedSeconds, after.state.metrics[0].canaryRequests], [undefined, 5, 250]);
  });

  it("a reading that covers time before the warm-up's end is warm-up (sample-aligned intervals)", () => {
    const m: OkMeasurement = { ...ok(25, { requests: 250, errors: 3 }, { requests: 4750, errors: 47 }), covers: { start: 18, end: 23 } };
    assert.equal(run(judge, [m], judge.initialState(step)).verdicts[0].hold, "warmup");
  });

  it("never from the catastrophic guardrails: a 50%-error canary in its warm-up is rolled back", () => {
    const { verdicts } = run(judge, [ok(5, { requests: 250, errors: 125 }, { requests: 4750, errors: 47 })], judge.initialState(step));
    assert.equal(verdicts[0].decision, "rollback");
    assert.equal(verdicts[0].reasons[0], "guardrail errorRate: canary bad fraction ≥ 38.41% (observed 50.00% of 250 requests) exceeds limit 5.00%");
  });
});

describe("judge: sample-aligned readings", () => {
  const judge = new Judge(errorsOnly);

  it("a pending reading holds without losing time; no new samples past the outage limit rolls back", () => {
    const state = run(judge, [ok(5, { requests: 250, errors: 3 }, { requests: 4750, errors: 47 })], judge.initialState(STEP)).state;
    const { verdicts } = run(judge, [10, 60, 124, 125].map((end): TickMeasurement => ({ kind: "pending", end, since: 5 })), state);
    assert.deepEqual(
      verdicts.map((v) => [v.decision, v.hold]),
      [
        ["continue", "awaitingSamples"],
        ["continue", "awaitingSamples"],
        ["continue", "awaitingSamples"],
        ["rollback", undefined],
      ],
    );
    assert.equal(verdicts[0].reasons[0], "no new samples since 5.00 (5.00s without data, limit 120s)");
    assert.equal(verdicts[3].reasons[0], "no new samples for 120s, limit 120s");
  });

  it("observed time is the time the counts cover", () => {
    const m: OkMeasurement = { ...ok(10, { requests: 750, errors: 8 }, { requests: 14250, errors: 141 }), covers: { start: -7, end: 8 } };
    assert.equal(run(judge, [m], judge.initialState(STEP)).state.step.observedSeconds, 15);
  });
});

describe("judge: evidence across steps", () => {
  const judge = new Judge(errorsOnly);
  const step1 = { index: 1, startedAt: 50, minDurationSeconds: 60, maxDurationSeconds: 600 };

  it("a later step cannot promote on its own evidence while the rollout's bound is above the allowed ratio", () => {
    // Step 0: ten ticks of a canary at about 1.6× the baseline's rate (not enough to roll back).
    const s0 = run(judge, repeat(10, { requests: 250, errors: 4 }, { requests: 4750, errors: 47 }), judge.initialState(STEP, { reference: flat }));
    assert.ok(s0.verdicts.every((v) => v.decision === "continue"));
    // Step 1 at 25%, a healthy-looking canary: its own bound is within 1.50 from 35 s on, but the
    // rollout's — which still holds step 0 — only from 65 s.
    const s1 = run(judge, repeat(13, { requests: 1250, errors: 12 }, { requests: 3750, errors: 37 }, 50), judge.startStep(s0.state, step1));
    const v = s1.verdicts[11];
    assert.deepEqual([v.metrics[0].stepRatioBound, v.metrics[0].ratioUpper], [2 ** 0.5, 1.5]);
    assert.deepEqual([v.decision, v.reasons], ["continue", ["collecting evidence: errors: ratio bound 1.50 not yet within 1.50"]]);
    assert.equal(s1.verdicts[12].decision, "promote");
  });

  it("nor on the rollout's evidence while this step's own bound is above it (a bug that shows only at a higher weight)", () => {
    // Heterogeneity off and no reference: this step's own bound is the only thing in the way.
    const only = new Judge({ ...errorsOnly, heterogeneity: { enabled: false } });
    const s0 = run(only, repeat(60, { requests: 250, errors: 2 }, { requests: 4750, errors: 47 }), only.initialState(STEP));
    const s1 = run(only, repeat(1, { requests: 1250, errors: 20 }, { requests: 3750, errors: 37 }, 300), only.startStep(s0.state, { ...step1, startedAt: 300, minDurationSeconds: 0 }));
    const v = s1.verdicts[0];
    assert.deepEqual([v.metrics[0].ratioUpper, v.metrics[0].stepRatioBound], [2 ** (1 / 3), 4]);
    assert.deepEqual([v.decision, v.reasons], ["continue", ["collecting evidence: errors: this step's ratio bound 4.00 not yet within 1.50"]]);
  });
});

describe("judge: per-pod noise before the first tick", () => {
  it("the spread between the baseline's pods in the reference tempers the first tick", () => {
    const judge = new Judge(errorsOnly);
    // Ten pods whose error counts swing between 0 and 60 per interval (the pooled rate is steady at 1%).
    const pods = (i: number) => Array.from({ length: 10 }, (_, p) => ({ requests: 3000, errors: (p + i) % 2 ? 0 : 60 }));
    const reference: ReferenceWindow = { ...flat, baseline: flat.baseline.map((v, i) => ({ ...v, bySeries: pods(i) })) };
    const tick = ok(5, { requests: 250, errors: 3, bySeries: [{ requests: 250, errors: 3 }] }, { requests: 4750, errors: 47, bySeries: Array.from({ length: 10 }, () => ({ requests: 475, errors: 5 })) });
    const spread = run(judge, [tick], judge.initialState(STEP, { reference })).verdicts[0].metrics[0].dispersion;
    const calm = run(judge, [tick], judge.initialState(STEP, { reference: flat })).verdicts[0].metrics[0].dispersion;
    // φ = 1 + 1.5·c/5·((1 − θ)·n̂θ/1 pod + θ·n̂(1 − θ)/10 pods), θ = 5% share, n̂ = 5000 × the reference's 1%,
    // c the reference's per-pod noise (seconds); the version noise is about 0 (the pods' sum is steady).
    let pod = { excess: 0, scale: 0, noise: 0 };
    for (const v of reference.baseline) pod = updatePodSpread(pod, v.bySeries!, 30);
    const c = podNoiseFactor(pod) / 5;
    close(spread, Math.min(20, 1 + 1.5 * c * (0.95 * 50 * 0.05 + (0.05 * 50 * 0.95) / 10)));
    assert.ok(spread > 10 && calm < 1.02, `${spread} ${calm}`);
  });
});
