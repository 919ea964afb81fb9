/**
 * Pure renderers for the Istio canary: the VirtualService and DestinationRule specs. No Pulumi
 * runtime is needed to call them, so they are table-tested directly; IstioCanary only wires
 * their results into resources. The Deployments and the Service come from
 * `components/kubernetes/workloads`, shared with the other Kubernetes platforms.
 */
import { buildRoutes, cookieHeaderRegex, RequestMatch, Route, scaleSplit, SCALES, Stickiness, TrafficSpec } from "../routing";

/** The Istio API version every custom resource is rendered for (served and stored since Istio 1.22). */
export const ISTIO_API_VERSION = "networking.istio.io/v1";

/** DestinationRule subset names; the VirtualService routes to these. */
export const SUBSETS = { stable: "stable", canary: "canary" } as const;

/** A string match in an Istio HTTPMatchRequest: exact or RE2 regex (Envoy matches the whole value). */
export type StringMatch = { readonly exact: string } | { readonly regex: string };

/** A VirtualService destination: the Service host and one DestinationRule subset. */
export interface Destination {
  readonly host: string;
  readonly subset: string;
}

/** One HTTP route of a VirtualService, with only the fields this project renders. */
export interface HttpRoute {
  /** The traffic model's route name (`override`, a segment name, or `default`). */
  readonly name: string;
  /** Absent on the default route, which matches everything. */
  readonly match?: ReadonlyArray<{ readonly headers: Readonly<Record<string, StringMatch>> }>;
  readonly route: ReadonlyArray<{ readonly destination: Destination; readonly weight: number }>;
  readonly mirror?: Destination;
  readonly mirrorPercentage?: { readonly value: number };
}

/** The rendered `spec` of a VirtualService. */
export interface VirtualServiceSpec {
  readonly hosts: readonly string[];
  readonly gateways?: readonly string[];
  readonly http: readonly HttpRoute[];
}

/** What renderVirtualService needs. */
export interface VirtualServiceInput {
  /** The Kubernetes Service name: the destination host. */
  readonly service: string;
  /** VirtualService hosts. Defaults to [service]. */
  readonly hosts?: readonly string[];
  /** Gateways to bind to. Defaults to none, which Istio reads as the mesh only. */
  readonly gateways?: readonly string[];
  readonly traffic: TrafficSpec;
}

/**
 * The header match for one traffic-model match. Header names are lower-cased (Istio refuses
 * upper-case header names in matches); a cookie becomes a regex on the `cookie` header.
 */
export function renderMatch(match: RequestMatch): Record<string, StringMatch> {
  if (match.kind === "header") return { [match.name.toLowerCase()]: { exact: match.value } };
  return { cookie: { regex: cookieHeaderRegex(match.name, match.value) } };
}

/**
 * One route's destinations. With a canary both subsets are always listed, stable first, even
 * at weight 0: the CRD allows a 0 weight (int32, no minimum), and Istio's validating webhook
 * accepts it (it checks each weight is 0–100 and the total is 100 — older releases — or not 0),
 * so every step renders the same shape and the canary weight can be read back from the default
 * route at 0 as at 100. Without a canary only stable is listed.
 */
function renderDestinations(route: Route, host: string, hasCanary: boolean): HttpRoute["route"] {
  const { stable, canary } = scaleSplit(route.split, SCALES.percent);
  const stableDestination = { destination: { host, subset: SUBSETS.stable }, weight: stable };
  if (!hasCanary) return [stableDestination];
  return [stableDestination, { destination: { host, subset: SUBSETS.canary }, weight: canary }];
}

/**
 * Renders the VirtualService spec: the traffic model's routes in order (override, segments,
 * default), each split between the `stable` and `canary` subsets in integer percents summing
 * to 100, and the mirror (to the canary subset) on the default route when mirroring is on.
 */
export function renderVirtualService(input: VirtualServiceInput): VirtualServiceSpec {
  const { service, traffic } = input;
  const mirrorPercent = traffic.mirrorPercent ?? 0;
  // buildRoutes refuses a mirror without a canary (routeProblems), so a mirror always has a target.
  const http = buildRoutes(traffic).map((route): HttpRoute => {
    const rendered: HttpRoute = {
      name: route.name,
      ...(route.match ? { match: [{ headers: renderMatch(route.match) }] } : {}),
      route: renderDestinations(route, service, traffic.hasCanary),
    };
    if (route.kind !== "default" || mirrorPercent === 0) return rendered;
    return { ...rendered, mirror: { host: service, subset: SUBSETS.canary }, mirrorPercentage: { value: mirrorPercent } };
  });
  return {
    hosts: input.hosts && input.hosts.length > 0 ? [...input.hosts] : [service],
    ...(input.gateways && input.gateways.length > 0 ? { gateways: [...input.gateways] } : {}),
    http,
  };
}

/**
 * The canary weight a VirtualService actually carries: the `canary` destination's weight on
 * the route named `default`, 0 when that route has no canary destination. Used to read the
 * weight back from the applied resource rather than trusting the config.
 */
export function canaryWeightOf(spec: Pick<VirtualServiceSpec, "http"> | undefined): number {
  const route = spec?.http?.find((r) => r.name === "default");
  const canary = route?.route.find((d) => d.destination.subset === SUBSETS.canary);
  return canary?.weight ?? 0;
}

/** DestinationRule outlier detection: eject a pod after consecutive 5xx responses. */
export interface OutlierDetection {
  /** Consecutive 5xx responses that eject a pod. Defaults to 5. */
  readonly consecutive5xxErrors: number;
  /** How often pods are scanned, a duration such as 30s. Defaults to 30s. */
  readonly interval: string;
  /** Minimum ejection time (multiplied by the number of ejections). Defaults to 30s. */
  readonly baseEjectionTime: string;
  /** Most pods of the service that may be ejected at once, percent. Defaults to 50. */
  readonly maxEjectionPercent: number;
}

/** The outlier detection used when none is given. */
export const DEFAULT_OUTLIER_DETECTION: OutlierDetection = { consecutive5xxErrors: 5, interval: "30s", baseEjectionTime: "30s", maxEjectionPercent: 50 };

/** The rendered consistent-hash load balancer. */
export type ConsistentHash = { readonly httpHeaderName: string } | { readonly httpCookie: { readonly name: string; readonly path: string; readonly ttl: string } };

/** The rendered `spec` of a DestinationRule. */
export interface DestinationRuleSpec {
  readonly host: string;
  readonly trafficPolicy: {
    readonly loadBalancer?: { readonly consistentHash: ConsistentHash };
    readonly outlierDetection: OutlierDetection;
  };
  readonly subsets: ReadonlyArray<{ readonly name: string; readonly labels: Readonly<Record<string, string>> }>;
}

/** What renderDestinationRule needs. */
export interface DestinationRuleInput {
  /** The Kubernetes Service name: the rule's host. */
  readonly service: string;
  readonly stableVersion: string;
  /** The canary's version; absent without a canary. */
  readonly canaryVersion?: string;
  readonly outlierDetection: OutlierDetection;
  readonly stickiness: Stickiness;
}

/**
 * Consistent hashing on the stickiness key. A header is hashed as is (lower-cased, as Envoy
 * sees it); a cookie gets Envoy-issued when missing, with the stickiness duration as its TTL
 * and path `/` so it covers the whole site.
 */
export function renderConsistentHash(stickiness: Stickiness): ConsistentHash {
  const key = stickiness.hashKey;
  if (key.kind === "header") return { httpHeaderName: key.name.toLowerCase() };
  return { httpCookie: { name: key.name, path: "/", ttl: `${stickiness.durationSeconds}s` } };
}

/**
 * Renders the DestinationRule spec: `stable` and `canary` subsets by version label, outlier
 * detection, and consistent hashing when stickiness is on.
 *
 * The `canary` subset exists even without a canary, selecting the stable version. Istio
 * answers 503 for a route to an undefined subset, and a single `pulumi up` cannot order
 * "update the VirtualService, then drop the subset" on rollback and promotion but "add the
 * subset, then update the VirtualService" on a new canary. With the subset always present the
 * DestinationRule can always be applied first: a VirtualService still sending a share to
 * `canary` during a rollback reaches stable pods, during a promotion the promoted version.
 */
export function renderDestinationRule(input: DestinationRuleInput): DestinationRuleSpec {
  const hash = input.stickiness.enabled ? { loadBalancer: { consistentHash: renderConsistentHash(input.stickiness) } } : {};
  return {
    host: input.service,
    trafficPolicy: { ...hash, outlierDetection: { ...input.outlierDetection } },
    subsets: [
      { name: SUBSETS.stable, labels: { version: input.stableVersion } },
      { name: SUBSETS.canary, labels: { version: input.canaryVersion ?? input.stableVersion } },
    ],
  };
}
