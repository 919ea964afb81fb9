import { strict as assert } from "node:assert";
import { counterDelta, seriesKey, snapshotOf } from "../../../automation/analysis/counters";

describe("counters: per-series differencing", () => {
  it("keys a label set canonically, whatever the order", () => {
    assert.equal(seriesKey({ b: "2", a: "1" }), seriesKey({ a: "1", b: "2" }));
    assert.notEqual(seriesKey({ a: "1,b=2" }), seriesKey({ a: "1", b: "2" }));
  });

  const pod = (name: string, value: number) => ({ labels: { pod: name, code: "200" }, value });

  it("table: increase, reset, new series, vanished series", () => {
    const cases: {
      name: string;
      before: { labels: Record<string, string>; value: number }[];
      after: { labels: Record<string, string>; value: number }[];
      total: number;
      resets: number;
      newSeries: number;
      vanished: number;
    }[] = [
      { name: "plain increase", before: [pod("a", 10), pod("b", 5)], after: [pod("a", 15), pod("b", 9)], total: 9, resets: 0, newSeries: 0, vanished: 0 },
      // Pod b restarted: summed first, 15+2 − (10+100) would be negative; per series it is 5 + 2.
      { name: "restart of one pod", before: [pod("a", 10), pod("b", 100)], after: [pod("a", 15), pod("b", 2)], total: 7, resets: 1, newSeries: 0, vanished: 0 },
      { name: "new pod counts in full", before: [pod("a", 10)], after: [pod("a", 10), pod("c", 4)], total: 4, resets: 0, newSeries: 1, vanished: 0 },
      { name: "vanished pod contributes nothing", before: [pod("a", 10), pod("b", 7)], after: [pod("a", 11)], total: 1, resets: 0, newSeries: 0, vanished: 1 },
      { name: "no change", before: [pod("a", 10)], after: [pod("a", 10)], total: 0, resets: 0, newSeries: 0, vanished: 0 },
    ];
    for (const c of cases) {
      const d = counterDelta(snapshotOf(c.before), snapshotOf(c.after));
      assert.deepEqual(
        { total: d.increments.reduce((a, s) => a + s.value, 0), resets: d.resets, newSeries: d.newSeries, vanished: d.vanished },
        { total: c.total, resets: c.resets, newSeries: c.newSeries, vanished: c.vanished },
        c.name,
      );
    }
  });

  it("drops non-finite readings (NaN from a broken exporter)", () => {
    assert.equal(snapshotOf([pod("a", NaN), pod("b", 3)]).size, 1);
  });
});
