/**
 * Renders the traffic model as Cloud Run revision traffic: every target pinned to a named
 * revision (never "latest"), so a template change can never move traffic by itself.
 */
import { buildRoutes, capabilityProblems, RoutingError, scaleSplit, SCALES, TrafficSpec } from "../routing";
import { formatProblems } from "../validation";

/** The tag that gives the canary revision its own URL (`https://canary---<service>-….run.app`). */
export const CANARY_TAG = "canary";

/** Traffic allocated to a named revision. */
export const REVISION_ALLOCATION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION";

/** One entry of a Cloud Run service's `traffics`. */
export interface CloudRunTrafficTarget {
  readonly type: typeof REVISION_ALLOCATION;
  readonly revision: string;
  readonly percent: number;
  readonly tag?: string;
}

/** The revision names of both versions (the canary's absent when no canary is deployed). */
export interface Revisions {
  /** The stable version's revision. */
  readonly stable: string;
  /** The canary version's revision; absent without a canary. */
  readonly canary?: string;
}

/**
 * The revision the service template creates: the canary's when a canary is deployed, else the
 * stable one's. Cloud Run keeps earlier revisions, so while the template names the canary, the
 * stable revision (created when the template last named it) still serves its share.
 */
export function templateRevision(revisions: Revisions): string {
  return revisions.canary ?? revisions.stable;
}

/**
 * The traffic targets for `spec`: stable at 100 − w and canary at w tagged `canary`, both pinned
 * to their revisions. The canary target is present even at 0%, because its tag URL is how the
 * canary is reached before it takes user traffic (the override, on a platform without header
 * routing). A 0% stable target (w = 100) is left out: untagged, it would serve nothing and have no
 * URL, and Knative-style APIs normalise such targets away, which would show as drift on every run.
 * The stable revision itself is kept by Cloud Run either way.
 */
export function renderTraffic(spec: TrafficSpec, revisions: Revisions): CloudRunTrafficTarget[] {
  const unsupported = capabilityProblems("gcp", spec);
  if (unsupported.length > 0) throw new RoutingError(formatProblems(unsupported));
  if (spec.hasCanary !== (revisions.canary !== undefined)) {
    throw new RoutingError(`a canary revision must be given exactly when traffic.hasCanary is true (hasCanary is ${spec.hasCanary})`);
  }
  const routes = buildRoutes(spec);
  // The override route, if any, is served by the tag URL; only the default route carries weights.
  const units = scaleSplit(routes[routes.length - 1]!.split, SCALES.percent);
  if (revisions.canary === undefined) return [{ type: REVISION_ALLOCATION, revision: revisions.stable, percent: units.stable }];
  const targets: CloudRunTrafficTarget[] = [];
  if (units.stable > 0) targets.push({ type: REVISION_ALLOCATION, revision: revisions.stable, percent: units.stable });
  targets.push({ type: REVISION_ALLOCATION, revision: revisions.canary, percent: units.canary, tag: CANARY_TAG });
  return targets;
}

/** The canary percent in a service's traffic targets (0 without a canary revision). */
export function appliedCanaryPercent(traffics: ReadonlyArray<{ revision?: string; percent?: number }> | undefined, canaryRevision: string | undefined): number {
  if (canaryRevision === undefined) return 0;
  return (traffics ?? []).filter((t) => t.revision === canaryRevision).reduce((sum, t) => sum + (t.percent ?? 0), 0);
}

/** The URL Cloud Run reports for a tag, or undefined while it reports none. */
export function tagUri(statuses: ReadonlyArray<{ tag?: string; uri?: string }> | undefined, tag: string): string | undefined {
  const uri = (statuses ?? []).find((s) => s.tag === tag)?.uri;
  return uri === undefined || uri === "" ? undefined : uri;
}
