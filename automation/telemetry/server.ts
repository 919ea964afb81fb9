/**
 * Serves a registry at `/metrics` for Prometheus to scrape while the driver runs. Bound to
 * 127.0.0.1 by default: the driver usually runs on a CI machine, and exposing it to the network
 * is a choice to make explicitly (`host: "0.0.0.0"`).
 */
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { Registry } from "prom-client";

/** Where to listen. */
export interface MetricsServerOptions {
  /** Defaults to 127.0.0.1. */
  readonly host?: string;
  /** Defaults to 0: a free port chosen by the system (see {@link MetricsServer.port}). */
  readonly port?: number;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port/metrics`. */
  readonly url: string;
  /** Closes the listener and open connections. */
  stop(): Promise<void>;
}

/** Starts serving `registry` at `/metrics` (GET and HEAD); other paths are 404, other methods 405. */
export async function startMetricsServer(registry: Registry, o: MetricsServerOptions = {}): Promise<MetricsServer> {
  const host = o.host ?? "127.0.0.1";
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: the metrics are at /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      (e: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`cannot collect the metrics: ${e instanceof Error ? e.message : String(e)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    host,
    port,
    url: `http://${shown}:${port}/metrics`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
