/**
 * An open-model load generator: requests leave on a fixed schedule (`rps` per second for
 * `durationSeconds`) whether or not earlier responses have come back, as real users do, so a
 * slow canary shows up as latency and queueing rather than as a lower request rate.
 *
 * Each request carries a user id drawn from a population (header or cookie, the stickiness
 * key), and a configurable share carries the override or a segment's header/cookie. Responses
 * are counted per version (`x-version`), status and route class.
 */
import * as http from "node:http";
import { performance } from "node:perf_hooks";
import { RequestMatch, StickinessKey } from "../components/routing";

/** A share of requests that carries a route's match. */
export interface MatchShare {
  /** The route's name (`override` or the segment's name); counts are kept per name. */
  readonly name: string;
  readonly match: RequestMatch;
  /** Fraction of all requests, 0–1. */
  readonly share: number;
}

/** What to send. */
export interface LoadOptions {
  /** The traffic frontend, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  /** Requests per second (the schedule; not a cap on concurrency). */
  readonly rps: number;
  readonly durationSeconds: number;
  /** Size of the user population ids are drawn from (uniformly). Defaults to 1000. */
  readonly users?: number;
  /** Where the user id goes. Defaults to header `x-user-id`; `null` sends none. */
  readonly userKey?: StickinessKey | null;
  /** Route shares (override, segments); their total must be ≤ 1, the rest is default traffic. */
  readonly shares?: readonly MatchShare[];
  /** Seed of the user/route draws, for reproducible runs. Defaults to 1. */
  readonly seed?: number;
  /** Per-request timeout in ms. Defaults to 10000. */
  readonly timeoutMs?: number;
  /** Called for every finished request (success or error), in completion order. */
  readonly onResponse?: (r: RequestRecord) => void;
  /** Keep every record in the result (memory grows with the run). Defaults to false. */
  readonly keepRecords?: boolean;
  /** Stops scheduling new requests when aborted; outstanding ones still complete. */
  readonly signal?: AbortSignal;
}

/** One request's outcome. */
export interface RequestRecord {
  readonly index: number;
  readonly user: string;
  /** `default`, or the name of the share whose match it carried. */
  readonly route: string;
  /** Epoch ms (sub-ms precision) when it was sent and when the response ended. */
  readonly sentAt: number;
  readonly receivedAt: number;
  /** HTTP status; 0 when the request failed without a response. */
  readonly status: number;
  /** `x-version`, when the response had one. */
  readonly version?: string;
  /** `x-received-at` from the service: when the instance got the request (epoch ms). */
  readonly appReceivedAt?: number;
  /** The transport error, when there was no response. */
  readonly error?: string;
}

/** Counts for one route class (or for all requests). */
export interface Counts {
  total: number;
  byVersion: Record<string, number>;
  byStatus: Record<string, number>;
  /** Per version, per status: `byVersionStatus.v2["500"]`. */
  byVersionStatus: Record<string, Record<string, number>>;
}

/** The outcome of a run. */
export interface LoadResult {
  /** Requests sent (the schedule), all of which completed or failed before this resolved. */
  readonly sent: number;
  readonly all: Counts;
  readonly byRoute: Record<string, Counts>;
  /** Transport errors (no response), by message. */
  readonly errors: Record<string, number>;
  /** Every version each user saw. */
  readonly versionsByUser: Map<string, Set<string>>;
  /** Worst lateness of a send against its schedule, in ms (event-loop stalls show here). */
  readonly maxLagMs: number;
  readonly elapsedSeconds: number;
  readonly records?: RequestRecord[];
}

/** A small seeded PRNG (mulberry32), so a run's users and routes are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Thrown for options a run cannot honour. */
export class LoadOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoadOptionsError";
  }
}

function newCounts(): Counts {
  return { total: 0, byVersion: {}, byStatus: {}, byVersionStatus: {} };
}

function count(c: Counts, version: string, status: string): void {
  c.total++;
  c.byVersion[version] = (c.byVersion[version] ?? 0) + 1;
  c.byStatus[status] = (c.byStatus[status] ?? 0) + 1;
  (c.byVersionStatus[version] ??= {})[status] = (c.byVersionStatus[version][status] ?? 0) + 1;
}

/** The headers for one request: the user's stickiness key plus the chosen route's match. */
export function requestHeaders(user: string, userKey: StickinessKey | null, match: RequestMatch | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const m of [userKey ? { ...userKey, value: user } : undefined, match]) {
    if (!m) continue;
    if (m.kind === "header") headers[m.name.toLowerCase()] = m.value;
    else cookies.push(`${m.name}=${m.value}`);
  }
  if (cookies.length > 0) headers.cookie = cookies.join("; ");
  return headers;
}

/** Runs the schedule to the end (or until aborted) and waits for every response. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  if (!(o.rps > 0 && o.rps <= 5000)) throw new LoadOptionsError(`rps must be in (0, 5000], got ${o.rps}`);
  if (!(o.durationSeconds > 0 && o.durationSeconds <= 3600)) throw new LoadOptionsError(`durationSeconds must be in (0, 3600], got ${o.durationSeconds}`);
  const shares = o.shares ?? [];
  const shareTotal = shares.reduce((s, m) => s + m.share, 0);
  if (shares.some((s) => s.share < 0) || shareTotal > 1 + 1e-9) throw new LoadOptionsError(`shares must be ≥ 0 and sum to at most 1, got ${shareTotal}`);
  const users = o.users ?? 1000;
  const userKey = o.userKey === undefined ? { kind: "header" as const, name: "x-user-id" } : o.userKey;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const rng = seededRandom(o.seed ?? 1);
  const url = new URL(o.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

  const total = Math.round(o.rps * o.durationSeconds);
  const all = newCounts();
  const byRoute: Record<string, Counts> = {};
  const errors: Record<string, number> = {};
  const versionsByUser = new Map<string, Set<string>>();
  const records: RequestRecord[] | undefined = o.keepRecords ? [] : undefined;
  let outstanding = 0;
  let maxLagMs = 0;
  let sent = 0;
  let scheduleDone = false;
  let allSent!: () => void;
  const drained = new Promise<void>((r) => (allSent = r));

  const finish = (rec: RequestRecord): void => {
    const version = rec.version ?? (rec.status === 0 ? "none" : "unknown");
    const status = String(rec.status);
    count(all, version, status);
    count((byRoute[rec.route] ??= newCounts()), version, status);
    if (rec.error) errors[rec.error] = (errors[rec.error] ?? 0) + 1;
    if (rec.version) {
      let seen = versionsByUser.get(rec.user);
      if (!seen) versionsByUser.set(rec.user, (seen = new Set()));
      seen.add(rec.version);
    }
    records?.push(rec);
    o.onResponse?.(rec);
    if (--outstanding === 0 && scheduleDone) allSent();
  };

  const fire = (index: number): void => {
    const user = `u${Math.floor(rng() * users)}`;
    const u = rng();
    let acc = 0;
    const chosen = shares.find((s) => u < (acc += s.share));
    const route = chosen?.name ?? "default";
    const sentAt = performance.timeOrigin + performance.now();
    outstanding++;
    sent++;
    let done = false;
    const once = (r: Omit<RequestRecord, "index" | "user" | "route" | "sentAt" | "receivedAt">): void => {
      if (done) return;
      done = true;
      finish({ index, user, route, sentAt, receivedAt: performance.timeOrigin + performance.now(), ...r });
    };
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: "GET", agent, headers: requestHeaders(user, userKey, chosen?.match) },
      (res) => {
        res.resume();
        res.on("end", () => {
          const v = res.headers["x-version"];
          const at = res.headers["x-received-at"];
          once({ status: res.statusCode ?? 0, version: typeof v === "string" ? v : undefined, appReceivedAt: typeof at === "string" ? Number(at) : undefined });
        });
        res.on("error", (e) => once({ status: 0, error: e.message }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", (e) => once({ status: 0, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  };

  const interval = 1000 / o.rps;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let i = 0;
    const tick = (): void => {
      const now = performance.now();
      // Catch up on every request that is due: the schedule, not the responses, sets the pace.
      while (i < total && t0 + i * interval <= now && !o.signal?.aborted) {
        maxLagMs = Math.max(maxLagMs, now - (t0 + i * interval));
        fire(i++);
      }
      if (i >= total || o.signal?.aborted) return resolve();
      setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    tick();
  });
  scheduleDone = true;
  if (outstanding === 0) allSent();
  await drained;
  agent.destroy();
  return { sent, all, byRoute, errors, versionsByUser, maxLagMs, elapsedSeconds: (performance.now() - t0) / 1000, records };
}
