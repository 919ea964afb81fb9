/**
 * `npm run demo`: the whole loop on one machine, no cloud. Two sandboxes (two versions of the
 * sample service behind a real HAProxy, scraped by a real Prometheus, under generated load):
 *  1. a good canary goes through every step to promotion;
 *  2. a bad canary starts failing mid-rollout and is rolled back;
 * then prints how fast the failure was detected, how long the rollback took and how many bad
 * requests users got. Everything started is stopped, also on Ctrl-C.
 *
 * {@link runSandboxRollout} is also what the end-to-end tests run.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FaultSpec } from "../local/app/faults";
import { runLoad } from "../local/loadgen";
import { RouteWeights, startSandbox } from "../local/sandbox";
import { parsePlan, Plan } from "./plan";
import { FileRecordStore } from "./record/file";
import { DriverEvent } from "./rollout/events";
import { metricsFromPlan } from "./rollout/judging";
import { RolloutResult, runRollout } from "./rollout/loop";
import { RolloutRecord } from "./state";
import { HaproxyTarget } from "./targets/haproxy";

/**
 * The demo's plan: the default weights with short steps (seconds instead of minutes) and 2 s
 * ticks. The judge may call a step good once ≤ 1% of canary requests can be errors or slower
 * than 250 ms (about 300 clean requests); a guardrail rolls back when more than 5% are slower
 * than 500 ms.
 */
export const DEMO_PLAN = `
steps:
  - { weight: 5, minDuration: 6s, maxDuration: 90s }
  - { weight: 25, minDuration: 4s, maxDuration: 60s }
  - { weight: 50, minDuration: 4s, maxDuration: 60s }
  - { weight: 100 }
tick: 2s
analysis:
  judge:
    metrics:
      - { name: errors, source: { kind: errors }, negligibleRate: 0.01 }
      - { name: latency, source: { kind: latencyAbove, le: 0.25 }, negligibleRate: 0.01 }
    guardrails: { latency: [{ name: p95, le: 0.5, maxFraction: 0.05 }] }
    minCanaryRequestsToPromote: 100
  metrics: { selectors: { job: app } }
`;

/** One sandbox rollout. */
export interface SandboxRolloutOptions {
  readonly versions: { readonly stable: string; readonly canary: string };
  /** Defaults to {@link DEMO_PLAN}. */
  readonly plan?: Plan;
  /** Requests per second of generated load; 0 sends none after the warm-up. Defaults to 200. */
  readonly rps?: number;
  /** A fault injected into the canary when the given step starts. */
  readonly fault?: { readonly atStep: number; readonly fault: FaultSpec };
  readonly report?: (e: DriverEvent) => void;
  /** Bound on the whole rollout. Defaults to 150 s. */
  readonly timeoutMs?: number;
}

/** What happened, measured from outside the driver. */
export interface SandboxRolloutResult {
  readonly result: RolloutResult;
  readonly record: RolloutRecord;
  /** The default route's weights HAProxy reports after the rollout. */
  readonly weights: RouteWeights;
  /** When the fault took effect (epoch ms), if one was injected. */
  readonly faultAt?: number;
  /** Fault → rollback decision, seconds. */
  readonly detectionSeconds?: number;
  /** Rollback decision → restored, seconds. */
  readonly rollbackSeconds?: number;
  /** Requests answered by the canary with a 5xx or slower than 500 ms after the fault. */
  readonly badRequests: number;
  readonly canaryRequests: number;
  readonly totalRequests: number;
  readonly elapsedSeconds: number;
}

/**
 * Starts a sandbox, runs load against it, rolls the canary out through the HAProxy target with
 * the real judge on the sandbox's Prometheus, and stops everything.
 */
export async function runSandboxRollout(o: SandboxRolloutOptions): Promise<SandboxRolloutResult> {
  const started = Date.now();
  const plan = o.plan ?? parsePlan(DEMO_PLAN);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-demo-"));
  const sandbox = await startSandbox({ versions: o.versions, traffic: { canaryWeight: 0 } });
  const abort = new AbortController();
  let faultAt: number | undefined;
  let faultPromise: Promise<unknown> | undefined;
  let bad = 0;
  let canaryRequests = 0;
  let total = 0;
  try {
    // A few requests to each version first, so both have counter series before the first
    // reading (a version without series is missing data, not "no traffic").
    await runLoad({ url: sandbox.urls.traffic, rps: 20, durationSeconds: 0.5, shares: [{ name: "override", match: { kind: "header", name: "x-canary", value: "true" }, share: 0.5 }] });
    // …and scraped (every second), so they are in the counters' starting values.
    await new Promise((r) => setTimeout(r, 2500));
    const rps = o.rps ?? 200;
    const load =
      rps > 0
        ? runLoad({
            url: sandbox.urls.traffic,
            rps,
            durationSeconds: 3600,
            signal: abort.signal,
            onResponse: (r) => {
              total++;
              if (r.version !== o.versions.canary) return;
              canaryRequests++;
              if (faultAt !== undefined && r.sentAt >= faultAt && (r.status >= 500 || r.receivedAt - r.sentAt > 500)) bad++;
            },
          })
        : Promise.resolve(undefined);
    const target = new HaproxyTarget(sandbox);
    const report = (e: DriverEvent): void => {
      if (o.fault && e.kind === "transition" && e.entry.type === "advance" && e.entry.step === o.fault.atStep) {
        faultPromise = sandbox.injectFault("canary", o.fault.fault).then(() => (faultAt = Date.now()));
      }
      o.report?.(e);
    };
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`rollout did not finish within ${(o.timeoutMs ?? 150_000) / 1000}s`)), o.timeoutMs ?? 150_000).unref());
    const result = await Promise.race([
      runRollout({
        plan,
        version: o.versions.canary,
        image: `sandbox/app:${o.versions.canary}`,
        target,
        store: new FileRecordStore(path.join(dir, "rollout.json")),
        metrics: (versions) => metricsFromPlan(plan, { ...versions, url: sandbox.urls.prometheus }),
        report,
      }),
      timeout,
    ]);
    await faultPromise;
    abort.abort();
    await load;
    const weights = (await sandbox.readWeights()).find((w) => w.route === "default")!;
    const at = (type: string): number | undefined => {
      const h = result.record.history.find((x) => x.type === type);
      return h ? Date.parse(h.at) : undefined;
    };
    const rollbackAt = at("rollback");
    const restoredAt = at("rolledBack");
    return {
      result,
      record: result.record,
      weights,
      faultAt,
      detectionSeconds: faultAt !== undefined && rollbackAt !== undefined ? (rollbackAt - faultAt) / 1000 : undefined,
      rollbackSeconds: rollbackAt !== undefined && restoredAt !== undefined ? (restoredAt - rollbackAt) / 1000 : undefined,
      badRequests: bad,
      canaryRequests,
      totalRequests: total,
      elapsedSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    abort.abort();
    await sandbox.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

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
  const good = await runSandboxRollout({ versions: { stable: "v1", canary: "v2" }, report: printer("[good]") });
  console.log(`[good] ${good.result.outcome}: HAProxy default route stable ${good.weights.stable} / canary ${good.weights.canary}; ${good.elapsedSeconds.toFixed(0)}s\n`);

  console.log("2. a bad canary (v2 → v3): 30% of its requests fail from the start of step 1 (25%)");
  const badRun = await runSandboxRollout({
    versions: { stable: "v2", canary: "v3" },
    fault: { atStep: 1, fault: { errorRate: 0.3 } },
    report: printer("[bad] "),
  });
  console.log(`[bad]  ${badRun.result.outcome}: HAProxy default route stable ${badRun.weights.stable} / canary ${badRun.weights.canary}\n`);

  const ok = good.result.outcome === "promoted" && badRun.result.outcome === "rolledBack";
  console.log("summary");
  console.log(`  good canary:           ${good.result.outcome} (${good.record.history.filter((h) => h.type === "advance").length} steps, ${good.canaryRequests} canary requests, 0 rollbacks)`);
  console.log(`  bad canary:            ${badRun.result.outcome}: ${badRun.result.reason}`);
  console.log(`  detection time:        ${badRun.detectionSeconds?.toFixed(1) ?? "n/a"} s (fault injected → rollback decided)`);
  console.log(`  rollback execution:    ${badRun.rollbackSeconds !== undefined ? (badRun.rollbackSeconds * 1000).toFixed(0) : "n/a"} ms (decided → canary at weight 0, verified)`);
  console.log(`  bad requests served:   ${badRun.badRequests} of ${badRun.totalRequests} requests in the run`);
  console.log(`  total time:            ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return ok ? 0 : 1;
}

if (require.main === module) {
  // exitCode, not process.exit(): exit() drops stdout writes still queued on a pipe (the
  // summary), and every process and socket the demo opened is closed by then anyway.
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
