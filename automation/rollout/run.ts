/**
 * `canary rollout` as a function: which rollout the record holds (a new one, one to resume, or
 * one that already succeeded), the session that holds it, and the loop that drives it.
 */
import { note } from "../../components/validation/problems";
import { InitialStateOptions } from "../analysis/judge";
import { formatPreflight, isPreflightSource, preflight } from "../analysis/preflight";
import { gateNames, Plan, PlanError, preflightPlan } from "../plan";
import { RecordStore, revisionOf } from "../record/types";
import { describePhase, isUnfinished, newRecord, RolloutRecord } from "../state";
import { InputError } from "../errors";
import { SecretSources } from "../notify/config";
import { StrategyRefusedError, Target, TargetSnapshot } from "../targets/types";
import { AlertSource } from "./alerts";
import { HookRunner, resolveHookSecrets } from "./hooks";
import { Clock, isoNow, systemClock } from "./clock";
import { dryRunRollout } from "./dryRun";
import { DriverEvent } from "./events";
import { rolloutExecutor } from "./execute";
import * as effects from "./effects";
import { Analysis, ComparedVersions, JudgeAnalysis, MetricsSource } from "./judging";
import { LeaseHeldError, leaseLive, leaseSecondsOf, newLease } from "./lease";
import { drive, RolloutResult } from "./loop";
import { RolloutInProgressError, Session } from "./session";

/** Everything a rollout needs. */
export interface RolloutOptions {
  readonly plan: Plan;
  readonly version: string;
  readonly image: string;
  readonly target: Target;
  readonly store: RecordStore;
  /**
   * The metrics, or a factory called once the target is prepared with the versions to compare
   * (the baseline comes from the target's snapshot).
   */
  readonly metrics: MetricsSource | ((versions: ComparedVersions) => MetricsSource);
  /** Defaults to the judge configured by `plan.analysis.judge`. */
  readonly analysis?: Analysis;
  readonly clock?: Clock;
  readonly report?: (e: DriverEvent) => void;
  /** Overrides `plan.dryRun` when true. */
  readonly dryRun?: boolean;
  /** The rollout id. Defaults to one built from the start time. */
  readonly id?: string;
  /**
   * Aborting it (the CLI does on SIGINT/SIGTERM, e.g. a cancelled pipeline job) rolls the
   * rollout back (or pauses it, per the plan's `onSignal`) at the next safe point: between two
   * actions, or at once while waiting for a tick. A target operation under way is never cut short.
   */
  readonly interrupt?: AbortSignal;
  /**
   * How long the driver's lease lasts without renewal, seconds. Defaults to
   * {@link leaseSecondsOf} the plan. The lease is renewed on every save and, while a target
   * operation runs (a long `pulumi up`), every third of this.
   */
  readonly leaseSeconds?: number;
  /** This rollout retries a rolled-back one (`canary retry`): recorded on its start. */
  readonly retryOf?: { readonly id: string; readonly by: string; readonly reason: string };
  /**
   * The previous version's counts for the bake's reference: a factory called with the versions
   * swapped (the previous version is the `canary` there). Defaults to `metrics` when it is a factory.
   */
  readonly referenceMetrics?: (versions: ComparedVersions) => MetricsSource;
  /** Where the plan's alert gate asks. Defaults to the plan's `alerts.url`, else `analysis.metrics.url`. */
  readonly alertSource?: AlertSource;
  /** Where the hooks' secret URLs and headers come from. Defaults to the environment. */
  readonly hookSecrets?: SecretSources;
  /** Runs the plan's hooks. Defaults to the {@link HookRunner} (HTTP calls and local commands). */
  readonly hookRunner?: Pick<HookRunner, "run">;
}

/** Whether a stored rollout is the one these options ask for (so a new driver may continue it). */
function sameRollout(r: RolloutRecord, o: RolloutOptions): boolean {
  return (
    r.version === o.version &&
    r.image === o.image &&
    r.target === o.target.type &&
    r.steps.join() === o.plan.steps.map((s) => s.weight).join() &&
    (r.strategy ?? "canary") === o.plan.strategy
  );
}

/** The alert gate's Prometheus: the plan's `alerts.url`, else the metrics' URL and headers. @throws InputError when there is none. */
export function alertSourceOf(plan: Plan, defaults: { readonly url?: string } = {}): AlertSource | undefined {
  if (!plan.alerts) return undefined;
  const m = plan.analysis.metrics as { url?: unknown; headers?: unknown; timeoutMs?: unknown };
  const url = plan.alerts.url ?? (typeof m.url === "string" ? m.url : defaults.url);
  if (url === undefined) throw new InputError("alerts.url: is required (or analysis.metrics.url): the Prometheus that evaluates the alerts");
  const sameServer = plan.alerts.url === undefined;
  return {
    url,
    ...(sameServer && m.headers && typeof m.headers === "object" ? { headers: m.headers as Record<string, string> } : {}),
    ...(typeof m.timeoutMs === "number" ? { timeoutMs: m.timeoutMs } : {}),
  };
}

/**
 * Runs one rollout to its end: promoted, rolled back, paused (plan onSignal: pause) or (when the
 * restore itself fails) restoreFailed. An unfinished rollout of the same version whose driver is
 * gone is continued from its record (or rolled back, per plan onResume); a finished rollout of the
 * same version and image that succeeded is not repeated (`unchanged`, nothing contacted). Throws
 * only before anything was changed (another live driver, an unfinished rollout of another
 * version, a target that refuses to be prepared, a plan the pre-flight check refuses at the current
 * traffic), when the rollout is lost to another process, or
 * when the record cannot be written for longer than the lease lasts.
 */
export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const clock = o.clock ?? systemClock;
  const plan = o.plan;
  const dryRun = o.dryRun === true || plan.dryRun;
  const leaseSeconds = o.leaseSeconds ?? leaseSecondsOf(plan);

  const existing = await o.store.load();
  let resumed: RolloutRecord | undefined;
  if (existing && isUnfinished(existing.phase)) {
    if (existing.lease && leaseLive(existing.lease, clock.now())) throw new LeaseHeldError(existing.lease, existing, o.store.description);
    if (!sameRollout(existing, o) || dryRun) throw new RolloutInProgressError(existing, o.store.description);
    resumed = existing;
  } else if (existing?.phase === "Succeeded" && existing.version === o.version && existing.image === o.image && !dryRun && !o.retryOf) {
    return { outcome: "unchanged", record: existing, reason: `${o.version} (${o.image}) is already the stable version: rollout ${existing.id} succeeded at ${existing.updatedAt}; nothing to do` };
  }
  if (dryRun) return dryRunRollout(o);

  // Resuming, the target is still checked (another update in progress is refused), but the
  // snapshot that a rollback restores is the one taken before the rollout changed anything.
  const prepared = await o.target.prepare();
  const snapshot = (resumed ? resumed.snapshot : prepared) as TargetSnapshot;
  if (plan.strategy !== "canary") {
    const refused = o.target.strategyProblem?.(plan.strategy, prepared);
    if (refused !== undefined) throw new StrategyRefusedError(`strategy: ${plan.strategy} cannot run on ${o.target.type} ${o.target.name}: ${refused}; nothing was changed`);
  }
  // Built before anything changes, so an invalid provider config, a missing alert source or a
  // hook secret that is not set fails with nothing applied.
  const metrics = typeof o.metrics === "function" ? o.metrics({ canary: o.version, baseline: snapshot.stableVersion }) : o.metrics;
  const referenceFactory = o.referenceMetrics ?? (typeof o.metrics === "function" ? o.metrics : undefined);
  const previous = snapshot.stableVersion;
  const reference = plan.bake && referenceFactory && previous !== undefined && previous !== o.version ? () => referenceFactory({ canary: previous, baseline: o.version }) : undefined;
  const alertSource = o.alertSource ?? alertSourceOf(plan);
  const hookSecrets = resolveHookSecrets(plan.hooks, o.hookSecrets ?? { env: process.env });
  const report = o.report ?? (() => undefined);
  // Still before anything changes: the tick against the scrape interval, a forecast of every step
  // at the current traffic (refused, exit 2, where a step cannot decide), the judge's reference.
  let initial: InitialStateOptions = {};
  if (!resumed && isPreflightSource(metrics)) {
    const pre = await preflight(metrics, preflightPlan(plan), clock.now() / 1000);
    for (const line of formatPreflight(pre)) report({ kind: "log", line: `pre-flight: ${line}` });
    if (pre.refuse) throw new PlanError(pre.findings.filter((f) => f.severity === "refuse").map((f) => note(f.path ? [f.path] : [], f.message)), "for the current traffic");
    if (pre.reference) initial = { reference: pre.reference };
  }
  const analysis = o.analysis ?? new JudgeAnalysis(plan.analysis.judge, initial);
  const lease = newLease(clock.now(), leaseSeconds);
  const options = { store: o.store, clock, leaseSeconds, tickSeconds: plan.tickSeconds, report };

  let session: Session;
  if (resumed) {
    session = new Session({ ...resumed, lease }, options);
    session.recordEvent({
      type: "takeOver",
      at: isoNow(clock),
      reason: `driver ${lease.holder} took over ${describePhase(resumed)} (previous driver ${resumed.lease?.holder ?? "unknown"} is gone)`,
      evidence: { previousLease: resumed.lease ?? null },
    });
  } else {
    const at = isoNow(clock);
    const fresh = newRecord({ id: o.id ?? `${at.replace(/[-:.]/g, "")}-${o.version}`, stack: o.target.name, target: o.target.type, version: o.version, image: o.image, steps: plan.steps.map((s) => s.weight), strategy: plan.strategy, gates: gateNames(plan), at });
    // Written over the finished record it replaces (compare-and-swap on its revision).
    session = new Session({ ...fresh, snapshot, lease, revision: revisionOf(existing) }, options);
    const through = `${o.version} (${o.image}) through ${plan.steps.map((s) => s.weight).join(" → ")}`;
    session.recordEvent(
      o.retryOf
        ? { type: "start", at, reason: `retry of rolled-back rollout ${o.retryOf.id} by ${o.retryOf.by}: ${o.retryOf.reason}; rollout of ${through}`, by: o.retryOf.by, evidence: { snapshotOf: snapshot.type, retryOf: o.retryOf.id } }
        : { type: "start", at, reason: `rollout of ${through}`, evidence: { snapshotOf: snapshot.type } },
    );
  }
  const say = (message: string): void => report({ kind: "action", message });
  const ctx: effects.EffectContext = {
    session,
    target: o.target,
    clock,
    rollbackMode: plan.rollback.mode,
    tickSeconds: plan.tickSeconds,
    say,
    log: (line) => report({ kind: "log", line }),
    ...(o.interrupt ? { interrupt: o.interrupt } : {}),
  };
  const hooks: effects.HookAccess = {
    hooks: plan.hooks,
    runner: o.hookRunner ?? new HookRunner({ secrets: hookSecrets, sleep: (ms) => clock.sleep(ms), log: ctx.log }),
    variables: async (a) => {
      const r = session.record;
      const route = await o.target.overrideRoute?.().catch(() => undefined);
      const step = a.step !== undefined ? { CANARY_STEP: String(a.step), CANARY_WEIGHT: String(r.steps[a.step]) } : {};
      return {
        CANARY_STACK: o.target.name,
        CANARY_ROLLOUT: r.id,
        CANARY_VERSION: r.version,
        CANARY_IMAGE: r.image,
        ...(previous !== undefined ? { CANARY_STABLE_VERSION: previous } : {}),
        CANARY_HOOK_POINT: a.at,
        ...step,
        ...(route?.url !== undefined ? { CANARY_OVERRIDE_URL: route.url } : {}),
        ...(route?.header ? { CANARY_OVERRIDE_HEADER: route.header.name, CANARY_OVERRIDE_VALUE: route.header.value } : {}),
      };
    },
  };
  const judging = { metrics, analysis, ...(reference ? { reference } : {}), ...(alertSource ? { alerts: alertSource } : {}) };
  return drive({ session, plan, clock, interrupt: o.interrupt, execute: rolloutExecutor(ctx, plan, o.interrupt, judging, hooks) }, resumed ? { tookOver: resumed.lease?.holder ?? "unknown" } : {});
}
