/**
 * Local stand-ins for PagerDuty's Events API v2 and Grafana's annotations API. Each checks every
 * request's shape against the documented API and answers as the real service does, so a test
 * fails on a malformed request rather than on a receiver that accepts anything:
 * - PagerDuty, after its Events API v2 reference (`POST /v2/enqueue`): `routing_key` and
 *   `event_action` (trigger | acknowledge | resolve) required; `dedup_key` required unless
 *   triggering, at most 255 characters; a trigger needs `payload` with `summary` (at most 1024
 *   characters), `source` and `severity` (critical | error | warning | info), optional
 *   `timestamp` (ISO 8601), `component`, `group`, `class` and an object `custom_details`.
 *   Answers 202 `{status: "success", message: "Event processed", dedup_key}`, or 400 with
 *   `errors`.
 * - Grafana, after its HTTP API reference (`POST /api/annotations`): JSON body with `text`
 *   (required, non-empty), `time` and optional `timeEnd` in epoch milliseconds, `tags` (strings),
 *   optional `dashboardUID` and `panelId`; `Authorization: Bearer <token>`. Answers 200
 *   `{message: "Annotation added", id}`, 401 without the token, 400 for a bad body. Also answers
 *   `GET /api/annotations?tags=a&tags=b` (AND of tags), as a dashboard's tag query asks.
 */
import * as http from "node:http";
import { AddressInfo } from "node:net";
import Ajv from "ajv";

/** One request as received, with the shape problems found (empty when it matched the API). */
export interface Checked {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
  readonly problems: readonly string[];
}

/** A scripted answer that replaces the normal one (a failing or throttling service). */
export interface Override {
  readonly status: number;
  readonly body: string;
}

// strictRequired off: the conditional `required` below names properties declared at the top level.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });

const PAGERDUTY_EVENT = ajv.compile({
  type: "object",
  required: ["routing_key", "event_action"],
  additionalProperties: false,
  properties: {
    routing_key: { type: "string", minLength: 1 },
    event_action: { enum: ["trigger", "acknowledge", "resolve"] },
    dedup_key: { type: "string", minLength: 1, maxLength: 255 },
    client: { type: "string" },
    client_url: { type: "string" },
    links: { type: "array", items: { type: "object", required: ["href"], properties: { href: { type: "string" }, text: { type: "string" } } } },
    images: { type: "array", items: { type: "object", required: ["src"], properties: { src: { type: "string" }, href: { type: "string" }, alt: { type: "string" } } } },
    payload: {
      type: "object",
      required: ["summary", "source", "severity"],
      additionalProperties: false,
      properties: {
        summary: { type: "string", minLength: 1, maxLength: 1024 },
        source: { type: "string", minLength: 1 },
        severity: { enum: ["critical", "error", "warning", "info"] },
        timestamp: { type: "string", pattern: "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:?\\d\\d)$" },
        component: { type: "string" },
        group: { type: "string" },
        class: { type: "string" },
        custom_details: { type: "object" },
      },
    },
  },
  allOf: [
    { if: { properties: { event_action: { const: "trigger" } } }, then: { required: ["payload"] }, else: { required: ["dedup_key"] } },
  ],
});

const GRAFANA_ANNOTATION = ajv.compile({
  type: "object",
  required: ["text"],
  additionalProperties: false,
  properties: {
    dashboardUID: { type: "string" },
    panelId: { type: "integer", minimum: 0 },
    time: { type: "integer", minimum: 0 },
    timeEnd: { type: "integer", minimum: 0 },
    text: { type: "string", minLength: 1 },
    tags: { type: "array", items: { type: "string", minLength: 1 } },
    data: { type: "object" },
  },
});

/** Problems of a JSON body, in ajv's words, or of the content type. */
function problemsOf(validate: ReturnType<typeof ajv.compile>, headers: http.IncomingHttpHeaders, raw: string): { body: unknown; problems: string[] } {
  const problems: string[] = [];
  if (!/^application\/json\b/.test(headers["content-type"] ?? "")) problems.push(`content-type must be application/json, got ${String(headers["content-type"])}`);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { body: raw, problems: [...problems, "body is not JSON"] };
  }
  if (!validate(body)) problems.push(...(validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`));
  return { body, problems };
}

/** A small HTTP server base: records requests, answers through `handle`, stops cleanly. */
abstract class LocalService {
  readonly requests: Checked[] = [];
  /** Answers used first, in order (then the normal answer). */
  readonly overrides: Override[] = [];
  base = "";
  private server?: http.Server;
  private waiters: { n: number; resolve: () => void }[] = [];

  protected abstract handle(method: string, url: URL, headers: http.IncomingHttpHeaders, raw: string): { status: number; json: unknown; checked?: Checked };

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://localhost");
        const { status, json, checked } = this.handle(req.method ?? "", url, req.headers, Buffer.concat(chunks).toString("utf8"));
        if (checked) {
          this.requests.push(checked);
          this.waiters = this.waiters.filter((w) => (this.requests.length >= w.n ? (w.resolve(), false) : true));
        }
        const override = checked ? this.overrides.shift() : undefined;
        if (override) res.writeHead(override.status, { "content-type": "application/json" }).end(override.body);
        else res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves once `n` checked requests have arrived. */
  waitForRequests(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}

/** PagerDuty's Events API v2 on 127.0.0.1; see the module comment. */
export class LocalPagerDuty extends LocalService {
  /** The endpoint to configure (`endpoint:`). */
  get endpoint(): string {
    return `${this.base}/v2/enqueue`;
  }

  /** The accepted events, in order. */
  events(): Record<string, unknown>[] {
    return this.requests.filter((r) => r.problems.length === 0).map((r) => r.body as Record<string, unknown>);
  }

  protected handle(method: string, url: URL, headers: http.IncomingHttpHeaders, raw: string): { status: number; json: unknown; checked?: Checked } {
    if (method !== "POST" || url.pathname !== "/v2/enqueue") return { status: 404, json: { status: "not found", message: `${method} ${url.pathname}` } };
    const { body, problems } = problemsOf(PAGERDUTY_EVENT, headers, raw);
    const checked: Checked = { method, path: url.pathname, headers, body, problems };
    if (problems.length > 0) return { status: 400, json: { status: "invalid event", message: "Event object is invalid", errors: problems }, checked };
    return { status: 202, json: { status: "success", message: "Event processed", dedup_key: (body as { dedup_key?: string }).dedup_key ?? "generated" }, checked };
  }
}

/** Grafana's annotations API on 127.0.0.1; see the module comment. */
export class LocalGrafana extends LocalService {
  private nextId = 1;
  /** Annotations stored, with their ids. */
  readonly annotations: { id: number; time: number; text: string; tags: string[] }[] = [];

  constructor(private readonly token: string) {
    super();
  }

  protected handle(method: string, url: URL, headers: http.IncomingHttpHeaders, raw: string): { status: number; json: unknown; checked?: Checked } {
    if (url.pathname !== "/api/annotations") return { status: 404, json: { message: "Not found" } };
    if (headers.authorization !== `Bearer ${this.token}`) {
      return { status: 401, json: { message: "Unauthorized" }, checked: { method, path: url.pathname, headers, body: raw, problems: ["missing or wrong bearer token"] } };
    }
    if (method === "GET") {
      const tags = url.searchParams.getAll("tags");
      return { status: 200, json: this.annotations.filter((a) => tags.every((t) => a.tags.includes(t))) };
    }
    if (method !== "POST") return { status: 405, json: { message: "Method not allowed" } };
    const { body, problems } = problemsOf(GRAFANA_ANNOTATION, headers, raw);
    const checked: Checked = { method, path: url.pathname, headers, body, problems };
    if (problems.length > 0) return { status: 400, json: { message: problems.join("; ") }, checked };
    const a = body as { time?: number; text: string; tags?: string[] };
    const id = this.nextId++;
    this.annotations.push({ id, time: a.time ?? Date.now(), text: a.text, tags: a.tags ?? [] });
    return { status: 200, json: { message: "Annotation added", id }, checked };
  }
}
