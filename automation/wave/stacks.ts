/**
 * What the wave does to one stack, each through the rollout's own machinery: its rollout is a
 * normal {@link runRollout} with the stack's record store; an abort is `canary abort` through that
 * record (automation/rollout/control.ts); undoing a promotion records `rollback` on the stack's
 * succeeded rollout and finishes it as `canary abort` finishes a stopped rollback, so the restore
 * (retried, verified) is the rollout's own effect (automation/rollout/effects.ts) restoring the
 * snapshot its record kept; a bake watches the promoted version under the guardrails of the
 * stack's plan's judge.
 */
import { Verdict } from "../analysis/types";
import { errorMessage } from "../errors";
import { Plan } from "../plan";
import { RecordConflictError, RecordStore } from "../record/types";
import { Clock, isoNow } from "../rollout/clock";
import { ControlRefusedError, controlRollout, submitControl } from "../rollout/control";
import { DriverEvent } from "../rollout/events";
import { Analysis, ComparedVersions, JudgeAnalysis, MetricsSource } from "../rollout/judging";
import { newRequest } from "../rollout/requests";
import { runRollout } from "../rollout/run";
import { isUnfinished, RollbackTrigger, RolloutRecord, transition } from "../state";
import { Target, TargetSnapshot } from "../targets/types";
import { WaveStack } from "./file";
import { StackStatus } from "./record";

/** What the wave needs of one stack: where it is and how its rollout is measured. */
export interface StackAccess {
  /** The stack as the wave file describes it (name, version, image, plan). */
  readonly stack: WaveStack;
  /** Its target; one per process (the Pulumi target keeps what its snapshot redacted). */
  target(): Promise<Target>;
  /** Its rollout record store. */
  store(): Promise<RecordStore>;
  /** The metrics of its rollout or bake, comparing these versions. */
  metrics(versions: ComparedVersions): MetricsSource;
  /** The judge of its rollout, or of a bake. Defaults to the plan's. */
  analysis?(purpose: "rollout" | "bake"): Analysis;
  /** Also receives the events of its rollout (notifications, the rollout history). */
  observe?(e: DriverEvent): void;
}

/** How a stack's rollout ended, for the wave record. */
export interface StackEnd {
  readonly status: StackStatus;
  readonly rollout?: string;
  readonly reason: string;
  readonly trigger?: RollbackTrigger;
}

/** The trigger of a record's last rollback. */
function triggerOf(r: RolloutRecord): RollbackTrigger | undefined {
  return [...r.history].reverse().find((h) => h.type === "rollback")?.trigger;
}

/** What a stored rollout record says about the stack, once its rollout is not under way. */
export function endOf(r: RolloutRecord): StackEnd | undefined {
  const last = r.history.at(-1)?.reason ?? r.phase;
  if (r.phase === "Succeeded") return { status: "promoted", rollout: r.id, reason: last };
  if (r.phase === "RolledBack") return { status: "rolledBack", rollout: r.id, reason: [...r.history].reverse().find((h) => h.type === "rollback")?.reason ?? last, ...(triggerOf(r) ? { trigger: triggerOf(r) } : {}) };
  if (r.phase === "RollingBack" && r.lease === undefined && r.history.at(-1)?.type === "rollbackFailed") return { status: "restoreFailed", rollout: r.id, reason: last };
  return undefined;
}

/**
 * Reports the transitions a wave made on a stack's rollout outside a running driver (an abort
 * finished here, a promotion undone) to the stack's observers, so its notifications and its
 * history see them as they see a driver's.
 */
function observeSince(access: StackAccess, before: RolloutRecord, after: RolloutRecord | undefined): void {
  if (!access.observe || !after || after.id !== before.id) return;
  for (const entry of after.history.slice(before.history.length)) access.observe({ kind: "transition", record: after, entry });
}

/** What a stack's rollout runs with. */
export interface StackRolloutOptions {
  /** The id of a new rollout (an unfinished one of the same release is continued under its own id). */
  readonly id: string;
  readonly clock: Clock;
  readonly interrupt?: AbortSignal;
  readonly report: (e: DriverEvent) => void;
}

/**
 * Runs (or continues) the stack's rollout to its end. Never rejects: a rollout that could not
 * run is `failed`, with the rollout named when the stack's record holds it unfinished.
 */
export async function runStackRollout(access: StackAccess, o: StackRolloutOptions): Promise<StackEnd> {
  const { stack } = access;
  let store: RecordStore | undefined;
  try {
    const target = await access.target();
    store = await access.store();
    const analysis = access.analysis?.("rollout");
    const r = await runRollout({
      plan: stack.plan,
      version: stack.version,
      image: stack.image,
      target,
      store,
      metrics: (versions) => access.metrics(versions),
      ...(analysis ? { analysis } : {}),
      clock: o.clock,
      id: o.id,
      ...(o.interrupt ? { interrupt: o.interrupt } : {}),
      report: (e) => {
        access.observe?.(e);
        o.report(e);
      },
    });
    switch (r.outcome) {
      case "promoted":
        return { status: "promoted", rollout: r.record.id, reason: r.reason };
      case "unchanged":
        // Already stable: by this wave's own rollout (a driver that died after it), or by an earlier one.
        return { status: r.record.id === o.id ? "promoted" : "unchanged", rollout: r.record.id, reason: r.reason };
      case "rolledBack": {
        const trigger = triggerOf(r.record);
        return { status: "rolledBack", rollout: r.record.id, reason: r.reason, ...(trigger ? { trigger } : {}) };
      }
      case "restoreFailed":
        return { status: "restoreFailed", rollout: r.record.id, reason: r.reason };
      case "paused":
        return { status: "paused", rollout: r.record.id, reason: r.reason };
      default:
        return { status: "failed", reason: `unexpected outcome ${r.outcome}` };
    }
  } catch (e) {
    let rollout: string | undefined;
    try {
      const stored = await store?.load();
      if (stored && stored.id === o.id && isUnfinished(stored.phase)) rollout = stored.id;
    } catch {
      // The store is what failed; the wave asks again when it aborts the stack.
    }
    return { status: "failed", ...(rollout ? { rollout } : {}), reason: errorMessage(e) };
  }
}

/** What asking a stack's rollout to abort came to. */
export interface AbortResult {
  /** The rollout has ended (rolled back here, or found ended): its end. */
  readonly ended?: StackEnd;
  /** The request was made (or there was nothing to abort): do not ask again. */
  readonly requested: boolean;
  readonly message: string;
}

/**
 * Asks the stack's rollout `rollout` to roll back, as `canary abort` does: a request its running
 * driver applies at its next tick (`local`: the driver runs in this process, so this does not
 * wait), or, with no driver, the rollback done here (the rollout's own loop and effects).
 */
export async function abortStack(access: StackAccess, rollout: string, o: { readonly local: boolean; readonly by: string; readonly reason: string; readonly clock: Clock; readonly waitMs: number; readonly log: (line: string) => void }): Promise<AbortResult> {
  const store = await access.store();
  const record = await store.load();
  if (!record || record.id !== rollout) {
    return { requested: true, ended: { status: "cancelled", reason: "its rollout never started" }, message: `${access.stack.name}: ${record ? `the record holds rollout ${record.id}, not the wave's` : "no rollout recorded"}; nothing to abort` };
  }
  const ended = endOf(record);
  if (ended && ended.status !== "restoreFailed") return { requested: true, ended, message: `${access.stack.name}: rollout ${record.id} is ${record.phase} already` };
  if (o.local && ended === undefined) {
    try {
      await submitControl(store, record, newRequest({ verb: "abort", by: o.by, reason: o.reason }, o.clock.now()));
      return { requested: true, message: `${access.stack.name}: asked rollout ${record.id} to abort` };
    } catch (e) {
      if (e instanceof ControlRefusedError) return { requested: false, message: `${access.stack.name}: ${e.message}` };
      throw e;
    }
  }
  try {
    const outcome = await controlRollout(store, { verb: "abort", by: o.by, reason: o.reason }, { plan: access.stack.plan, target: () => access.target() }, { waitMs: o.waitMs, now: () => o.clock.now(), sleep: (ms) => o.clock.sleep(ms), log: o.log });
    const after = await store.load();
    observeSince(access, record, after);
    const end = after && after.id === record.id ? endOf(after) : undefined;
    return { requested: true, ...(end ? { ended: end } : {}), message: `${access.stack.name}: ${outcome.message}` };
  } catch (e) {
    if (!(e instanceof ControlRefusedError)) throw e;
    const after = await store.load();
    const end = after && after.id === record.id ? endOf(after) : undefined;
    return { requested: end !== undefined, ...(end ? { ended: end } : {}), message: `${access.stack.name}: ${e.message}` };
  }
}

/** How undoing a stack's promotion came out. */
export interface RevertResult {
  readonly status: "reverted" | "failed" | "skipped";
  readonly reason: string;
}

/**
 * Undoes the promotion of the stack's rollout `rollout`: records `rollback` on its succeeded
 * record (who and why), then restores the snapshot the record kept, exactly (`restore` mode: a
 * promoted version is not a canary to keep for debugging), through the rollout's own rollback,
 * retried and verified. A stack whose record now holds another rollout is skipped: the wave's
 * release is no longer what it runs, and its snapshot is not the wave's to restore.
 */
export async function revertStack(access: StackAccess, rollout: string, o: { readonly by: string; readonly reason: string; readonly clock: Clock; readonly waitMs: number; readonly log: (line: string) => void; readonly evidence?: unknown }): Promise<RevertResult> {
  const store = await access.store();
  let first: RolloutRecord | undefined;
  const result = async (r: RevertResult): Promise<RevertResult> => {
    if (first) observeSince(access, first, await store.load().catch(() => undefined));
    return r;
  };
  for (let attempt = 1; ; attempt++) {
    const record = await store.load();
    first ??= record;
    if (!record || record.id !== rollout) return { status: "skipped", reason: `the stack's record holds ${record ? `rollout ${record.id}` : "no rollout"}, not the wave's ${rollout}: nothing of the wave's to restore` };
    if (record.phase === "RolledBack") return { status: "reverted", reason: `rollout ${record.id} is rolled back` };
    if (record.phase === "Succeeded") {
      try {
        await store.save(transition(record, { type: "rollback", at: isoNow(o.clock), reason: o.reason, trigger: "operator", by: o.by, ...(o.evidence !== undefined ? { evidence: o.evidence } : {}) }));
      } catch (e) {
        if (e instanceof RecordConflictError && attempt < 5) continue;
        return result({ status: "failed", reason: `cannot record the rollback of rollout ${record.id}: ${errorMessage(e)}` });
      }
    } else if (record.phase !== "RollingBack") {
      return { status: "failed", reason: `rollout ${record.id} is ${record.phase}, not a promoted rollout` };
    }
    const plan: Plan = { ...access.stack.plan, rollback: { mode: "restore" } };
    try {
      const outcome = await controlRollout(store, { verb: "abort", by: o.by, reason: o.reason }, { plan, target: () => access.target() }, { waitMs: o.waitMs, now: () => o.clock.now(), sleep: (ms) => o.clock.sleep(ms), log: o.log });
      const after = await store.load();
      if (after?.id === rollout && after.phase === "RolledBack") return result({ status: "reverted", reason: `restored the snapshot of rollout ${rollout}` });
      return result({ status: "failed", reason: outcome.message });
    } catch (e) {
      return result({ status: "failed", reason: errorMessage(e) });
    }
  }
}

/** One bake tick of one stack. */
export interface BakeTick {
  /** The tick had traffic to the promoted version and usable metrics. */
  readonly data: boolean;
  /** A guardrail breached: why, and the verdict's guardrails. */
  readonly breach?: { readonly reason: string; readonly evidence: unknown };
  /** Why the tick did not count. */
  readonly holding?: string;
}

/**
 * The bake's watch on one promoted stack: the stack plan's judge, fed with the promoted
 * version's counters, acting only on its absolute guardrails (there is no baseline left to
 * compare with: the previous version no longer serves). No data is not failure: a tick without
 * traffic or metrics does not count towards the bake, and holds it.
 */
export class BakeWatch {
  private readonly metrics: MetricsSource;
  private readonly analysis: Analysis;

  constructor(
    private readonly access: StackAccess,
    record: RolloutRecord,
    private readonly clock: Clock,
  ) {
    const baseline = (record.snapshot as TargetSnapshot | undefined)?.stableVersion;
    this.metrics = access.metrics({ canary: access.stack.version, ...(baseline !== undefined ? { baseline } : {}) });
    this.analysis = access.analysis?.("bake") ?? new JudgeAnalysis(access.stack.plan.analysis.judge);
  }

  /** Takes the first reading (the counters' starting values). */
  async start(bakeSeconds: number): Promise<void> {
    const now = this.clock.now() / 1000;
    this.analysis.beginStep({ index: 0, startedAt: now, minDurationSeconds: bakeSeconds, maxDurationSeconds: Number.MAX_SAFE_INTEGER });
    this.analysis.tick(await this.metrics.measure(now));
  }

  /** Reads and judges one tick. */
  async tick(): Promise<BakeTick> {
    const m = await this.metrics.measure(this.clock.now() / 1000);
    const v: Verdict = this.analysis.tick(m);
    const breached = v.guardrails.filter((g) => g.status === "breached");
    const name = this.access.stack.name;
    if (breached.length > 0) {
      const reason = v.reasons.find((r) => r.startsWith("guardrail ")) ?? `guardrail ${breached[0].name} breached`;
      return { data: true, breach: { reason, evidence: { guardrails: v.guardrails } } };
    }
    // No new sample since the last reading: the tick does not count (the bake runs longer rather
    // than credit time no reading has covered yet).
    if (m.kind === "pending") return { data: false, holding: `no new sample of ${name}'s counters since the last reading` };
    const canary = m.kind === "ok" ? m.canary : m.kind === "noValues" ? m.canary : undefined;
    if (!canary) return { data: false, holding: `no metrics for ${name} (${m.kind === "queryFailed" ? m.error : m.kind === "noValues" ? m.detail : "first reading"})` };
    if (canary.requests <= 0) return { data: false, holding: `no requests reached ${name}` };
    return { data: true };
  }
}
