import { strict as assert } from "node:assert";
import { historyIncrements, SampleAligner, SeriesSamples, seriesKey } from "../../../automation/analysis/alignment";

const series = (key: string, samples: [number, number][]): SeriesSamples => ({ key, labels: { s: key }, samples });
const values = (r: ReturnType<SampleAligner["read"]>): Record<string, number> =>
  r.kind === "ok" ? Object.fromEntries(r.increments.map((i) => [i.key, i.value])) : {};

describe("alignment: sample-aligned increments", () => {
  it("the boundary is the live series' earliest latest sample; others are interpolated to it", () => {
    const a = new SampleAligner({ forgetAfterSeconds: 3600 });
    // a: scraped at 0, 10, 20 (1/s); b: at 5, 15, 25 (10/s).
    const p = a.read(12, [series("a", [[0, 0], [10, 10]]), series("b", [[5, 50], [15, 150]])]);
    assert.deepEqual([p.kind, p.kind === "priming" && p.boundary], ["priming", 10]);
    // At 22: a's latest is 20, b's 15 → boundary 15. a at 15 is interpolated: 15.
    const r = a.read(22, [series("a", [[0, 0], [10, 10], [20, 20]]), series("b", [[5, 50], [15, 150]])]);
    assert.deepEqual([r.kind, r.kind === "ok" && r.start, r.kind === "ok" && r.end], ["ok", 10, 15]);
    assert.deepEqual(values(r), { a: 5, b: 50 });
    // Nothing newer than 15 for b yet: pending, and nothing consumed.
    assert.deepEqual(a.read(24, [series("a", [[20, 20]]), series("b", [[15, 150]])]).kind, "pending");
    const r2 = a.read(27, [series("b", [[25, 250]])]);
    assert.deepEqual([r2.kind === "ok" && r2.start, r2.kind === "ok" && r2.end, values(r2)], [15, 20, { a: 5, b: 50 }]);
  });

  it("increments add up to the counters' total increase, whatever the phases", () => {
    const a = new SampleAligner({ forgetAfterSeconds: 3600 });
    const sa: [number, number][] = [];
    const sb: [number, number][] = [];
    for (let t = 0; t <= 120; t += 15) sa.push([t, 7 * t + ((t * t) % 13)]);
    for (let t = 4; t <= 124; t += 15) sb.push([t, 3 * t]);
    let total = { a: 0, b: 0 };
    let first: { a: number; b: number } | undefined;
    let last = { a: 0, b: 0 };
    // A series' value before its first sample is 0 (it is taken as created then).
    const at = (xs: [number, number][], t: number): number => {
      if (t < xs[0][0]) return 0;
      for (let i = 0; i + 1 < xs.length; i++) if (t >= xs[i][0] && t <= xs[i + 1][0]) return xs[i][1] + ((xs[i + 1][1] - xs[i][1]) * (t - xs[i][0])) / (xs[i + 1][0] - xs[i][0]);
      return xs[xs.length - 1][1];
    };
    for (let now = 5; now <= 125; now += 5) {
      const r = a.read(now, [series("a", sa.filter((x) => x[0] <= now)), series("b", sb.filter((x) => x[0] <= now))]);
      if (r.kind === "priming") first = { a: at(sa, r.boundary), b: at(sb, r.boundary) };
      if (r.kind === "ok") {
        const v = values(r);
        total = { a: total.a + v.a, b: total.b + v.b };
        last = { a: at(sa, r.end), b: at(sb, r.end) };
      }
    }
    assert.ok(first);
    assert.ok(Math.abs(total.a - (last.a - first.a)) < 1e-9 && Math.abs(total.b - (last.b - first.b)) < 1e-9, JSON.stringify({ total, first, last }));
  });

  it("a reset continues from the drop; a new series counts in full; a stale one stops holding the boundary", () => {
    const a = new SampleAligner({ forgetAfterSeconds: 3600 });
    a.read(10, [series("x", [[0, 100], [10, 200]]), series("y", [[0, 5], [10, 6]])]);
    // x restarts (200 → 30); z appears with 4; y is scraped at 20 for the last time.
    const r = a.read(20, [series("x", [[20, 30]]), series("y", [[20, 7]]), series("z", [[20, 4]])]);
    assert.deepEqual([r.kind, values(r)], ["ok", { x: 30, y: 1, z: 4 }]);
    assert.deepEqual(r.kind === "ok" && r.notes, ["1 counter reset(s)"]);
    // While y is only one missed scrape late it holds the boundary: pending.
    assert.equal(a.read(30, [series("x", [[30, 50]]), series("z", [[30, 5]])]).kind, "pending");
    // Its interval is 10 s: more than 25 s after its last sample it no longer holds the boundary.
    const later = a.read(50, [series("x", [[40, 70], [50, 90]]), series("z", [[40, 6], [50, 7]])]);
    assert.deepEqual([later.kind === "ok" && later.end, values(later), later.kind === "ok" && later.notes], [50, { x: 60, y: 0, z: 3 }, ["1 series without a recent sample"]]);
    assert.deepEqual(later.kind === "ok" && [...later.live].sort(), ["x", "z"]);
  });

  it("forgets series unseen for longer than forgetAfterSeconds", () => {
    const a = new SampleAligner({ forgetAfterSeconds: 30 });
    a.read(10, [series("x", [[0, 1], [10, 2]]), series("y", [[0, 1], [10, 2]])]);
    const r = a.read(50, [series("x", [[20, 3], [30, 4], [40, 5], [50, 6]])]);
    // y (last sample at 10) is reported one last time with nothing new, then dropped.
    assert.deepEqual(values(r), { x: 4, y: 0 });
    assert.deepEqual(values(a.read(60, [series("x", [[60, 7]])])), { x: 1 });
  });

  it("series keys are canonical: label order does not matter", () => {
    assert.equal(seriesKey({ b: "2", a: "1" }), seriesKey({ a: "1", b: "2" }));
    assert.notEqual(seriesKey({ a: "1,b" }), seriesKey({ a: "1", b: "" }));
  });
});

describe("alignment: history over equal intervals", () => {
  it("cuts the window ending at the common latest sample into equal intervals", () => {
    // a: 2/s scraped every 10 s from 0 to 100; b: 1/s every 10 s from 5 to 95, restarted at 55.
    const a = series("a", Array.from({ length: 11 }, (_, i) => [10 * i, 20 * i] as [number, number]));
    const b = series("b", [...[5, 15, 25, 35, 45].map((t) => [t, t] as [number, number]), ...[55, 65, 75, 85, 95].map((t) => [t, t - 50] as [number, number])]);
    const h = historyIncrements([a, b], 30, 3)!;
    assert.deepEqual([h.start, h.end, h.intervals.length], [5, 95, 3]);
    // b lost what it counted between 45 and its restart before 55 (5 of the 10 s): the reset is taken as a new start.
    assert.deepEqual(
      h.intervals.map((xs) => xs.map((x) => Math.round(x.value * 1e9) / 1e9)),
      [
        [60, 30],
        [60, 25],
        [60, 30],
      ],
    );
    assert.equal(historyIncrements([], 30, 3), undefined);
    assert.equal(historyIncrements([series("a", [[0, 1]])], 30, 3), undefined);
  });
});
