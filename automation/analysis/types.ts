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
  /** Notes about the reading worth keeping in the record (counter resets, new series). */
  readonly notes?: readonly string[];
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
export type TickMeasurement = OkMeasurement | PrimingMeasurement | NoValuesMeasurement | QueryFailedMeasurement;

/** The judge's verdict for a tick. */
export type Decision = "continue" | "promote" | "rollback" | "inconclusive";

/** Why a `continue` holds the step instead of accumulating evidence normally. */
export type HoldReason = "priming" | "noTraffic" | "metricsOutage" | "sharedGuardrailBreach";

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
  /** Overdispersion factor φ ≥ 1 the likelihood is currently tempered by. */
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
   * rolling back would not help (hold instead); "ok"; "insufficientSample": fewer requests
   * than the configured minimum.
   */
  readonly status: "breached" | "sharedBreach" | "ok" | "insufficientSample";
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
