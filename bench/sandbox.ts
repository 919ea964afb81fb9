/**
 * `npm run bench:sandbox`: how fast a weight change takes effect on the sandbox's real HAProxy.
 *
 * Under steady open-model load, repeats N times:
 *   - weight 0 → 100: time from issuing the command to the first request that reaches the
 *     canary instance (routed by the new weight);
 *   - weight 100 → 0 (rollback): time from issuing the command to the last request that
 *     reaches the canary (rollback execution time; goal ≤ 100 ms).
 * Also the command's own round trip (runtime API `set weight` plus the read-back verify).
 *
 * Then blue/green through the driver (HAProxy target, real judge on a Prometheus scraping every
 * 500 ms), `--blue-green` rollouts whose green fails 30 % of its requests from the switch on:
 *   - switch: the switch decided (written ahead) → the first request that reaches green;
 *   - switch-back: the rollback decided (written to the record) → the last request that reaches
 *     green, and → the rollback verified (all traffic back on blue, recorded);
 *   - failed requests other than green's own injected 500s (zero means the switch and the switch
 *     back lost none).
 *
 * Arrival times come from the instances (`x-received-at`, epoch ms with sub-ms precision, the
 * same clock as this process). The resolution of "first/last request" is one inter-request gap
 * (1000 / rps ms).
 *
 * Options: --repeats N (default 10), --rps R (default 400), --blue-green N (default 3; 0 skips),
 * --json.
 */
import { performance } from "node:perf_hooks";
import { Command } from "commander";
import { RequestRecord, runLoad } from "../local/loadgen";
import { startSandbox } from "../local/sandbox";
import { runSandboxRollout } from "../local/sandboxRollout";
import { summarize, Summary } from "../local/stats";
import { parsePlan } from "../automation/plan";

const ROLLBACK_GOAL_MS = 100;
const HOLD_MS = 300;

const epochMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A blue/green rollout whose bake cannot pass: green is judged for 60 s, and fails from the switch on. */
const BLUE_GREEN_PLAN = `
strategy: blueGreen
tick: 1s
bake: { duration: 60s, maxDuration: 120s, reference: 30s }
blueGreen: { scaleDownDelay: 60s }
analysis:
  judge:
    metrics: [{ name: errors, source: { kind: errors }, negligibleRate: 0.01 }]
    minCanaryRequestsToPromote: 100
  metrics: { selectors: { job: app } }
`;

/** Blue/green switch and switch-back times (ms) over `runs` rollouts on one sandbox, measured from the instances' arrival times. */
async function blueGreen(runs: number, rps: number): Promise<{ rows: Array<[string, Summary]>; requests: number; lost: number; outcomes: string[] }> {
  const sb = await startSandbox({ traffic: { canaryWeight: 0 }, scrapeIntervalSeconds: 0.5 });
  const toGreen: number[] = [];
  const toLastGreen: number[] = [];
  const toVerified: number[] = [];
  const outcomes: string[] = [];
  let requests = 0;
  let lost = 0;
  try {
    for (let i = 0; i < runs; i++) {
      const records: RequestRecord[] = [];
      const r = await runSandboxRollout({ sandbox: sb, plan: parsePlan(BLUE_GREEN_PLAN), rps, fault: { atStep: "switch", fault: { errorRate: 0.3 } }, onResponse: (x) => records.push(x) });
      outcomes.push(r.result.outcome);
      const entry = (type: string) => r.record.history.find((h) => h.type === type);
      const switched = entry("switch");
      const decided = entry("rollback");
      const restored = entry("rolledBack");
      requests += records.length;
      lost += records.filter((x) => (x.status === 0 || x.status >= 500) && !(x.status === 500 && x.version === sb.versions.canary)).length;
      if (!switched || !decided || !restored) continue;
      const green = records.filter((x) => x.version === sb.versions.canary && x.appReceivedAt !== undefined).map((x) => x.appReceivedAt as number).sort((a, b) => a - b);
      const switchAt = Date.parse((switched.evidence as { requestedAt?: string } | undefined)?.requestedAt ?? switched.at);
      const first = green.find((a) => a >= switchAt);
      if (first !== undefined) toGreen.push(first - switchAt);
      const rollbackAt = Date.parse(decided.at);
      toLastGreen.push(Math.max(0, (green.filter((a) => a >= rollbackAt).pop() ?? rollbackAt) - rollbackAt));
      toVerified.push(Date.parse(restored.at) - rollbackAt);
    }
  } finally {
    await sb.stop();
  }
  return {
    rows: [
      ["blue/green switch: decided → first request at green", summarize(toGreen)],
      ["blue/green switch-back: decided → last request at green", summarize(toLastGreen)],
      ["blue/green switch-back: decided → verified on blue", summarize(toVerified)],
    ],
    requests,
    lost,
    outcomes,
  };
}

interface Step {
  /** When the command was issued and when it returned (after the read-back). */
  issued: number;
  acked: number;
}

async function main(): Promise<void> {
  const o = new Command("bench:sandbox")
    .option("--repeats <n>", "weight changes in each direction", (v) => Number.parseInt(v, 10), 10)
    .option("--rps <n>", "steady load during the measurement", Number, 400)
    .option("--blue-green <n>", "blue/green rollouts switched back through the driver (0 skips)", (v) => Number.parseInt(v, 10), 3)
    .option("--json", "print the raw summaries as JSON")
    .parse()
    .opts<{ repeats: number; rps: number; blueGreen: number; json?: boolean }>();

  const sb = await startSandbox({ prometheus: false, traffic: { canaryWeight: 0 } });
  try {
    const records: RequestRecord[] = [];
    const controller = new AbortController();
    const load = runLoad({ url: sb.urls.traffic, rps: o.rps, durationSeconds: 3600, onResponse: (r) => records.push(r), signal: controller.signal });
    await sleep(500); // connections warm

    const forward: Step[] = [];
    const rollback: Step[] = [];
    for (let i = 0; i < o.repeats; i++) {
      await sleep(HOLD_MS);
      let issued = epochMs();
      await sb.setWeight(100);
      forward.push({ issued, acked: epochMs() });
      await sleep(HOLD_MS);
      issued = epochMs();
      await sb.setWeight(0);
      rollback.push({ issued, acked: epochMs() });
    }
    await sleep(HOLD_MS);
    controller.abort();
    await load;

    const canaryArrivals = records.filter((r) => r.version === sb.versions.canary && r.appReceivedAt !== undefined).map((r) => r.appReceivedAt as number).sort((a, b) => a - b);
    const failures = records.filter((r) => r.status !== 200).length;
    const firstAfter = (t: number) => canaryArrivals.find((a) => a >= t);
    const toFirst: number[] = [];
    const toLast: number[] = [];
    forward.forEach((f, i) => {
      const first = firstAfter(f.issued);
      if (first !== undefined && first < rollback[i].issued) toFirst.push(first - f.issued);
    });
    rollback.forEach((rb, i) => {
      const end = forward[i + 1]?.issued ?? Infinity;
      const last = canaryArrivals.filter((a) => a < end).pop() ?? rb.issued;
      toLast.push(Math.max(0, last - rb.issued));
    });

    const rows: Array<[string, Summary]> = [
      ["weight 0→100: command → first request at canary", summarize(toFirst)],
      ["weight 0→100: command round trip (set + read-back)", summarize(forward.map((s) => s.acked - s.issued))],
      ["rollback 100→0: command → last request at canary", summarize(toLast)],
      ["rollback 100→0: command round trip (set + read-back)", summarize(rollback.map((s) => s.acked - s.issued))],
    ];
    if (toFirst.length !== o.repeats) process.stderr.write(`warning: ${o.repeats - toFirst.length} forward changes saw no canary request before the rollback\n`);
    await sb.stop();
    // One sandbox at a time: the blue/green rollouts get their own, with Prometheus.
    const bg = o.blueGreen > 0 ? await blueGreen(o.blueGreen, o.rps) : undefined;
    if (o.json) {
      const blue = bg ? { blueGreen: { runs: o.blueGreen, outcomes: bg.outcomes, requests: bg.requests, lostRequests: bg.lost, rows: Object.fromEntries(bg.rows) } } : {};
      process.stdout.write(`${JSON.stringify({ repeats: o.repeats, rps: o.rps, requests: records.length, failures, rows: Object.fromEntries(rows), ...blue }, null, 2)}\n`);
      return;
    }
    const f = (n: number) => n.toFixed(1).padStart(7);
    const table = (named: Array<[string, Summary]>) => {
      process.stdout.write(`${"".padEnd(56)} ${"median".padStart(7)} ${"p90".padStart(7)} ${"max".padStart(7)}  (ms)\n`);
      for (const [name, x] of named) process.stdout.write(`${name.padEnd(56)} ${f(x.median)} ${f(x.p90)} ${f(x.max)}\n`);
    };
    process.stdout.write(`sandbox weight-change benchmark: ${o.repeats} repeats, ${o.rps} rps steady load (resolution ${(1000 / o.rps).toFixed(1)} ms), ${records.length} requests, ${failures} non-200\n\n`);
    table(rows);
    const worst = Math.max(...toLast, ...rollback.map((s) => s.acked - s.issued));
    process.stdout.write(`\nrollback goal ≤ ${ROLLBACK_GOAL_MS} ms: ${worst <= ROLLBACK_GOAL_MS ? "met" : "MISSED"} (worst of last-canary-arrival and command round trip: ${worst.toFixed(1)} ms)\n`);
    if (bg) {
      process.stdout.write(`\nblue/green through the driver: ${o.blueGreen} rollouts (${bg.outcomes.join(", ")}), green failing 30% from the switch, ${o.rps} rps, ${bg.requests} requests, ${bg.lost} lost other than green's own 500s\n\n`);
      table(bg.rows);
    }
  } finally {
    await sb.stop();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench:sandbox: ${e.message}\n`);
  process.exit(1);
});
