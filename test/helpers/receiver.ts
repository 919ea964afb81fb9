/**
 * A local HTTP server standing in for Slack or a webhook receiver: it records every request and
 * answers from a script, or holds requests until released (a receiver that never answers).
 */
import * as http from "node:http";
import { AddressInfo } from "node:net";

/** One request as received. */
export interface Received {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** An answer: a status and a body, or a function of the request. */
export type Answer = { readonly status: number; readonly body?: string } | ((r: Received, base: string) => { readonly status: number; readonly body?: string });

/** The receiver; `start` it, `stop` it in `after`/`finally`. */
export class Receiver {
  readonly requests: Received[] = [];
  /** Answers in order; when empty, `fallback`. */
  readonly script: Answer[] = [];
  fallback: Answer = { status: 200, body: "ok" };
  /** When true, requests are held unanswered until {@link release}. */
  holding = false;
  private held: (() => void)[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  private server?: http.Server;
  base = "";

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const r: Received = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
        this.requests.push(r);
        this.waiters = this.waiters.filter((w) => (this.requests.length >= w.n ? (w.resolve(), false) : true));
        const answer = (): void => {
          const a = this.script.shift() ?? this.fallback;
          const { status, body } = typeof a === "function" ? a(r, this.base) : a;
          res.writeHead(status, { "content-type": "text/plain" }).end(body ?? "");
        };
        if (this.holding) this.held.push(answer);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves once `n` requests have arrived. */
  waitForRequests(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Answers every held request and stops holding. */
  release(): void {
    this.holding = false;
    this.held.splice(0).forEach((a) => a());
  }

  /** The bodies received, parsed as JSON. */
  json(): unknown[] {
    return this.requests.map((r) => JSON.parse(r.body) as unknown);
  }

  async stop(): Promise<void> {
    this.release();
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}

/** Runs `f` with started receivers and always stops them. */
export async function withReceivers<T>(n: number, f: (...r: Receiver[]) => Promise<T>): Promise<T> {
  const receivers: Receiver[] = [];
  try {
    for (let i = 0; i < n; i++) receivers.push(await new Receiver().start());
    return await f(...receivers);
  } finally {
    await Promise.all(receivers.map((r) => r.stop()));
  }
}
