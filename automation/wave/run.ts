/**
 * `canary wave run` as a function: which wave the record holds (a new one, one to continue, or
 * one that already succeeded), the session that holds it, and the loop that drives it:
 * observe → {@link decideWave} → persist → execute, until it says Done. The wave only
 * orchestrates: each stack's rollout is a normal rollout with its own record store, and every
 * change to a stack goes through the rollout's machinery (./stacks.ts).
 */
import { errorMessage } from "../errors";
import { Clock, isoNow, systemClock } from "../rollout/clock";
import { DriverEvent } from "../rollout/events";
import { leaseLive, leaseSecondsOf, newLease, operatorIdentity } from "../rollout/lease";
import { WaveAction, decideWave, WaveObservation, WaveOutcome } from "./decide";
import { WaveFile, waveIdentity, waveStacks } from "./file";
import { describeWavePhase, findStack, isWaveUnfinished, newWaveRecord, WaveHistoryEntry, WaveRecord } from "./record";
import { WaveHeldError, WaveInProgressError, WaveSession } from "./session";
import { abortStack, BakeWatch, revertStack, runStackRollout, StackAccess, StackEnd } from "./stacks";
import { WaveStore } from "./store";

/** What a wave reports while it runs. */
export type WaveDriverEvent =
  /** An event of the wave record, reported once it is saved. */
  | { readonly kind: "wave"; readonly record: WaveRecord; readonly entry: WaveHistoryEntry }
  /** An event of one stack's rollout. */
  | { readonly kind: "stack"; readonly stack: string; readonly event: DriverEvent }
  /** What the wave does, in words. */
  | { readonly kind: "action"; readonly message: string }
  /** A line for the operator. */
  | { readonly kind: "log"; readonly line: string }
  /** The wave waits at the gate before `stage` (`canary wave approve --stage <stage>`); reported once per gate. */
  | { readonly kind: "gateWaiting"; readonly stage: string }
  /** A judged bake tick. */
  | { readonly kind: "bake"; readonly stage: string; readonly observedSeconds: number; readonly bakeSeconds: number; readonly holding?: string };

/** Everything a wave needs. */
export interface WaveOptions {
  readonly wave: WaveFile;
  readonly store: WaveStore;
  /** Each stack of the wave, by its name in the wave. Built before anything changes. */
  readonly stacks: ReadonlyMap<string, StackAccess>;
  readonly clock?: Clock;
  readonly report?: (e: WaveDriverEvent) => void;
  /**
   * Aborting it (SIGINT/SIGTERM) reaches the rollouts under way, each of which rolls back or
   * pauses per its plan's `onSignal`; between stages the wave stops at once, to be continued by
   * the next run.
   */
  readonly interrupt?: AbortSignal;
  /** The wave id. Defaults to one built from the start time and the name. */
  readonly id?: string;
  /** How long the wave driver's lease lasts without renewal, seconds. Defaults to three ticks, at least 60 s. */
  readonly leaseSeconds?: number;
}

/** The end of a wave run. */
export interface WaveResult {
  readonly outcome: WaveOutcome;
  readonly record: WaveRecord;
  readonly reason: string;
}

/**
 * Runs a wave to its end: every stage promoted, stopped or rolled back after a failure, paused
 * by a signal, or restoreFailed. An unfinished wave of the same file whose driver is gone is
 * continued from its record; a wave that already succeeded is not repeated (`unchanged`).
 * @throws WaveHeldError, WaveInProgressError before anything changes; WaveLostError when another
 *   process takes the wave over.
 */
export async function runWave(o: WaveOptions): Promise<WaveResult> {
  const clock = o.clock ?? systemClock;
  const { wave, store } = o;
  for (const s of waveStacks(wave)) if (!o.stacks.has(s.name)) throw new Error(`no access to stack ${s.name} of wave ${wave.name}`);
  const identity = waveIdentity(wave);
  const report = o.report ?? (() => undefined);
  const existing = await store.load();
  let resumed: WaveRecord | undefined;
  if (existing && isWaveUnfinished(existing.phase)) {
    if (existing.lease && leaseLive(existing.lease, clock.now())) throw new WaveHeldError(existing.lease, existing, store.description);
    if (existing.identity !== identity) {
      throw new WaveInProgressError(existing, store.description, "it is not this wave file's (its stacks, versions or images differ); refusing to start another (finish it, or `canary wave abort` it, first)");
    }
    resumed = existing;
  } else if (existing?.phase === "Succeeded" && existing.identity === identity) {
    return { outcome: "unchanged", record: existing, reason: `wave ${existing.id} (${existing.name}) succeeded at ${existing.updatedAt}; every stack already runs its release: nothing to do` };
  }

  const leaseSeconds = o.leaseSeconds ?? leaseSecondsOf({ tickSeconds: wave.tickSeconds });
  const lease = newLease(clock.now(), leaseSeconds);
  const at = isoNow(clock);
  const gates = wave.stages.filter((s) => s.gate).map((s) => s.name);
  const options = { store, clock, leaseSeconds, tickSeconds: wave.tickSeconds, gates, recorded: (e: { record: WaveRecord; entry: WaveHistoryEntry }) => report({ kind: "wave", ...e }), log: (line: string) => report({ kind: "log", line }) };
  let session: WaveSession;
  if (resumed) {
    session = new WaveSession({ ...resumed, lease }, options);
    session.recordEvent({ type: "takeOver", at, reason: `driver ${lease.holder} took over ${describeWavePhase(resumed)} (previous driver ${resumed.lease?.holder ?? "unknown"} is gone)`, evidence: { previousLease: resumed.lease ?? null } });
  } else {
    const id = o.id ?? `${at.replace(/[-:.]/g, "")}-${wave.name}`;
    const fresh = newWaveRecord(
      { id, name: wave.name, identity, stages: wave.stages, at },
      `wave ${wave.name}: ${wave.stages.map((s) => `${s.name} (${s.stacks.map((k) => k.name).join(", ")})`).join(" → ")}; onFailure: ${wave.onFailure}`,
    );
    session = new WaveSession({ ...fresh, lease, ...(existing?.revision !== undefined ? { revision: existing.revision } : {}) }, options);
  }
  return driveWave(new WaveExecutor(o, session, clock, report));
}

/** The loop: observe → decide → persist → execute, until decideWave says Done. */
async function driveWave(x: WaveExecutor): Promise<WaveResult> {
  for (;;) {
    const obs = x.observe();
    const action = decideWave(x.session.record, x.wave, obs);
    if (action.kind === "Done") {
      await x.session.save({ release: true });
      return { outcome: action.outcome, record: x.session.record, reason: action.reason };
    }
    await x.session.commit();
    await x.execute(action);
  }
}

/** What each wave action does, and what this process has seen (the observation). */
class WaveExecutor {
  readonly wave: WaveFile;
  /** The rollouts this process runs, by stack. */
  private readonly running = new Map<string, Promise<void>>();
  /** Rollouts that ended, not yet recorded. */
  private settled: { readonly stack: string; readonly end: StackEnd }[] = [];
  private readonly unrestored = new Set<string>();
  private bake?: { readonly stage: number; readonly watches: ReadonlyMap<string, BakeWatch> };
  private tickDue = false;
  private lastWait?: string;
  private readonly by: string;

  constructor(
    private readonly o: WaveOptions,
    readonly session: WaveSession,
    private readonly clock: Clock,
    private readonly report: (e: WaveDriverEvent) => void,
  ) {
    this.wave = o.wave;
    this.by = `wave ${session.record.id} (${operatorIdentity()})`;
  }

  observe(): WaveObservation {
    const interrupt = this.o.interrupt;
    return {
      at: isoNow(this.clock),
      running: [...this.running.keys()],
      ...(this.bake ? { baking: this.bake.stage } : {}),
      ...(this.tickDue ? { tickDue: true } : {}),
      ...(interrupt?.aborted ? { interrupted: `interrupted (${String(interrupt.reason ?? "aborted")})` } : {}),
      ...(this.unrestored.size ? { unrestored: [...this.unrestored] } : {}),
    };
  }

  private access(name: string): StackAccess {
    return this.o.stacks.get(name)!;
  }

  private say(message: string): void {
    this.report({ kind: "action", message });
  }

  private log(line: string): void {
    this.report({ kind: "log", line });
  }

  /** Waits one tick (less on an interrupt, or when `until` settles first), then reads control requests. */
  private async tick(until?: Promise<unknown>): Promise<void> {
    const waits: Promise<unknown>[] = [this.clock.sleep(this.wave.tickSeconds * 1000)];
    if (until) waits.push(until);
    const interrupt = this.o.interrupt;
    let onAbort: (() => void) | undefined;
    if (interrupt && !interrupt.aborted) waits.push(new Promise<void>((resolve) => interrupt.addEventListener("abort", (onAbort = () => resolve()), { once: true })));
    await Promise.race(waits);
    if (onAbort) interrupt!.removeEventListener("abort", onAbort);
    await this.session.takeControls();
  }

  async execute(action: Exclude<WaveAction, { kind: "Done" }>): Promise<void> {
    const s = this.session;
    const at = isoNow(this.clock);
    this.tickDue = false;
    switch (action.kind) {
      case "StartStacks":
        return this.startStacks(action.stacks);
      case "AwaitStacks": {
        if (this.settled.length === 0) await this.tick(Promise.race(this.running.values()));
        this.recordSettled();
        return;
      }
      case "AbortStacks":
        return this.abortStacks(action.stacks, action.reason);
      case "Fail":
        s.recordEvent({ type: "fail", at, stage: action.stage, ...(action.stack !== undefined ? { stack: action.stack } : {}), trigger: action.trigger, reason: action.reason });
        return;
      case "Revert":
        return this.revert(action.stacks, action.reason);
      case "BeginBake":
        s.recordEvent({ type: "bake", at, stage: action.stage, reason: `stage ${s.record.stages[action.stage].name} promoted; baking for ${this.wave.stages[action.stage].bakeSeconds}s under the guardrails of every promoted stack` });
        return;
      case "Bake":
        return action.start ? this.startBake(action.stage) : this.bakeTick(action.stage);
      case "AwaitGate": {
        const name = s.record.stages[action.stage].name;
        if (s.record.awaiting !== name) {
          s.update((r) => ({ ...r, awaiting: name }));
          this.report({ kind: "gateWaiting", stage: name });
        }
        await this.tick();
        return;
      }
      case "Wait":
        if (this.lastWait !== action.reason) this.say(action.reason);
        this.lastWait = action.reason;
        await this.tick();
        this.tickDue = true;
        return;
      case "Advance":
        this.bake = undefined;
        s.recordEvent({ type: "advance", at, stage: action.stage, reason: action.reason });
        return;
      case "Finish":
        s.recordEvent({ type: action.phase === "Succeeded" ? "succeed" : action.phase === "Stopped" ? "stop" : "rolledBack", at, reason: action.reason });
        return;
    }
  }

  /** Records the stacks' start (write-ahead), then starts their rollouts in the background. */
  private async startStacks(names: readonly string[]): Promise<void> {
    const s = this.session;
    const at = isoNow(this.clock);
    const ids = new Map<string, string>();
    for (const name of names) {
      const state = findStack(s.record, name)!.stack;
      const id = state.rollout ?? `${s.record.id}-${name}`;
      ids.set(name, id);
      if (state.status === "pending") s.recordEvent({ type: "stackStarted", at, stack: name, rollout: id, reason: `rollout of ${this.access(name).stack.version} on ${name} started` });
      else this.say(`continuing the rollout of ${name} (${state.status}${state.reason ? `: ${state.reason}` : ""})`);
    }
    await s.save();
    for (const name of names) {
      const promise = runStackRollout(this.access(name), {
        id: ids.get(name)!,
        clock: this.clock,
        ...(this.o.interrupt ? { interrupt: this.o.interrupt } : {}),
        report: (event) => this.report({ kind: "stack", stack: name, event }),
      }).then((end) => {
        this.settled.push({ stack: name, end });
      });
      this.running.set(name, promise);
    }
  }

  /** Records the rollouts that ended since the last look. */
  private recordSettled(): void {
    const ended = this.settled;
    this.settled = [];
    for (const { stack, end } of ended) {
      this.running.delete(stack);
      if (end.status === "restoreFailed") this.unrestored.add(stack);
      this.session.recordEvent({
        type: "stackEnded",
        at: isoNow(this.clock),
        stack,
        status: end.status,
        ...(end.rollout !== undefined ? { rollout: end.rollout } : {}),
        ...(end.trigger !== undefined ? { trigger: end.trigger } : {}),
        reason: end.reason,
      });
    }
  }

  /** Asks the failed stage's rollouts to roll back (finishing those no driver runs). */
  private async abortStacks(names: readonly string[], reason: string): Promise<void> {
    const s = this.session;
    let changed = false;
    await s.renewing(() =>
      Promise.all(
        names.map(async (name) => {
          const state = findStack(s.record, name)!.stack;
          const local = this.running.has(name);
          try {
            const r = await abortStack(this.access(name), state.rollout ?? `${s.record.id}-${name}`, { local, by: this.by, reason, clock: this.clock, waitMs: 3 * this.wave.tickSeconds * 1000, log: (line) => this.log(`${name}: ${line}`) });
            this.say(r.message);
            const at = isoNow(this.clock);
            if (r.ended && !local) {
              changed = true;
              if (r.ended.status === "restoreFailed") this.unrestored.add(name);
              s.recordEvent({ type: "stackEnded", at, stack: name, status: r.ended.status, ...(r.ended.rollout ? { rollout: r.ended.rollout } : {}), ...(r.ended.trigger ? { trigger: r.ended.trigger } : {}), reason: r.ended.reason });
            }
            if (r.requested && findStack(s.record, name)!.stack.abortRequested === undefined) {
              changed = true;
              s.recordEvent({ type: "abortRequested", at, stack: name, reason: r.message });
            }
          } catch (e) {
            this.log(`${name}: cannot abort its rollout: ${errorMessage(e)}; trying again`);
          }
        }),
      ),
    );
    // Nothing moved (a rollout another live driver runs, a store that does not answer): a tick before asking again.
    if (!changed) await this.tick();
  }

  /** Restores the promoted stacks' snapshots, in parallel. */
  private async revert(names: readonly string[], reason: string): Promise<void> {
    const s = this.session;
    this.say(`restoring the snapshots of ${names.join(", ")}`);
    const results = await s.renewing(() =>
      Promise.all(
        names.map(async (name) => {
          const state = findStack(s.record, name)!.stack;
          const r = await revertStack(this.access(name), state.rollout!, { by: this.by, reason, clock: this.clock, waitMs: 3 * this.wave.tickSeconds * 1000, log: (line) => this.log(`${name}: ${line}`), evidence: { wave: s.record.id, failure: s.record.failure } });
          return { name, r };
        }),
      ),
    );
    for (const { name, r } of results) {
      if (r.status === "failed") this.unrestored.add(name);
      s.recordEvent({ type: "reverted", at: isoNow(this.clock), stack: name, status: r.status, reason: r.reason });
    }
  }

  /** The bake's first reading, on every promoted stack. */
  private async startBake(stage: number): Promise<void> {
    const s = this.session;
    const watches = new Map<string, BakeWatch>();
    const promoted = s.record.stages.slice(0, stage + 1).flatMap((st) => st.stacks.filter((k) => k.status === "promoted"));
    for (const k of promoted) {
      const access = this.access(k.name);
      const record = await (await access.store()).load();
      if (!record || record.id !== k.rollout) {
        this.log(`${k.name}: its record no longer holds rollout ${k.rollout}; not watched during the bake`);
        continue;
      }
      const watch = new BakeWatch(access, record, this.clock);
      await watch.start(this.wave.stages[stage].bakeSeconds);
      watches.set(k.name, watch);
    }
    this.bake = { stage, watches };
    const at = isoNow(this.clock);
    s.update((r) => ({ ...r, bake: { ...r.bake!, lastTickAt: at } }));
    this.say(`baking after stage ${s.record.stages[stage].name}: watching ${[...watches.keys()].join(", ") || "no stack"}`);
  }

  /** One bake tick: each watched stack's guardrails; the bake advances only by ticks with data everywhere. */
  private async bakeTick(stage: number): Promise<void> {
    const s = this.session;
    const watches = this.bake!.watches;
    const ticks = await Promise.all([...watches].map(async ([name, w]) => ({ name, t: await w.tick() })));
    const at = isoNow(this.clock);
    const breach = ticks.find((x) => x.t.breach);
    if (breach) {
      s.recordEvent({ type: "bakeFailed", at, stack: breach.name, reason: breach.t.breach!.reason, evidence: breach.t.breach!.evidence });
      return;
    }
    const holding = ticks.find((x) => !x.t.data)?.t.holding;
    const bake = s.record.bake!;
    const seconds = holding === undefined && bake.lastTickAt ? (Date.parse(at) - Date.parse(bake.lastTickAt)) / 1000 : 0;
    const observedSeconds = bake.observedSeconds + seconds;
    s.update((r) => {
      const { holding: _was, ...rest } = r.bake!;
      void _was;
      return { ...r, bake: { ...rest, observedSeconds, lastTickAt: at, ...(holding !== undefined ? { holding: `bake holds: ${holding}` } : {}) } };
    });
    this.report({ kind: "bake", stage: s.record.stages[stage].name, observedSeconds, bakeSeconds: this.wave.stages[stage].bakeSeconds, ...(holding !== undefined ? { holding } : {}) });
  }
}
