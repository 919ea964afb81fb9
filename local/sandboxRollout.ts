/**
 * One canary rollout on the local sandbox, measured from outside the driver: the harness that
 * `npm run demo` and the end-to-end tests run. It drives the real rollout driver through the
 * HAProxy target with the real judge on the sandbox's Prometheus, under generated load, and
 * counts what users saw: every failed request (connection errors and 5xx) over the whole
 * rollout, and the bad requests a canary fault caused.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DriverEvent } from "../automation/rollout/events";
import { metricsFromPlan } from "../automation/rollout/judging";
import { RolloutResult } from "../automation/rollout/loop";
import { alertSourceOf, runRollout } from "../automation/rollout/run";
import { SecretSources } from "../automation/notify/config";
import { parsePlan, Plan } from "../automation/plan";
import { FileRecordStore } from "../automation/record/file";
import { RolloutRecord } from "../automation/state";
import { HaproxyTarget } from "../automation/targets/haproxy";
import { parseJudgeConfig } from "../automation/analysis/judge";
import { MetricsProvider } from "../automation/analysis/prometheus";
import { operatorIdentity } from "../automation/rollout/lease";
import { HistoryStore } from "../automation/history/store";
import { prometheusSeries, RolloutArchive } from "../automation/report/archive";
import { FaultSpec } from "./app/faults";
import { RequestRecord, runLoad } from "./loadgen";
import { RouteWeights, Sandbox, startSandbox } from "./sandbox";

/**
 * The demo's plan: the default weights with short steps (seconds instead of minutes) and 2 s
 * ticks. The sample service serves no errors on either version, so there is no baseline rate to
 * bound a ratio against: a step passes once the judge can show that ≤ 5% of the canary's
 * requests are errors or slower than 250 ms (with the judge's conservative early dispersion,
 * some 1,000–2,000 clean requests: most of a minute at 5% of 200 requests/s); a guardrail rolls
 * back when more than 5% are slower than 500 ms.
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
      - { name: errors, source: { kind: errors }, negligibleRate: 0.05 }
      - { name: latency, source: { kind: latencyAbove, le: 0.25 }, negligibleRate: 0.05 }
    guardrails: { latency: [{ name: p95, le: 0.5, maxFraction: 0.05 }] }
    minCanaryRequestsToPromote: 100
  metrics: { selectors: { job: app } }
`;

/** One sandbox rollout. */
export interface SandboxRolloutOptions {
  /**
   * A running sandbox to roll out on (its versions are the ones compared). It is reset first
   * ({@link resetSandbox}). Without it, a sandbox is started for this rollout
   * and stopped after it.
   */
  readonly sandbox?: Sandbox;
  /** The versions of a sandbox started for this rollout. Defaults to `{ stable: "v1", canary: "v2" }`. */
  readonly versions?: { readonly stable: string; readonly canary: string };
  /** Defaults to {@link DEMO_PLAN}. */
  readonly plan?: Plan;
  /** Requests per second of generated load; 0 sends none after the warm-up. Defaults to 200. */
  readonly rps?: number;
  /** A fault injected into the canary when the given step starts (`switch`: when all traffic moves to it). */
  readonly fault?: { readonly atStep: number | "switch"; readonly fault: FaultSpec };
  /** Where the plan's hooks find their secrets. Defaults to the environment. */
  readonly hookSecrets?: SecretSources;
  /** Called for every request of the generated load. */
  readonly onResponse?: (r: RequestRecord) => void;
  /** Runs once the sandbox is reset and under load, right before the rollout starts (a fault, alerts to wait for). */
  readonly beforeRollout?: (sandbox: Sandbox) => Promise<void>;
  readonly report?: (e: DriverEvent) => void;
  /** Bound on the whole rollout. Defaults to 150 s. */
  readonly timeoutMs?: number;
  /**
   * Keep the rollout in a history under `<dir>/history` and, on a rollback, write its HTML report
   * into `<dir>` (while the sandbox's Prometheus still answers, for the raw series). Defaults to none.
   */
  readonly reportDir?: string;
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
  /** The switch (all traffic to the new version): decided (written ahead) → weight 100 verified, seconds. */
  readonly switchSeconds?: number;
  /**
   * Every request the load generator saw fail during the whole rollout, whichever version
   * answered: no response at all (connection refused or reset, timeout) or a 5xx. Zero means
   * no user saw an error while the weights moved, through promotion.
   */
  readonly failedRequests: number;
  /** Requests answered by the canary with a 5xx or slower than 500 ms after the fault. */
  readonly badRequests: number;
  readonly canaryRequests: number;
  readonly totalRequests: number;
  readonly elapsedSeconds: number;
  /** The report written (with `reportDir`, on a rollback). */
  readonly report?: string;
}

/**
 * Rolls the canary out on a sandbox (the given one, or one started for the purpose) under
 * generated load, through the HAProxy target with the real judge on the sandbox's Prometheus,
 * and counts what users saw. A sandbox it started, it stops.
 */
export async function runSandboxRollout(o: SandboxRolloutOptions): Promise<SandboxRolloutResult> {
  const started = Date.now();
  const plan = o.plan ?? parsePlan(DEMO_PLAN);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-rollout-"));
  const owned = o.sandbox === undefined;
  const sandbox = o.sandbox ?? (await startSandbox({ versions: o.versions ?? { stable: "v1", canary: "v2" }, traffic: { canaryWeight: 0 } }));
  const versions = sandbox.versions;
  const abort = new AbortController();
  let faultAt: number | undefined;
  let faultPromise: Promise<unknown> | undefined;
  let failed = 0;
  let bad = 0;
  let canaryRequests = 0;
  let total = 0;
  try {
    if (!owned) await resetSandbox(sandbox);
    // A few requests to each version first, so both have counter series before the first
    // reading (a version without series is missing data, not "no traffic")…
    await runLoad({ url: sandbox.urls.traffic, rps: 20, durationSeconds: 0.5, shares: [{ name: "override", match: { kind: "header", name: "x-canary", value: "true" }, share: 0.5 }] });
    // …and scraped, so they (and anything an earlier rollout on this sandbox sent) are in the
    // counters' starting values, not in the first tick.
    await new Promise((r) => setTimeout(r, 2500 * sandbox.scrapeIntervalSeconds));
    const rps = o.rps ?? 200;
    const load =
      rps > 0
        ? runLoad({
            url: sandbox.urls.traffic,
            rps,
            durationSeconds: 3600,
            signal: abort.signal,
            onResponse: (r) => {
              o.onResponse?.(r);
              total++;
              if (r.status === 0 || r.status >= 500) failed++;
              if (r.version !== versions.canary) return;
              canaryRequests++;
              if (faultAt !== undefined && r.sentAt >= faultAt && (r.status >= 500 || r.receivedAt - r.sentAt > 500)) bad++;
            },
          })
        : Promise.resolve(undefined);
    await o.beforeRollout?.(sandbox);
    const target = new HaproxyTarget(sandbox);
    let provider: MetricsProvider | undefined;
    const archive =
      o.reportDir !== undefined
        ? new RolloutArchive({ service: "app", history: new HistoryStore(path.join(o.reportDir, "history")), operator: operatorIdentity(), reportDir: o.reportDir, raw: prometheusSeries(() => provider), judge: parseJudgeConfig(plan.analysis.judge) })
        : undefined;
    const report = (e: DriverEvent): void => {
      archive?.observe(e);
      const faultNow = o.fault && e.kind === "transition" && (o.fault.atStep === "switch" ? e.entry.type === "switch" : e.entry.type === "advance" && e.entry.step === o.fault.atStep);
      if (o.fault && faultNow) {
        faultPromise = sandbox.injectFault("canary", o.fault.fault).then(() => (faultAt = Date.now()));
      }
      o.report?.(e);
    };
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`rollout did not finish within ${(o.timeoutMs ?? 150_000) / 1000}s`)), o.timeoutMs ?? 150_000).unref());
    const result = await Promise.race([
      runRollout({
        plan,
        version: versions.canary,
        image: `sandbox/app:${versions.canary}`,
        target,
        store: new FileRecordStore(path.join(dir, "rollout.json")),
        metrics: (compared) => {
          provider = metricsFromPlan(plan, { ...compared, url: sandbox.urls.prometheus });
          return archive ? archive.wrapMetrics(provider) : provider;
        },
        referenceMetrics: (compared) => metricsFromPlan(plan, { ...compared, url: sandbox.urls.prometheus }),
        ...(plan.alerts ? { alertSource: alertSourceOf(plan, { url: sandbox.urls.prometheus }) } : {}),
        ...(o.hookSecrets ? { hookSecrets: o.hookSecrets } : {}),
        report,
      }),
      timeout,
    ]);
    // Before the sandbox stops: the report reads the raw series from its Prometheus.
    const archived = await archive?.flush(30_000);
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
    const switched = result.record.history.find((x) => x.type === "switch");
    const switchRequested = (switched?.evidence as { requestedAt?: string } | undefined)?.requestedAt;
    return {
      result,
      record: result.record,
      weights,
      faultAt,
      detectionSeconds: faultAt !== undefined && rollbackAt !== undefined ? (rollbackAt - faultAt) / 1000 : undefined,
      rollbackSeconds: rollbackAt !== undefined && restoredAt !== undefined ? (restoredAt - rollbackAt) / 1000 : undefined,
      switchSeconds: switched && switchRequested ? (Date.parse(switched.at) - Date.parse(switchRequested)) / 1000 : undefined,
      failedRequests: failed,
      badRequests: bad,
      canaryRequests,
      totalRequests: total,
      elapsedSeconds: (Date.now() - started) / 1000,
      ...(archived?.reports[0] !== undefined ? { report: archived.reports[0] } : {}),
    };
  } finally {
    abort.abort();
    if (owned) await sandbox.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The state a rollout starts from: the default route (the one the HAProxy target steps) at
 * canary weight 0 and both instances healthy.
 */
export async function resetSandbox(sandbox: Sandbox): Promise<void> {
  await Promise.all([sandbox.clearFault("canary"), sandbox.clearFault("stable")]);
  await sandbox.setWeight(0);
}
