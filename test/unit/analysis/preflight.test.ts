import { strict as assert } from "node:assert";
import { JudgeState } from "../../../automation/analysis/judge";
import { formatPreflight, isPreflightSource, preflight, PreflightPlan, PreflightSource } from "../../../automation/analysis/preflight";
import { ReferenceReading } from "../../../automation/analysis/prometheus";
import { TickMeasurement } from "../../../automation/analysis/types";
import { runRollout } from "../../../automation/rollout/run";
import { parsePlan, PlanError, preflightPlan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { FakeClock, FakeTarget, ScriptedAnalysis } from "../../helpers/fakes";

/** A provider stand-in: a fixed scrape interval and a baseline history of `rps` requests/s at 1% errors. */
class FakeSource implements PreflightSource {
  readonly alignsToSamples = true;
  readonly config = { sampleWindowSeconds: 300 };
  readonly asked: string[] = [];
  constructor(
    private readonly rps: number,
    private readonly seconds = 1200,
    private readonly scrape: number | "unknown" = 15,
  ) {}
  async scrapeIntervalSeconds(at: number): Promise<number | undefined> {
    this.asked.push(`scrape ${at}`);
    return this.scrape === "unknown" ? undefined : this.scrape;
  }
  async readReference(at: number, window: number, interval: number): Promise<ReferenceReading> {
    this.asked.push(`reference ${at} ${window} ${interval}`);
    const n = Math.floor(this.seconds / interval);
    return { kind: "ok", reference: { start: at - n * interval, end: at, intervalSeconds: interval, baseline: Array.from({ length: n }, () => ({ requests: this.rps * interval, errors: this.rps * interval * 0.01 })) } };
  }
  async measure(at: number): Promise<TickMeasurement> {
    return { kind: "priming", end: at };
  }
}

const PLAN: PreflightPlan = { steps: [5, 25, 50].map((weight) => ({ weight, minDurationSeconds: 60, maxDurationSeconds: 600 })), tickSeconds: 5, judge: {}, inconclusive: "rollback", maxOutageSeconds: 120 };

describe("pre-flight", () => {
  it("reads the scrape interval, then the last twenty minutes in scrape-interval steps, and forecasts", async () => {
    const source = new FakeSource(1000);
    const r = await preflight(source, PLAN, 5000);
    assert.deepEqual(source.asked, ["scrape 5000", "reference 5000 1200 15"]);
    assert.deepEqual([r.refuse, r.scrapeIntervalSeconds, r.reference?.baseline.length, r.forecast?.requestsPerSecond], [false, 15, 80, 1000]);
    assert.deepEqual(formatPreflight(r), [
      "scrape interval: 15s",
      "current traffic: 1000.0 requests/s; baseline rates: errors 1.000%",
      "step 0 at 5% (max 10m): promote a good canary in 2m25s; detect a 2× regression in errors 35s — ok",
      "step 1 at 25% (max 10m): promote a good canary in 60s; detect a 2× regression in errors 10s — ok",
      "step 2 at 50% (max 10m): promote a good canary in 60s; detect a 2× regression in errors 10s — ok",
      "warning: tick: tick 5s is shorter than the scrape interval 15s: readings are aligned to the samples, so nothing is lost, but some ticks carry no new samples and decisions lag by up to 15s",
    ]);
  });

  it("refuses at 10 requests/s, naming each step", async () => {
    const r = await preflight(new FakeSource(10), PLAN, 5000);
    assert.equal(r.refuse, true);
    assert.deepEqual(
      r.findings.filter((f) => f.severity === "refuse").map((f) => f.path),
      ["steps[0].maxDuration", "steps[1].maxDuration", "steps[2].maxDuration"],
    );
  });

  it("a history shorter than five minutes gives no forecast and no reference, only a warning", async () => {
    const r = await preflight(new FakeSource(10, 120, "unknown"), PLAN, 5000);
    assert.deepEqual([r.refuse, r.reference, r.forecast], [false, undefined, undefined]);
    assert.deepEqual(
      r.findings.map((f) => f.message),
      [
        "cannot read the targets' scrape interval from Prometheus (/api/v1/targets): the tick is not checked against it",
        "the baseline's history is only 120s long (at least 300s needed): no forecast, and the judge starts without a reference",
      ],
    );
  });

  it("only providers with the pre-flight reads are checked", () => {
    assert.equal(isPreflightSource(new FakeSource(1)), true);
    assert.equal(isPreflightSource({ measure: async () => ({ kind: "priming", end: 0 }) }), false);
  });
});

describe("pre-flight in the driver", () => {
  const plan = parsePlan(`
steps:
  - { weight: 5, minDuration: 1m, maxDuration: 10m, warmup: 20s }
  - { weight: 100 }
tick: 5s
`);

  it("a plan that cannot decide at the current traffic is refused before anything is applied", async () => {
    const target = new FakeTarget();
    const store = new MemoryRecordStore();
    const logs: string[] = [];
    await assert.rejects(
      runRollout({ plan, version: "v2", image: "app:v2", target, store, metrics: new FakeSource(10), analysis: new ScriptedAnalysis([]), clock: new FakeClock(), report: (e) => e.kind === "log" && logs.push(e.line), id: "r1" }),
      (e: unknown): boolean => e instanceof PlanError && e.message.startsWith("invalid plan for the current traffic:\nsteps[0].maxDuration: at 5% of 10.0 requests/s a canary as good as the baseline needs more than 40m to pass"),
    );
    assert.deepEqual(target.calls, ["prepare"]);
    assert.equal(await store.load(), undefined);
    assert.ok(logs.some((l) => l.startsWith("pre-flight: refused: steps[0].maxDuration: ")), logs.join("\n"));
  });

  it("otherwise the judge starts with the reference, and each step with its warm-up", async () => {
    // The readings only prime (no traffic): the step runs out and the plan rolls back, with the judge's state in the record.
    const result = await runRollout({ plan, version: "v2", image: "app:v2", target: new FakeTarget(), store: new MemoryRecordStore(), metrics: new FakeSource(1000), clock: new FakeClock(), id: "r1" });
    const judge = result.record.judge as JudgeState;
    assert.deepEqual(judge.reference, { start: Date.UTC(2026, 0, 1) / 1000 - 1200, end: Date.UTC(2026, 0, 1) / 1000, intervals: 80 });
    assert.equal(judge.metrics[0].referenceRate, 0.01);
    assert.equal(judge.step.warmupSeconds, 20);
    assert.deepEqual(preflightPlan(plan).steps, [{ weight: 5, minDurationSeconds: 60, maxDurationSeconds: 600, warmupSeconds: 20 }]);
  });

  it("the plan refuses a warm-up as long as the step", () => {
    assert.throws(() => parsePlan("steps: [{ weight: 5, maxDuration: 1m, warmup: 1m }, { weight: 100 }]"), (e: unknown): boolean => e instanceof PlanError && e.message === "steps[0].warmup: must be < maxDuration (60s), got 60s");
  });
});
