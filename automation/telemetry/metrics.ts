/**
 * The driver's own metrics while it runs, in a prom-client {@link Registry} of its own (never
 * the global one, so a host process's metrics and ours do not mix and tests do not leak into
 * each other). Gauges follow the record: {@link RolloutMetrics.observe} takes the driver's
 * events, so wiring it is one call in the driver's `report` callback.
 *
 * The monitoring dashboard reads `max(canary_rollout_weight{service=…})`
 * (components/monitoring/dashboard.ts): that name and label are a contract.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { stableVersionOf } from "../notify/events";
import { Phase, PHASES, RolloutRecord } from "../state";

/**
 * The weight gauge's name. The dashboard's `DRIVER_WEIGHT_METRIC` must stay equal (a test checks);
 * not imported from there because that module loads the Grafana SDK.
 */
export const WEIGHT_METRIC = "canary_rollout_weight";

/** The judge's decisions, pre-created at 0 so `rate()` and `increase()` work from the first scrape. */
export const DECISIONS = ["continue", "promote", "rollback", "inconclusive"] as const;

/** Buckets of the decision duration (one metrics query and one judge tick), seconds. */
export const DECISION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The canary weight in force, as the driver last applied it: 0 until the first step and after
 * a completed rollback, the step's weight while a step is in force (including a rollback that
 * has not restored yet, or failed to), the final weight once promoted.
 */
export function appliedWeight(record: Pick<RolloutRecord, "phase" | "step" | "steps">): number {
  switch (record.phase) {
    case "Idle":
    case "Initializing":
    case "RolledBack":
      return 0;
    case "Succeeded":
      return record.steps[record.steps.length - 1] ?? 100;
    default:
      return record.step?.weight ?? 0;
  }
}

/** The labels every series carries. */
export interface RolloutLabels {
  readonly service: string;
  readonly stack: string;
}

/**
 * A driver event as far as metrics care. Structural, so the driver's `DriverEvent` fits it
 * (including kinds added later, which are ignored) without this module importing the driver.
 */
export interface MetricsObservation {
  readonly kind: string;
  readonly record?: RolloutRecord;
  /** On a `tick`: the judge's verdict. */
  readonly verdict?: { readonly decision: string };
  /** On a `tick`: seconds from reading the metrics to the verdict. */
  readonly decisionSeconds?: number;
}

/** The driver's metrics; see the module comment. */
export class RolloutMetrics {
  readonly registry: Registry;
  private readonly labels: RolloutLabels;
  private readonly weight: Gauge<"service" | "stack">;
  private readonly phase: Gauge<"service" | "stack" | "phase">;
  private readonly step: Gauge<"service" | "stack">;
  private readonly decisions: Counter<"service" | "stack" | "decision">;
  private readonly duration: Histogram<"service" | "stack">;
  private readonly info: Gauge<"service" | "stack" | "stable_version" | "canary_version">;
  private infoKey?: string;

  constructor(labels: RolloutLabels, registry: Registry = new Registry()) {
    this.labels = { service: labels.service, stack: labels.stack };
    this.registry = registry;
    const registers = [registry];
    this.weight = new Gauge({ name: WEIGHT_METRIC, help: "Canary traffic weight the rollout driver last applied, percent.", labelNames: ["service", "stack"], registers });
    this.phase = new Gauge({ name: "canary_rollout_phase", help: "Rollout phase: 1 for the current phase, 0 for the others.", labelNames: ["service", "stack", "phase"], registers });
    this.step = new Gauge({ name: "canary_rollout_step", help: "Index (0-based) of the judged step in force.", labelNames: ["service", "stack"], registers });
    this.decisions = new Counter({ name: "canary_rollout_decisions_total", help: "Judge decisions, one per analysis tick, by decision.", labelNames: ["service", "stack", "decision"], registers });
    this.duration = new Histogram({
      name: "canary_rollout_decision_duration_seconds",
      help: "Time to reach one decision: reading the metrics and judging the tick.",
      labelNames: ["service", "stack"],
      buckets: DECISION_BUCKETS,
      registers,
    });
    this.info = new Gauge({ name: "canary_rollout_info", help: "The versions of the rollout: always 1.", labelNames: ["service", "stack", "stable_version", "canary_version"], registers });

    this.weight.set(this.labels, 0);
    this.setPhase("Idle");
    for (const decision of DECISIONS) this.decisions.inc({ ...this.labels, decision }, 0);
    this.duration.zero(this.labels);
  }

  /** Takes any driver event: transitions and ticks update the gauges, ticks count a decision. */
  observe(e: MetricsObservation): void {
    if (!e.record) return;
    if (e.kind === "tick" && e.verdict) this.decision(e.verdict.decision, e.decisionSeconds);
    if (e.kind === "transition" || e.kind === "tick") this.record(e.record);
  }

  /** Sets weight, phase, step and versions from the record. */
  record(record: RolloutRecord): void {
    this.weight.set(this.labels, appliedWeight(record));
    this.setPhase(record.phase);
    if (record.step) this.step.set(this.labels, record.step.index);
    const versions = { stable_version: stableVersionOf(record) ?? "", canary_version: record.version };
    const key = JSON.stringify(versions);
    if (key !== this.infoKey) {
      // One info series at a time: a new rollout's versions replace the old ones.
      this.info.reset();
      this.info.set({ ...this.labels, ...versions }, 1);
      this.infoKey = key;
    }
  }

  /** Counts one judge decision and, when known, how long it took. */
  decision(decision: string, seconds?: number): void {
    this.decisions.inc({ ...this.labels, decision });
    if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) this.duration.observe(this.labels, seconds);
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private setPhase(current: Phase): void {
    for (const phase of PHASES) this.phase.set({ ...this.labels, phase }, phase === current ? 1 : 0);
  }
}
