/**
 * `npm run bench:judge [-- --runs N --seed S --only substring]`
 *
 * Runs every simulator scenario N times and feeds the SAME simulated ticks to our judge
 * and to the three baselines, then prints a table and one JSON line with, per scenario
 * and judge: falseRollbackRate (healthy scenarios), missRate (bad ones), median and p90
 * detection time (misses count as never detected), and the mean excess bad requests
 * (bad responses the canary served beyond the baseline's rate before the rollback).
 *
 * Scoring is deliberately strict for our judge: on a healthy canary the run continues
 * after a promote verdict, so a rollback at any of the 120 ticks counts; on a bad canary a
 * promote before the rollback counts as a miss.
 */
import { wilsonInterval } from "../automation/analysis/evidence";
import { ArgoLike, BenchJudge, FlaggerLike, KayentaLike, OUR_CONFIG, OurJudge } from "./judge/judges";
import { Rng } from "./judge/random";
import { SCENARIOS, simulateRun } from "./judge/simulator";

interface Args {
  runs: number;
  seed: number;
  only?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { runs: 500, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = argv[i + 1];
    if (a === "--runs" || a === "--seed") {
      const n = Number(value);
      if (!Number.isInteger(n) || n < (a === "--runs" ? 1 : 0)) throw new Error(`${a}: expected a ${a === "--runs" ? "positive" : "non-negative"} integer, got ${String(value)}`);
      if (a === "--runs") args.runs = n;
      else args.seed = n;
      i++;
    } else if (a === "--only") {
      args.only = value;
      i++;
    } else {
      throw new Error(`unknown argument ${a} (known: --runs N, --seed S, --only substring)`);
    }
  }
  return args;
}

function quantile(sorted: readonly number[], q: number): number {
  // Nearest-rank; Infinity entries are misses, so a quantile that lands on one is "never".
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

interface Result {
  scenario: string;
  healthy: boolean;
  judge: string;
  runs: number;
  falseRollbackRate: number | null;
  falseRollbackCI: [number, number] | null;
  missRate: number | null;
  missCI: [number, number] | null;
  medianDetectionSeconds: number | null;
  p90DetectionSeconds: number | null;
  excessBadRequests: number;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  // The second configuration shows the one dial that trades false rollbacks for speed.
  const judges: BenchJudge[] = [
    new OurJudge(),
    new OurJudge({ ...OUR_CONFIG, alpha: 0.002 }, "ours(alpha=0.002)"),
    new FlaggerLike(),
    new ArgoLike(),
    new KayentaLike(),
  ];
  const results: Result[] = [];
  const started = Date.now();
  SCENARIOS.forEach((scenario, si) => {
    if (args.only && !scenario.name.includes(args.only)) return;
    const rollbacks = judges.map(() => 0);
    const detections = judges.map(() => [] as number[]);
    const excess = judges.map(() => 0);
    for (let run = 0; run < args.runs; run++) {
      const ticks = simulateRun(scenario, new Rng(args.seed, si, run));
      judges.forEach((judge, ji) => {
        judge.reset();
        let detectedAt = Infinity;
        let promoted = false;
        let runExcess = 0;
        let lastWeight = ticks[0]?.weight;
        for (const t of ticks) {
          if (t.weight !== lastWeight) {
            judge.stepChanged(t.end - scenario.tickSeconds);
            lastWeight = t.weight;
          }
          runExcess += t.canaryBad - t.canaryBadAtBaselineRate;
          const d = judge.tick(t.measurement);
          if (d === "promote") promoted = true;
          if (d === "rollback") {
            // On a bad canary a rollback after a promote is too late: the canary is already stable.
            if (scenario.healthy || !promoted) detectedAt = t.end;
            break;
          }
        }
        if (detectedAt < Infinity) rollbacks[ji]++;
        detections[ji].push(detectedAt);
        excess[ji] += runExcess;
      });
    }
    judges.forEach((judge, ji) => {
      const n = args.runs;
      const k = rollbacks[ji];
      const sorted = [...detections[ji]].sort((a, b) => a - b);
      const ci = wilsonInterval(scenario.healthy ? k : n - k, n);
      const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
      results.push({
        scenario: scenario.name,
        healthy: scenario.healthy,
        judge: judge.name,
        runs: n,
        falseRollbackRate: scenario.healthy ? k / n : null,
        falseRollbackCI: scenario.healthy ? [ci.low, ci.high] : null,
        missRate: scenario.healthy ? null : (n - k) / n,
        missCI: scenario.healthy ? null : [ci.low, ci.high],
        medianDetectionSeconds: scenario.healthy ? null : finite(quantile(sorted, 0.5)),
        p90DetectionSeconds: scenario.healthy ? null : finite(quantile(sorted, 0.9)),
        excessBadRequests: excess[ji] / n,
      });
    });
    process.stderr.write(`${scenario.name}: ${args.runs} runs (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
  });

  const pct = (x: number | null): string => (x === null ? "" : `${(100 * x).toFixed(2)}%`);
  const ci = (c: [number, number] | null): string => (c === null ? "" : `[${(100 * c[0]).toFixed(2)}, ${(100 * c[1]).toFixed(2)}]`);
  const secs = (x: number | null, healthy: boolean): string => (healthy ? "" : x === null ? "never" : `${x}s`);
  const header = ["scenario", "judge", "false rollback [95% CI]", "miss [95% CI]", "median detect", "p90 detect", "excess bad req"];
  const rows = results.map((r) => [
    r.scenario,
    r.judge,
    r.healthy ? `${pct(r.falseRollbackRate)} ${ci(r.falseRollbackCI)}` : "",
    r.healthy ? "" : `${pct(r.missRate)} ${ci(r.missCI)}`,
    secs(r.medianDetectionSeconds, r.healthy),
    secs(r.p90DetectionSeconds, r.healthy),
    r.excessBadRequests.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(`judge benchmark: ${args.runs} runs per scenario, seed ${args.seed}, 5 s ticks, 600 s horizon`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
  console.log(JSON.stringify({ runs: args.runs, seed: args.seed, results }));
}

main();
