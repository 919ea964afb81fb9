/**
 * The canary invariants as pure functions over resources as a policy pack sees them (type, URN,
 * name, properties). Each returns the violations it found as messages; an empty list means the
 * resource (or stack) is fine or that its values are not known yet (a preview of new resources),
 * because "cannot tell" is not a violation.
 *
 * The rules read the rendered resources with the components' own read-back functions and
 * limits, so the policy and the components share one definition of each rule.
 */
import { ACTIVE_PHASES, Phase } from "../automation/state";
import { ALB_LIMITS, appliedCanaryPercent as albCanaryPercent } from "../components/aws/albRules";
import { appliedCanaryPercent as httpRouteCanaryPercent, HTTP_ROUTE_API_VERSION, HttpRouteSpec } from "../components/gateway/httpRoute";
import { CANARY_TAG } from "../components/gcp/traffic";
import { canaryWeightOf, ISTIO_API_VERSION, VirtualServiceSpec } from "../components/istio/render";
import { trackName } from "../components/kubernetes/workloads";
import { appliedCanaryPercent as splitCanaryPercent, TRAFFIC_SPLIT_API_VERSION, TrafficSplitSpec } from "../components/linkerd/trafficSplit";
import { SCALES } from "../components/routing";

/** A resource as the policy engine presents it; only the fields the rules read. */
export interface PolicyTarget {
  readonly type: string;
  readonly urn: string;
  readonly name: string;
  // Property bags are untyped by nature: each rule reads its resource type's fields defensively.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly props: Record<string, any>;
}

/** Resource type tokens the rules inspect. */
export const TYPES = {
  listenerRule: "aws:lb/listenerRule:ListenerRule",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  virtualService: `kubernetes:${ISTIO_API_VERSION}:VirtualService`,
  destinationRule: `kubernetes:${ISTIO_API_VERSION}:DestinationRule`,
  trafficSplit: `kubernetes:${TRAFFIC_SPLIT_API_VERSION}:TrafficSplit`,
  httpRoute: `kubernetes:${HTTP_ROUTE_API_VERSION}:HTTPRoute`,
  cloudRunService: "gcp:cloudrunv2/service:Service",
  prometheusRule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
  canaryMonitoring: "canary:monitoring:CanaryMonitoring",
} as const;

/** The package of every component's type token (`canary:<module>:<Type>`). */
const COMPONENT_PACKAGE = "canary";

/** The parts of a URN: `urn:pulumi:<stack>::<project>::<parent types $ type>::<name>`. */
export function parseUrn(urn: string): { stack: string; project: string; types: string[]; name: string } {
  const parts = urn.split("::");
  if (parts.length < 4 || !parts[0]!.startsWith("urn:pulumi:")) throw new Error(`not a Pulumi URN: ${JSON.stringify(urn)}`);
  return { stack: parts[0]!.slice("urn:pulumi:".length), project: parts[1]!, types: parts[2]!.split("$"), name: parts.slice(3).join("::") };
}

/** Whether the resource was created by one of this project's components (a parent's type is `canary:…`). */
export function inCanaryComponent(r: PolicyTarget): boolean {
  return parseUrn(r.urn).types.slice(0, -1).some((t) => t.split(":")[0] === COMPONENT_PACKAGE);
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Sums weights; undefined when any is unknown (a preview of a value not computed yet). */
function sumKnown(weights: readonly unknown[]): number | undefined {
  let sum = 0;
  for (const w of weights) {
    if (!isNumber(w)) return undefined;
    sum += w;
  }
  return sum;
}

/**
 * Weighted forwards and routes sum to the provider's total: ALB forward actions to 100 (each
 * weight at most 999), Istio routes, HTTPRoute rules and Cloud Run traffic to 100, SMI
 * TrafficSplit backends to 1000. Only resources inside a canary component are checked: other
 * weighted routes in the stack may legitimately use relative weights.
 */
export function weightViolations(r: PolicyTarget): string[] {
  if (!inCanaryComponent(r)) return [];
  const out: string[] = [];
  const check = (what: string, weights: readonly unknown[], total: number, max: number) => {
    const sum = sumKnown(weights);
    if (sum === undefined) return;
    if (sum !== total) out.push(`${what}: weights ${weights.join(" + ")} sum to ${sum}; a canary's weights must sum to ${total}`);
    const over = weights.filter((w) => isNumber(w) && (w < 0 || w > max));
    if (over.length > 0) out.push(`${what}: weights must be from 0 to ${max}, got ${over.join(", ")}`);
  };
  switch (r.type) {
    case TYPES.listenerRule:
      for (const [i, action] of (r.props.actions ?? []).entries()) {
        const groups = action?.forward?.targetGroups;
        if (Array.isArray(groups)) check(`listener rule ${r.name} action ${i} forward`, groups.map((g) => g?.weight), SCALES.alb.total, SCALES.alb.max);
      }
      break;
    case TYPES.virtualService:
      for (const route of r.props.spec?.http ?? []) {
        if (Array.isArray(route?.route)) check(`VirtualService ${r.name} route ${JSON.stringify(route.name)}`, route.route.map((d: { weight?: unknown }) => d?.weight), SCALES.percent.total, SCALES.percent.max);
      }
      break;
    case TYPES.httpRoute:
      for (const rule of r.props.spec?.rules ?? []) {
        if (Array.isArray(rule?.backendRefs)) check(`HTTPRoute ${r.name} rule ${JSON.stringify(rule.name)}`, rule.backendRefs.map((b: { weight?: unknown }) => b?.weight), SCALES.percent.total, SCALES.percent.max);
      }
      break;
    case TYPES.trafficSplit:
      if (Array.isArray(r.props.spec?.backends)) check(`TrafficSplit ${r.name}`, r.props.spec.backends.map((b: { weight?: unknown }) => b?.weight), SCALES.smi.total, SCALES.smi.max);
      break;
    case TYPES.cloudRunService:
      if (Array.isArray(r.props.traffics)) check(`Cloud Run service ${r.name} traffic`, r.props.traffics.map((t: { percent?: unknown }) => t?.percent), SCALES.percent.total, SCALES.percent.max);
      break;
  }
  return out;
}

/**
 * The percent of ordinary requests (those matching no override or segment) a canary traffic
 * resource sends to the canary, read with the component's own read-back function; undefined when
 * the resource is not a canary traffic resource or its values are not known yet.
 * @param stack every resource of the stack (an ALB rule names its target groups by ARN).
 */
export function canaryShare(r: PolicyTarget, stack: readonly PolicyTarget[]): number | undefined {
  if (!inCanaryComponent(r)) return undefined;
  const known = (n: number) => (Number.isFinite(n) ? n : undefined);
  switch (r.type) {
    case TYPES.listenerRule: {
      // The default rule is the one without an http-header condition (override and segments have one).
      const conditions: Array<{ httpHeader?: unknown }> = r.props.conditions ?? [];
      if (conditions.some((c) => c?.httpHeader)) return undefined;
      const parentName = parseUrn(r.urn).name.replace(/-rule-default$/, "");
      const canaryGroup = stack.find((t) => t.type === TYPES.targetGroup && parseUrn(t.urn).name === `${parentName}-canary-tg`);
      const arn = canaryGroup?.props.arn;
      if (typeof arn !== "string" || sumKnown((r.props.actions ?? []).flatMap((a: { forward?: { targetGroups?: Array<{ weight?: unknown }> } }) => a?.forward?.targetGroups?.map((g) => g?.weight) ?? [])) === undefined) return undefined;
      return known(albCanaryPercent(r.props.actions, arn));
    }
    case TYPES.virtualService:
      return r.props.spec?.http ? known(canaryWeightOf(r.props.spec as VirtualServiceSpec)) : undefined;
    case TYPES.trafficSplit: {
      const spec = r.props.spec as TrafficSplitSpec | undefined;
      return spec?.service ? known(splitCanaryPercent(spec, trackName(spec.service, "canary"))) : undefined;
    }
    case TYPES.httpRoute: {
      const name = r.props.metadata?.name;
      return typeof name === "string" && r.props.spec?.rules ? known(httpRouteCanaryPercent(r.props.spec as HttpRouteSpec, trackName(name, "canary"))) : undefined;
    }
    case TYPES.cloudRunService: {
      const traffics: Array<{ tag?: string; percent?: unknown }> | undefined = r.props.traffics;
      if (!Array.isArray(traffics)) return undefined;
      const canary = traffics.find((t) => t?.tag === CANARY_TAG);
      return canary === undefined ? 0 : isNumber(canary.percent) ? canary.percent : undefined;
    }
    default:
      return undefined;
  }
}

/** The canary traffic resources of a stack with their canary share, where it is known. */
export function canaryShares(stack: readonly PolicyTarget[]): Array<{ resource: PolicyTarget; share: number }> {
  return stack.flatMap((resource) => {
    const share = canaryShare(resource, stack);
    return share === undefined ? [] : [{ resource, share }];
  });
}

/**
 * A canary that takes requests is watched: the stack must have canary monitoring (the
 * CanaryMonitoring component, a PrometheusRule) or CloudWatch alarms (AlbCanary's).
 */
export function monitoringViolations(stack: readonly PolicyTarget[]): string[] {
  const live = canaryShares(stack).filter((s) => s.share > 0);
  if (live.length === 0) return [];
  const monitored = stack.some((r) => r.type === TYPES.canaryMonitoring || r.type === TYPES.prometheusRule || (r.type === TYPES.metricAlarm && inCanaryComponent(r)));
  if (monitored) return [];
  return live.map(
    ({ resource, share }) =>
      `${resource.name} sends ${share}% of requests to the canary, but the stack has no canary monitoring: add the CanaryMonitoring component (a PrometheusRule) or keep AlbCanary's alarms enabled`,
  );
}

/** The phase of the rollout record in the stack config (`canary:rollout`), or undefined without one. */
export function rolloutPhase(recordJson: string | undefined): Phase | undefined {
  if (recordJson === undefined || recordJson === "") return undefined;
  try {
    const phase = (JSON.parse(recordJson) as { phase?: unknown }).phase;
    return typeof phase === "string" ? (phase as Phase) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A canary at 100% is a step of a rollout about to promote, never a resting state: outside an
 * active rollout (no record, or one that ended) the stable version would serve nothing while the
 * config still calls it stable, so the next rollback target is cold. Promote instead.
 * @param phase the phase of the stack's rollout record, if any.
 */
export function fullCanaryViolations(stack: readonly PolicyTarget[], phase: Phase | undefined): string[] {
  if (phase !== undefined && ACTIVE_PHASES.includes(phase)) return [];
  return canaryShares(stack)
    .filter((s) => s.share === 100)
    .map(
      ({ resource }) =>
        `${resource.name} sends 100% of requests to the canary outside a rollout (rollout phase: ${phase ?? "none"}); promote it (stable := canary) or lower canary:weight`,
    );
}

/** Parses a whole-seconds Istio duration such as `3600s`. */
function durationSeconds(d: unknown): number | undefined {
  const m = typeof d === "string" ? /^(\d+)s$/.exec(d) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * Stickiness durations stay within the traffic model's limits (the ALB cookie range, 1–604800 s):
 * an ALB forward action's target-group stickiness, and the TTL of an Istio hash cookie.
 */
export function stickinessViolations(r: PolicyTarget): string[] {
  if (!inCanaryComponent(r)) return [];
  const { minStickinessSeconds: min, maxStickinessSeconds: max } = ALB_LIMITS;
  const out = (what: string, got: unknown) => [`${what} must be from ${min} to ${max} seconds, got ${String(got)}`];
  const outside = (n: number) => !Number.isInteger(n) || n < min || n > max;
  if (r.type === TYPES.listenerRule) {
    for (const action of r.props.actions ?? []) {
      const s = action?.forward?.stickiness;
      if (s?.enabled === true && isNumber(s.duration) && outside(s.duration)) return out(`listener rule ${r.name}: stickiness duration`, s.duration);
    }
  }
  if (r.type === TYPES.destinationRule) {
    const cookie = r.props.spec?.trafficPolicy?.loadBalancer?.consistentHash?.httpCookie;
    if (cookie?.ttl !== undefined) {
      const seconds = durationSeconds(cookie.ttl);
      if (seconds === undefined || outside(seconds)) return out(`DestinationRule ${r.name}: hash cookie ttl`, JSON.stringify(cookie.ttl));
    }
  }
  return [];
}

/** Whether `stack` (a stack name) is a production stack by the pattern (a regular expression). */
export function isProduction(stack: string, pattern: string): boolean {
  return new RegExp(pattern).test(stack);
}

/**
 * The header override route (any request sending the header reaches the canary, at any weight)
 * is for testing a canary before it takes user traffic; in a production stack, anyone who learns
 * the header can pick the untested version. Advisory: some teams keep it for their own staff.
 * @param productionPattern regular expression a production stack's name matches.
 */
export function overrideViolations(r: PolicyTarget, productionPattern: string): string[] {
  if (!inCanaryComponent(r)) return [];
  const stack = parseUrn(r.urn).stack;
  if (!isProduction(stack, productionPattern)) return [];
  let header: string | undefined;
  if (r.type === TYPES.virtualService) {
    const route = (r.props.spec?.http ?? []).find((h: { name?: string }) => h?.name === "override");
    if (route) header = Object.keys(route.match?.[0]?.headers ?? {})[0];
  } else if (r.type === TYPES.httpRoute) {
    const rule = (r.props.spec?.rules ?? []).find((h: { name?: string }) => h?.name === "override");
    if (rule) header = rule.matches?.[0]?.headers?.[0]?.name;
  } else if (r.type === TYPES.listenerRule && parseUrn(r.urn).name.endsWith("-rule-override")) {
    header = (r.props.conditions ?? []).find((c: { httpHeader?: unknown }) => c?.httpHeader)?.httpHeader?.httpHeaderName;
  }
  if (header === undefined) return [];
  return [`${r.name}: the header override (${header}) sends any request carrying it to the canary in production stack ${stack}; turn it off (canary:override enabled: false) once the canary takes user traffic`];
}
