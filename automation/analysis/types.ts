/**
 * Data shapes shared by the metrics provider, the judge and its callers.
 *
 * Everything here is plain data: times are Unix seconds, counts are non-negative numbers
 * of events observed during one tick (the difference of cumulative counters read at the
 * tick's two boundaries), so a tick can be logged, replayed and unit-tested verbatim.
 */

/** One cumulative latency-histogram bucket, as Prometheus exposes it (`le` = upper bound). */
export interface LatencyBucket {
  /** Upper bound in seconds; `Infinity` for the `+Inf` bucket (the histogram's count). */
  readonly le: number;
  /** Requests observed at or below `le` during the tick (cumulative across buckets). */
  readonly count: number;
}

/** What one version (canary or baseline) served during one tick. */
export interface VersionCounts {
  /** Requests served during the tick. */
  readonly requests: number;
  /** Requests that failed (by default: responses with a 5xx code). */
  readonly errors: number;
  /**
   * Latency-histogram bucket counts for the tick, cumulative by `le` like Prometheus's
   * `_bucket` series. Absent when no histogram is configured.
   */
  readonly latencyBuckets?: readonly LatencyBucket[];
  /** User-defined counts for the tick (business KPIs such as checkouts), by key. */
  readonly counts?: Readonly<Record<string, number>>;
  /**
   * Requests and errors per series group (one pod or instance: every label but the status
   * code) for the tick. Optional: when present, the spread of error rates between pods
   * measures overdispersion from the first ticks on (see evidence.ts).
   */
  readonly bySeries?: readonly { readonly requests: number; readonly errors: number }[];
}

/** A tick with usable numbers for both versions. */
export interface OkMeasurement {
  readonly kind: "ok";
  /** Tick start (the previous counter reading), Unix seconds. */
  readonly start: number;
  /** Tick end (this counter reading), Unix seconds. */
  readonly end: number;
  readonly canary: VersionCounts;
  readonly baseline: VersionCounts;
  /**
   * The time the counts cover, when the provider aligned them to scrape samples: both
   * versions' increases over exactly this interval, which lags the reading by up to one scrape
   * interval. Defaults to [start, end]. Warm-up and observed time are measured on it.
   */
  readonly covers?: { readonly start: number; readonly end: number };
  /** Notes about the reading worth keeping in the record (counter resets, new series). */
  readonly notes?: readonly string[];
}

/**
 * No series has a new sample since the last reading (ticks shorter than the scrape
 * interval): nothing new to count, and nothing lost — the next reading covers the time. Not
 * an outage while it lasts less than the outage limit.
 */
export interface PendingMeasurement {
  readonly kind: "pending";
  readonly end: number;
  /** The end of the last interval counted. */
  readonly since: number;
}

/**
 * The first reading of a provider: it only establishes the counters' starting values, so
 * there is nothing to judge yet. Neither traffic nor an outage.
 */
export interface PrimingMeasurement {
  readonly kind: "priming";
  readonly end: number;
}

/**
 * The query worked but a version has no series at all (not scraped, wrong labels, or no
 * request ever reached it). A version that has series but no new requests is "ok" with
 * zero requests instead: that is no traffic, not missing data.
 */
export interface NoValuesMeasurement {
  readonly kind: "noValues";
  readonly end: number;
  /** Which versions had no series. */
  readonly missing: readonly ("canary" | "baseline")[];
  /**
   * Which of the missing versions have never had a series since this provider started: no
   * request has reached them yet (no traffic), as opposed to series that existed and vanished
   * (a crashed or unscraped pod, which is an outage).
   */
  readonly neverSeen: readonly ("canary" | "baseline")[];
  /** The canary's counts when only the baseline was missing, so guardrails still apply. */
  readonly canary?: VersionCounts;
  readonly start?: number;
  readonly detail: string;
}

/** The metrics backend could not be asked (timeout, refused connection, HTTP or parse error). */
export interface QueryFailedMeasurement {
  readonly kind: "queryFailed";
  readonly end: number;
  readonly error: string;
}

/**
 * The result of reading the metrics for one tick. A provider never throws out of the
 * rollout loop; failures are values of this union so the judge can hold, and roll back
 * only when an outage outlasts its limit.
 */
export type TickMeasurement = OkMeasurement | PrimingMeasurement | PendingMeasurement | NoValuesMeasurement | QueryFailedMeasurement;

/**
 * The baseline's counts before the rollout, read once by the pre-flight check: consecutive
 * intervals of equal length, oldest first. The judge takes the baseline's usual rates from it
 * (so an episode in which the baseline is unusually bad cannot make a worse canary look
 * good) and its tick-to-tick noise (so the tests are tempered from the first tick).
 */
export interface ReferenceWindow {
  /** Start and end of the window, Unix seconds. */
  readonly start: number;
  readonly end: number;
  /** Length of each interval, seconds. */
  readonly intervalSeconds: number;
  /** The baseline's counts per interval, oldest first. */
  readonly baseline: readonly VersionCounts[];
}

/** The judge's verdict for a tick. */
export type Decision = "continue" | "promote" | "rollback" | "inconclusive";

/** Why a `continue` holds the step instead of accumulating evidence normally. */
export type HoldReason = "priming" | "noTraffic" | "awaitingSamples" | "warmup" | "metricsOutage" | "sharedGuardrailBreach";

/** Evidence about one canary-versus-baseline metric, as of a tick. */
export interface RelativeMetricReport {
  readonly name: string;
  /** "higherIsWorse" for errors and slow requests, "lowerIsWorse" for business KPIs. */
  readonly direction: "higherIsWorse" | "lowerIsWorse";
  /** Events per request for the canary over the rollout so far. */
  readonly canaryRate: number;
  /** Events per request for the baseline over the rollout so far. */
  readonly baselineRate: number;
  /** Canary requests and events counted so far. */
  readonly canaryRequests: number;
  readonly canaryEvents: number;
  /** Maximum-likelihood estimate of the canary/baseline rate ratio ψ (grid resolution). */
  readonly ratio: number;
  /**
   * Bounds of the always-valid confidence sequence on ψ, canary/baseline, strict
   * (ratioLower < ψ < ratioUpper): 0 and Infinity until something is excluded. The bound on
   * the bad side (lower for higherIsWorse, upper for lowerIsWorse) is at level 1 − alpha
   * share, the other at 1 − promoteAlpha. Computed from the uncapped tempered likelihood.
   */
  readonly ratioLower: number;
  readonly ratioUpper: number;
  /**
   * The upper bound on ψ (lower bound for lowerIsWorse) from this step's ticks alone, at level
   * 1 − promoteAlpha: a promotion needs it within the allowed ratio as well as the rollout's.
   */
  readonly stepRatioBound: number;
  /**
   * Rollback e-value against "the canary is no worse than the margin": the mixture of
   * tempered likelihood ratios, each tick's contribution capped (tickEvidenceCap). Rollback
   * at `rollbackThreshold`.
   */
  readonly eValue: number;
  /** 1 / (this metric's share of alpha). */
  readonly rollbackThreshold: number;
  /** E-value against "the canary is worse than the allowed ratio"; promote at `promoteThreshold`. */
  readonly promoteEValue: number;
  /** 1 / promoteAlpha. */
  readonly promoteThreshold: number;
  /** The margin ψ0 the rollback test is against (canary/baseline). */
  readonly margin: number;
  /** The ratio a promotion must rule out (canary/baseline). */
  readonly allowedRatio: number;
  /** The baseline's rate in the pre-flight reference window, when one was read. */
  readonly referenceRate?: number;
  /**
   * The level the canary's own rate in this step is tested against: referenceRatio × the
   * reference rate (its lower confidence bound), at least `negligibleRate`; or, without a
   * reference, `negligibleRate` alone. For lowerIsWorse: the reference's upper bound ÷
   * referenceRatio, and the canary's rate must stay above it.
   */
  readonly rateLevel?: number;
  /** The always-valid bound on the canary's own rate in this step (upper; lower for lowerIsWorse). */
  readonly rateBound?: number;
  /**
   * The heterogeneity test of ψ across windows of the step (and the earlier steps pooled):
   * promotion is blocked while the statistic exceeds the threshold (χ² at the configured level).
   */
  readonly heterogeneity: { readonly statistic: number; readonly threshold: number; readonly windows: number };
  /** Ticks set aside as baseline episodes so far. */
  readonly episodes: number;
  /**
   * The noise shared by all pods of a version used for tempering (the baseline's measured
   * upper bound, assumed for the canary too): ν in seconds, the relative variance of the
   * version's rate over τ seconds being ν/τ.
   */
  readonly noise: number;
  /** Overdispersion factor φ ≥ 1 the last tick was tempered by. */
  readonly dispersion: number;
  /**
   * "breached": rollback evidence reached; "passed": ready to promote on this metric;
   * "undecided": keep looking; "unavailable": the tick lacked this metric's inputs.
   */
  readonly status: "breached" | "passed" | "undecided" | "unavailable";
  /** How it passed, when it did: bounded ratio, or a canary rate too small to matter. */
  readonly passedBy?: "ratio" | "negligibleRate";
}

/** One absolute guardrail on the canary, evaluated over the recent window. */
export interface GuardrailReport {
  readonly name: string;
  /** Raw fraction of bad requests in the window (for display only, never for a decision). */
  readonly observed: number;
  /** Lower confidence bound on the bad fraction: what the decision uses. */
  readonly lowerBound: number;
  /** The largest bad fraction allowed. */
  readonly limit: number;
  /** Requests in the window. */
  readonly requests: number;
  /** The baseline's bad fraction over the same window, when known. */
  readonly baselineObserved?: number;
  /**
   * "breached": the canary alone is over the limit; "sharedBreach": both versions are, so
   * rolling back would not help (hold instead); "baselineBreach": the canary is within the
   * limit but the baseline is over it (an incident on the baseline: no promotion while it
   * lasts); "ok"; "insufficientSample": fewer requests than the configured minimum.
   */
  readonly status: "breached" | "sharedBreach" | "baselineBreach" | "ok" | "insufficientSample";
}

/** What the judge decided at a tick, and everything behind it. */
export interface Verdict {
  readonly decision: Decision;
  /** The tick's end time, Unix seconds. */
  readonly at: number;
  /** Human-readable reasons, most important first. */
  readonly reasons: readonly string[];
  /** Set when a `continue` is a hold (the step does not progress). */
  readonly hold?: HoldReason;
  /** Seconds since the step started (wall clock). */
  readonly stepElapsedSeconds: number;
  /** Seconds of this step covered by ticks with canary traffic. */
  readonly stepObservedSeconds: number;
  readonly metrics: readonly RelativeMetricReport[];
  readonly guardrails: readonly GuardrailReport[];
}
