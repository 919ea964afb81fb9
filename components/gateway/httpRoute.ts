/**
 * Renders the traffic model as a Gateway API HTTPRoute (gateway.networking.k8s.io/v1).
 *
 * Rule order carries the model's priority (override, then segments in order, then default).
 * Gateway API does not match rules in list order: the most specific match wins, and list order
 * only breaks ties. Every rule therefore matches the same path (`PathPrefix /`), and every
 * override and segment rule exactly one header, so they tie on specificity, win over the
 * default rule (no header), and are resolved in list order among themselves.
 */
import { buildRoutes, cookieHeaderRegex, RequestMatch, Route, RoutingError, scaleSplit, SCALES, TrafficSpec } from "../routing";
import { formatProblems, problem, Problem } from "../validation";

/** The HTTPRoute API version rendered (standard channel). */
export const HTTP_ROUTE_API_VERSION = "gateway.networking.k8s.io/v1";

/**
 * An HTTPRoute accepts at most this many rules (`spec.rules` maxItems in the standard-channel CRD,
 * test/fixtures/crds/gateway-httproute.yaml; https://gateway-api.sigs.k8s.io/reference/spec/#httproutespec).
 */
export const MAX_HTTP_ROUTE_RULES = 16;

/** An HTTPRoute serves at most this many host names (`spec.hostnames` maxItems, same sources). */
export const MAX_HOSTNAMES = 16;

/** The Gateway (listener) the route attaches to. */
export interface GatewayRef {
  /** The Gateway's name. */
  readonly name: string;
  /** The Gateway's namespace. */
  readonly namespace: string;
  /** A listener of the Gateway; all listeners that allow the route when absent. */
  readonly sectionName?: string;
}

/** What the route needs besides the traffic model. */
export interface HttpRouteTarget {
  readonly gateway: GatewayRef;
  /** Host names the route serves; every host the listener accepts when absent. */
  readonly hostnames?: readonly string[];
  readonly stableService: string;
  readonly canaryService: string;
  /** The Services' port. */
  readonly port: number;
}

/** A weighted reference to a Service. */
export interface HttpBackendRef {
  readonly name: string;
  readonly port: number;
  readonly weight: number;
}

/** One header match. */
export interface HttpHeaderMatch {
  readonly type: "Exact" | "RegularExpression";
  readonly name: string;
  readonly value: string;
}

/** One match of a rule. */
export interface HttpRouteMatch {
  readonly path: { readonly type: "PathPrefix"; readonly value: string };
  readonly headers?: readonly HttpHeaderMatch[];
}

/** A RequestMirror filter. */
export interface HttpMirrorFilter {
  readonly type: "RequestMirror";
  readonly requestMirror: { readonly backendRef: { readonly name: string; readonly port: number }; readonly percent: number };
}

/** One rule of the route. */
export interface HttpRouteRule {
  readonly name: string;
  readonly matches: readonly HttpRouteMatch[];
  readonly filters?: readonly HttpMirrorFilter[];
  readonly backendRefs: readonly HttpBackendRef[];
}

/** The spec of an HTTPRoute, as rendered. */
export interface HttpRouteSpec {
  readonly parentRefs: ReadonlyArray<{ readonly group: string; readonly kind: string; readonly name: string; readonly namespace: string; readonly sectionName?: string }>;
  readonly hostnames?: readonly string[];
  readonly rules: readonly HttpRouteRule[];
}

const ALL_PATHS = { type: "PathPrefix", value: "/" } as const;

/** The header match for a model match: exact header, or a regex on the `cookie` header for a cookie. */
export function headerMatch(match: RequestMatch): HttpHeaderMatch {
  if (match.kind === "header") return { type: "Exact", name: match.name.toLowerCase(), value: match.value };
  return { type: "RegularExpression", name: "cookie", value: cookieHeaderRegex(match.name, match.value) };
}

/**
 * The rule limit: one rule per route once a canary is deployed (override, segments, default),
 * counted whether or not one is now, so a route that fits today still fits at the first step.
 */
export function ruleCountProblems(spec: TrafficSpec): Problem[] {
  const override = spec.override ? 1 : 0;
  const rules = override + spec.segments.length + 1;
  if (rules <= MAX_HTTP_ROUTE_RULES) return [];
  return [
    problem(
      ["traffic", "segments"],
      `must have at most ${MAX_HTTP_ROUTE_RULES - 1 - override} segments: an HTTPRoute has at most ${MAX_HTTP_ROUTE_RULES} rules and ${override ? "the override, " : ""}the segments and the default need ${rules}`,
      spec.segments.length,
    ),
  ];
}

/**
 * The HTTPRoute spec for `spec`: one rule per route, each sending its split to the stable and
 * canary Services (weights in percent). Without a canary, the only rule sends everything to
 * stable. With `mirrorPercent`, the default rule copies that percent of its requests to the
 * canary Service (a rule-level filter, the portable placement; like Istio's mirror, it copies
 * requests of both versions, which at low canary weights are nearly all stable's).
 */
export function renderHttpRoute(spec: TrafficSpec, target: HttpRouteTarget): HttpRouteSpec {
  const problems = ruleCountProblems(spec);
  if (problems.length > 0) throw new RoutingError(formatProblems(problems));
  const parent = { group: "gateway.networking.k8s.io", kind: "Gateway", name: target.gateway.name, namespace: target.gateway.namespace, ...(target.gateway.sectionName ? { sectionName: target.gateway.sectionName } : {}) };
  const rules = buildRoutes(spec).map((route) => renderRule(route, spec, target));
  return { parentRefs: [parent], ...(target.hostnames && target.hostnames.length > 0 ? { hostnames: [...target.hostnames] } : {}), rules };
}

function renderRule(route: Route, spec: TrafficSpec, target: HttpRouteTarget): HttpRouteRule {
  const units = scaleSplit(route.split, SCALES.percent);
  const backendRefs: HttpBackendRef[] = [{ name: target.stableService, port: target.port, weight: units.stable }];
  if (spec.hasCanary) backendRefs.push({ name: target.canaryService, port: target.port, weight: units.canary });
  const matches: HttpRouteMatch[] = [route.match ? { path: ALL_PATHS, headers: [headerMatch(route.match)] } : { path: ALL_PATHS }];
  const mirror = route.kind === "default" && spec.hasCanary && (spec.mirrorPercent ?? 0) > 0;
  return {
    name: route.name,
    matches,
    ...(mirror ? { filters: [{ type: "RequestMirror", requestMirror: { backendRef: { name: target.canaryService, port: target.port }, percent: spec.mirrorPercent! } }] } : {}),
    backendRefs,
  };
}

/**
 * The canary percent of the default rule of a rendered HTTPRoute (the last rule), read from its
 * backend weights; 0 when the canary backend is absent or every weight is 0.
 */
export function appliedCanaryPercent(spec: HttpRouteSpec | undefined, canaryService: string): number {
  const rules = spec?.rules ?? [];
  const refs = rules.length > 0 ? rules[rules.length - 1]!.backendRefs : [];
  const total = refs.reduce((sum, b) => sum + Number(b.weight), 0);
  const canary = refs.filter((b) => b.name === canaryService).reduce((sum, b) => sum + Number(b.weight), 0);
  return total === 0 ? 0 : Math.round((canary * 100) / total);
}
