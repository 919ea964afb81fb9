/**
 * The pre-flight check, run before a rollout's first step and by `canary plan --check`: it
 * reads from the metrics backend the targets' scrape interval and the baseline's last twenty
 * minutes, checks the plan's tick against the interval, forecasts every step at the current
 * traffic (planner.ts), and hands the judge its reference window. The reads are the only IO;
 * what to make of them is the planner's pure functions.
 */
import { JudgeConfigInput } from "./judge";
import { checkScrapeInterval, forecastPlan, PlanFinding, PlanForecast, PlannerStep } from "./planner";
import { MetricsProvider } from "./prometheus";
import { ReferenceWindow } from "./types";

/** How far back the reference reaches. */
export const REFERENCE_WINDOW_SECONDS = 1200;
/** A shorter history (a service, or a sandbox, just started) gives no forecast and no reference. */
export const MIN_REFERENCE_SECONDS = 300;

/** What the pre-flight needs of a metrics provider. */
export type PreflightSource = Pick<MetricsProvider, "readReference" | "scrapeIntervalSeconds" | "alignsToSamples"> & {
  readonly config?: { readonly sampleWindowSeconds?: number };
};

/** Whether a metrics source can be checked before the rollout (the Prometheus provider can; test fakes need not). */
export function isPreflightSource(x: unknown): x is PreflightSource {
  const o = x as Partial<PreflightSource> | null;
  return typeof o === "object" && o !== null && typeof o.readReference === "function" && typeof o.scrapeIntervalSeconds === "function" && typeof o.alignsToSamples === "boolean";
}

/** The plan as the pre-flight sees it. */
export interface PreflightPlan {
  /** The judged steps (not the final 100). */
  readonly steps: readonly PlannerStep[];
  readonly tickSeconds: number;
  readonly judge: JudgeConfigInput;
  readonly inconclusive: "hold" | "rollback";
  /** The judge's outage limit (no new samples for this long rolls back). */
  readonly maxOutageSeconds: number;
}

/** What the pre-flight found. */
export interface PreflightResult {
  readonly scrapeIntervalSeconds?: number;
  /** The reference window for the judge, when the history was long enough. */
  readonly reference?: ReferenceWindow;
  readonly forecast?: PlanForecast;
  readonly findings: readonly PlanFinding[];
  /** True when a finding refuses the plan: nothing should be applied (exit 2). */
  readonly refuse: boolean;
}

/** Runs the pre-flight reads and checks at `at` (Unix seconds). Never rejects: failed reads are findings. */
export async function preflight(source: PreflightSource, plan: PreflightPlan, at: number): Promise<PreflightResult> {
  const scrape = await source.scrapeIntervalSeconds(at);
  const findings: PlanFinding[] = checkScrapeInterval({
    tickSeconds: plan.tickSeconds,
    scrapeIntervalSeconds: scrape,
    alignsToSamples: source.alignsToSamples,
    maxOutageSeconds: plan.maxOutageSeconds,
    ...(source.config?.sampleWindowSeconds !== undefined ? { sampleWindowSeconds: source.config.sampleWindowSeconds } : {}),
  });
  // Intervals of a tick, or of a scrape interval when scrapes are rarer: shorter intervals
  // would only spread one scrape's increments.
  const interval = Math.max(plan.tickSeconds, scrape ?? plan.tickSeconds);
  const read = await source.readReference(at, REFERENCE_WINDOW_SECONDS, interval);
  let reference: ReferenceWindow | undefined;
  let forecast: PlanForecast | undefined;
  if (read.kind === "failed") {
    findings.push({ severity: "warn", path: "analysis.metrics", message: `cannot read the baseline's recent history (${read.error}): no forecast, and the judge starts without a reference` });
  } else {
    const covered = read.reference.end - read.reference.start;
    if (covered < MIN_REFERENCE_SECONDS) {
      findings.push({
        severity: "warn",
        path: "analysis.metrics",
        message: `the baseline's history is only ${Math.round(covered)}s long (at least ${MIN_REFERENCE_SECONDS}s needed): no forecast, and the judge starts without a reference`,
      });
    } else {
      reference = read.reference;
      forecast = forecastPlan({ steps: plan.steps, tickSeconds: plan.tickSeconds, judge: plan.judge, inconclusive: plan.inconclusive, reference });
      findings.push(...forecast.findings);
    }
  }
  return {
    ...(scrape !== undefined ? { scrapeIntervalSeconds: scrape } : {}),
    ...(reference ? { reference } : {}),
    ...(forecast ? { forecast } : {}),
    findings,
    refuse: findings.some((f) => f.severity === "refuse"),
  };
}

const fmt = (s: number | undefined): string => {
  if (s === undefined) return "—";
  // Sub-10 s values (scrape intervals, ticks) keep a decimal: a 0.5 s scrape is not "1s".
  if (s < 10) return `${Number(s.toFixed(1))}s`;
  const r = Math.round(s);
  return r < 120 ? `${r}s` : `${Math.floor(r / 60)}m${r % 60 ? `${String(r % 60).padStart(2, "0")}s` : ""}`;
};

/** The pre-flight as lines for a terminal or a log: traffic, the per-step forecast, then each finding. */
export function formatPreflight(r: PreflightResult): string[] {
  const lines: string[] = [];
  const f = r.forecast;
  lines.push(`scrape interval: ${r.scrapeIntervalSeconds === undefined ? "unknown" : fmt(r.scrapeIntervalSeconds)}`);
  if (f) {
    lines.push(`current traffic: ${f.requestsPerSecond.toFixed(1)} requests/s; baseline rates: ${Object.entries(f.rates).map(([k, v]) => `${k} ${(100 * v).toFixed(3)}%`).join(", ")}`);
    for (const s of f.steps) {
      const detect = Object.entries(s.detectSeconds)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(", ");
      lines.push(`step ${s.index} at ${s.weight}% (max ${fmt(s.maxDurationSeconds)}): promote a good canary in ${fmt(s.promoteSeconds)}; detect a 2× regression in ${detect} — ${s.verdict}`);
    }
  }
  for (const x of r.findings) lines.push(`${x.severity === "refuse" ? "refused" : "warning"}: ${x.path}: ${x.message}`);
  return lines;
}
