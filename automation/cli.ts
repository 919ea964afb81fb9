#!/usr/bin/env node
/**
 * `canary`: the rollout driver's command line.
 *
 *   canary rollout --stack prod --version v2.5.0 --image registry/app:v2.5.0 [--plan plan.yaml]
 *   canary status  --stack prod [--watch] [--json]
 *   canary history --stack prod [--json]
 *   canary report  --stack prod [--rollout <id>] [--out report.html]
 *
 * Exit codes (see {@link EXIT}): 0 promoted (or a dry run completed), 1 rolled back, 2 invalid
 * input (nothing was changed), 3 infrastructure error, 4 the rollback itself failed (the target
 * may still send traffic to the canary: a human must look).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError, Option } from "commander";
import { JudgeConfigError } from "./analysis/judge";
import { ProviderConfigError } from "./analysis/prometheus";
import { formatPreflight, preflight } from "./analysis/preflight";
import { DriverEvent, metricsFromPlan, Outcome, RolloutOptions, runRollout } from "./driver";
import { defaultPlan, judgedSteps, MAX_PLAN_BYTES, parsePlan, Plan, PlanError, planTooLarge, preflightPlan } from "./plan";
import { FileRecordStore } from "./record/file";
import { PulumiConfigRecordStore, ROLLOUT_RECORD_KEY } from "./record/pulumiConfig";
import { RecordStore } from "./record/types";
import { ControlVerb, describe, isUnfinished, RolloutRecord } from "./state";
import { createTarget, loadPulumiStack, Target, TARGET_TYPES, UnknownTargetError } from "./targets";
import { ControlOutcome, ControlRefusedError, controlRollout, operatorIdentity } from "./control";
import { parseDuration } from "./duration";
import { NotifyConfigError, secretConfigKeys } from "./notify/config";
import { RolloutNotifications } from "./notify/rollout";
import { MetricsServer, startMetricsServer } from "./telemetry/server";
import { RolloutMetrics } from "./telemetry/metrics";
import { TextfileWriter } from "./telemetry/textfile";
import { readState } from "../local/sandbox";
import { parseJudgeConfig } from "./analysis/judge";
import { MetricsProvider } from "./analysis/prometheus";
import { formatHistory, HistoryStore, summarizeRollout } from "./history/store";
import { prometheusSeries, reportFileName, RolloutArchive, writeReport } from "./report/archive";
import { readTrace } from "./report/trace";
import { labelValue } from "../components/validation/primitives";

/** The exit codes, documented in docs/driver.md. */
export const EXIT = {
  promoted: 0,
  rolledBack: 1,
  invalidInput: 2,
  infrastructure: 3,
  restoreFailed: 4,
  /** SIGINT/SIGTERM with plan onSignal: pause: the rollout holds its weight with no driver. */
  paused: 5,
} as const;

const OUTCOME_EXIT: Readonly<Record<Outcome, number>> = { promoted: EXIT.promoted, dryRun: EXIT.promoted, rolledBack: EXIT.rolledBack, restoreFailed: EXIT.restoreFailed, paused: EXIT.paused };

/** Bad input found before anything was changed. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** The exit code for an error thrown out of a command. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof InputError || e instanceof PlanError || e instanceof NotifyConfigError || e instanceof ControlRefusedError || e instanceof ProviderConfigError || e instanceof JudgeConfigError || e instanceof UnknownTargetError) return EXIT.invalidInput;
  if (e instanceof CommanderError) return EXIT.invalidInput;
  return EXIT.infrastructure;
}

interface CommonOptions {
  target: string;
  stack?: string;
  cwd: string;
  sandbox?: string;
  record?: string;
  historyDir?: string;
  json?: boolean;
}

interface RolloutFlags extends CommonOptions {
  version: string;
  image: string;
  plan?: string;
  dryRun?: boolean;
  service?: string;
  metricsPort?: string;
  textfileDir?: string;
}

/** How long the driver waits at exit for notifications still queued (then abandons them). */
export const NOTIFY_FLUSH_MS = 15_000;

/** Parses --metrics-port. @throws InputError naming the flag. */
function metricsPort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InputError(`--metrics-port: must be a port number 0–65535 (0 picks a free one), got ${JSON.stringify(value)}`);
  return port;
}

/** The service name for notifications and metrics: --service, the plan's `service` selector, or the stack. */
function serviceOf(o: RolloutFlags, plan: Plan, fallback: string): string {
  const selectors = plan.analysis.metrics.selectors;
  const fromPlan = selectors && typeof selectors === "object" ? (selectors as Record<string, unknown>).service : undefined;
  return o.service ?? (typeof fromPlan === "string" ? fromPlan : fallback);
}

/**
 * Checks the plan's metrics settings by building the provider (nothing is contacted); provider
 * errors are reported with their path inside the plan (`analysis.metrics.selectors.service: …`).
 * @throws PlanError
 */
export function checkPlanMetrics(plan: Plan, defaults: { readonly canary: string; readonly url?: string }, source?: string): void {
  try {
    metricsFromPlan(plan, { ...defaults, baseline: "stable" });
  } catch (e) {
    if (e instanceof ProviderConfigError) {
      const problems = e.message
        .replace(/^invalid prometheus provider config: /, "")
        .split("; ")
        .map((p) => {
          const m = /^([A-Za-z0-9_.[\] ]+?): (.*)$/s.exec(p);
          return m ? { path: `analysis.metrics.${m[1]}`, message: m[2] } : { path: "analysis.metrics", message: p };
        });
      throw new PlanError(problems, source);
    }
    throw e;
  }
}

function readPlan(file: string | undefined): Plan {
  if (!file) return defaultPlan();
  let text: string;
  try {
    // Checked before reading, so a huge file is never loaded.
    const fd = fs.openSync(file, "r");
    try {
      const size = fs.fstatSync(fd).size;
      if (size > MAX_PLAN_BYTES) throw new PlanError([{ path: "", message: planTooLarge(size) }], file);
      text = fs.readFileSync(fd, "utf8");
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (e instanceof PlanError) throw e;
    throw new InputError(`cannot read the plan ${file}: ${(e as Error).message}`);
  }
  return parsePlan(text, file);
}

// The rules of `canary:canary` in infra/schema.ts (a test keeps them equal). Not imported: the
// program's schema module loads the Pulumi SDK, seconds the CLI need not pay for a dry run.
const IMAGE = /^[^\s]{1,512}$/;

/**
 * Checks --version and --image by the stack config's rules for `canary:canary`.
 * @throws InputError naming the flag and the value.
 */
export function checkVersion(version: string, image: string): void {
  const problems: string[] = [];
  // The same rule as canary:canary.version in the stack config: a version is a Kubernetes label value.
  const versionProblem = labelValue.check(version);
  if (versionProblem) problems.push(`--version: ${versionProblem}, got ${JSON.stringify(version)}`);
  if (!IMAGE.test(image)) problems.push(`--image: must be a container image reference without whitespace, got ${JSON.stringify(image)}`);
  if (problems.length > 0) throw new InputError(problems.join("\n"));
}

function checkTargetFlags(o: CommonOptions): void {
  if (!TARGET_TYPES.includes(o.target)) throw new UnknownTargetError(o.target);
  if (o.target === "pulumi" && !o.stack) throw new InputError("--stack is required with --target pulumi");
}

/** The record file of the haproxy target: --record, or rollout.json next to the sandbox's state file. */
function recordFile(o: CommonOptions): string {
  return path.resolve(o.cwd, o.record ?? path.join(path.dirname(o.sandbox ?? path.join(".sandbox", "state.json")), "rollout.json"));
}

/**
 * The rollout history's directory: --history-dir, or `history/` next to the sandbox's record
 * (target haproxy), or `.canary/history` in the project directory (target pulumi).
 */
function historyDir(o: CommonOptions): string {
  if (o.historyDir !== undefined) return path.resolve(o.cwd, o.historyDir);
  return o.target === "haproxy" ? path.join(path.dirname(recordFile(o)), "history") : path.resolve(o.cwd, ".canary", "history");
}

/** The Prometheus URL of a sandbox, from its state file. */
function sandboxPrometheus(stateFile: string): string | undefined {
  const state = readState(stateFile);
  if (!state) throw new InputError(`--sandbox: no sandbox state at ${stateFile} (is a sandbox up? \`npm run sandbox -- up\`)`);
  return state.urls.prometheus;
}

/** A stand-in used by dry runs: it names the target and the store and refuses to be used. */
function inert(type: string, name: string, storeDescription: string): { target: Target; store: RecordStore } {
  const refuse = (): never => {
    throw new Error("a dry run never contacts the target");
  };
  return {
    target: { type, name, prepare: refuse, setCanary: refuse, setWeight: refuse, verify: refuse, promote: refuse, rollback: refuse },
    store: { description: storeDescription, load: async () => undefined, save: refuse },
  };
}

// ---------------------------------------------------------------- rendering

const fmtDuration = (s: number): string => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s` : `${Math.floor(s)}s`);

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
        if (e.entry.type === "advance") this.stepStarted = this.now();
        this.line(`${e.entry.from} → ${e.entry.to === "Progressing" ? describe(e.record) : e.entry.to}: ${e.entry.reason}`);
        this.lastTick = "";
        return;
      case "tick": {
        const v = e.verdict;
        this.lastTick = `${v.decision}${v.hold ? ` (hold: ${v.hold})` : ""}: ${v.reasons[0] ?? ""}`;
        if (this.mode === "plain") {
          this.line(`tick ${describe(e.record)} ${fmtDuration(e.stepSeconds)} in step: ${this.lastTick}`);
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
    if (!this.record || this.record.phase !== "Progressing") return;
    const step = this.record.step!;
    const inStep = this.stepStarted ? (this.now() - this.stepStarted) / 1000 : 0;
    const width = this.out.columns ?? 120;
    this.live = `step ${step.index + 1}/${this.record.steps.length - 1} · weight ${step.weight}% · ${fmtDuration(inStep)} in step · ${this.lastTick || "waiting for the first tick"}`.slice(0, width - 1);
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

// ---------------------------------------------------------------- commands

async function rollout(o: RolloutFlags, retryOf?: RolloutOptions["retryOf"]): Promise<number> {
  checkVersion(o.version, o.image);
  checkTargetFlags(o);
  const plan = readPlan(o.plan);
  const dryRun = o.dryRun === true || plan.dryRun;
  const mode = o.json ? "json" : process.stdout.isTTY ? "tty" : "plain";
  const renderer = new Renderer(mode);
  const log = (line: string): void => renderer.event({ kind: "log", line });
  const cwd = path.resolve(o.cwd);

  // The metrics settings are checked before anything is contacted (with a stand-in baseline
  // when the plan does not name one; the real one comes from the target's snapshot).
  const prometheusUrl = o.target === "haproxy" ? sandboxPrometheus(path.resolve(cwd, o.sandbox!)) : undefined;
  const defaults = { canary: o.version, url: prometheusUrl };
  checkPlanMetrics(plan, defaults, o.plan);
  const port = metricsPort(o.metricsPort);

  let target: Target;
  let store: RecordStore;
  // Values of secret stack config keys named by `urlConfig` channels (read from the stack, never logged).
  let stackConfig: Record<string, string | undefined> = {};
  if (dryRun) {
    ({ target, store } =
      o.target === "pulumi" ? inert("pulumi", o.stack!, `stack ${o.stack} config ${ROLLOUT_RECORD_KEY}`) : inert("haproxy", `haproxy (sandbox ${o.sandbox})`, `file ${recordFile(o)}`));
  } else if (o.target === "pulumi") {
    const stack = await loadPulumiStack().selectStack({ stackName: o.stack!, workDir: cwd });
    if (secretConfigKeys(plan.notifications).length > 0) {
      stackConfig = Object.fromEntries(Object.entries(await stack.getAllConfig()).map(([k, v]) => [k, v.value]));
    }
    target = await createTarget({ type: "pulumi", stack, log });
    store = new PulumiConfigRecordStore(stack);
  } else {
    target = await createTarget({ type: "haproxy", stateFile: path.resolve(cwd, o.sandbox!), log });
    store = new FileRecordStore(recordFile(o));
  }

  // Notifications and metrics are built before anything changes, so a missing webhook URL
  // fails with nothing applied. A dry run notifies nobody.
  const service = serviceOf(o, plan, target.name);
  const defaultIncidentDir = o.target === "haproxy" ? path.dirname(recordFile(o)) : cwd;
  const notifications = dryRun
    ? undefined
    : RolloutNotifications.fromConfig(plan.notifications, {
        service,
        sources: { env: process.env, config: stackConfig },
        defaultIncidentDir,
        log,
      });
  // The rollout kept in the history, the judge's ticks traced, and on a rollback the report
  // written next to the incident record (with Prometheus' raw series while it answers).
  let provider: MetricsProvider | undefined;
  const incidents = plan.notifications.incidents;
  // The same directory as the incident record's (RolloutNotifications.fromConfig).
  const incidentDir = incidents.dir ?? defaultIncidentDir;
  const archive = dryRun
    ? undefined
    : new RolloutArchive({
        service,
        history: new HistoryStore(historyDir(o)),
        operator: operatorIdentity(),
        ...(incidents.enabled && incidents.report ? { reportDir: incidentDir } : {}),
        raw: prometheusSeries(() => provider),
        judge: parseJudgeConfig(plan.analysis.judge),
        log,
      });
  const metrics = new RolloutMetrics({ service, stack: target.name });
  const textfile = o.textfileDir !== undefined ? new TextfileWriter(metrics.registry, path.resolve(cwd, o.textfileDir), undefined, log) : undefined;
  let server: MetricsServer | undefined;
  if (port !== undefined) {
    server = await startMetricsServer(metrics.registry, { port });
    log(`driver metrics at ${server.url}`);
  }
  textfile?.update();
  const report = (e: DriverEvent): void => {
    renderer.event(e);
    // Both return at once: a slow or dead receiver never holds the rollout (or its rollback).
    notifications?.observe(e);
    archive?.observe(e);
    metrics.observe(e);
    textfile?.update();
  };

  // A cancelled pipeline job (SIGTERM) or Ctrl-C rolls back rather than leaving the canary at
  // its weight with an unfinished record; a second signal exits at once.
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupt.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
    renderer.event({ kind: "log", line: `${signal}: rolling back (send it again to exit at once)` });
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
        provider = metricsFromPlan(plan, { ...defaults, ...versions });
        return archive ? archive.wrapMetrics(provider) : provider;
      },
      report,
      dryRun,
      interrupt: interrupt.signal,
      ...(retryOf ? { retryOf } : {}),
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // Bounded: what a receiver has not taken by then is abandoned and counted.
    if (notifications) {
      const flushed = await notifications.flush(NOTIFY_FLUSH_MS);
      const n = flushed.notifications;
      if (n.failed + n.dropped + n.abandoned > 0) log(`notify: ${n.delivered} delivered, ${n.failed} failed, ${n.dropped} dropped, ${n.abandoned} abandoned at exit`);
      for (const file of flushed.incidents) log(`incident record: ${file}`);
    }
    if (archive) {
      const kept = await archive.flush(NOTIFY_FLUSH_MS);
      for (const file of kept.reports) log(`report: ${file}`);
    }
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
    rolledBack: `rolled back ${o.version}: ${result.reason}`,
    paused: `paused ${o.version} at ${describe(result.record)}: ${result.reason}; continue with \`canary resume\` then \`canary rollout\` (same version), or \`canary abort\``,
    restoreFailed: `ROLLBACK FAILED for ${o.version}: ${result.reason}; the target may still route traffic to the canary`,
  };
  renderer.finish(`${words[result.outcome]} (exit ${code})`);
  return code;
}

interface ControlFlags extends CommonOptions {
  who?: string;
  reason?: string;
  wait: string;
  plan?: string;
  full?: boolean;
  gradual?: boolean;
  step?: string;
  promotion?: boolean;
}

/** The record store of the target the flags name. */
async function storeOf(o: CommonOptions): Promise<RecordStore> {
  checkTargetFlags(o);
  return o.target === "pulumi" ? new PulumiConfigRecordStore(await loadPulumiStack().selectStack({ stackName: o.stack!, workDir: path.resolve(o.cwd) })) : new FileRecordStore(recordFile(o));
}

/** Whether text holds control characters (terminal escapes in a recorded reason would reach every reader). */
function hasControlChars(text: string): boolean {
  return [...text].some((ch) => {
    const c = ch.charCodeAt(0);
    return c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0);
  });
}

/** The exit code of a control call. */
const CONTROL_EXIT: Readonly<Record<ControlOutcome["status"], number>> = { applied: 0, recorded: 0, refused: EXIT.invalidInput, timeout: EXIT.infrastructure, restoreFailed: EXIT.restoreFailed };

async function control(verb: ControlVerb | "retry", o: ControlFlags): Promise<number> {
  const waitSeconds = parseDuration(o.wait);
  if ("error" in waitSeconds) throw new InputError(`--wait: ${waitSeconds.error}, got ${JSON.stringify(o.wait)}`);
  const who = o.who ?? operatorIdentity();
  if (who.length < 1 || who.length > 100 || /\s/.test(who) || hasControlChars(who)) throw new InputError(`--who: must be 1–100 characters without spaces or control characters, got ${JSON.stringify(who.slice(0, 100))}`);
  const reason = o.reason ?? "no reason given";
  if (reason.length > 500 || hasControlChars(reason)) throw new InputError("--reason: must be at most 500 characters without control characters");
  let gate: string | undefined;
  if (verb === "approve") {
    if ((o.step === undefined) === (o.promotion !== true)) throw new InputError("approve: give exactly one of --step <n> and --promotion");
    if (o.step !== undefined && !/^\d{1,3}$/.test(o.step)) throw new InputError(`--step: must be a step index (0, 1, …), got ${JSON.stringify(o.step)}`);
    gate = o.step !== undefined ? `step ${Number(o.step)}` : "promotion";
  }
  const plan = readPlan(o.plan);
  const store = await storeOf(o);
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  if (verb === "retry") {
    const record = await store.load();
    if (!record || record.phase !== "RolledBack") {
      throw new ControlRefusedError(`retry: ${record ? `rollout ${record.id} of ${record.version} is ${describe(record)}` : `no rollout recorded in ${store.description}`}; only a rolled-back rollout can be retried`);
    }
    say(`retry of rollout ${record.id} (${record.version}) by ${who}: ${reason}`);
    return rollout({ ...o, version: record.version, image: record.image, plan: o.plan }, { id: record.id, by: who, reason });
  }
  const controlVerb: ControlVerb = verb === "promote" && o.full ? "promoteFull" : verb;
  const cwd = path.resolve(o.cwd);
  const outcome = await controlRollout(
    store,
    { verb: controlVerb, by: who, reason, ...(gate ? { gate } : {}), ...(o.gradual ? { gradual: true } : {}) },
    {
      rollbackMode: plan.rollback.mode,
      stepWeights: judgedSteps(plan).map((s) => s.weight),
      tickSeconds: plan.tickSeconds,
      target: async () => {
        const log = (line: string): void => void process.stderr.write(`${line}\n`);
        if (o.target === "pulumi") return createTarget({ type: "pulumi", stack: await loadPulumiStack().selectStack({ stackName: o.stack!, workDir: cwd }), log });
        return createTarget({ type: "haproxy", stateFile: path.resolve(cwd, o.sandbox!), log });
      },
    },
    { waitMs: waitSeconds.seconds * 1000, log: (line) => process.stderr.write(`${line}\n`) },
  );
  if (o.json) say(JSON.stringify({ event: "control", verb: controlVerb, status: outcome.status, message: outcome.message, phase: outcome.record?.phase ?? null }));
  else say(outcome.status === "restoreFailed" ? `ROLLBACK FAILED: ${outcome.message}; the target may still route traffic to the canary` : outcome.message);
  return CONTROL_EXIT[outcome.status];
}

/** A record as status lines. */
export function formatRecord(r: RolloutRecord, now = Date.now()): string {
  const lines = [
    `rollout ${r.id}: ${r.version} (${r.image}) on ${r.stack} [${r.target}]`,
    `phase: ${describe(r)}${r.step && r.phase === "Progressing" ? `, ${fmtDuration((now - Date.parse(r.step.startedAt)) / 1000)} in step` : ""}; steps ${r.steps.join(" → ")}`,
  ];
  if (r.lastVerdict) lines.push(`last verdict (${r.lastVerdict.at}): ${r.lastVerdict.decision}${r.lastVerdict.hold ? ` (hold: ${r.lastVerdict.hold})` : ""}: ${r.lastVerdict.reasons.join("; ")}`);
  if (r.lease) lines.push(`driver: ${r.lease.holder} (lease until ${r.lease.expiresAt})`);
  for (const c of (r.controls ?? []).filter((x) => x.status === "pending")) lines.push(`pending control: ${c.verb}${c.gate ? ` (${c.gate})` : ""} by ${c.by} at ${c.at}: ${c.reason}`);
  lines.push("history:");
  for (const h of r.history) lines.push(`  ${h.at} ${h.from} → ${h.to}${h.step !== undefined ? ` [step ${h.step}, weight ${h.weight}]` : ""}${h.by ? ` by ${h.by}` : ""}: ${h.reason}`);
  return lines.join("\n");
}

async function status(o: CommonOptions & { watch?: boolean }): Promise<number> {
  checkTargetFlags(o);
  const store: RecordStore = o.target === "pulumi" ? new PulumiConfigRecordStore(await loadPulumiStack().selectStack({ stackName: o.stack!, workDir: path.resolve(o.cwd) })) : new FileRecordStore(recordFile(o));
  const tty = process.stdout.isTTY && !o.json;
  let last = "";
  for (;;) {
    const record = await store.load();
    const text = o.json ? JSON.stringify(record ?? null) : record ? formatRecord(record) : `no rollout recorded in ${store.description}`;
    if (text !== last || tty) {
      if (tty && o.watch) process.stdout.write("\x1b[H\x1b[2J");
      if (text !== last || !o.watch || tty) process.stdout.write(`${text}\n`);
      last = text;
    }
    if (!o.watch || !record || !isUnfinished(record.phase)) return 0;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** The kept rollouts of the flags' target: the history directory's, only the stack's with --target pulumi. */
async function keptRollouts(o: CommonOptions): Promise<{ store: HistoryStore; kept: Awaited<ReturnType<HistoryStore["list"]>> }> {
  checkTargetFlags(o);
  const store = new HistoryStore(historyDir(o));
  const all = await store.list();
  return { store, kept: o.target === "pulumi" ? all.filter((k) => k.record.stack === o.stack) : all };
}

async function history(o: CommonOptions & { limit?: string }): Promise<number> {
  const limit = o.limit === undefined ? Infinity : Number(o.limit);
  if (!(Number.isInteger(limit) && limit >= 1) && limit !== Infinity) throw new InputError(`--limit: must be a whole number ≥ 1, got ${JSON.stringify(o.limit)}`);
  const { store, kept } = await keptRollouts(o);
  const rows = kept.slice(0, limit).map(summarizeRollout);
  if (o.json) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  else process.stdout.write(`${rows.length > 0 ? formatHistory(rows) : `no rollouts in the history at ${store.dir}`}\n`);
  return 0;
}

async function report(o: CommonOptions & { rollout?: string; out?: string; plan?: string; service?: string }): Promise<number> {
  const plan = readPlan(o.plan);
  const { store, kept } = await keptRollouts(o);
  let chosen = o.rollout !== undefined ? kept.find((k) => k.record.id === o.rollout) : kept[0];
  if (!chosen && o.rollout === undefined) {
    // Nothing kept (a rollout from before the history existed): the target's current record.
    const record = await (await storeOf(o)).load();
    if (record) chosen = { schema: 1, service: o.service ?? serviceOf({ ...o, version: record.version, image: record.image }, plan, record.stack), startedBy: record.history.find((h) => h.type === "start")?.by ?? "unknown", record };
  }
  if (!chosen) throw new InputError(o.rollout !== undefined ? `--rollout: no rollout ${JSON.stringify(o.rollout)} in the history at ${store.dir}` : `no rollout in the history at ${store.dir} nor in the rollout record`);
  const record = chosen.record;
  const { samples, skipped } = await readTrace(store.traceFile(record.id));
  if (skipped > 0) process.stderr.write(`report: skipped ${skipped} unreadable line(s) of ${store.traceFile(record.id)}\n`);
  // Prometheus for the raw series when the plan (or the sandbox) says where it is and it answers.
  let provider: MetricsProvider | undefined;
  let why: string | undefined;
  try {
    const url = o.target === "haproxy" ? sandboxPrometheus(path.resolve(o.cwd, o.sandbox!)) : undefined;
    const stable = (record.snapshot as { stableVersion?: unknown } | undefined)?.stableVersion;
    provider = metricsFromPlan(plan, { canary: record.version, ...(typeof stable === "string" ? { baseline: stable } : {}), ...(url !== undefined ? { url } : {}) });
  } catch (e) {
    why = e instanceof Error ? e.message : String(e);
  }
  const raw = prometheusSeries(() => provider);
  const file = path.resolve(o.cwd, o.out ?? reportFileName(record.id));
  await writeReport(chosen, samples, { file, raw: async (k, s) => (provider ? raw(k, s) : { missing: `no Prometheus for the raw series: ${why ?? "none configured"}` }), judge: parseJudgeConfig(plan.analysis.judge) });
  process.stdout.write(o.json ? `${JSON.stringify({ event: "report", rollout: record.id, file })}\n` : `report of rollout ${record.id}: ${file}\n`);
  return 0;
}

/**
 * `canary plan --check`: the pre-flight a rollout runs before its first step, on its own. It
 * takes the baseline's label from the plan or reads the target's stable version (nothing is
 * changed), then from Prometheus the targets' scrape interval and the baseline's recent
 * traffic, and prints per step the expected time to promote a good canary and to detect a 2×
 * regression. Exit 0, or 2 when a step cannot decide.
 */
async function planCheck(o: CommonOptions & { plan?: string; version?: string }): Promise<number> {
  checkTargetFlags(o);
  const plan = readPlan(o.plan);
  const cwd = path.resolve(o.cwd);
  const url = o.target === "haproxy" ? sandboxPrometheus(path.resolve(cwd, o.sandbox!)) : undefined;
  const canary = o.version ?? "canary";
  checkPlanMetrics(plan, { canary, url }, o.plan);
  // The stable version is the baseline's label: from the plan, else read from the target.
  let baseline = typeof plan.analysis.metrics.baseline === "string" ? plan.analysis.metrics.baseline : undefined;
  if (baseline === undefined) {
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    const target =
      o.target === "pulumi"
        ? await createTarget({ type: "pulumi", stack: await loadPulumiStack().selectStack({ stackName: o.stack!, workDir: cwd }), log })
        : await createTarget({ type: "haproxy", stateFile: path.resolve(cwd, o.sandbox!), log });
    baseline = (await target.prepare()).stableVersion;
  }
  const provider = metricsFromPlan(plan, { canary, ...(baseline !== undefined ? { baseline } : {}), ...(url !== undefined ? { url } : {}) });
  const result = await preflight(provider, preflightPlan(plan), Date.now() / 1000);
  if (o.json) {
    const { reference: _reference, ...rest } = result;
    process.stdout.write(`${JSON.stringify({ event: "plan", ...rest })}\n`);
  } else {
    for (const line of formatPreflight(result)) process.stdout.write(`${line}\n`);
  }
  return result.refuse ? EXIT.invalidInput : 0;
}

/** Builds the command line (exported for tests and embedding). */
export function buildProgram(setExit: (code: number) => void = (c) => (process.exitCode = c)): Command {
  const program = new Command("canary").description("Canary rollouts with automatic rollback, driven from Pulumi stack config.").exitOverride().showHelpAfterError();
  const common = (c: Command): Command =>
    c
      .addOption(new Option("--target <type>", "what carries the traffic split").choices([...TARGET_TYPES]).default("pulumi"))
      .option("--stack <name>", "the Pulumi stack (target pulumi)")
      .option("--cwd <dir>", "the Pulumi project directory (holding Pulumi.yaml)", process.cwd())
      .option("--sandbox <file>", "the sandbox's state file (target haproxy)", path.join(".sandbox", "state.json"))
      .option("--record <file>", "the rollout record file (target haproxy); defaults to rollout.json next to the sandbox's state file")
      .option("--history-dir <dir>", "the rollout history; defaults to history/ next to the record file (target haproxy), .canary/history (target pulumi)")
      .option("--json", "JSON output, one object per line");
  common(
    program
      .command("rollout")
      .description("roll a new version out through the plan's steps; exit 0 promoted, 1 rolled back, 2 invalid input, 3 infrastructure error, 4 rollback failed")
      .requiredOption("--version <version>", "the canary's version label")
      .requiredOption("--image <image>", "the canary's container image")
      .option("--plan <file>", "the rollout plan (YAML); defaults to 5 → 25 → 50 → 100")
      .option("--dry-run", "print every action without applying any")
      .option("--service <name>", "the service name in notifications and metrics; defaults to the plan's analysis.metrics.selectors.service, else the stack")
      .option("--metrics-port <port>", "serve the driver's own metrics at http://127.0.0.1:<port>/metrics (0: a free port, reported)")
      .option("--textfile-dir <dir>", "write the driver's metrics to <dir>/canary_rollout.prom for node-exporter's textfile collector"),
  ).action(async (o: RolloutFlags) => {
    setExit(await rollout(o));
  });
  common(
    program
      .command("plan")
      .description("check a plan against the current traffic before a rollout: the tick against the scrape interval, and per step the time to promote a good canary and to detect a 2× regression; exit 0 fine, 2 a step cannot decide")
      .requiredOption("--check", "run the pre-flight check (the only mode)")
      .option("--plan <file>", "the rollout plan (YAML); defaults to 5 → 25 → 50 → 100")
      .option("--version <version>", "the canary's version label (the plan's analysis.metrics.canary otherwise)"),
  ).action(async (o: CommonOptions & { plan?: string; version?: string }) => {
    setExit(await planCheck(o));
  });
  common(program.command("status").description("show the rollout record").option("-w, --watch", "keep showing it until the rollout ends")).action(async (o: CommonOptions & { watch?: boolean }) => {
    setExit(await status(o));
  });
  common(program.command("history").description("list past rollouts: version, start, end, outcome, trigger, duration, who").option("--limit <n>", "the newest n only")).action(async (o: CommonOptions & { limit?: string }) => {
    setExit(await history(o));
  });
  common(
    program
      .command("report")
      .description("write a rollout's HTML report (self-contained: charts, markers, the verdict's evidence); defaults to the newest rollout")
      .option("--rollout <id>", "the rollout (see `canary history`)")
      .option("--out <file>", "the report file; defaults to report-<rollout>.html in the current directory")
      .option("--plan <file>", "the rollout's plan: its Prometheus settings for the raw series, its judge's limits")
      .option("--service <name>", "the service name, for a rollout not in the history"),
  ).action(async (o: CommonOptions & { rollout?: string; out?: string; plan?: string; service?: string }) => {
    setExit(await report(o));
  });
  const verbs: [ControlVerb | "retry", string, (c: Command) => Command][] = [
    ["promote", "skip the current step's wait (the next step follows); --full: promote now, skipping the remaining steps", (c) => c.option("--full", "promote now")],
    ["abort", "roll back now (restores the snapshot); --gradual steps the weight down through the plan's steps first", (c) => c.option("--gradual", "step the weight down before restoring")],
    ["pause", "hold the current weight (still judging: a failing canary still rolls back)", (c) => c],
    ["resume", "continue a paused rollout", (c) => c],
    ["freeze", "hold the current weight with no rollback at all (e.g. during a database migration)", (c) => c],
    ["unfreeze", "continue a frozen rollout", (c) => c],
    ["approve", "approve a gate of the plan: --step <n> (before judged step n) or --promotion", (c) => c.option("--step <n>", "the step the gate is before").option("--promotion", "the gate before promotion")],
    ["retry", "start a rolled-back rollout again (same version and image)", (c) => c],
  ];
  for (const [verb, description, extra] of verbs) {
    common(
      extra(
        program
          .command(verb)
          .description(`${description}; exit 0 applied, 2 refused or invalid, 3 no acknowledgement or infrastructure error, 4 rollback failed`)
          .option("--who <user>", "who asks, recorded with the event; defaults to $USER@hostname")
          .option("--reason <text>", "why, recorded with the event")
          .option("--wait <duration>", "how long to wait for a running driver to apply the request", "2m")
          .option("--plan <file>", "the rollout plan (rollback mode for abort of a stopped rollout; the plan for retry)"),
      ),
    ).action(async (o: ControlFlags) => {
      setExit(await control(verb, o));
    });
  }
  return program;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version" ? 0 : EXIT.invalidInput;
    }
    process.stderr.write(`canary: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    return exitCodeOf(e);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`canary: ${String(e)}\n`);
      process.exit(EXIT.infrastructure);
    },
  );
}
