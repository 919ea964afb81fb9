/**
 * Renders the provider-neutral traffic model to an HAProxy 2.6 configuration (pure).
 *
 * Every route of `buildRoutes(spec)` becomes one backend holding the stable and the canary
 * server, weighted from the route's split on the HAProxy scale; the frontend selects the
 * backend with one ACL per matching route, in the model's priority order (override, segments,
 * default). Weights are later changed through the runtime API without a reload, so each
 * route's backend name is part of the contract (`backendFor`).
 */
import { buildRoutes, RequestMatch, Route, scaleSplit, SCALES, Stickiness, TrafficSpec } from "../../components/routing";

/** Thrown when a spec cannot be rendered safely (a name or value HAProxy would misparse). */
export class HaproxyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HaproxyConfigError";
  }
}

/** Loopback ports the rendered configuration binds to or forwards to. */
export interface HaproxyPorts {
  /** The traffic frontend users (and the load generator) send requests to. */
  readonly frontend: number;
  /** The stats frontend: `/metrics` (Prometheus exporter) and `/stats` (HTML page). */
  readonly stats: number;
  /** The stable version's instance. */
  readonly stable: number;
  /** The canary version's instance. */
  readonly canary: number;
}

/** Everything besides the traffic model and ports. */
export interface HaproxyRenderOptions {
  /** Unix socket of the runtime API (admin level). */
  readonly socketPath: string;
  /** Address every bind and server uses. Defaults to 127.0.0.1. */
  readonly host?: string;
  /**
   * Active health checks (`GET <path>` every `intervalMs`), so a crashed instance is taken out
   * of rotation the way a real load balancer would. `false` disables them. Defaults to
   * `{ path: "/health", intervalMs: 500 }`.
   */
  readonly healthCheck?: { readonly path: string; readonly intervalMs: number } | false;
  /** Worker threads. Defaults to 1 (the sandbox shares small machines). */
  readonly threads?: number;
}

/** The names of the two servers in every backend. */
export const SERVERS = { stable: "stable", canary: "canary" } as const;

/** The frontend that carries user traffic. */
export const TRAFFIC_FRONTEND = "fe_traffic";

/** The backend a route renders to: `be_default`, `be_override`, or `be_seg_<segment name>`. */
export function backendFor(route: Pick<Route, "kind" | "name">): string {
  switch (route.kind) {
    case "default":
      return "be_default";
    case "override":
      return "be_override";
    case "segment":
      return `be_seg_${route.name}`;
  }
}

/** Header names are kept to the characters real header names use, so none can break a fetch. */
const HEADER_NAME = /^[A-Za-z0-9_-]+$/;
/** Cookie names likewise (RFC 6265 tokens minus the characters HAProxy's argument parser treats specially). */
const COOKIE_NAME = /^[A-Za-z0-9_.!*+^`|~-]+$/;

function checkName(kind: "header" | "cookie", name: string, where: string): void {
  const ok = kind === "header" ? HEADER_NAME.test(name) : COOKIE_NAME.test(name);
  if (!ok) throw new HaproxyConfigError(`${where}: ${kind} name ${JSON.stringify(name)} has characters HAProxy cannot match safely`);
}

/**
 * A value as one literal HAProxy word. Single quotes are HAProxy's strong quoting (no escapes,
 * no `${VAR}` expansion), so only a quote or a control character cannot be expressed.
 */
export function quoteValue(value: string, where: string): string {
  // eslint-disable-next-line no-control-regex
  if (value.length === 0 || /['\u0000-\u001f\u007f]/.test(value)) {
    throw new HaproxyConfigError(`${where}: value ${JSON.stringify(value)} must be non-empty without single quotes or control characters`);
  }
  return `'${value}'`;
}

/** The sample fetch that reads a match's attribute. */
function fetchFor(match: RequestMatch, where: string): string {
  checkName(match.kind, match.name, where);
  return match.kind === "header" ? `req.hdr(${match.name.toLowerCase()})` : `req.cook(${match.name})`;
}

/** The `acl` line for a route's match: an exact, case-sensitive string comparison. */
function aclLine(aclName: string, match: RequestMatch, where: string): string {
  // `--` ends the flags, so a value that starts with "-" is never read as one.
  return `acl ${aclName} ${fetchFor(match, where)} -m str -- ${quoteValue(match.value, where)}`;
}

/**
 * The balance algorithm: round robin without stickiness; otherwise consistent hashing on the
 * stickiness key, which keeps a user on one server while the weights are constant and supports
 * runtime weight changes (map-based hashing would not).
 */
export function balanceLines(stickiness: Stickiness): string[] {
  if (!stickiness.enabled) return ["balance roundrobin"];
  const key = stickiness.hashKey;
  checkName(key.kind, key.name, "stickiness.hashKey");
  const balance = key.kind === "header" ? `balance hdr(${key.name.toLowerCase()})` : `balance hash req.cook(${key.name})`;
  return [balance, "hash-type consistent"];
}

/**
 * The HAProxy configuration for `spec`: a traffic frontend on `ports.frontend`, one backend per
 * route, a stats frontend with the Prometheus exporter, and an admin-level runtime API socket.
 */
export function renderHaproxyConfig(spec: TrafficSpec, ports: HaproxyPorts, options: HaproxyRenderOptions): string {
  // Refused rather than silently dropped: HAProxy 2.6 cannot copy requests without an
  // external SPOE mirroring agent, which the sandbox does not run.
  if ((spec.mirrorPercent ?? 0) > 0) throw new HaproxyConfigError(`mirrorPercent: request mirroring is not supported by the sandbox's HAProxy, got ${spec.mirrorPercent}`);
  const host = options.host ?? "127.0.0.1";
  const health = options.healthCheck === undefined ? { path: "/health", intervalMs: 500 } : options.healthCheck;
  const routes = buildRoutes(spec);
  const balance = balanceLines(spec.stickiness);
  const lines: string[] = [
    "# Generated by local/haproxy/config.ts from the traffic model; do not edit.",
    "global",
    `  nbthread ${options.threads ?? 1}`,
    `  stats socket ${options.socketPath} mode 600 level admin expose-fd listeners`,
    "  stats timeout 30s",
    "",
    "defaults",
    "  mode http",
    "  timeout connect 2s",
    "  timeout client 30s",
    "  timeout server 30s",
    "  timeout http-keep-alive 30s",
    "",
    "frontend fe_stats",
    `  bind ${host}:${ports.stats}`,
    "  http-request use-service prometheus-exporter if { path /metrics }",
    "  stats enable",
    "  stats uri /stats",
    "  stats refresh 5s",
    "",
    `frontend ${TRAFFIC_FRONTEND}`,
    `  bind ${host}:${ports.frontend}`,
    // The instances' fault-injection endpoint is for the operator, not for user traffic.
    "  http-request deny deny_status 403 if { path_beg /admin/ }",
  ];
  const matched = routes.filter((r) => r.match !== undefined);
  for (const route of matched) {
    lines.push(`  ${aclLine(`is_${backendFor(route)}`, route.match as RequestMatch, `route ${route.name}`)}`);
  }
  for (const route of matched) lines.push(`  use_backend ${backendFor(route)} if is_${backendFor(route)}`);
  lines.push("  default_backend be_default");

  for (const route of routes) {
    const units = scaleSplit(route.split, SCALES.haproxy);
    lines.push("", `backend ${backendFor(route)}`, ...balance.map((l) => `  ${l}`));
    if (health) {
      lines.push("  option httpchk", `  http-check send meth GET uri ${health.path}`);
      lines.push(`  default-server check inter ${health.intervalMs}ms fall 2 rise 1`);
    }
    lines.push(`  server ${SERVERS.stable} ${host}:${ports.stable} weight ${units.stable}`);
    if (spec.hasCanary) lines.push(`  server ${SERVERS.canary} ${host}:${ports.canary} weight ${units.canary}`);
  }
  return lines.join("\n") + "\n";
}
