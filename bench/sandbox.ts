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
 * Arrival times come from the instances (`x-received-at`, epoch ms with sub-ms precision, the
 * same clock as this process). The resolution of "first/last request" is one inter-request gap
 * (1000 / rps ms).
 *
 * Options: --repeats N (default 10), --rps R (default 400), --json.
 */
import { performance } from "node:perf_hooks";
import { Command } from "commander";
import { RequestRecord, runLoad } from "../local/loadgen";
import { startSandbox } from "../local/sandbox";
import { summarize, Summary } from "../local/stats";

const ROLLBACK_GOAL_MS = 100;
const HOLD_MS = 300;

const epochMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Step {
  /** When the command was issued and when it returned (after the read-back). */
  issued: number;
  acked: number;
}

async function main(): Promise<void> {
  const o = new Command("bench:sandbox")
    .option("--repeats <n>", "weight changes in each direction", (v) => Number.parseInt(v, 10), 10)
    .option("--rps <n>", "steady load during the measurement", Number, 400)
    .option("--json", "print the raw summaries as JSON")
    .parse()
    .opts<{ repeats: number; rps: number; json?: boolean }>();

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
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ repeats: o.repeats, rps: o.rps, requests: records.length, failures, rows: Object.fromEntries(rows) }, null, 2)}\n`);
    } else {
      const f = (n: number) => n.toFixed(1).padStart(7);
      process.stdout.write(`sandbox weight-change benchmark: ${o.repeats} repeats, ${o.rps} rps steady load (resolution ${(1000 / o.rps).toFixed(1)} ms), ${records.length} requests, ${failures} non-200\n\n`);
      process.stdout.write(`${"".padEnd(54)} ${"median".padStart(7)} ${"p90".padStart(7)} ${"max".padStart(7)}  (ms)\n`);
      for (const [name, s] of rows) process.stdout.write(`${name.padEnd(54)} ${f(s.median)} ${f(s.p90)} ${f(s.max)}\n`);
      const worst = Math.max(...toLast, ...rollback.map((s) => s.acked - s.issued));
      process.stdout.write(`\nrollback goal ≤ ${ROLLBACK_GOAL_MS} ms: ${worst <= ROLLBACK_GOAL_MS ? "met" : "MISSED"} (worst of last-canary-arrival and command round trip: ${worst.toFixed(1)} ms)\n`);
    }
    if (toFirst.length !== o.repeats) process.stderr.write(`warning: ${o.repeats - toFirst.length} forward changes saw no canary request before the rollback\n`);
  } finally {
    await sb.stop();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench:sandbox: ${e.message}\n`);
  process.exit(1);
});
