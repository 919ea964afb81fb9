/**
 * The raw series for the report, from Prometheus when it is reachable: the same counters the
 * judge reads (the provider's own selectors, so the report and the judge can never disagree on
 * what "errors" means), fetched over the whole rollout with `query_range` and differenced per
 * step here, with counter resets handled. Display only: decisions never come from here.
 */
import { z } from "zod";
import { PrometheusConfig, PrometheusProvider } from "../analysis/prometheus";
import { TraceCounts } from "./trace";

/** Counts per step for both versions: from Prometheus, or from the judge's own ticks. */
export interface CountSeries {
  /** Where the counts come from. */
  readonly source: "prometheus" | "ticks";
  /** Step length, seconds (the tick length for `ticks`). */
  readonly stepSeconds: number;
  /** Per step: its end (Unix seconds) and what each version served during it (`null`: no data). */
  readonly points: readonly { readonly t: number; readonly canary: TraceCounts | null; readonly baseline: TraceCounts | null }[];
}

const matrixResponse = z.object({
  status: z.literal("success"),
  data: z.object({
    resultType: z.literal("matrix"),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()), values: z.array(z.tuple([z.number(), z.string()])) })),
  }),
});

type Matrix = z.output<typeof matrixResponse>["data"]["result"];

/** Per step time, the increase of each series (resets: the new value), keyed by step time. */
function increases(series: Matrix[number]): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 1; i < series.values.length; i++) {
    const [t, raw] = series.values[i]!;
    const [tPrev, rawPrev] = series.values[i - 1]!;
    const v = Number(raw);
    const prev = Number(rawPrev);
    if (!Number.isFinite(v) || !Number.isFinite(prev)) continue;
    // A gap (stale series) is not one step's increase: it is skipped rather than spiked.
    if (t - tPrev > 0) out.set(t, v >= prev ? v - prev : v);
  }
  return out;
}

/**
 * Sums a version's request and latency matrices into per-step counts (pure). `errorCodes` is the
 * provider's anchored regular expression on the code label.
 */
export function countsFromMatrices(times: readonly number[], requests: Matrix, latency: Matrix | undefined, config: Pick<PrometheusConfig, "requests" | "latency">): (TraceCounts | null)[] {
  const errorCodes = new RegExp(config.requests.errorCodes);
  const perStep = times.map(() => ({ requests: 0, errors: 0, seen: false, latency: new Map<number, number>() }));
  const index = new Map(times.map((t, i) => [t, i]));
  for (const s of requests) {
    const isError = errorCodes.test(s.metric[config.requests.codeLabel] ?? "");
    for (const [t, inc] of increases(s)) {
      const p = perStep[index.get(t) ?? -1];
      if (!p) continue;
      p.seen = true;
      p.requests += inc;
      if (isError) p.errors += inc;
    }
  }
  const leLabel = config.latency?.leLabel ?? "le";
  for (const s of latency ?? []) {
    const raw = s.metric[leLabel];
    const le = raw === "+Inf" ? Infinity : Number(raw);
    if (raw === undefined || Number.isNaN(le)) continue;
    for (const [t, inc] of increases(s)) {
      const p = perStep[index.get(t) ?? -1];
      if (p) p.latency.set(le, (p.latency.get(le) ?? 0) + inc);
    }
  }
  return perStep.map((p) =>
    p.seen
      ? {
          requests: p.requests,
          errors: p.errors,
          ...(p.latency.size > 0 ? { latency: [...p.latency.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le: Number.isFinite(le) ? le : null, count })) } : {}),
        }
      : null,
  );
}

/** Asks Prometheus for the raw series; see the module comment. */
export async function fetchCountSeries(
  provider: PrometheusProvider,
  window: { readonly start: number; readonly end: number; readonly stepSeconds: number },
  fetchImpl: typeof fetch = fetch,
): Promise<CountSeries> {
  const c = provider.config;
  const step = Math.max(1, Math.round(window.stepSeconds));
  const start = Math.floor(window.start / step) * step;
  const end = Math.ceil(window.end / step) * step;
  const times: number[] = [];
  // Prometheus answers at start, start + step, … end; each step's increase ends at its time.
  for (let t = start + step; t <= end; t += step) times.push(t);
  const range = async (query: string): Promise<Matrix> => {
    const url = new URL("api/v1/query_range", c.url.endsWith("/") ? c.url : `${c.url}/`);
    const res = await fetchImpl(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...c.headers },
      body: new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) }),
      signal: AbortSignal.timeout(c.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`query_range ${query}: HTTP ${res.status}: ${text.slice(0, 200)}`);
    const parsed = matrixResponse.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`query_range ${query}: unexpected response shape: ${text.slice(0, 200)}`);
    return parsed.data.data.result;
  };
  const read = async (version: "canary" | "baseline"): Promise<(TraceCounts | null)[]> => {
    const q = provider.queries(version);
    const [requests, latency] = await Promise.all([range(q.requests), q.latency !== undefined ? range(q.latency) : Promise.resolve(undefined)]);
    return countsFromMatrices(times, requests, latency, c);
  };
  const [canary, baseline] = await Promise.all([read("canary"), read("baseline")]);
  return { source: "prometheus", stepSeconds: step, points: times.map((t, i) => ({ t, canary: canary[i] ?? null, baseline: baseline[i] ?? null })) };
}
