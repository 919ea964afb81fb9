/** Shared helpers of the sandbox tests. */
import * as assert from "node:assert/strict";
import { isAlive, isGroupAlive } from "../../local/process";
import { binomialBounds } from "../../local/stats";

/** Asserts that none of the processes (nor anything left in their process groups) is alive. */
export function assertAllDead(pids: Readonly<Record<string, number>>): void {
  const alive = Object.entries(pids).filter(([, pid]) => isAlive(pid) || isGroupAlive(pid));
  assert.deepEqual(alive, [], `processes still alive after stop: ${alive.map(([n, p]) => `${n} (${p})`).join(", ")}`);
}

/** Asserts `k` of `n` lies in the exact 99.9% binomial acceptance interval of share `p`. */
export function assertBinomial(k: number, n: number, p: number, what: string): void {
  const b = binomialBounds(n, p, 0.999);
  assert.ok(k >= b.lower && k <= b.upper, `${what}: ${k} of ${n} (${((100 * k) / n).toFixed(2)}%) outside the 99.9% bounds [${b.lower}, ${b.upper}] for p = ${p}`);
}
