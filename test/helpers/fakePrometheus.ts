/**
 * A stand-in for Prometheus's HTTP API as the metrics provider uses it: `/api/v1/query` with
 * a plain selector or a range selector (`metric{a="x"}[300s]`) at an explicit `time`, and
 * `/api/v1/targets`. It holds series as timestamped samples, answers from them exactly as
 * Prometheus would (a range returns the samples in (time − range, time]), and records what
 * it was asked. Usable as an injected `fetch` (unit tests) or served over HTTP (integration).
 */
import http from "node:http";
import net from "node:net";

/** One stored series. */
interface Stored {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: [number, number][];
}

/** A target as /api/v1/targets reports it. */
export interface FakeTarget {
  readonly job: string;
  readonly instance: string;
  readonly scrapeInterval: string;
}

/** What the fake does with the next requests. */
export type FakeMode = "ok" | "hang" | "http500" | "notJson" | "error";

/** Parses `name{a="x",b="y"}` or `name{…}[300s]`: the only query shapes the provider sends. */
function parseQuery(query: string): { name: string; matchers: Record<string, string>; range?: number } {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}(?:\[(\d+)s\])?$/.exec(query);
  if (!m) throw new Error(`fake prometheus: unsupported query ${query}`);
  const matchers: Record<string, string> = {};
  for (const part of m[2] ? m[2].split(",") : []) {
    const kv = /^([a-zA-Z_][a-zA-Z0-9_]*)="(.*)"$/.exec(part);
    if (!kv) throw new Error(`fake prometheus: unsupported matcher ${part}`);
    matchers[kv[1]] = kv[2];
  }
  return { name: m[1], matchers, ...(m[3] ? { range: Number(m[3]) } : {}) };
}

export class FakePrometheus {
  /** Every query asked, with its time. */
  readonly asked: { query: string; time: string }[] = [];
  mode: FakeMode = "ok";
  targets: FakeTarget[] = [];
  private readonly series: Stored[] = [];
  private server: http.Server | undefined;
  url = "http://prometheus.invalid";

  /** Adds samples [time, value] to the series `name{labels}` (created on first use). */
  add(name: string, labels: Readonly<Record<string, string>>, samples: readonly (readonly [number, number])[]): void {
    const key = JSON.stringify([name, Object.entries(labels).sort()]);
    let s = this.series.find((x) => JSON.stringify([x.name, Object.entries(x.labels).sort()]) === key);
    if (!s) {
      s = { name, labels, samples: [] };
      this.series.push(s);
    }
    s.samples.push(...samples.map((x) => [x[0], x[1]] as [number, number]));
    s.samples.sort((a, b) => a[0] - b[0]);
  }

  /** The response to one API request: status and body. `undefined` means never answer. */
  private answer(path: string, params: URLSearchParams): { status: number; body: string } | undefined {
    if (this.mode === "hang") return undefined;
    if (this.mode === "http500") return { status: 500, body: "boom" };
    if (this.mode === "notJson") return { status: 200, body: "<html>" };
    if (this.mode === "error") return { status: 200, body: JSON.stringify({ status: "error", errorType: "bad_data", error: "parse error" }) };
    if (path.endsWith("/api/v1/targets")) {
      const activeTargets = this.targets.map((t) => ({ labels: { job: t.job, instance: t.instance }, scrapeInterval: t.scrapeInterval, health: "up" }));
      return { status: 200, body: JSON.stringify({ status: "success", data: { activeTargets, droppedTargets: [] } }) };
    }
    const query = params.get("query") ?? "";
    const time = params.get("time") ?? "";
    this.asked.push({ query, time });
    const q = parseQuery(query);
    const at = Number(time);
    const matching = this.series.filter((s) => s.name === q.name && Object.entries(q.matchers).every(([k, v]) => s.labels[k] === v));
    const metric = (s: Stored): Record<string, string> => ({ __name__: s.name, ...s.labels });
    if (q.range !== undefined) {
      const result = matching
        .map((s) => ({ metric: metric(s), values: s.samples.filter(([t]) => t > at - q.range! && t <= at).map(([t, v]) => [t, String(v)]) }))
        .filter((r) => r.values.length > 0);
      return { status: 200, body: JSON.stringify({ status: "success", data: { resultType: "matrix", result } }) };
    }
    // An instant selector: the latest sample within 5 minutes (Prometheus's lookback).
    const result = matching.flatMap((s) => {
      const last = s.samples.filter(([t]) => t <= at && t > at - 300).pop();
      return last ? [{ metric: metric(s), value: [at, String(last[1])] }] : [];
    });
    return { status: 200, body: JSON.stringify({ status: "success", data: { resultType: "vector", result } }) };
  }

  /** A `fetch` answering from this fake without any network (for unit tests). */
  readonly fetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const params = new URLSearchParams(typeof init?.body === "string" ? init.body : init?.body instanceof URLSearchParams ? init.body.toString() : url.search);
    const a = this.answer(url.pathname, params);
    if (!a) {
      // Never answers: wait for the caller's abort signal, as fetch does.
      return new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
      });
    }
    return new Response(a.body, { status: a.status, headers: { "content-type": "application/json" } });
  }) as typeof fetch;

  /** Serves the fake on 127.0.0.1 at a free port (integration tests); sets `url`. */
  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://x");
        const a = this.answer(url.pathname, new URLSearchParams(body || url.search));
        if (!a) return; // never answers
        res.writeHead(a.status, { "content-type": "application/json" });
        res.end(a.body);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }
}
