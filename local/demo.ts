/**
 * `npm run demo`: the whole loop on one machine, no cloud. Two sandboxes (two versions of the
 * sample service behind a real HAProxy, scraped by a real Prometheus, under generated load):
 *  1. a good canary goes through every step to promotion;
 *  2. a bad canary starts failing mid-rollout and is rolled back;
 * then prints how fast the failure was detected, how long the rollback took and how many bad
 * requests users got, and where the bad canary's HTML report is (kept with the rollout history
 * under .sandbox/demo). Everything started is stopped, also on Ctrl-C.
 */
import * as path from "node:path";
import { DriverEvent } from "../automation/rollout/events";
import { runSandboxRollout } from "./sandboxRollout";

/** Where the demo keeps its rollout history and writes the rolled-back canary's report (ignored by git). */
const DEMO_REPORT_DIR = path.resolve(".sandbox", "demo");

function printer(prefix: string): (e: DriverEvent) => void {
  const t0 = Date.now();
  const ts = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
  return (e) => {
    if (e.kind === "transition") console.log(`${prefix} ${ts()} ${e.entry.from} → ${e.entry.to}${e.entry.step !== undefined ? ` (step ${e.entry.step}, weight ${e.entry.weight}%)` : ""}: ${e.entry.reason}`);
    else if (e.kind === "tick") console.log(`${prefix} ${ts()}   tick: ${e.verdict.decision}${e.verdict.hold ? ` (hold: ${e.verdict.hold})` : ""}: ${e.verdict.reasons[0] ?? ""}`);
    else if (e.kind === "action") console.log(`${prefix} ${ts()}   → ${e.message}`);
  };
}

async function main(): Promise<number> {
  const t0 = Date.now();
  console.log("canary demo: two versions of the sample service behind HAProxy, scraped by Prometheus, under 200 requests/s\n");
  console.log("1. a good canary (v1 → v2) through 5 → 25 → 50 → 100");
  const good = await runSandboxRollout({ versions: { stable: "v1", canary: "v2" }, report: printer("[good]"), reportDir: DEMO_REPORT_DIR });
  console.log(`[good] ${good.result.outcome}: HAProxy default route stable ${good.weights.stable} / canary ${good.weights.canary}; ${good.elapsedSeconds.toFixed(0)}s\n`);

  console.log("2. a bad canary (v2 → v3): 30% of its requests fail from the start of step 1 (25%)");
  const badRun = await runSandboxRollout({
    versions: { stable: "v2", canary: "v3" },
    fault: { atStep: 1, fault: { errorRate: 0.3 } },
    report: printer("[bad] "),
    reportDir: DEMO_REPORT_DIR,
  });
  console.log(`[bad]  ${badRun.result.outcome}: HAProxy default route stable ${badRun.weights.stable} / canary ${badRun.weights.canary}\n`);

  const ok = good.result.outcome === "promoted" && good.failedRequests === 0 && badRun.result.outcome === "rolledBack";
  console.log("summary");
  const rollbacks = good.record.history.filter((h) => h.type === "rollback").length;
  console.log(
    `  good canary:           ${good.result.outcome} (${good.record.history.filter((h) => h.type === "advance").length} steps, ${good.canaryRequests} canary requests, ` +
      `${rollbacks} rollback${rollbacks === 1 ? "" : "s"}, ${good.failedRequests} failed requests of ${good.totalRequests})`,
  );
  console.log(`  bad canary:            ${badRun.result.outcome}: ${badRun.result.reason}`);
  console.log(`  detection time:        ${badRun.detectionSeconds?.toFixed(1) ?? "n/a"} s (fault injected → rollback decided)`);
  console.log(`  rollback execution:    ${badRun.rollbackSeconds !== undefined ? (badRun.rollbackSeconds * 1000).toFixed(0) : "n/a"} ms (decided → canary at weight 0, verified)`);
  console.log(`  bad requests served:   ${badRun.badRequests} of ${badRun.totalRequests} requests in the run`);
  console.log(`  total time:            ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`  report:                ${badRun.report ?? "not written"}`);
  console.log(`  history:               npm run canary -- history --target haproxy --history-dir ${path.join(DEMO_REPORT_DIR, "history")}`);
  return ok ? 0 : 1;
}

/**
 * Runs a demo's `main` as the process: its exit code, 3 when it throws. exitCode, not
 * process.exit(): exit() drops stdout writes still queued on a pipe (the summary), and every
 * process and socket the demo opened is closed by then anyway.
 */
export function runDemo(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(`demo failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      process.exitCode = 3;
    },
  );
}

if (require.main === module) runDemo(main);
