/**
 * The provider-neutral traffic model: one ordered list of routes that every platform renders
 * (ALB listener rules, Istio/Gateway API route rules, HAProxy ACLs).
 */
import { Checks, dnsLabel, formatProblems, headerName, headerValue, intRange, Path, Problem, Rule } from "../validation";
import { RoutingError, splitWeights, WeightSplit } from "./weights";

/**
 * What a match or a stickiness key reads: a request header or a cookie. (A constant object with
 * a type of the same name, rather than a union of literals, so the Pulumi schema can describe
 * it as an enum; the literals `"header"` and `"cookie"` remain valid values.)
 */
export const MatchKind = {
  /** A request header. */
  Header: "header",
  /** A cookie. */
  Cookie: "cookie",
} as const;
/** A value of {@link MatchKind}. */
export type MatchKind = (typeof MatchKind)[keyof typeof MatchKind];

/** A request attribute a route matches on: an exact header value, or an exact cookie value. */
export interface RequestMatch {
  /** `header`: the named request header equals `value`; `cookie`: the named cookie equals `value`. */
  readonly kind: MatchKind;
  /** Header name (case-insensitive on the wire; rendered lower-case) or cookie name. */
  readonly name: string;
  /** The exact value that selects the route. */
  readonly value: string;
}

/** A named group of users with its own canary weight, e.g. employees at 100, beta users at 50. */
export interface Segment {
  /** DNS-label style name, used in rule and route names. */
  readonly name: string;
  /** What identifies a request of this segment. */
  readonly match: RequestMatch;
  /** Canary percent for this segment, 0–100, independent of the main weight. */
  readonly weight: number;
}

/** Where a sticky session's key comes from: a header (hashed) or a cookie. */
export interface StickinessKey {
  /** Whether `name` is a header or a cookie. */
  readonly kind: MatchKind;
  /** The header or cookie name. */
  readonly name: string;
}

/** Keep a user on one version while the weight is constant. */
export interface Stickiness {
  /** Whether stickiness is on. */
  readonly enabled: boolean;
  /** Cookie lifetime in seconds where the platform issues its own cookie (ALB: 1–604800). */
  readonly durationSeconds: number;
  /** The key hashed by platforms that do consistent hashing (Istio, HAProxy). */
  readonly hashKey: StickinessKey;
}

/** Everything the traffic plane needs to know about one service's canary. */
export interface TrafficSpec {
  /** Whether a canary version is deployed at all. Without one, all traffic goes to stable. */
  readonly hasCanary: boolean;
  /** Canary percent for requests that match no override or segment, 0–100. */
  readonly canaryWeight: number;
  /** A header that forces a request to the canary (for testing before any user traffic). */
  readonly override?: RequestMatch;
  /** Segments in priority order: the first that matches wins. */
  readonly segments: Segment[];
  /** Keeping a user on one version while the weight is constant. */
  readonly stickiness: Stickiness;
  /** Percent of stable traffic copied to the canary (responses discarded), 0–100. */
  readonly mirrorPercent?: number;
  /**
   * Blue/green: the canary is green, deployed beside the stable version (blue) at its full size so
   * that all traffic can move to it at once (and back); checked through the override route first.
   * Defaults to false.
   */
  readonly blueGreen?: boolean;
}

/** What a route is for; renderers use it for names and priorities. */
export const RouteKind = {
  /** The header override: everything to the canary. */
  Override: "override",
  /** A user segment with its own weight. */
  Segment: "segment",
  /** Everything else, at the main canary weight. */
  Default: "default",
} as const;
/** A value of {@link RouteKind}. */
export type RouteKind = (typeof RouteKind)[keyof typeof RouteKind];

/** One routing decision: requests matching `match` (or everything, for the default) split by `split`. */
export interface Route {
  /** `override`, the segment's name, or `default`. */
  readonly name: string;
  readonly kind: RouteKind;
  /** Absent only on the default route, which is always last. */
  readonly match?: RequestMatch;
  readonly split: WeightSplit;
}

/** The most segments a spec may have (each becomes a route, and routes are rules on every platform). */
export const MAX_SEGMENTS = 20;

/**
 * Stickiness duration range in seconds. The duration is the cookie lifetime where the platform
 * issues one; ALB's target-group stickiness takes 1–604800 s (one week), the narrowest range of
 * the platforms, so the model uses it everywhere.
 * Source: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupStickinessConfig.html
 */
export const STICKINESS_SECONDS = { min: 1, max: 604800 } as const;

/** The route names the model uses itself; a segment cannot take them. */
export const RESERVED_ROUTE_NAMES: readonly string[] = ["override", "default"];

const percent = intRange(0, 100);

/** The rule of a stickiness duration: whole seconds in {@link STICKINESS_SECONDS}. */
export const stickinessDuration: Rule<number> = {
  message: `must be an integer number of seconds from ${STICKINESS_SECONDS.min} to ${STICKINESS_SECONDS.max}`,
  check: (v) => (intRange(STICKINESS_SECONDS.min, STICKINESS_SECONDS.max).check(v) === undefined ? undefined : stickinessDuration.message),
};

function matchProblems(c: Checks, path: Path, match: RequestMatch | undefined): void {
  if (match === undefined) return;
  if (match.kind !== "header" && match.kind !== "cookie") c.add([...path, "kind"], "must be header or cookie", match.kind);
  c.rule([...path, "name"], match.name, headerName);
  c.rule([...path, "value"], match.value, headerValue);
}

/**
 * Everything wrong with a spec whatever the platform, each at its path under `root`: weights and
 * the mirror percent are integers 0–100 and 0 without a canary; header names and values are
 * valid; segment names are DNS labels, unique and not a reserved route name; at most
 * {@link MAX_SEGMENTS} segments. Segments are checked with or without a canary, so a segment that
 * cannot be rendered fails on the first deploy, not at the first rollout step.
 */
export function trafficProblems(spec: TrafficSpec, root: Path = ["traffic"]): Problem[] {
  const c = new Checks();
  c.addAll(routeProblems(spec, root));
  matchProblems(c, [...root, "override"], spec.override);
  if (spec.segments.length > MAX_SEGMENTS) c.add([...root, "segments"], `must have at most ${MAX_SEGMENTS} segments`, spec.segments.length);
  spec.segments.forEach((segment, i) => {
    const path = [...root, "segments", i];
    c.rule([...path, "name"], segment.name, dnsLabel);
    matchProblems(c, [...path, "match"], segment.match);
  });
  c.rule([...root, "stickiness", "durationSeconds"], spec.stickiness.durationSeconds, stickinessDuration);
  const key = spec.stickiness.hashKey;
  if (key.kind !== "header" && key.kind !== "cookie") c.add([...root, "stickiness", "hashKey", "kind"], "must be header or cookie", key.kind);
  c.rule([...root, "stickiness", "hashKey", "name"], key.name, headerName);
  if (spec.blueGreen) {
    if (!spec.hasCanary) c.note([...root, "blueGreen"], "needs a canary: green is the canary deployed beside the stable version");
    if (!spec.override) c.note([...root, "override"], "is required with blueGreen: the pre-traffic checks reach green through the override route before any user does");
  }
  return c.problems;
}

/**
 * What the routes themselves need (a subset of {@link trafficProblems}, checked by
 * {@link buildRoutes} for every renderer, the sandbox's HAProxy included): integer percents,
 * nothing routed to a canary that is not deployed, segment names unique and not reserved. How a
 * match is spelled is left to the renderer's platform.
 */
export function routeProblems(spec: TrafficSpec, root: Path = ["traffic"]): Problem[] {
  const c = new Checks();
  c.rule([...root, "canaryWeight"], spec.canaryWeight, percent);
  if (!spec.hasCanary && spec.canaryWeight !== 0) c.add([...root, "canaryWeight"], "must be 0 when no canary is deployed", spec.canaryWeight);
  if (spec.mirrorPercent !== undefined) {
    c.rule([...root, "mirrorPercent"], spec.mirrorPercent, percent);
    if (!spec.hasCanary && spec.mirrorPercent !== 0) c.add([...root, "mirrorPercent"], "must be 0 when no canary is deployed", spec.mirrorPercent);
  }
  const seen = new Set<string>();
  spec.segments.forEach((segment, i) => {
    const path = [...root, "segments", i];
    if (RESERVED_ROUTE_NAMES.includes(segment.name)) c.add([...path, "name"], `is reserved for the ${segment.name} route`, segment.name);
    else if (seen.has(segment.name)) c.add([...path, "name"], "is used by an earlier segment", segment.name);
    seen.add(segment.name);
    c.rule([...path, "weight"], segment.weight, percent);
  });
  return c.problems;
}

/**
 * Builds the ordered routes for a spec: the override first (all to canary), then the segments
 * in the order given, then the default route with the main weight. Without a canary there is
 * nothing to route to, so only the default route (all to stable) is returned.
 * @throws RoutingError listing {@link routeProblems} when the spec has any.
 */
export function buildRoutes(spec: TrafficSpec): Route[] {
  const problems = routeProblems(spec);
  if (problems.length > 0) throw new RoutingError(formatProblems(problems));
  return routesOf(spec, spec.hasCanary);
}

/**
 * The routes a spec renders once a canary is deployed, whether or not one is now: what a
 * platform's limits (rule counts, priorities, conditions) must be checked against, so a config
 * valid without a canary stays valid when the rollout adds one.
 */
export function canaryRoutes(spec: TrafficSpec): Route[] {
  const problems = routeProblems({ ...spec, hasCanary: true });
  if (problems.length > 0) throw new RoutingError(formatProblems(problems));
  return routesOf({ ...spec, hasCanary: true }, true);
}

function routesOf(spec: TrafficSpec, hasCanary: boolean): Route[] {
  if (!hasCanary) return [{ name: "default", kind: "default", split: splitWeights(0) }];
  const routes: Route[] = [];
  if (spec.override) routes.push({ name: "override", kind: "override", match: spec.override, split: splitWeights(100) });
  for (const segment of spec.segments) routes.push({ name: segment.name, kind: "segment", match: segment.match, split: splitWeights(segment.weight) });
  routes.push({ name: "default", kind: "default", split: splitWeights(spec.canaryWeight) });
  return routes;
}

/**
 * The regular expression that matches a `Cookie` header carrying `name=value`, for platforms
 * that can only match headers (Istio, Gateway API). Both parts are escaped, so a cookie name
 * can never widen the match.
 */
export function cookieHeaderRegex(name: string, value: string): string {
  return `(^|.*;\\s*)${escapeRegex(name)}=${escapeRegex(value)}(;.*|$)`;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The version arguments every platform component takes beside its traffic spec. */
export interface VersionArgs {
  readonly stableVersion: string;
  readonly canaryVersion?: string;
  /** The canary's image; any value (an image reference or an Output of one). */
  readonly canaryImage?: unknown;
  readonly traffic: Pick<TrafficSpec, "hasCanary">;
}

/**
 * The canary's version and image against the traffic model: both given exactly when
 * `traffic.hasCanary`, and a version that differs from the stable one.
 */
export function canaryVersionProblems(args: VersionArgs): Problem[] {
  const c = new Checks();
  const given = args.canaryVersion !== undefined && args.canaryImage !== undefined;
  if (args.traffic.hasCanary !== given || (args.canaryVersion === undefined) !== (args.canaryImage === undefined)) {
    c.note(["canaryVersion"], `canaryVersion and canaryImage must be given exactly when traffic.hasCanary is true (hasCanary is ${args.traffic.hasCanary})`);
  }
  if (args.canaryVersion !== undefined && args.canaryVersion === args.stableVersion) c.add(["canaryVersion"], "must differ from the stable version", args.canaryVersion);
  return c.problems;
}
