/**
 * The judge and the metrics as the rollout loop uses them: the judge's state held between ticks
 * (and exported into the record, so a resumed step keeps its evidence), and the plan's metrics
 * provider built with the versions the rollout compares.
 */
import { InitialStateOptions, Judge, JudgeConfigInput, JudgeState, StepWindow } from "../analysis/judge";
import { createMetricsProvider, MetricsProvider } from "../analysis/prometheus";
import { TickMeasurement, Verdict } from "../analysis/types";
import { errorMessage } from "../errors";
import { Plan } from "../plan";
import { VerdictSummary } from "../state";

/**
 * Where tick measurements come from: the analysis module's provider interface (Prometheus, or a
 * fake). `measure` never rejects: an unreachable backend is a `queryFailed` measurement, so the
 * judge can hold and, past its limit, roll back. The first reading primes the counters.
 */
export type MetricsSource = Pick<MetricsProvider, "measure">;

/** The versions the metrics compare: the canary being rolled out and the stable baseline. */
export interface ComparedVersions {
  readonly canary: string;
  /** The stable version, when the target knows it (from its snapshot). */
  readonly baseline?: string;
}

/** What the rollout knows that the plan's metrics settings may leave out. */
export interface MetricsDefaults extends ComparedVersions {
  /** The Prometheus URL, when the target brings one (the sandbox's). */
  readonly url?: string;
}

/**
 * Builds the plan's metrics provider (`analysis.metrics`), filling in the canary and baseline
 * label values from the rollout when the plan does not set them.
 * @throws ProviderConfigError naming the invalid field.
 */
export function metricsFromPlan(plan: Plan, versions: MetricsDefaults): MetricsProvider {
  const m = plan.analysis.metrics;
  return createMetricsProvider({
    type: "prometheus",
    ...(versions.url !== undefined ? { url: versions.url } : {}),
    ...m,
    ...(m.canary === undefined ? { canary: versions.canary } : {}),
    ...(m.baseline === undefined && versions.baseline !== undefined ? { baseline: versions.baseline } : {}),
  });
}

/**
 * The judge as the loop sees it: stateful across ticks, its state exportable as JSON for the
 * record. {@link JudgeAnalysis} adapts the pure {@link Judge}.
 */
export interface Analysis {
  /** Starts judging a step (the first call starts the rollout's evidence). */
  beginStep(step: StepWindow): void;
  /**
   * Continues a step a previous driver was judging, from the state it persisted (`at`: Unix
   * seconds of the reading the resumed judging starts from).
   * @returns `undefined` when resumed, or why the state cannot be used (then call `beginStep`).
   */
  resumeStep(state: unknown, step: StepWindow, at: number): string | undefined;
  /** Judges one tick. */
  tick(m: TickMeasurement): Verdict;
  /** The state to persist with the record. */
  state(): unknown;
}

/** The pure judge with its state held between ticks. */
export class JudgeAnalysis implements Analysis {
  private readonly judge: Judge;
  private current?: JudgeState;

  /** `initial`: what the rollout's first step starts with (the pre-flight's reference window). */
  constructor(
    config: JudgeConfigInput = {},
    private readonly initial: InitialStateOptions = {},
  ) {
    this.judge = new Judge(config);
  }

  beginStep(step: StepWindow): void {
    this.current = this.current ? this.judge.startStep(this.current, step) : this.judge.initialState(step, this.initial);
  }

  resumeStep(state: unknown, step: StepWindow, at: number): string | undefined {
    try {
      this.current = this.judge.resumeStep(state, step, at);
      return undefined;
    } catch (e) {
      return errorMessage(e);
    }
  }

  tick(m: TickMeasurement): Verdict {
    if (!this.current) throw new Error("JudgeAnalysis.tick before beginStep");
    const { state, verdict } = this.judge.tick(this.current, m);
    this.current = state;
    return verdict;
  }

  state(): unknown {
    return this.current;
  }
}

/** The verdict without its bulky per-metric details: what the record keeps. */
export function summarize(v: Verdict, step: number): VerdictSummary {
  return {
    at: new Date(v.at * 1000).toISOString(),
    decision: v.decision,
    reasons: v.reasons,
    ...(v.hold ? { hold: v.hold } : {}),
    stepElapsedSeconds: v.stepElapsedSeconds,
    stepObservedSeconds: v.stepObservedSeconds,
    step,
  };
}
