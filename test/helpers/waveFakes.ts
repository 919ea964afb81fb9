/**
 * Test doubles for waves: stacks whose platform, target and record store live in memory, the
 * whole of one "process" mortal (every call it makes fails once it is killed), and a clock that
 * does not wait but lets other work run between two of its sleeps (a wave waits for rollouts
 * running beside it).
 */
import { StepWindow } from "../../automation/analysis/judge";
import { GuardrailReport, TickMeasurement, Verdict } from "../../automation/analysis/types";
import { parsePlan, Plan } from "../../automation/plan";
import { MemoryRecordStore } from "../../automation/record/memory";
import { RecordStore } from "../../automation/record/types";
import { Analysis } from "../../automation/rollout/judging";
import { RolloutRecord } from "../../automation/state";
import { RollbackMode, Target, TargetSnapshot } from "../../automation/targets/types";
import { validateWave, WaveFile } from "../../automation/wave/file";
import { WaveRecord } from "../../automation/wave/record";
import { StackAccess } from "../../automation/wave/stacks";
import { MemoryWaveStore, WaveStore } from "../../automation/wave/store";
import { FakeClock, FakeMetrics, ScriptedAnalysis } from "./fakes";
import { Life } from "./life";
import { Decision } from "../../automation/analysis/types";

/**
 * A fake clock for several sleepers at once (a wave waits while its rollouts run): a sleep first
 * lets everything else that is ready run, then moves the time to its wake-up time unless the time
 * is past it already, so sleeps that overlap overlap in time too.
 */
export class YieldingClock extends FakeClock {
  override async sleep(ms: number): Promise<void> {
    const wake = this.ms + ms;
    await new Promise((r) => setImmediate(r));
    this.ms = Math.max(this.ms, wake);
  }
}

/** One judged step then promotion, 10 s ticks. */
export const WAVE_PLAN = parsePlan("steps: [{weight: 50, minDuration: 10s}, {weight: 100}]\ntick: 10s\n");

/** A wave file from an object (paths relative to /waves; every plan is {@link WAVE_PLAN}). */
export function waveOf(doc: unknown, plan: Plan = WAVE_PLAN): WaveFile {
  return validateWave(doc, { dir: "/waves", readPlan: () => plan });
}

/** The platform of one stack: the canary weight in effect, every weight it took, and what it runs as stable. */
export class Platform {
  weight = 0;
  stable = "v1";
  readonly applied: number[] = [];
  set(w: number): void {
    this.weight = w;
    this.applied.push(w);
  }
}

/** A stack's platform as one process reaches it (every call through `life`). */
export class PlatformTarget implements Target {
  readonly type = "fake";
  readonly calls: string[] = [];
  constructor(
    readonly name: string,
    private readonly platform: Platform,
    private readonly life: Life = new Life(),
  ) {}
  private op<T>(call: string, f: () => T): Promise<T> {
    return this.life.run(`${this.name} ${call}`, async () => {
      this.calls.push(call);
      return f();
    });
  }
  prepare(): Promise<TargetSnapshot> {
    return this.op("prepare", () => ({ type: "fake", weight: this.platform.weight, stableVersion: this.platform.stable }));
  }
  setCanary(version: string): Promise<void> {
    return this.op(`setCanary:${version}`, () => this.platform.set(0));
  }
  setWeight(w: number): Promise<void> {
    return this.op(`setWeight:${w}`, () => this.platform.set(w));
  }
  verify(): Promise<number | undefined> {
    return this.op("verify", () => this.platform.weight);
  }
  promote(): Promise<void> {
    return this.op("promote", () => this.platform.set(100));
  }
  rollback(s: TargetSnapshot, mode: RollbackMode): Promise<void> {
    return this.op(`rollback:${mode}`, () => this.platform.set(s.weight as number));
  }
}

/** A rollout record store as one process reaches it. */
export class MortalStore implements RecordStore {
  constructor(
    private readonly name: string,
    readonly store: MemoryRecordStore,
    private readonly life: Life,
  ) {}
  get description(): string {
    return `memory (${this.name})`;
  }
  load(): Promise<RolloutRecord | undefined> {
    return this.life.run(`${this.name} load`, () => this.store.load());
  }
  save(r: RolloutRecord): Promise<RolloutRecord> {
    return this.life.run(`${this.name} save`, () => this.store.save(r));
  }
}

/** The wave store as one process reaches it. */
export class MortalWaveStore implements WaveStore {
  readonly description = "memory (wave)";
  constructor(
    readonly store: MemoryWaveStore,
    private readonly life: Life,
  ) {}
  load(): Promise<WaveRecord | undefined> {
    return this.life.run("wave load", () => this.store.load());
  }
  save(r: WaveRecord): Promise<WaveRecord> {
    return this.life.run("wave save", () => this.store.save(r));
  }
}

/** A verdict of guardrails only, as a bake reads it. */
function guardVerdict(at: number, breached: boolean): Verdict {
  const g: GuardrailReport = { name: "errorRate", observed: breached ? 0.3 : 0, lowerBound: breached ? 0.25 : 0, limit: 0.05, requests: 500, status: breached ? "breached" : "ok" };
  return {
    decision: breached ? "rollback" : "continue",
    at,
    reasons: breached ? ["guardrail errorRate: canary bad fraction ≥ 25.0% (observed 30.0% of 500 requests) exceeds limit 5.0%"] : ["collecting evidence"],
    stepElapsedSeconds: 0,
    stepObservedSeconds: 0,
    metrics: [],
    guardrails: [g],
  };
}

/** A bake's analysis: its guardrails breach from tick `breachAt` on (never when undefined). */
export class BakeAnalysis implements Analysis {
  ticks = 0;
  constructor(private readonly breachAt?: number) {}
  beginStep(_s: StepWindow): void {
    this.ticks = 0;
  }
  resumeStep(): string {
    return "no state";
  }
  tick(m: TickMeasurement): Verdict {
    this.ticks++;
    return guardVerdict(m.end, this.breachAt !== undefined && this.ticks > this.breachAt);
  }
  state(): unknown {
    return {};
  }
}

/** One stack of a fake world: its platform and its rollout record store, shared by every process. */
export class FakeStack {
  readonly platform = new Platform();
  readonly records = new MemoryRecordStore();
  /** The targets each process built, newest last. */
  readonly targets: PlatformTarget[] = [];
  /** The transitions its observers (notifications, history) were told of, as `type from→to`. */
  readonly observed: string[] = [];
  constructor(
    readonly name: string,
    /** The rollout's scripted decisions per step (see ScriptedAnalysis). */
    public script: readonly (readonly Decision[])[] = [["promote"]],
    /** The bake's guardrails breach from this tick on. */
    public bakeBreachAt?: number,
  ) {}

  /** The stack as one process reaches it. */
  access(wave: WaveFile, life: Life = new Life()): StackAccess {
    const stack = wave.stages.flatMap((s) => s.stacks).find((s) => s.name === this.name)!;
    const target = new PlatformTarget(this.name, this.platform, life);
    this.targets.push(target);
    const store = new MortalStore(this.name, this.records, life);
    return {
      stack,
      target: async () => target,
      store: async () => store,
      metrics: () => new FakeMetrics(),
      analysis: (purpose) => (purpose === "rollout" ? new ScriptedAnalysis(this.script) : new BakeAnalysis(this.bakeBreachAt)),
      observe: (e) => {
        if (e.kind === "transition") this.observed.push(`${e.entry.type} ${e.entry.from}→${e.entry.to}`);
      },
    };
  }
}

/** Every stack's access for one process. */
export function accesses(wave: WaveFile, stacks: readonly FakeStack[], life: Life = new Life()): Map<string, StackAccess> {
  return new Map(stacks.map((s) => [s.name, s.access(wave, life)]));
}

/** Shorthand for a wave store over memory shared by processes. */
export function waveStore(): MemoryWaveStore {
  return new MemoryWaveStore();
}
