import * as assert from "node:assert/strict";
import { binomialBounds, quantile, summarize } from "../../../local/stats";

describe("sandbox stats", () => {
  describe("binomialBounds (exact, central 99.9%)", () => {
    // Expected values computed independently: scipy.stats.binom.ppf(0.0005, n, p) and
    // binom.isf(0.0005, n, p).
    const table: Array<[n: number, p: number, lower: number, upper: number]> = [
      [2000, 0, 0, 0],
      [2000, 1, 2000, 2000],
      [2000, 0.05, 69, 133],
      [2000, 0.25, 437, 565],
      [2000, 0.5, 926, 1074],
      [100, 0.5, 34, 66],
    ];
    for (const [n, p, lower, upper] of table) {
      it(`n=${n} p=${p} → [${lower}, ${upper}]`, () => assert.deepEqual(binomialBounds(n, p), { lower, upper }));
    }
    it("each tail outside the interval holds at most 0.05% of the mass", () => {
      const n = 500;
      const p = 0.1;
      const { lower, upper } = binomialBounds(n, p);
      let logF = 0;
      const logFact = [0];
      for (let i = 1; i <= n; i++) logFact.push((logF += Math.log(i)));
      const pmf = (k: number) => Math.exp(logFact[n] - logFact[k] - logFact[n - k] + k * Math.log(p) + (n - k) * Math.log(1 - p));
      let below = 0;
      for (let k = 0; k < lower; k++) below += pmf(k);
      let above = 0;
      for (let k = upper + 1; k <= n; k++) above += pmf(k);
      assert.ok(below <= 0.0005 && below + pmf(lower) > 0.0005, `lower tail ${below}`);
      assert.ok(above <= 0.0005 && above + pmf(upper) > 0.0005, `upper tail ${above}`);
    });
    it("rejects a share outside [0, 1]", () => assert.throws(() => binomialBounds(10, 1.5), { name: "RangeError", message: "p must be in [0, 1], got 1.5" }));
  });

  it("quantile uses the nearest rank", () => {
    assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
  });

  it("summarize reports min, median, p90 and max", () => {
    assert.deepEqual(summarize([5, 1, 3, 2, 4]), { n: 5, min: 1, median: 3, p90: 5, max: 5 });
  });
});
