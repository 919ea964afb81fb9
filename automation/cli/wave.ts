/**
 * `canary wave run|status|abort|pause|resume|approve`: a release rolled out across the stacks of a
 * wave file, stage by stage (automation/wave). Every stack is reached through its backend, as
 * `canary rollout --target … --stack …` reaches it; the wave record is a JSON file, by default
 * `.canary/waves/<name>.json` next to the wave file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { imageRef, labelValue } from "../../components/validation/primitives";
import { parseDuration } from "../duration";
import { errorMessage, InputError } from "../errors";
import { DriverEvent } from "../rollout/events";
import { metricsFromPlan } from "../rollout/judging";
import { operatorIdentity } from "../rollout/lease";
import { Target } from "../targets/types";
import { RecordStore } from "../record/types";
import { controlWave, WaveControlOutcome } from "../wave/control";
import { WaveOutcome } from "../wave/decide";
import { MAX_WAVE_BYTES, parseWaveFile, WaveFile, waveStacks } from "../wave/file";
import { describeWavePhase, isWaveUnfinished, WaveControlVerb, WaveRecord } from "../wave/record";
import { runWave, WaveDriverEvent } from "../wave/run";
import { StackAccess } from "../wave/stacks";
import { FileWaveStore } from "../wave/store";
import { stageApproved } from "../wave/decide";
import { EXIT } from "./exit";
import { CommandDeps, DEFAULT_DEPS } from "./flags";
import { checkPlanMetrics, operatorInput, readPlan } from "./input";
import { RolloutObservers, rolloutObservers, serviceOf } from "./rollout";
import { secretConfigKeys } from "../notify/config";
import { fmtDuration } from "./render";

/** The flags every wave command takes. */
export interface WaveFlags {
  /** The wave file. */
  readonly wave: string;
  /** The wave record file; defaults to `.canary/waves/<name>.json` next to the wave file. */
  readonly record?: string;
  readonly version?: string;
  readonly image?: string;
  readonly json?: boolean;
}

/** The flags of a wave control verb. */
export interface WaveControlFlags extends WaveFlags {
  readonly who?: string;
  readonly reason?: string;
  readonly wait: string;
  readonly stage?: string;
  readonly all?: boolean;
}

const OUTCOME_EXIT: Readonly<Record<WaveOutcome, number>> = {
  succeeded: EXIT.promoted,
  unchanged: EXIT.promoted,
  stopped: EXIT.rolledBack,
  rolledBack: EXIT.rolledBack,
  restoreFailed: EXIT.restoreFailed,
  paused: EXIT.paused,
};

/** The wave file, validated with every plan it names. @throws InputError (WaveFileError) naming the field and the value. */
export function readWave(o: WaveFlags): WaveFile {
  if (o.version !== undefined) {
    const problem = labelValue.check(o.version);
    if (problem) throw new InputError(`--version: ${problem}, got ${JSON.stringify(o.version)}`);
  }
  if (o.image !== undefined) {
    const problem = imageRef.check(o.image);
    if (problem) throw new InputError(`--image: ${problem}, got ${JSON.stringify(o.image)}`);
  }
  let text: string;
  try {
    const size = fs.statSync(o.wave).size;
    if (size > MAX_WAVE_BYTES) throw new InputError(`--wave: ${o.wave} is ${size} bytes; a wave file may be at most ${MAX_WAVE_BYTES} bytes (1 MiB)`);
    text = fs.readFileSync(o.wave, "utf8");
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`--wave: cannot read the wave file ${o.wave}: ${errorMessage(e)}`);
  }
  return parseWaveFile(text, { source: o.wave, dir: path.dirname(path.resolve(o.wave)), readPlan, ...(o.version !== undefined ? { version: o.version } : {}), ...(o.image !== undefined ? { image: o.image } : {}) });
}

/** Where the wave record is: --record, or `.canary/waves/<name>.json` next to the wave file. */
export function waveRecordFile(o: WaveFlags, wave: Pick<WaveFile, "name">): string {
  return path.resolve(o.record ?? path.join(path.dirname(path.resolve(o.wave)), ".canary", "waves", `${wave.name}.json`));
}

/** Every stack of a wave as the command reaches it, and what its rollouts' observers still hold. */
export interface WaveStacks {
  readonly accesses: Map<string, StackAccess>;
  /** Waits (bounded) for every stack's notifications, history and report. */
  flush(): Promise<void>;
}

/**
 * Every stack's access through its backend, checked before anything is contacted: the stack's
 * plan's metrics settings (with what its target brings, such as the sandbox's Prometheus). Each
 * stack's rollout notifies and is kept in its backend's history as `canary rollout` would be.
 * @throws InputError naming the stack.
 */
export async function stackAccesses(wave: WaveFile, log: (stack: string, line: string) => void, deps: CommandDeps = DEFAULT_DEPS): Promise<WaveStacks> {
  const accesses = new Map<string, StackAccess>();
  const observers: RolloutObservers[] = [];
  for (const stack of waveStacks(wave)) {
    let backend;
    let defaults: { readonly url?: string };
    let observer: RolloutObservers;
    const say = (line: string): void => log(stack.name, line);
    try {
      backend = deps.openBackend(stack.where);
      defaults = backend.metricsDefaults();
      checkPlanMetrics(stack.plan, { canary: stack.version, ...defaults }, stack.planFile);
      // Values of secret config keys named by `urlConfig` channels (read from the stack, never logged).
      const config = secretConfigKeys(stack.plan.notifications).length > 0 ? await backend.configValues() : {};
      observer = rolloutObservers({ plan: stack.plan, service: serviceOf({}, stack.plan, stack.name), backend, configValues: config, log: say });
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`wave stack ${stack.name}: ${e.message}`, e);
      throw e;
    }
    observers.push(observer);
    const b = backend;
    let target: Promise<Target> | undefined;
    let store: Promise<RecordStore> | undefined;
    accesses.set(stack.name, {
      stack,
      // One target per stack and process: the Pulumi target keeps what its snapshot redacted.
      target: () => (target ??= b.target(say)),
      store: () => (store ??= b.store()),
      metrics: (versions) => observer.metrics(metricsFromPlan(stack.plan, { ...defaults, ...versions })),
      observe: (e) => observer.observe(e),
    });
  }
  return { accesses, flush: async () => void (await Promise.all(observers.map((o) => o.flush()))) };
}

/** Renders wave events: plain timestamped lines, or JSON lines. */
class WaveRenderer {
  constructor(private readonly json: boolean) {}

  private line(text: string, stream: NodeJS.WritableStream = process.stdout): void {
    stream.write(`${new Date().toISOString()} ${text}\n`);
  }

  event(e: WaveDriverEvent): void {
    if (this.json) {
      process.stdout.write(`${JSON.stringify(this.toJson(e))}\n`);
      return;
    }
    switch (e.kind) {
      case "wave":
        this.line(`wave ${e.entry.from === e.entry.to ? e.entry.to : `${e.entry.from} → ${e.entry.to}`} [stage ${e.entry.stage} ${e.record.stages[e.entry.stage]?.name ?? ""}]${e.entry.stack ? ` ${e.entry.stack}` : ""}: ${e.entry.type}: ${e.entry.reason}`);
        return;
      case "action":
        this.line(`→ ${e.message}`);
        return;
      case "log":
        this.line(`  ${e.line}`, process.stderr);
        return;
      case "gateWaiting":
        this.line(`waiting at the gate before stage ${e.stage}: run \`canary wave approve --stage ${e.stage}\``);
        return;
      case "bake":
        this.line(`bake after ${e.stage}: ${fmtDuration(e.observedSeconds)} of ${fmtDuration(e.bakeSeconds)} observed${e.holding ? `; holding: ${e.holding}` : ""}`);
        return;
      case "stack":
        this.stackEvent(e.stack, e.event);
        return;
    }
  }

  private stackEvent(stack: string, e: DriverEvent): void {
    const p = `[${stack}]`;
    switch (e.kind) {
      case "action":
        this.line(`${p} → ${e.message}`);
        return;
      case "log":
        this.line(`${p}   ${e.line}`, process.stderr);
        return;
      case "transition":
        this.line(`${p} ${e.entry.from} → ${e.entry.to}${e.entry.step !== undefined && e.entry.to === "Progressing" ? ` (step ${e.entry.step}, weight ${e.entry.weight})` : ""}: ${e.entry.reason}`);
        return;
      case "tick":
        this.line(`${p} tick: ${e.verdict.decision}${e.verdict.hold ? ` (hold: ${e.verdict.hold})` : ""}: ${e.verdict.reasons[0] ?? ""}`);
        return;
      case "gateWaiting":
        this.line(`${p} waiting at gate ${e.wait.gate}: ${e.wait.reason}`);
        return;
    }
  }

  private toJson(e: WaveDriverEvent): unknown {
    switch (e.kind) {
      case "wave":
        return { event: "wave", wave: e.record.id, ...e.entry };
      case "action":
        return { event: "action", message: e.message };
      case "log":
        return { event: "log", line: e.line };
      case "gateWaiting":
        return { event: "gateWaiting", stage: e.stage };
      case "bake":
        return { event: "bake", stage: e.stage, observedSeconds: e.observedSeconds, bakeSeconds: e.bakeSeconds, ...(e.holding ? { holding: e.holding } : {}) };
      case "stack": {
        const x = e.event;
        const body =
          x.kind === "transition"
            ? { ...x.entry, rollout: x.record.id }
            : x.kind === "tick"
              ? { rollout: x.record.id, step: x.record.step?.index, decision: x.verdict.decision, hold: x.verdict.hold, reasons: x.verdict.reasons }
              : x.kind === "gateWaiting"
                ? { rollout: x.record.id, ...x.wait }
                : x.kind === "action"
                  ? { message: x.message }
                  : { line: x.line };
        return { event: "stack", stack: e.stack, kind: x.kind, ...body };
      }
    }
  }
}

/** `canary wave run`: runs (or continues) the wave; resolves with the exit code. */
export async function waveRun(o: WaveFlags, deps: CommandDeps = DEFAULT_DEPS): Promise<number> {
  const wave = readWave(o);
  const renderer = new WaveRenderer(o.json === true);
  const stacks = await stackAccesses(wave, (stack, line) => renderer.event({ kind: "stack", stack, event: { kind: "log", line } }), deps);
  const store = new FileWaveStore(waveRecordFile(o, wave));
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupt.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
    renderer.event({ kind: "log", line: `${signal}: stopping the wave (the rollouts under way roll back or pause per their plans; send it again to exit at once)` });
    interrupt.abort(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let result;
  try {
    result = await runWave({ wave, store, stacks: stacks.accesses, report: (e) => renderer.event(e), interrupt: interrupt.signal });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await stacks.flush();
  }
  const code = OUTCOME_EXIT[result.outcome];
  if (o.json) process.stdout.write(`${JSON.stringify({ event: "result", outcome: result.outcome, exitCode: code, reason: result.reason, wave: result.record.id, phase: result.record.phase })}\n`);
  else {
    const words: Record<WaveOutcome, string> = {
      succeeded: `wave ${wave.name} succeeded: ${result.reason}`,
      unchanged: result.reason,
      stopped: `wave ${wave.name} stopped: ${result.reason}`,
      rolledBack: `wave ${wave.name} rolled back: ${result.reason}`,
      restoreFailed: `WAVE ROLLBACK FAILED: ${result.reason}; a stack may still run the new release`,
      paused: `wave ${wave.name} paused at ${describeWavePhase(result.record)}: ${result.reason}`,
    };
    process.stdout.write(`${words[result.outcome]} (exit ${code})\n`);
  }
  return code;
}

/** A wave record as status lines. */
export function formatWaveRecord(r: WaveRecord, wave?: Pick<WaveFile, "stages">): string {
  const lines = [`wave ${r.id} (${r.name}): ${describeWavePhase(r)}${r.paused ? `; paused by ${r.paused.by} at ${r.paused.at}: ${r.paused.reason}` : ""}`];
  r.stages.forEach((s, i) => {
    const gate = wave?.stages[i]?.gate ? (stageApproved(r, s.name) ? " [gate approved]" : " [gate: waiting for approval]") : "";
    lines.push(`stage ${i} ${s.name}${gate}${i === r.stage && isWaveUnfinished(r.phase) ? " ←" : ""}`);
    for (const k of s.stacks) {
      lines.push(`  ${k.name}: ${k.status}${k.rollout ? ` (rollout ${k.rollout})` : ""}${k.reason ? `: ${k.reason}` : ""}${k.revert ? `; restore: ${k.revert.status}: ${k.revert.reason}` : ""}`);
    }
  });
  if (r.bake && r.phase === "Baking") lines.push(`bake: ${fmtDuration(r.bake.observedSeconds)} observed${wave ? ` of ${fmtDuration(wave.stages[r.bake.stage].bakeSeconds)}` : ""}${r.bake.holding ? `; ${r.bake.holding}` : ""}`);
  if (r.failure) lines.push(`failure: stage ${r.failure.stage} (${r.stages[r.failure.stage].name}), ${r.failure.trigger}: ${r.failure.reason}`);
  if (r.lease) lines.push(`driver: ${r.lease.holder} (lease until ${r.lease.expiresAt})`);
  for (const c of (r.controls ?? []).filter((x) => x.status === "pending")) lines.push(`pending control: ${c.verb}${c.stage ? ` (stage ${c.stage})` : ""} by ${c.by} at ${c.at}: ${c.reason}`);
  lines.push("history:");
  for (const h of r.history) lines.push(`  ${h.at} ${h.from === h.to ? h.to : `${h.from} → ${h.to}`} [stage ${h.stage}]${h.stack ? ` ${h.stack}` : ""} ${h.type}${h.by ? ` by ${h.by}` : ""}: ${h.reason}`);
  return lines.join("\n");
}

/** `canary wave status`: prints the wave record. */
export async function waveStatus(o: WaveFlags): Promise<number> {
  const wave = readWave(o);
  const store = new FileWaveStore(waveRecordFile(o, wave));
  const record = await store.load();
  process.stdout.write(`${o.json ? JSON.stringify(record ?? null) : record ? formatWaveRecord(record, wave) : `no wave recorded in ${store.description}`}\n`);
  return 0;
}

const CONTROL_EXIT: Readonly<Record<WaveControlOutcome["status"], number>> = {
  applied: EXIT.promoted,
  refused: EXIT.invalidInput,
  timeout: EXIT.infrastructure,
  restoreFailed: EXIT.restoreFailed,
};

/** `canary wave abort|pause|resume|approve`; resolves with the exit code. */
export async function waveControl(verb: WaveControlVerb, o: WaveControlFlags, deps: CommandDeps = DEFAULT_DEPS): Promise<number> {
  const waitSeconds = parseDuration(o.wait);
  if ("error" in waitSeconds) throw new InputError(`--wait: ${waitSeconds.error}, got ${JSON.stringify(o.wait)}`);
  const { who, reason } = operatorInput(o, operatorIdentity());
  const wave = readWave(o);
  const store = new FileWaveStore(waveRecordFile(o, wave));
  const renderer = new WaveRenderer(o.json === true);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const outcome = await controlWave(
    store,
    { verb, by: who, reason, ...(o.stage !== undefined ? { stage: o.stage } : {}), ...(o.all ? { all: true } : {}) },
    {
      clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
      waitMs: waitSeconds.seconds * 1000,
      gates: wave.stages.filter((s) => s.gate).map((s) => s.name),
      // An abort of a stopped wave rolls it back here, through the wave's own loop.
      finish: async () => {
        const stacks = await stackAccesses(wave, (stack, line) => log(`[${stack}] ${line}`), deps);
        try {
          return await runWave({ wave, store, stacks: stacks.accesses, report: (e) => renderer.event(e) });
        } finally {
          await stacks.flush();
        }
      },
      log,
    },
  );
  if (o.json) process.stdout.write(`${JSON.stringify({ event: "control", verb, status: outcome.status, message: outcome.message, phase: outcome.record?.phase ?? null })}\n`);
  else process.stdout.write(`${outcome.status === "restoreFailed" ? `WAVE ROLLBACK FAILED: ${outcome.message}` : outcome.message}\n`);
  return CONTROL_EXIT[outcome.status];
}
