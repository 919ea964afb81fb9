/** A minimal client for Prometheus's HTTP API (instant queries at an explicit time). */

/** One series of an instant-vector result. */
export interface Sample {
  readonly metric: Record<string, string>;
  /** Sample timestamp, epoch seconds. */
  readonly time: number;
  readonly value: number;
}

/** Thrown when the query fails (transport, HTTP status, or Prometheus's own error). */
export class PrometheusQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PrometheusQueryError";
  }
}

/**
 * Evaluates `query` at `timeSeconds` (epoch seconds; the server's "now" when omitted) through
 * `/api/v1/query` and returns the instant vector. An empty vector is a valid answer (no data),
 * distinct from a failed query, which throws.
 */
export async function queryInstant(baseUrl: string, query: string, timeSeconds?: number, timeoutMs = 5000): Promise<Sample[]> {
  const params = new URLSearchParams({ query });
  if (timeSeconds !== undefined) params.set("time", timeSeconds.toFixed(3));
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/api/v1/query?${params}`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new PrometheusQueryError(`${baseUrl} query ${JSON.stringify(query)}: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => undefined)) as
    | { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } }
    | undefined;
  if (!res.ok || body?.status !== "success" || !body.data) {
    throw new PrometheusQueryError(`${baseUrl} query ${JSON.stringify(query)}: HTTP ${res.status} ${body?.error ?? ""}`.trim());
  }
  if (body.data.resultType !== "vector") throw new PrometheusQueryError(`query ${JSON.stringify(query)}: expected a vector, got ${body.data.resultType}`);
  return body.data.result.map((r) => ({ metric: r.metric, time: r.value[0], value: Number(r.value[1]) }));
}
