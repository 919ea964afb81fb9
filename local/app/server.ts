/**
 * The sample service: one version of a tiny HTTP service, run as its own process
 * (`tsx local/app/server.ts --version v2 --port 8081`) so that a crash is a real crash.
 *
 * - `/` (any path outside the reserved ones): 200 with `x-version: <version>`.
 * - `/health`: 200 "ok" (HAProxy's health check; not counted in the request metrics).
 * - `/metrics`: `http_requests_total{version,code}` and `http_request_duration_seconds`.
 * - `/admin/fault`: GET the current fault, POST a new one (JSON, replaces), DELETE to clear.
 */
import * as http from "node:http";
import { performance } from "node:perf_hooks";
import { Command, InvalidArgumentError } from "commander";
import { Counter, Histogram, Registry } from "prom-client";
import { addedDelayMs, Fault, parseFault, shouldFail } from "./faults";

/**
 * Latency buckets (seconds) around typical SLOs: fine below 100 ms where healthy requests
 * live, and edges at 0.25/0.5/1 s so "slower than 500 ms" and the 1 s p99 guardrail are exact
 * bucket counts rather than interpolations.
 */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** How to run one instance. */
export interface AppOptions {
  readonly version: string;
  readonly port: number;
  readonly host: string;
  /** A fault applied at startup (e.g. a slow start), as JSON. */
  readonly fault?: unknown;
}

/** Starts the service and resolves once it listens. */
export function startApp(options: AppOptions): Promise<http.Server> {
  const registry = new Registry();
  const requests = new Counter({ name: "http_requests_total", help: "Requests served, by version and status code.", labelNames: ["version", "code"], registers: [registry] });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from request arrival to response end, including injected latency.",
    labelNames: ["version", "code"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  let fault: Fault = parseFault(options.fault ?? {});
  let appliedAt = performance.now();

  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json", "x-version": options.version });
    res.end(JSON.stringify(body));
  };

  const admin = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method === "GET") return json(res, 200, { fault, appliedMsAgo: performance.now() - appliedAt });
    if (req.method === "DELETE") {
      fault = parseFault({});
      appliedAt = performance.now();
      return json(res, 200, { fault });
    }
    if (req.method !== "POST") return json(res, 405, { error: "use GET, POST or DELETE" });
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      let next: Fault;
      try {
        next = parseFault(JSON.parse(body || "{}"));
      } catch (e) {
        return json(res, 400, { error: (e as Error).message });
      }
      fault = next;
      appliedAt = performance.now();
      json(res, 200, { fault });
      if (next.crash) {
        const code = next.crash.exitCode;
        setTimeout(() => {
          process.stderr.write(`${options.version}: crashing on request (exit ${code})\n`);
          process.exit(code);
        }, next.crash.afterMs);
      }
    });
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/health") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    if (path === "/metrics") {
      void registry.metrics().then((text) => res.writeHead(200, { "content-type": registry.contentType }).end(text));
      return;
    }
    if (path === "/admin/fault") return admin(req, res);

    const start = performance.now();
    const receivedAt = performance.timeOrigin + start;
    const status = shouldFail(fault, Math.random) ? fault.errorStatus : 200;
    const delay = addedDelayMs(fault, start - appliedAt, Math.random);
    const respond = (): void => {
      res.writeHead(status, { "content-type": "application/json", "x-version": options.version, "x-received-at": receivedAt.toFixed(3) });
      res.end(JSON.stringify({ version: options.version, status }));
      const labels = { version: options.version, code: String(status) };
      requests.inc(labels);
      duration.observe(labels, (performance.now() - start) / 1000);
    };
    if (delay > 0) setTimeout(respond, delay);
    else respond();
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`must be a port number, got ${v}`);
  return n;
}

if (require.main === module) {
  const cmd = new Command("sample-app")
    .description("One version of the sandbox's sample service.")
    .requiredOption("--version <version>", "version reported in x-version and the metrics' version label")
    .requiredOption("--port <port>", "port to listen on", port)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--fault <json>", "fault applied at startup, e.g. '{\"slowStart\":{\"ms\":300,\"durationMs\":10000}}'")
    .parse();
  const o = cmd.opts<{ version: string; port: number; host: string; fault?: string }>();
  startApp({ version: o.version, port: o.port, host: o.host, fault: o.fault ? JSON.parse(o.fault) : undefined }).then(
    () => process.stdout.write(`${o.version} listening on ${o.host}:${o.port}\n`),
    (e: Error) => {
      process.stderr.write(`${o.version}: cannot listen on ${o.host}:${o.port}: ${e.message}\n`);
      process.exit(1);
    },
  );
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => process.exit(0));
}
