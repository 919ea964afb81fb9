import { strict as assert } from "node:assert";
import { Judge } from "../../../automation/analysis/judge";
import { checkScrapeInterval, forecastPlan } from "../../../automation/analysis/planner";
import { ReferenceWindow } from "../../../automation/analysis/types";

/** Twenty minutes of a steady baseline at `rps` requests/s and 1% errors, in 30 s intervals. */
const reference = (rps: number, rate = 0.01): ReferenceWindow => ({
  start: -1200,
  end: 0,
  intervalSeconds: 30,
  baseline: Array.from({ length: 40 }, () => ({ requests: rps * 30, errors: rps * 30 * rate })),
});
const steps = [5, 25, 50].map((weight) => ({ weight, minDurationSeconds: 60, maxDurationSeconds: 600 }));

describe("planner: forecasts from the current traffic", () => {
  it("at 1000 requests/s every step decides well within its maximum", () => {
    const f = forecastPlan({ steps, tickSeconds: 5, judge: {}, inconclusive: "rollback", reference: reference(1000) });
    assert.deepEqual([f.requestsPerSecond, f.rates, f.refuse, f.findings], [1000, { errors: 0.01 }, false, []]);
    assert.deepEqual(
      f.steps.map((s) => [s.weight, s.promoteSeconds, s.detectSeconds, s.verdict]),
      [
        [5, 145, { errors: 35 }, "ok"],
        [25, 60, { errors: 10 }, "ok"],
        [50, 60, { errors: 10 }, "ok"],
      ],
    );
  });

  it("the forecast is the judge's own decision on expected counts", () => {
    // Step 0 at 5% of 1000 requests/s: 250 canary and 4750 baseline requests per 5 s tick, 1% errors.
    const judge = new Judge({});
    let s = judge.initialState({ index: 0, startedAt: 0, minDurationSeconds: 60, maxDurationSeconds: 600 }, { reference: reference(1000) });
    let promotedAt: number | undefined;
    for (let t = 5; t <= 600 && promotedAt === undefined; t += 5) {
      const r = judge.tick(s, { kind: "ok", start: t - 5, end: t, canary: { requests: 250, errors: 2.5 }, baseline: { requests: 4750, errors: 47.5 } });
      s = r.state;
      if (r.verdict.decision === "promote") promotedAt = t;
    }
    assert.equal(promotedAt, 145);
  });

  it("refuses a plan whose steps cannot promote a good canary at 100 requests/s before they run out (inconclusive: rollback)", () => {
    const f = forecastPlan({ steps, tickSeconds: 5, judge: {}, inconclusive: "rollback", reference: reference(100) });
    assert.equal(f.refuse, true);
    assert.deepEqual(
      f.steps.map((s) => [s.promoteSeconds, s.verdict]),
      [
        [1430, "refuse"],
        [390, "ok"],
        [310, "ok"],
      ],
    );
    assert.deepEqual(f.findings, [
      {
        severity: "refuse",
        path: "steps[0].maxDuration",
        message:
          "at 5% of 100.0 requests/s a canary as good as the baseline needs 24m to pass (maxDuration 10m): it would end inconclusive and, with inconclusive: rollback, roll back a good canary. Raise steps[0].maxDuration or the weight, or set inconclusive: hold",
      },
    ]);
  });

  it("with inconclusive: hold, a step that needs longer than its maximum is a warning", () => {
    const f = forecastPlan({ steps, tickSeconds: 5, judge: {}, inconclusive: "hold", reference: reference(100) });
    assert.equal(f.refuse, false);
    assert.deepEqual(f.findings, [
      {
        severity: "warn",
        path: "steps[0].maxDuration",
        message: "at 5% a canary as good as the baseline needs 24m to pass, past maxDuration 10m: with inconclusive: hold the step holds until then",
      },
    ]);
  });

  it("at 10 requests/s nothing decides: every step refused, 2× regressions undetectable in time", () => {
    const f = forecastPlan({ steps, tickSeconds: 5, judge: {}, inconclusive: "rollback", reference: reference(10) });
    assert.equal(f.refuse, true);
    assert.deepEqual(
      f.steps.map((s) => [s.promoteSeconds, s.detectSeconds.errors, s.verdict]),
      [
        [undefined, undefined, "refuse"],
        [undefined, 855, "refuse"],
        [undefined, 680, "refuse"],
      ],
    );
    assert.equal(
      f.findings[1].message,
      "at 5% a 2× regression of errors needs more than 40m to detect (maxDuration 10m): such a canary is rolled back only when the step runs out; the guardrails still stop large failures at once",
    );
  });

  it("no traffic at all is a refusal naming the metrics", () => {
    const f = forecastPlan({ steps, tickSeconds: 5, judge: {}, inconclusive: "rollback", reference: reference(0) });
    assert.deepEqual([f.refuse, f.steps, f.findings], [true, [], [{ severity: "refuse", path: "analysis.metrics", message: "the baseline served no requests in the 20m before the rollout: nothing can be judged" }]]);
  });
});

describe("planner: the tick against the scrape interval", () => {
  it("table", () => {
    const base = { tickSeconds: 5, scrapeIntervalSeconds: 15, alignsToSamples: true, maxOutageSeconds: 120, sampleWindowSeconds: 300 };
    const table: [Partial<typeof base> & { scrapeIntervalSeconds?: number }, { severity: string; path: string; message: string }[]][] = [
      [
        {},
        [{ severity: "warn", path: "tick", message: "tick 5s is shorter than the scrape interval 15s: readings are aligned to the samples, so nothing is lost, but some ticks carry no new samples and decisions lag by up to 15s" }],
      ],
      [{ tickSeconds: 30 }, []],
      [{ alignsToSamples: false }, [{ severity: "refuse", path: "tick", message: "must be ≥ the targets' scrape interval (15s) for a provider that does not align readings to samples, got 5s" }]],
      [
        { tickSeconds: 60, scrapeIntervalSeconds: 60, maxOutageSeconds: 100 },
        [{ severity: "refuse", path: "analysis.judge.noData.maxOutageSeconds", message: "must be ≥ 2 × the scrape interval (2m), or waiting for one sample rolls back; got 100s" }],
      ],
      [
        { tickSeconds: 30, scrapeIntervalSeconds: 30, sampleWindowSeconds: 60 },
        [{ severity: "refuse", path: "analysis.metrics.sampleWindowSeconds", message: "must be ≥ 2 × the scrape interval + tick (90s) to hold two samples of every target, got 60s" }],
      ],
      [
        { scrapeIntervalSeconds: undefined },
        [{ severity: "warn", path: "tick", message: "cannot read the targets' scrape interval from Prometheus (/api/v1/targets): the tick is not checked against it" }],
      ],
    ];
    for (const [change, expected] of table) assert.deepEqual(checkScrapeInterval({ ...base, ...change }), expected, JSON.stringify(change));
  });
});
