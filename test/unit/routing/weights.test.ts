import * as assert from "node:assert/strict";
import { RoutingError, SCALES, scaleSplit, splitWeights } from "../../../components/routing";

describe("splitWeights", () => {
  const table: Array<[number, number, number]> = [
    [0, 0, 100],
    [1, 1, 99],
    [5, 5, 95],
    [25, 25, 75],
    [50, 50, 50],
    [99, 99, 1],
    [100, 100, 0],
  ];
  for (const [weight, canary, stable] of table) {
    it(`canary ${weight} → canary ${canary}, stable ${stable}`, () => {
      assert.deepEqual(splitWeights(weight), { canary, stable });
    });
  }

  const invalid: Array<[number, string]> = [
    [-1, "canary weight must be an integer from 0 to 100, got -1"],
    [101, "canary weight must be an integer from 0 to 100, got 101"],
    [2.5, "canary weight must be an integer from 0 to 100, got 2.5"],
    [NaN, "canary weight must be an integer from 0 to 100, got NaN"],
    [Infinity, "canary weight must be an integer from 0 to 100, got Infinity"],
  ];
  for (const [weight, message] of invalid) {
    it(`refuses ${weight}`, () => {
      assert.throws(() => splitWeights(weight), new RoutingError(message));
    });
  }
});

describe("scaleSplit", () => {
  const table: Array<[number, keyof typeof SCALES, number, number]> = [
    [0, "alb", 0, 100],
    [1, "alb", 1, 99],
    [5, "alb", 5, 95],
    [25, "alb", 25, 75],
    [50, "alb", 50, 50],
    [99, "alb", 99, 1],
    [100, "alb", 100, 0],
    [0, "smi", 0, 1000],
    [1, "smi", 10, 990],
    [5, "smi", 50, 950],
    [25, "smi", 250, 750],
    [50, "smi", 500, 500],
    [99, "smi", 990, 10],
    [100, "smi", 1000, 0],
    [0, "percent", 0, 100],
    [5, "percent", 5, 95],
    [100, "percent", 100, 0],
    [5, "haproxy", 5, 95],
  ];
  for (const [weight, scale, canary, stable] of table) {
    it(`${weight}% on ${scale} → ${canary}/${stable}`, () => {
      const units = scaleSplit(splitWeights(weight), SCALES[scale]);
      assert.deepEqual(units, { canary, stable });
      assert.equal(units.canary + units.stable, SCALES[scale].total);
    });
  }

  it("refuses a split that does not sum to 100", () => {
    assert.throws(() => scaleSplit({ canary: 10, stable: 80 }, SCALES.alb), new RoutingError("weights must sum to 100, got canary 10 + stable 80"));
  });

  it("refuses units above the platform's maximum", () => {
    assert.throws(() => scaleSplit(splitWeights(50), { name: "tiny", total: 100, max: 40 }), new RoutingError("tiny weights must be at most 40, got canary 50 and stable 50"));
  });
});
