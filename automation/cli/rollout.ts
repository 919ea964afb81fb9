/** `canary rollout` (and `canary retry`, which rolls a rolled-back rollout out again). */
import * as path from "node:path";
import { Backend } from "../backends";
import { Plan } from "../plan";
import { RecordStore } from "../record/types";
import { Outcome } from "../rollout/decide";
import { DriverEvent } from "../rollout/events";
import { metricsFromPlan, MetricsSource } from "../rollout/judging";
import { alertSourceOf, RolloutOptions, runRollout } from "../rollout/run";
import { hookSecretConfigKeys } from "../rollout/hooks";
import { describePhase } from "../state";
import { Target } from "../targets/types";
import { parseJudgeConfig } from "../analysis/judge";
import { MetricsProvider } from "../analysis/prometheus";
import { HistoryStore } from "../history/store";
import { secretConfigKeys } from "../notify/config";
import { RolloutNotifications } from "../notify/rollout";
import { prometheusSeries, RolloutArchive } from "../report/archive";
import { operatorIdentity } from "../rollout/lease";
import { MetricsServer, startMetricsServer } from "../telemetry/server";
import { RolloutMetrics } from "../telemetry/metrics";
import { TextfileWriter } from "../telemetry/textfile";
import { EXIT } from "./exit";
import { CommandDeps, CommonFlags, DEFAULT_DEPS } from "./flags";
import { checkPlanMetrics, checkVersion, metricsPort, readPlan } from "./input";
import { Renderer } from "./render";

/** The flags of `canary rollout`. */
export interface RolloutFlags extends CommonFlags {
  readonly version: string;
  readonly image: string;
  readonly plan?: string;
  readonly dryRun?: boolean;
  readonly service?: string;
  readonly metricsPort?: string;
  readonly textfileDir?: string;
}

/** How long the driver waits at exit for notifications still queued (then abandons them). */
export const NOTIFY_FLUSH_MS = 15_000;

const OUTCOME_EXIT: Readonly<Record<Outcome, number>> = {
  promoted: EXIT.promoted,
  dryRun: EXIT.promoted,
  unchanged: EXIT.promoted,
  rolledBack: EXIT.rolledBack,
  restoreFailed: EXIT.restoreFailed,
  paused: EXIT.paused,
};

/** The service name for notifications, metrics and reports: --service, the plan's `service` selector, or the stack. */
export function serviceOf(o: { readonly service?: string }, plan: Plan, fallback: string): string {
  const selectors = plan.analysis.metrics.selectors;
  const fromPlan = selectors && typeof selectors === "object" ? (selectors as Record<string, unknown>).service : undefined;
  return o.service ?? (typeof fromPlan === "string" ? fromPlan : fallback);
}

/** Stand-ins for a dry run: they name the target and the store and refuse to be used. */
function inert(backend: Backend): { target: Target; store: RecordStore } {
  const refuse = (): never => {
    throw new Error("a dry run never contacts the target");
  };
  return {
    target: { type: backend.type, name: backend.targetName, prepare: refuse, setCanary: refuse, setWeight: refuse, verify: refuse, promote: refuse, rollback: refuse },
    store: { description: backend.storeDescription, load: async () => undefined, save: refuse },
  };
}

/** What keeps and announces a rollout besides its record: its notifications, and its place in the history with its report. */
export interface RolloutObservers {
  /** Takes a driver event; returns at once (a slow or dead receiver never holds the rollout). */
  observe(e: DriverEvent): void;
  /** The rollout's metrics, kept so the report shows Prometheus' raw series. */
  metrics(provider: MetricsProvider): MetricsSource;
  /** Waits (bounded) for what is queued: notifications, the history, the report; says what was left. */
  flush(): Promise<void>;
}

/**
 * The observers of one rollout on `backend`, built before anything changes (a missing webhook URL
 * fails with nothing applied).
 * @param configValues values of the secret config keys the plan's channels name (`urlConfig`).
 */
export function rolloutObservers(o: { readonly plan: Plan; readonly service: string; readonly backend: Backend; readonly configValues: Readonly<Record<string, string | undefined>>; readonly log: (line: string) => void }): RolloutObservers {
  const { plan, service, backend, log } = o;
  const notifications = RolloutNotifications.fromConfig(plan.notifications, { service, sources: { env: process.env, config: o.configValues }, defaultIncidentDir: backend.incidentDir, log });
  // The rollout kept in the history, the judge's ticks traced, and on a rollback the report
  // written next to the incident record (with Prometheus' raw series while it answers).
  let provider: MetricsProvider | undefined;
  const incidents = plan.notifications.incidents;
  const archive = new RolloutArchive({
    service,
    history: new HistoryStore(backend.historyDir),
    operator: operatorIdentity(),
    // The same directory as the incident record's (RolloutNotifications.fromConfig).
    ...(incidents.enabled && incidents.report ? { reportDir: incidents.dir ?? backend.incidentDir } : {}),
    raw: prometheusSeries(() => provider),
    judge: parseJudgeConfig(plan.analysis.judge),
    log,
  });
  return {
    observe: (e) => {
      notifications.observe(e);
      archive.observe(e);
    },
    metrics: (p) => {
      provider = p;
      return archive.wrapMetrics(p);
    },
    flush: async () => {
      // Bounded: what a receiver has not taken by then is abandoned and counted.
      const flushed = await notifications.flush(NOTIFY_FLUSH_MS);
      const n = flushed.notifications;
      if (n.failed + n.dropped + n.abandoned > 0) log(`notify: ${n.delivered} delivered, ${n.failed} failed, ${n.dropped} dropped, ${n.abandoned} abandoned at exit`);
      for (const file of flushed.incidents) log(`incident record: ${file}`);
      const kept = await archive.flush(NOTIFY_FLUSH_MS);
      for (const file of kept.reports) log(`report: ${file}`);
    },
  };
}

/** Runs a rollout as `canary rollout` does; resolves with the exit code. */
export async function rollout(o: RolloutFlags, retryOf?: RolloutOptions["retryOf"], deps: CommandDeps = DEFAULT_DEPS): Promise<number> {
  checkVersion(o.version, o.image, o.service);
  const backend = deps.openBackend(o);
  const plan = readPlan(o.plan);
  const dryRun = o.dryRun === true || plan.dryRun;
  const mode = o.json ? "json" : process.stdout.isTTY ? "tty" : "plain";
  const renderer = new Renderer(mode);
  const log = (line: string): void => renderer.event({ kind: "log", line });

  // The metrics settings are checked before anything is contacted (with a stand-in baseline
  // when the plan does not name one; the real one comes from the target's snapshot).
  const defaults = { canary: o.version, ...backend.metricsDefaults() };
  checkPlanMetrics(plan, defaults, o.plan);
  const port = metricsPort(o.metricsPort);

  let target: Target;
  let store: RecordStore;
  // Values of secret config keys named by `urlConfig` channels (read from the target, never logged).
  let configValues: Readonly<Record<string, string | undefined>> = {};
  if (dryRun) ({ target, store } = inert(backend));
  else {
    target = await backend.target(log);
    store = await backend.store();
    if (secretConfigKeys(plan.notifications).length > 0 || hookSecretConfigKeys(plan.hooks).length > 0) configValues = await backend.configValues();
  }

  // Notifications and metrics are built before anything changes, so a missing webhook URL
  // fails with nothing applied. A dry run notifies nobody.
  const service = serviceOf(o, plan, target.name);
  const observers = dryRun ? undefined : rolloutObservers({ plan, service, backend, configValues, log });
  const metrics = new RolloutMetrics({ service, stack: target.name });
  const textfile = o.textfileDir !== undefined ? new TextfileWriter(metrics.registry, path.resolve(o.cwd, o.textfileDir), undefined, log) : undefined;
  let server: MetricsServer | undefined;
  if (port !== undefined) {
    server = await startMetricsServer(metrics.registry, { port });
    log(`driver metrics at ${server.url}`);
  }
  textfile?.update();
  const report = (e: DriverEvent): void => {
    renderer.event(e);
    // It returns at once: a slow or dead receiver never holds the rollout (or its rollback).
    observers?.observe(e);
    metrics.observe(e);
    textfile?.update();
  };

  // A cancelled pipeline job (SIGTERM) or Ctrl-C rolls back (or pauses, per the plan) rather than
  // leaving the canary at its weight with an unfinished record; a second signal exits at once.
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupt.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
    renderer.event({ kind: "log", line: `${signal}: ${plan.onSignal === "pause" ? "pausing" : "rolling back"} (send it again to exit at once)` });
    interrupt.abort(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let result;
  try {
    result = await runRollout({
      plan,
      version: o.version,
      image: o.image,
      target,
      store,
      metrics: (versions) => {
        const provider = metricsFromPlan(plan, { ...defaults, ...versions });
        return observers ? observers.metrics(provider) : provider;
      },
      // The bake's reference: the previous version's own counts, without the report's tracing.
      referenceMetrics: (versions) => metricsFromPlan(plan, { ...defaults, ...versions }),
      ...(dryRun ? {} : { alertSource: alertSourceOf(plan, defaults) }),
      hookSecrets: { env: process.env, config: configValues },
      report,
      dryRun,
      interrupt: interrupt.signal,
      ...(retryOf ? { retryOf } : {}),
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await observers?.flush();
    await textfile?.flush();
    await server?.stop();
  }
  const code = OUTCOME_EXIT[result.outcome];
  if (mode === "json") {
    process.stdout.write(`${JSON.stringify({ event: "result", outcome: result.outcome, exitCode: code, reason: result.reason, rollout: result.record.id, phase: result.record.phase })}\n`);
  }
  const words: Record<Outcome, string> = {
    promoted: `promoted ${o.version}`,
    dryRun: "dry run complete: nothing was applied",
    unchanged: result.reason,
    rolledBack: `rolled back ${o.version}: ${result.reason}`,
    paused: `paused ${o.version} at ${describePhase(result.record)}: ${result.reason}; continue with ${result.record.phase === "Paused" ? "`canary resume` then " : ""}\`canary rollout\` (same version), or \`canary abort\``,
    restoreFailed: `ROLLBACK FAILED for ${o.version}: ${result.reason}; the target may still route traffic to the canary`,
  };
  renderer.finish(`${words[result.outcome]} (exit ${code})`);
  return code;
}
