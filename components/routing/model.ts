/**
 * The provider-neutral traffic model: one ordered list of routes that every platform renders
 * (ALB listener rules, Istio/Gateway API route rules, HAProxy ACLs).
 */
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

/**
 * Builds the ordered routes for a spec: the override first (all to canary), then the segments
 * in the order given, then the default route with the main weight. Without a canary there is
 * nothing to route to, so only the default route (all to stable) is returned.
 */
export function buildRoutes(spec: TrafficSpec): Route[] {
  if (!spec.hasCanary) {
    if (spec.canaryWeight !== 0) {
      throw new RoutingError(`canary weight must be 0 when no canary is deployed, got ${spec.canaryWeight}`);
    }
    return [{ name: "default", kind: "default", split: splitWeights(0) }];
  }
  const routes: Route[] = [];
  if (spec.override) {
    routes.push({ name: "override", kind: "override", match: spec.override, split: splitWeights(100) });
  }
  const seen = new Set<string>(["override", "default"]);
  for (const segment of spec.segments) {
    if (seen.has(segment.name)) {
      throw new RoutingError(`segment name ${JSON.stringify(segment.name)} is used twice or is reserved`);
    }
    seen.add(segment.name);
    routes.push({ name: segment.name, kind: "segment", match: segment.match, split: splitWeights(segment.weight) });
  }
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
