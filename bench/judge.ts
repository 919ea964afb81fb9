/**
 * `npm run bench:judge [-- --runs N --seed S --only substring]`
 *
 * Runs every scenario (bench/judge/scenarios.ts) N times as a closed-loop rollout per judge
 * (ours, the Flagger-, Argo- and Kayenta-like baselines, and per-scenario variants of ours),
 * with the same random numbers for every judge of a run, then prints a table, the targets
 * and one JSON line. Per scenario and judge:
 *  - healthy canaries: the false-rollback rate (a rollback on evidence) with its 95% Wilson
 *    interval, the inconclusive rate (a step that ran out of time: the default plan rolls
 *    back, so this is a rollback too, counted apart), and the median time to reach 100%;
 *  - bad canaries: the miss rate (not rolled back on evidence: promoted, inconclusive or
 *    unfinished), the rate of passing a step while the canary was bad at its weight, and the
 *    rate of promoting it to 100% (it becomes the stable version), each with its Wilson
 *    interval; the median and p90 time from the canary turning bad to the rollback (misses
 *    count as never);
 *  - both: the mean excess bad requests (bad responses the canary served beyond the
 *    baseline's normal rate: until the rollback, or until the end of the horizon — at 100%
 *    once a bad canary is promoted).
 */
import { wilsonInterval } from "../automation/analysis/evidence";
import { ArgoLike, BenchJudge, FlaggerLike, KayentaLike, OurJudge } from "./judge/judges";
import { Rng } from "./judge/random";
import { runRollout } from "./judge/rollout";
import { BenchScenario, SCENARIOS, Variant } from "./judge/scenarios";

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

/** Nearest-rank quantile; Infinity entries are misses, so a quantile that lands on one is "never". */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Infinity;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

type Interval = [number, number];

/** One row of the table and of the JSON line. */
interface Result {
  scenario: string;
  healthy: boolean;
  enoughTraffic: boolean;
  judge: string;
  runs: number;
  falseRollbackRate: number | null;
  falseRollbackCI: Interval | null;
  inconclusiveRate: number;
  medianPromoteSeconds: number | null;
  missRate: number | null;
  missCI: Interval | null;
  badStepRate: number | null;
  badStepCI: Interval | null;
  badPromotedRate: number | null;
  badPromotedCI: Interval | null;
  medianDetectionSeconds: number | null;
  p90DetectionSeconds: number | null;
  excessBadRequests: number;
}

function judgesFor(s: BenchScenario): BenchJudge[] {
  const variant: Record<Variant, () => BenchJudge> = {
    noReference: () => new OurJudge(undefined, "ours(no reference)", true, false),
    noWarmup: () => new OurJudge(undefined, "ours(no warmup)", false, true),
  };
  return [new OurJudge(), ...(s.variants ?? []).map((v) => variant[v]()), new FlaggerLike(), new ArgoLike(), new KayentaLike()];
}

function score(s: BenchScenario, judge: BenchJudge, args: Args, si: number): Result {
  const n = args.runs;
  let rollbacks = 0;
  let inconclusive = 0;
  let badPromoted = 0;
  let badStep = 0;
  let excess = 0;
  const detections: number[] = [];
  const promotions: number[] = [];
  for (let run = 0; run < n; run++) {
    // The same seed for every judge: each sees the same world as far as its decisions allow.
    const r = runRollout(s, judge, new Rng(args.seed, si, run));
    if (r.outcome === "rolledBack") rollbacks++;
    if (r.outcome === "inconclusive") inconclusive++;
    if (r.badPromoted) badPromoted++;
    if (r.badStepPassed) badStep++;
    excess += r.excessBad;
    detections.push(r.outcome === "rolledBack" ? r.detectionSeconds : Infinity);
    promotions.push(r.outcome === "promoted" ? r.at : Infinity);
  }
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  const ci = (k: number): Interval => {
    const w = wilsonInterval(k, n);
    return [w.low, w.high];
  };
  const detected = detections.filter((d) => Number.isFinite(d)).length;
  return {
    scenario: s.name,
    healthy: s.healthy,
    enoughTraffic: s.enoughTraffic,
    judge: judge.name,
    runs: n,
    falseRollbackRate: s.healthy ? rollbacks / n : null,
    falseRollbackCI: s.healthy ? ci(rollbacks) : null,
    inconclusiveRate: inconclusive / n,
    medianPromoteSeconds: s.healthy ? finite(quantile([...promotions].sort((a, b) => a - b), 0.5)) : null,
    missRate: s.healthy ? null : (n - detected) / n,
    missCI: s.healthy ? null : ci(n - detected),
    badStepRate: s.healthy ? null : badStep / n,
    badStepCI: s.healthy ? null : ci(badStep),
    badPromotedRate: s.healthy ? null : badPromoted / n,
    badPromotedCI: s.healthy ? null : ci(badPromoted),
    medianDetectionSeconds: s.healthy ? null : finite(quantile([...detections].sort((a, b) => a - b), 0.5)),
    p90DetectionSeconds: s.healthy ? null : finite(quantile([...detections].sort((a, b) => a - b), 0.9)),
    excessBadRequests: excess / n,
  };
}

const pct = (x: number | null): string => (x === null ? "" : `${(100 * x).toFixed(1)}%`);
const ciText = (c: Interval | null): string => (c === null ? "" : `[${(100 * c[0]).toFixed(1)}, ${(100 * c[1]).toFixed(1)}]`);
const secs = (x: number | null): string => (x === null ? "never" : `${x}s`);

/** The targets, checked on our judge's rows. */
function targets(results: readonly Result[]): string[] {
  const ours = results.filter((r) => r.judge === "ours");
  const lines: string[] = [];
  const line = (met: boolean, text: string): void => void lines.push(`${met ? "met    " : "NOT MET"}  ${text}`);
  for (const r of ours.filter((x) => x.healthy)) {
    line(r.falseRollbackRate! <= 0.01 && r.falseRollbackCI![1] <= 0.02, `${r.scenario}: false rollback ${pct(r.falseRollbackRate)} ≤ 1%, upper bound ${(100 * r.falseRollbackCI![1]).toFixed(2)}% ≤ 2%`);
  }
  for (const r of ours.filter((x) => !x.healthy && x.enoughTraffic)) {
    line(r.badPromotedRate! <= 0.01, `${r.scenario}: bad canary promoted to 100% in ${pct(r.badPromotedRate)} of runs ≤ 1% (a bad step passed in ${pct(r.badStepRate)})`);
  }
  const clean = ours.find((r) => r.scenario === "errors-2x");
  if (clean) line(clean.medianDetectionSeconds !== null && clean.medianDetectionSeconds <= 40, `errors-2x: median detection ${secs(clean.medianDetectionSeconds)} ≤ 40s`);
  const half = ours.find((r) => r.scenario === "errors-50pct");
  if (half) line(half.p90DetectionSeconds !== null && half.p90DetectionSeconds <= 5, `errors-50pct: p90 detection ${secs(half.p90DetectionSeconds)} = the first tick with data (5s)`);
  return lines;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const results: Result[] = [];
  const started = Date.now();
  SCENARIOS.forEach((s, si) => {
    if (args.only && !s.name.includes(args.only)) return;
    for (const judge of judgesFor(s)) results.push(score(s, judge, args, si));
    process.stderr.write(`${s.name}: ${args.runs} runs (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
  });

  const header = ["scenario", "judge", "false rollback [95% CI]", "inconcl.", "to 100%", "miss [95% CI]", "bad step passed [95% CI]", "bad promoted [95% CI]", "median detect", "p90 detect", "excess bad req"];
  const rows = results.map((r) => [
    r.scenario,
    r.judge,
    r.healthy ? `${pct(r.falseRollbackRate)} ${ciText(r.falseRollbackCI)}` : "",
    pct(r.inconclusiveRate),
    r.healthy ? secs(r.medianPromoteSeconds) : "",
    r.healthy ? "" : `${pct(r.missRate)} ${ciText(r.missCI)}`,
    r.healthy ? "" : `${pct(r.badStepRate)} ${ciText(r.badStepCI)}`,
    r.healthy ? "" : `${pct(r.badPromotedRate)} ${ciText(r.badPromotedCI)}`,
    r.healthy ? "" : secs(r.medianDetectionSeconds),
    r.healthy ? "" : secs(r.p90DetectionSeconds),
    r.excessBadRequests.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(`judge benchmark: ${args.runs} runs per scenario, seed ${args.seed}; plan 5 → 25 → 50 → 100, steps 60–600 s, 5 s ticks (scenarios: bench/judge/scenarios.ts)`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
  console.log("");
  console.log("targets (ours):");
  for (const t of targets(results)) console.log(`  ${t}`);
  console.log(JSON.stringify({ runs: args.runs, seed: args.seed, results }));
}

main();
