/**
 * The Prometheus metrics provider: reads the raw samples of cumulative counters for canary
 * and baseline through the HTTP API (`/api/v1/query` with an explicit `time` and a plain
 * range selector, `metric{…}[300s]`) and turns them into per-tick counts aligned to the
 * samples' own timestamps (alignment.ts): both versions' increases over one common interval,
 * whatever the phases of their scrapes. It never asks Prometheus for `rate()`, `increase()`
 * or `histogram_quantile()`: those extrapolate, smooth over a window and hide resets, and
 * the judge needs exact counts to compare the versions fairly.
 *
 * It also reads, once before a rollout, the baseline's recent history (the judge's
 * reference window and the planner's current traffic) and the targets' scrape interval
 * (`/api/v1/targets`).
 *
 * Every failure becomes a measurement value (`queryFailed`, `noValues`), never an
 * exception out of the rollout loop. Only a bad configuration throws, at construction.
 */
import { z } from "zod";
import { historyIncrements, Labels, SampleAligner, SeriesReading, seriesKey, SeriesSamples } from "./alignment";
import { LatencyBucket, ReferenceWindow, TickMeasurement, VersionCounts } from "./types";
import { formatIssues } from "./validation";
import { InputError } from "../errors";

/** Thrown for an invalid provider configuration (names the exact field). Exit 2. */
export class ProviderConfigError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "ProviderConfigError";
  }
}

/** The baseline's history read before a rollout, or why it could not be read. */
export type ReferenceReading = { readonly kind: "ok"; readonly reference: ReferenceWindow } | { readonly kind: "failed"; readonly error: string };

/** Reads one tick of counts for canary and baseline. */
export interface MetricsProvider {
  /** The provider type, as written in the plan. */
  readonly type: string;
  /**
   * Whether readings are aligned to the samples' own timestamps, so that a tick shorter
   * than the scrape interval loses nothing (the reading is `pending` until a sample arrives).
   */
  readonly alignsToSamples: boolean;
  /**
   * Reads the counters at `at` (Unix seconds) and returns the counts since the previous
   * successful reading. Never rejects.
   */
  measure(at: number): Promise<TickMeasurement>;
  /**
   * The baseline's counts over the `windowSeconds` before `at`, as consecutive intervals of
   * `intervalSeconds`: the judge's reference and the planner's current traffic. Never rejects.
   */
  readReference(at: number, windowSeconds: number, intervalSeconds: number): Promise<ReferenceReading>;
  /** The largest scrape interval of the targets the queries read, seconds; undefined when it cannot tell. Never rejects. */
  scrapeIntervalSeconds(at: number): Promise<number | undefined>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/**
 * Label values are matched literally inside double quotes. Allowing only characters that
 * mean nothing there (no quote, backslash, brace, newline) makes injection impossible by
 * construction, and escaping below is a second line of defence.
 */
const LABEL_VALUE = /^[A-Za-z0-9._~:@+\-/ ]{1,256}$/;

const metricName = z.string().regex(METRIC_NAME, "must be a Prometheus metric name");
const labelName = z
  .string()
  .regex(LABEL_NAME, "must be a Prometheus label name")
  .refine((s) => !s.startsWith("__"), "must not be a reserved (__) label");
const labelValue = z.string().regex(LABEL_VALUE, "must be 1–256 characters from [A-Za-z0-9._~:@+-/ ]");

/** The provider configuration schema (zod). */
export const prometheusConfigSchema = z.object({
  type: z.literal("prometheus"),
  /** Base URL of the Prometheus server, e.g. http://prometheus:9090 (no trailing /api). */
  url: z.url({ protocol: /^https?$/ }),
  /** Per-query timeout. Defaults to 5000 ms. */
  timeoutMs: z.number().int().positive().default(5000),
  /** The label telling the versions apart. Defaults to "version". */
  versionLabel: labelName.default("version"),
  canary: labelValue,
  baseline: labelValue,
  /** Extra equality matchers applied to every query (job, namespace, service…). */
  selectors: z.record(labelName, labelValue).default({}),
  requests: z
    .object({
      /** Counter of requests. Defaults to http_requests_total. */
      metric: metricName.default("http_requests_total"),
      /** The status-code label. Defaults to "code". */
      codeLabel: labelName.default("code"),
      /** Codes counted as errors (anchored regular expression). Defaults to ^5\d\d$. */
      errorCodes: z.string().default("^5\\d\\d$"),
    })
    .prefault({}),
  /** Latency histogram buckets; null when the service has none. */
  latency: z
    .object({
      metric: metricName.default("http_request_duration_seconds_bucket"),
      leLabel: labelName.default("le"),
    })
    .nullable()
    .prefault({}),
  /** User-defined counters (business KPIs), summed over series, by key. */
  counts: z.array(z.object({ key: z.string().min(1), metric: metricName })).default([]),
  /** How long a vanished series' last value is remembered (see PrometheusProvider). Defaults to 3600. */
  forgetSeriesAfterSeconds: z.number().positive().default(3600),
  /**
   * The range each tick's query reads samples over (`metric[…s]`). It must hold at least two
   * scrapes of every target and cover the gap after a failed query; longer gaps lose only the
   * detection of counter resets inside them. Defaults to 300 (Prometheus's lookback).
   */
  sampleWindowSeconds: z.number().int().min(10).max(3600).default(300),
  /** Extra HTTP headers (e.g. Authorization) sent with every query. */
  headers: z.record(z.string(), z.string()).default({}),
});

/** Validated Prometheus provider configuration. */
export type PrometheusConfig = z.output<typeof prometheusConfigSchema>;
/** What a plan may write (defaults optional). */
export type PrometheusConfigInput = z.input<typeof prometheusConfigSchema>;

/** Validates a provider configuration, naming the exact path of each problem. */
export function parsePrometheusConfig(input: unknown): PrometheusConfig {
  const r = prometheusConfigSchema.safeParse(input);
  if (!r.success) {
    throw new ProviderConfigError(`invalid prometheus provider config: ${formatIssues(r.error.issues)}`);
  }
  try {
    new RegExp(r.data.requests.errorCodes);
  } catch (e) {
    throw new ProviderConfigError(`invalid prometheus provider config: requests.errorCodes: not a regular expression (${(e as Error).message})`);
  }
  if (r.data.canary === r.data.baseline) {
    throw new ProviderConfigError(`invalid prometheus provider config: canary: must differ from baseline, both are "${r.data.canary}"`);
  }
  return r.data;
}

/** Escapes a label value for a double-quoted PromQL string (defence in depth; values are already validated). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A plain series selector `metric{a="x",b="y"}`: the only query shape this provider sends. */
export function selector(metric: string, matchers: Readonly<Record<string, string>>): string {
  if (!METRIC_NAME.test(metric)) throw new ProviderConfigError(`invalid metric name "${metric}"`);
  const parts = Object.keys(matchers)
    .sort()
    .map((k) => {
      if (!LABEL_NAME.test(k)) throw new ProviderConfigError(`invalid label name "${k}"`);
      return `${k}="${escapeLabelValue(matchers[k])}"`;
    });
  return `${metric}{${parts.join(",")}}`;
}

/** Thrown internally for one failed query; turned into a `queryFailed` measurement. */
class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueryError";
  }
}

const matrixResponse = z.object({
  status: z.literal("success"),
  data: z.object({
    resultType: z.literal("matrix"),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()), values: z.array(z.tuple([z.number(), z.string()])) })),
  }),
});

const targetsResponse = z.object({
  status: z.literal("success"),
  data: z.object({
    activeTargets: z.array(z.object({ labels: z.record(z.string(), z.string()), scrapeInterval: z.string().optional() })),
  }),
});

type QueryName = "requests" | "latency" | `count:${string}`;

type Version = "canary" | "baseline";

/** One series' samples as a range query returned them. */
interface RangeSeries {
  readonly labels: Labels;
  readonly samples: readonly (readonly [number, number])[];
}

/**
 * Reads cumulative counters from Prometheus and turns their samples into increments over
 * common, sample-aligned intervals. Keeps the per-series state in memory (its
 * {@link SampleAligner}); a driver that resumes starts with a priming read.
 */
export class PrometheusProvider implements MetricsProvider {
  /** Always "prometheus". */
  public readonly type = "prometheus";
  /** Readings are aligned to the samples' timestamps. */
  public readonly alignsToSamples = true;
  /** The validated configuration. */
  public readonly config: PrometheusConfig;
  private readonly aligner: SampleAligner;
  private primed = false;
  /** Versions that have had at least one requests series in any reading. */
  private readonly seen = new Set<Version>();
  private readonly errorCodes: RegExp;
  /** job/instance of every requests series seen, to find their targets' scrape interval. */
  private readonly targets = new Set<string>();

  constructor(
    config: PrometheusConfigInput,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.config = parsePrometheusConfig(config);
    this.errorCodes = new RegExp(this.config.requests.errorCodes);
    this.aligner = new SampleAligner({ forgetAfterSeconds: this.config.forgetSeriesAfterSeconds });
  }

  /** The exact PromQL selectors for a version (for logs, dashboards and tests); queries read them as ranges. */
  queries(version: Version): Record<QueryName, string> {
    const c = this.config;
    const matchers = { ...c.selectors, [c.versionLabel]: c[version] };
    const out: Record<string, string> = { requests: selector(c.requests.metric, matchers) };
    if (c.latency) out.latency = selector(c.latency.metric, matchers);
    for (const k of c.counts) out[`count:${k.key}`] = selector(k.metric, matchers);
    return out as Record<QueryName, string>;
  }

  /** Every query of the given versions over `seconds` before `at`: per version, per query name, the series. */
  private async readRanges(versions: readonly Version[], at: number, seconds: number): Promise<Map<Version, Map<QueryName, RangeSeries[]>>> {
    const out = new Map<Version, Map<QueryName, RangeSeries[]>>();
    await Promise.all(
      versions.map(async (v) => {
        const entries = await Promise.all(Object.entries(this.queries(v)).map(async ([name, q]) => [name as QueryName, await this.rangeQuery(q, at, seconds)] as const));
        out.set(v, new Map(entries));
      }),
    );
    return out;
  }

  /** See {@link MetricsProvider.measure}. */
  async measure(at: number): Promise<TickMeasurement> {
    let ranges: Map<Version, Map<QueryName, RangeSeries[]>>;
    try {
      ranges = await this.readRanges(["canary", "baseline"], at, this.config.sampleWindowSeconds);
    } catch (e) {
      // Nothing is consumed: the next successful reading covers the gap in full.
      return { kind: "queryFailed", end: at, error: e instanceof Error ? e.message : String(e) };
    }
    const samples: SeriesSamples[] = [];
    for (const [v, byQuery] of ranges) {
      for (const [q, series] of byQuery) {
        for (const s of series) {
          samples.push({ key: `${v}|${q}|${seriesKey(s.labels)}`, labels: s.labels, samples: s.samples });
          if (q === "requests") this.targets.add(`${s.labels.job ?? ""}|${s.labels.instance ?? ""}`);
        }
      }
    }
    const r = this.aligner.read(at, samples);
    // A version is missing when none of its requests series has a recent sample: never
    // scraped, wrong labels, or pods that stopped reporting (their old samples do not count).
    const liveRequests = (v: Version): boolean => [...r.live].some((k) => k.startsWith(`${v}|requests|`));
    const missing = (["canary", "baseline"] as const).filter((v) => !liveRequests(v));
    const neverSeen = missing.filter((v) => !this.seen.has(v) && (ranges.get(v)?.get("requests")?.length ?? 0) === 0);
    for (const v of ["canary", "baseline"] as const) if ((ranges.get(v)?.get("requests")?.length ?? 0) > 0) this.seen.add(v);
    if (!this.primed || r.kind === "priming") {
      this.primed = true;
      return { kind: "priming", end: at };
    }
    const counts = (v: Version): VersionCounts | undefined => (r.kind === "ok" ? this.countsOf(v, r.increments) : undefined);
    if (missing.length > 0) {
      const c = this.config;
      const detail = missing.map((v) => `${selector(c.requests.metric, { ...c.selectors, [c.versionLabel]: c[v] })} has no recent samples`).join("; ");
      const canary = missing.includes("canary") ? undefined : counts("canary");
      return { kind: "noValues", end: at, missing, neverSeen, detail, ...(canary && r.kind === "ok" ? { canary, start: r.start } : {}) };
    }
    if (r.kind === "pending") return { kind: "pending", end: at, since: r.since };
    return {
      kind: "ok",
      start: r.start,
      end: at,
      covers: { start: r.start, end: r.end },
      canary: counts("canary")!,
      baseline: counts("baseline")!,
      ...(r.notes.length ? { notes: [...r.notes] } : {}),
    };
  }

  /** See {@link MetricsProvider.readReference}. */
  async readReference(at: number, windowSeconds: number, intervalSeconds: number): Promise<ReferenceReading> {
    let ranges: Map<Version, Map<QueryName, RangeSeries[]>>;
    try {
      ranges = await this.readRanges(["baseline"], at, windowSeconds + 2 * intervalSeconds);
    } catch (e) {
      return { kind: "failed", error: e instanceof Error ? e.message : String(e) };
    }
    const samples: SeriesSamples[] = [];
    for (const [q, series] of ranges.get("baseline") ?? new Map<QueryName, RangeSeries[]>()) {
      for (const s of series) samples.push({ key: `baseline|${q}|${seriesKey(s.labels)}`, labels: s.labels, samples: s.samples });
    }
    const h = historyIncrements(samples, intervalSeconds, Math.floor(windowSeconds / intervalSeconds));
    if (!h) return { kind: "failed", error: `no baseline samples in the ${windowSeconds}s before ${at}` };
    return { kind: "ok", reference: { start: h.start, end: h.end, intervalSeconds, baseline: h.intervals.map((incs) => this.countsOf("baseline", incs)) } };
  }

  /** See {@link MetricsProvider.scrapeIntervalSeconds}. */
  async scrapeIntervalSeconds(at: number): Promise<number | undefined> {
    try {
      if (this.targets.size === 0) {
        const ranges = await this.readRanges(["canary", "baseline"], at, this.config.sampleWindowSeconds);
        for (const byQuery of ranges.values()) for (const s of byQuery.get("requests") ?? []) this.targets.add(`${s.labels.job ?? ""}|${s.labels.instance ?? ""}`);
      }
      const res = await this.fetchImpl(new URL("api/v1/targets?state=active", this.baseUrl()), { headers: this.config.headers, signal: AbortSignal.timeout(this.config.timeoutMs) });
      if (!res.ok) return undefined;
      const parsed = targetsResponse.safeParse(JSON.parse(await res.text()));
      if (!parsed.success) return undefined;
      let max: number | undefined;
      for (const t of parsed.data.data.activeTargets) {
        if (!this.targets.has(`${t.labels.job ?? ""}|${t.labels.instance ?? ""}`) || t.scrapeInterval === undefined) continue;
        const seconds = parseScrapeInterval(t.scrapeInterval);
        if (seconds !== undefined) max = Math.max(max ?? 0, seconds);
      }
      return max;
    } catch {
      return undefined;
    }
  }

  private baseUrl(): string {
    return this.config.url.endsWith("/") ? this.config.url : `${this.config.url}/`;
  }

  /** Sums a version's increments (keyed `version|query|series`) into its counts. */
  private countsOf(version: Version, increments: readonly (SeriesReading & { readonly key: string })[]): VersionCounts {
    const c = this.config;
    const byQuery = new Map<string, SeriesReading[]>();
    for (const inc of increments) {
      const [v, q] = inc.key.split("|", 2);
      if (v !== version) continue;
      const list = byQuery.get(q) ?? [];
      list.push(inc);
      byQuery.set(q, list);
    }
    let requests = 0;
    let errors = 0;
    // Series that differ only in the status code belong to one pod (or instance): their
    // spread of error rates is what the judge's overdispersion estimate uses.
    const groups = new Map<string, { requests: number; errors: number }>();
    for (const s of byQuery.get("requests") ?? []) {
      const isError = this.errorCodes.test(s.labels[c.requests.codeLabel] ?? "");
      requests += s.value;
      if (isError) errors += s.value;
      const { [c.requests.codeLabel]: _code, ...rest } = s.labels;
      const key = seriesKey(rest);
      const g = groups.get(key) ?? { requests: 0, errors: 0 };
      g.requests += s.value;
      if (isError) g.errors += s.value;
      groups.set(key, g);
    }
    const out: { requests: number; errors: number; bySeries: { requests: number; errors: number }[]; latencyBuckets?: LatencyBucket[]; counts?: Record<string, number> } = {
      requests,
      errors,
      bySeries: [...groups.values()],
    };
    if (c.latency) {
      const leLabel = c.latency.leLabel;
      const byLe = new Map<number, number>();
      for (const s of byQuery.get("latency") ?? []) {
        const le = parseLe(s.labels, leLabel);
        if (le !== undefined) byLe.set(le, (byLe.get(le) ?? 0) + s.value);
      }
      if (byLe.size > 0) out.latencyBuckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
    }
    if (c.counts.length > 0) {
      out.counts = {};
      for (const k of c.counts) out.counts[k.key] = (byQuery.get(`count:${k.key}`) ?? []).reduce((a, s) => a + s.value, 0);
    }
    return out;
  }

  /** `query[seconds s]` at `at`: every series' raw samples in the range. */
  private async rangeQuery(query: string, at: number, seconds: number): Promise<RangeSeries[]> {
    const q = `${query}[${Math.round(seconds)}s]`;
    const url = new URL("api/v1/query", this.baseUrl());
    const body = new URLSearchParams({ query: q, time: at.toFixed(3) });
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...this.config.headers },
        body,
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      const why = err.name === "TimeoutError" ? `timed out after ${this.config.timeoutMs} ms` : `${err.message}${err.cause?.code ? ` (${err.cause.code})` : ""}`;
      throw new QueryError(`query ${q} at ${at}: ${why}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new QueryError(`query ${q} at ${at}: reading the response failed: ${(e as Error).message}`);
    }
    if (!res.ok) throw new QueryError(`query ${q} at ${at}: HTTP ${res.status}: ${text.slice(0, 200)}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new QueryError(`query ${q} at ${at}: response is not JSON: ${text.slice(0, 200)}`);
    }
    const parsed = matrixResponse.safeParse(json);
    if (!parsed.success) throw new QueryError(`query ${q} at ${at}: unexpected response shape: ${text.slice(0, 200)}`);
    return parsed.data.data.result.map((r) => {
      const labels: Record<string, string> = { ...r.metric };
      delete labels.__name__;
      return { labels, samples: r.values.map(([t, v]) => [t, Number(v)] as const) };
    });
  }
}

/** A target's scrape interval as Prometheus reports it ("15s", "1m", "1m30s"), in seconds; undefined when unreadable. */
export function parseScrapeInterval(text: string): number | undefined {
  const m = /^((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/.exec(text);
  if (!m || text === "") return undefined;
  const [h, min, sec, ms] = [m[2], m[4], m[6], m[8]].map((x) => Number(x ?? 0));
  const total = h * 3600 + min * 60 + sec + ms / 1000;
  return total > 0 ? total : undefined;
}

function parseLe(labels: Labels, leLabel: string): number | undefined {
  const raw = labels[leLabel];
  if (raw === undefined) return undefined;
  if (raw === "+Inf") return Infinity;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** Provider configurations the factory knows. */
export type ProviderConfigInput = PrometheusConfigInput;

/** Creates the provider a plan names; throws on an unknown type instead of guessing. */
export function createMetricsProvider(config: { readonly type: string } & Record<string, unknown>): MetricsProvider {
  switch (config.type) {
    case "prometheus":
      return new PrometheusProvider(config as unknown as PrometheusConfigInput);
    default:
      throw new ProviderConfigError(`unknown metrics provider type "${config.type}" (known: prometheus)`);
  }
}
