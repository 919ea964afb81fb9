/** How the rollout's events look on a terminal, in a log, or as JSON lines. */
import { describePhase, RolloutRecord } from "../state";
import { DriverEvent } from "../rollout/events";

/** `1m05s`, `42s`. */
export const fmtDuration = (s: number): string => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s` : `${Math.floor(s)}s`);
/** Where the renderer writes: a stream's `write` and, on a terminal, its width. */
export interface Output {
  write(text: string): unknown;
  readonly columns?: number;
}

/** Renders driver events: JSON lines, a live line on a TTY, or plain timestamped lines. */
export class Renderer {
  private live = "";
  private stepStarted?: number;
  private lastTick = "";
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly mode: "json" | "tty" | "plain",
    private readonly out: Output = process.stdout,
    private readonly err: Output = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    if (mode === "tty") {
      this.timer = setInterval(() => this.redraw(), 1000);
      this.timer.unref();
    }
  }

  event(e: DriverEvent): void {
    if (this.mode === "json") {
      this.out.write(`${JSON.stringify(this.toJson(e))}\n`);
      return;
    }
    switch (e.kind) {
      case "log":
        this.line(`  ${e.line}`, this.err);
        return;
      case "gateWaiting":
        this.line(`⏸ waiting at gate ${e.wait.gate}: ${e.wait.reason}`);
        return;
      case "action":
        this.line(`→ ${e.message}`);
        return;
      case "transition":
        if (e.entry.type === "advance" || e.entry.type === "switch") this.stepStarted = this.now();
        this.line(`${e.entry.from} → ${e.entry.to === "Progressing" || e.entry.to === "Baking" ? describePhase(e.record) : e.entry.to}: ${e.entry.reason}`);
        this.lastTick = "";
        return;
      case "tick": {
        const v = e.verdict;
        this.lastTick = `${v.decision}${v.hold ? ` (hold: ${v.hold})` : ""}: ${v.reasons[0] ?? ""}`;
        if (this.mode === "plain") {
          this.line(`tick ${describePhase(e.record)} ${fmtDuration(e.stepSeconds)} in step: ${this.lastTick}`);
        } else {
          this.redraw(e.record);
        }
        return;
      }
    }
  }

  private record?: RolloutRecord;

  private redraw(record?: RolloutRecord): void {
    if (this.mode !== "tty") return;
    if (record) this.record = record;
    if (!this.record || (this.record.phase !== "Progressing" && this.record.phase !== "Baking")) return;
    const step = this.record.step!;
    const inStep = this.stepStarted ? (this.now() - this.stepStarted) / 1000 : 0;
    const width = this.out.columns ?? 120;
    const where = this.record.phase === "Baking" ? "bake" : `step ${step.index + 1}/${this.record.steps.length - 1}`;
    this.live = `${where} · weight ${step.weight}% · ${fmtDuration(inStep)} in ${this.record.phase === "Baking" ? "bake" : "step"} · ${this.lastTick || "waiting for the first tick"}`.slice(0, width - 1);
    this.out.write(`\r\x1b[2K${this.live}`);
  }

  private line(text: string, stream: Output = this.out): void {
    if (this.mode === "tty") {
      if (this.live) this.out.write("\r\x1b[2K");
      stream.write(`${text}\n`);
      if (this.live) this.out.write(this.live);
    } else {
      stream.write(`${new Date(this.now()).toISOString()} ${text}\n`);
    }
  }

  private toJson(e: DriverEvent): unknown {
    switch (e.kind) {
      case "action":
        return { event: "action", message: e.message };
      case "log":
        return { event: "log", line: e.line };
      case "gateWaiting":
        return { event: "gateWaiting", rollout: e.record.id, ...e.wait };
      case "transition":
        return { event: "transition", ...e.entry, rollout: e.record.id };
      case "tick":
        return {
          event: "tick",
          rollout: e.record.id,
          step: e.record.step?.index,
          weight: e.record.step?.weight,
          stepSeconds: e.stepSeconds,
          decisionSeconds: e.decisionSeconds,
          decision: e.verdict.decision,
          hold: e.verdict.hold,
          reasons: e.verdict.reasons,
          metrics: e.verdict.metrics.map((m) => ({ name: m.name, status: m.status, canaryRate: m.canaryRate, baselineRate: m.baselineRate, ratio: m.ratio, eValue: m.eValue })),
          guardrails: e.verdict.guardrails.map((g) => ({ name: g.name, status: g.status, observed: g.observed, limit: g.limit, requests: g.requests })),
        };
    }
  }

  finish(text: string): void {
    if (this.timer) clearInterval(this.timer);
    if (this.mode === "tty" && this.live) this.out.write("\r\x1b[2K");
    this.live = "";
    if (this.mode !== "json") this.out.write(`${text}\n`);
  }
}
