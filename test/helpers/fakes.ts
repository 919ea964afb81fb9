/**
 * Test doubles for the driver: a clock that does not wait, scripted metrics and analysis, a
 * target that records every call, and a backend for running the `canary` command in-process.
 */
import { StepWindow } from "../../automation/analysis/judge";
import { Decision, TickMeasurement, Verdict } from "../../automation/analysis/types";
import { Clock } from "../../automation/rollout/clock";
import { Analysis, MetricsSource } from "../../automation/rollout/judging";
import { Backend } from "../../automation/backends";
import { MemoryRecordStore } from "../../automation/record/memory";
import { RecordStore } from "../../automation/record/types";
import { RollbackMode, Target, TargetSnapshot } from "../../automation/targets/types";

/** A clock whose `sleep` advances time at once. Starts at 2026-01-01T00:00:00Z. */
export class FakeClock implements Clock {
  constructor(public ms = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  async sleep(ms: number): Promise<void> {
    this.ms += ms;
  }
}

/** Metrics that report one ok tick of fixed counts per reading. */
export class FakeMetrics implements MetricsSource {
  public reads = 0;
  private last?: number;
  async measure(at: number): Promise<TickMeasurement> {
    this.reads++;
    const end = at;
    const start = this.last;
    this.last = end;
    if (start === undefined || start === end) return { kind: "priming", end };
    return { kind: "ok", start, end, canary: { requests: 100, errors: 0 }, baseline: { requests: 900, errors: 0 } };
  }
}

/** A verdict with just a decision and a reason. */
export function verdict(decision: Decision, reason: string, at = 0): Verdict {
  return { decision, at, reasons: [reason], stepElapsedSeconds: 0, stepObservedSeconds: 0, metrics: [], guardrails: [] };
}

/**
 * Analysis that returns scripted decisions: `script[step]` lists the decisions of that step's
 * ticks in order (the last one repeats). Records every step it was asked to begin.
 */
export class ScriptedAnalysis implements Analysis {
  public readonly steps: StepWindow[] = [];
  public readonly ticks: { step: number; kind: string }[] = [];
  private tickInStep = 0;
  constructor(private readonly script: readonly (readonly Decision[])[]) {}
  beginStep(step: StepWindow): void {
    this.steps.push(step);
    this.tickInStep = 0;
  }
  tick(m: TickMeasurement): Verdict {
    const step = this.steps[this.steps.length - 1].index;
    const decisions = this.script[step] ?? ["promote"];
    const decision = decisions[Math.min(this.tickInStep, decisions.length - 1)];
    this.tickInStep++;
    this.ticks.push({ step, kind: m.kind });
    return verdict(decision, `step ${step} tick ${this.tickInStep}: ${decision}`, m.end);
  }
  state(): unknown {
    return { steps: this.steps.length, ticks: this.ticks.length };
  }
  /** Keeps no evidence to resume from: the driver falls back to beginStep. */
  resumeStep(): string {
    return "the scripted analysis keeps no state";
  }
}

/** A target that records every call; `fail` makes a named call throw. */
export class FakeTarget implements Target {
  public readonly type = "fake";
  public readonly name = "fake-target";
  public readonly calls: string[] = [];
  public weight = 0;
  /** Method name (or `setWeight:25`) → error to throw. */
  public readonly fail = new Map<string, Error>();
  /** What verify returns; `applied` echoes the weight set. */
  public verifyMode: "applied" | "unknown" | number = "applied";

  private check(call: string): void {
    this.calls.push(call);
    const e = this.fail.get(call) ?? this.fail.get(call.split(":")[0]);
    if (e) throw e;
  }
  async prepare(): Promise<TargetSnapshot> {
    this.check("prepare");
    return { type: "fake", weight: this.weight };
  }
  async setCanary(version: string): Promise<void> {
    this.check(`setCanary:${version}`);
    this.weight = 0;
  }
  async setWeight(weight: number): Promise<void> {
    this.check(`setWeight:${weight}`);
    this.weight = weight;
  }
  async verify(): Promise<number | undefined> {
    this.calls.push("verify");
    return this.verifyMode === "applied" ? this.weight : this.verifyMode === "unknown" ? undefined : this.verifyMode;
  }
  async promote(): Promise<void> {
    this.check("promote");
    this.weight = 0;
  }
  async rollback(snapshot: TargetSnapshot, mode: RollbackMode): Promise<void> {
    this.check(`rollback:${mode}`);
    this.weight = snapshot.weight as number;
  }
}

/**
 * A backend for the `canary` command's own code (cli/index.ts `main` with this backend): a
 * {@link FakeTarget} that fails every change (so a rollout that should never have started stops
 * at once, its calls recorded) and an in-memory store that keeps every save. `opened` lists the
 * target, store and config values the command asked the backend for.
 */
export class RecordingBackend implements Backend {
  readonly type = "haproxy";
  readonly targetName = "fake-target";
  readonly storeDescription = "the test's memory store";
  readonly fake = new FakeTarget();
  readonly memory = new MemoryRecordStore();
  readonly opened: string[] = [];
  constructor(readonly incidentDir: string, readonly historyDir: string) {
    for (const call of ["prepare", "setCanary", "setWeight", "promote", "rollback"]) this.fake.fail.set(call, new Error(`the target was contacted (${call})`));
  }
  concerns(): boolean {
    return true;
  }
  /** Asks nothing of the target (it is what the plan's metrics checks start from). */
  metricsDefaults(): { readonly url?: string } {
    return {};
  }
  async target(): Promise<Target> {
    this.opened.push("target");
    return this.fake;
  }
  async store(): Promise<RecordStore> {
    this.opened.push("store");
    return this.memory;
  }
  async configValues(): Promise<Readonly<Record<string, string | undefined>>> {
    this.opened.push("configValues");
    return {};
  }
}
