/**
 * The bake's watch on one promoted stack (BakeWatch), reading scripted measurements through the
 * stack plan's real judge: a tick counts only with traffic and fresh counts, a pending reading or
 * a metrics outage holds, and only the absolute guardrails fail it.
 */
import * as assert from "node:assert/strict";
import { TickMeasurement } from "../../../automation/analysis/types";
import { MetricsSource } from "../../../automation/rollout/judging";
import { newRecord } from "../../../automation/state";
import { BakeTick, BakeWatch, StackAccess } from "../../../automation/wave/stacks";
import { FakeClock } from "../../helpers/fakes";
import { waveOf } from "../../helpers/waveFakes";

const WAVE = waveOf({ name: "checkout", version: "v2", image: "app:v2", target: "haproxy", stages: [{ name: "first", stacks: [{ name: "east", sandbox: "east.json" }] }] });

/** Readings in order, each ending at the time it is asked for; what the watch was asked to compare. */
class Script implements MetricsSource {
  private last = 0;
  constructor(private readonly readings: ((start: number, end: number) => TickMeasurement)[]) {}
  async measure(at: number): Promise<TickMeasurement> {
    const next = this.readings.shift();
    if (!next) throw new Error("no reading scripted");
    const start = this.last;
    this.last = at;
    return next(start, at);
  }
}

const ok = (requests: number, errors: number) => (start: number, end: number): TickMeasurement => ({ kind: "ok", start, end, canary: { requests, errors }, baseline: { requests: 0, errors: 0 } });

async function watch(readings: ((start: number, end: number) => TickMeasurement)[]): Promise<{ ticks: BakeTick[]; versions: unknown[] }> {
  const clock = new FakeClock();
  const script = new Script([(_s, end) => ({ kind: "priming", end }), ...readings]);
  const versions: unknown[] = [];
  const access: StackAccess = {
    stack: WAVE.stages[0].stacks[0],
    target: () => Promise.reject(new Error("a bake never touches the target")),
    store: () => Promise.reject(new Error("a bake never touches the store")),
    metrics: (v) => (versions.push(v), script),
  };
  const record = { ...newRecord({ id: "r1", stack: "east", target: "fake", version: "v2", image: "app:v2", steps: [50, 100], at: new Date(clock.now()).toISOString() }), snapshot: { type: "fake", weight: 0, stableVersion: "v1" } };
  const w = new BakeWatch(access, record, clock);
  await w.start(60);
  const ticks: BakeTick[] = [];
  for (let i = 0; i < readings.length; i++) {
    await clock.sleep(10_000);
    ticks.push(await w.tick());
  }
  return { ticks, versions };
}

describe("the bake's watch on a promoted stack", () => {
  it("compares the promoted version with the stable it replaced, and counts only ticks with fresh counts and traffic", async () => {
    const { ticks, versions } = await watch([
      ok(500, 0),
      (_s, end) => ({ kind: "pending", end, since: end - 10 }),
      ok(0, 0),
      (_s, end) => ({ kind: "queryFailed", end, error: "HTTP 503" }),
      ok(500, 1),
    ]);
    assert.deepEqual(versions, [{ canary: "v2", baseline: "v1" }]);
    assert.deepEqual(ticks, [
      { data: true },
      { data: false, holding: "no new sample of east's counters since the last reading" },
      { data: false, holding: "no requests reached east" },
      { data: false, holding: "no metrics for east (HTTP 503)" },
      { data: true },
    ]);
  });

  it("a guardrail breached on the promoted version fails the bake with the judge's reason", async () => {
    const { ticks } = await watch([ok(500, 0), ok(500, 200)]);
    assert.deepEqual(ticks[0], { data: true });
    assert.equal(ticks[1].data, true);
    assert.match(ticks[1].breach!.reason, /^guardrail errorRate: /);
  });
});
