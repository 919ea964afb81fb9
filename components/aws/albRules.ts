/**
 * Renders the provider-neutral routes to ALB listener rules, as plain data (no Pulumi), and reads
 * the applied canary weight back from a rule's forward action. The AlbCanary component only maps
 * the target-group roles to ARNs and creates one ListenerRule per rendered rule.
 */
import { buildRoutes, RequestMatch, RouteKind, scaleSplit, SCALES, TrafficSpec } from "../routing";
import { AlbCanaryError } from "./errors";

/** ALB limits the rendered rules must respect (Elastic Load Balancing quotas and API rules). */
export const ALB_LIMITS = {
  /** Match evaluations (values) per condition. */
  valuesPerCondition: 3,
  /** Match evaluations (values) per rule, all conditions together. */
  valuesPerRule: 5,
  /** `*` and `?` wildcards per rule, all conditions together. */
  wildcardsPerRule: 5,
  /** Characters per condition value. */
  valueLength: 128,
  /** Characters of an http-header condition's header name. */
  headerNameLength: 40,
  /** Highest listener rule priority. */
  maxPriority: 50000,
  /** Target-group stickiness duration range, seconds. */
  minStickinessSeconds: 1,
  maxStickinessSeconds: 604800,
} as const;

/** Which of the two target groups a forward entry points at. */
export const TargetRole = {
  /** The stable version's target group. */
  Stable: "stable",
  /** The canary version's target group. */
  Canary: "canary",
} as const;
/** A value of {@link TargetRole}. */
export type TargetRole = (typeof TargetRole)[keyof typeof TargetRole];

/** One weighted target group of a forward action, by role; weights are on the ALB scale. */
export interface ForwardTarget {
  /** The target group: stable or canary. */
  readonly role: TargetRole;
  /** Its weight, 0–999. */
  readonly weight: number;
}

/** Target-group stickiness of a forward action. */
export interface ForwardStickiness {
  /** Whether the ALB pins a client to the target group it was first sent to. */
  readonly enabled: boolean;
  /** Lifetime of the ALB's stickiness cookie, seconds. */
  readonly duration: number;
}

/** A forward action as data: weighted target groups and target-group stickiness. */
export interface RenderedForward {
  /** Stable first; the canary only when a canary is deployed (then always, even at weight 0). */
  readonly targets: ForwardTarget[];
  /**
   * Always rendered, so turning stickiness off is an explicit change rather than an omitted
   * block. Enabled only when stickiness is on and both weights are above zero: at 0/100 there is
   * nothing to stick to, and a cookie must never keep users on a canary that was set to 0.
   */
  readonly stickiness: ForwardStickiness;
}

/** The values a path-pattern or host-header condition matches. */
export interface AlbConditionValues {
  /** Patterns; `*` and `?` are wildcards. */
  readonly values: string[];
}

/** An http-header condition: the named header matches one of the values. */
export interface AlbHttpHeaderCondition {
  /** The header name. */
  readonly httpHeaderName: string;
  /** Patterns; `*` and `?` are wildcards. */
  readonly values: string[];
}

/**
 * A listener rule condition, shaped as `aws.lb.ListenerRule`'s `conditions` entries: exactly one
 * of the three fields is set.
 */
export interface AlbCondition {
  /** Request paths. */
  readonly pathPattern?: AlbConditionValues;
  /** Host headers. */
  readonly hostHeader?: AlbConditionValues;
  /** One request header. */
  readonly httpHeader?: AlbHttpHeaderCondition;
}

/** One listener rule as data. */
export interface RenderedRule {
  /** The route's name: `override`, a segment's name, or `default`. */
  readonly name: string;
  /** What the route is for. */
  readonly kind: RouteKind;
  /** The listener rule's priority. */
  readonly priority: number;
  /** The rule's conditions: the scope's path and host conditions, then the route's match. */
  readonly conditions: AlbCondition[];
  /** The weighted forward action. */
  readonly forward: RenderedForward;
}

/** Where on the listener the rules go. */
export interface RuleScope {
  /** Priority of the first rule; the others follow consecutively in route order. */
  readonly priority: number;
  /** Path patterns every rule is scoped to (one path-pattern condition). */
  readonly pathPatterns: readonly string[];
  /** Host headers every rule is scoped to (one host-header condition); empty for none. */
  readonly hostHeaders: readonly string[];
}

/** The header a cookie segment is matched on. */
export const COOKIE_HEADER = "Cookie";

/**
 * The http-header condition that selects requests matching `match`. A header match is the exact
 * value; a cookie match is the `Cookie` header containing `name=value` anywhere (`*beta=1*`),
 * because ALB header values only support `*` and `?` wildcards. That is a substring match:
 * `xbeta=1` and `beta=10` match too (see docs/aws.md).
 * @param what names the match in errors, e.g. `segment beta`.
 */
export function matchCondition(match: RequestMatch, what: string): AlbCondition {
  if (/[*?]/.test(match.value)) {
    throw new AlbCanaryError(`${what}: ALB treats * and ? in header values as wildcards, so the match value cannot contain them, got ${JSON.stringify(match.value)}`);
  }
  const headerName = match.kind === "cookie" ? COOKIE_HEADER : match.name;
  if (match.kind === "cookie" && /[*?]/.test(match.name)) {
    throw new AlbCanaryError(`${what}: the cookie name cannot contain * or ?, got ${JSON.stringify(match.name)}`);
  }
  if (headerName.length > ALB_LIMITS.headerNameLength) {
    throw new AlbCanaryError(`${what}: ALB header names are at most ${ALB_LIMITS.headerNameLength} characters, got ${JSON.stringify(headerName)} (${headerName.length})`);
  }
  const value = match.kind === "cookie" ? `*${match.name}=${match.value}*` : match.value;
  if (value.length > ALB_LIMITS.valueLength) {
    throw new AlbCanaryError(`${what}: ALB condition values are at most ${ALB_LIMITS.valueLength} characters, got ${value.length} in ${JSON.stringify(value)}`);
  }
  return { httpHeader: { httpHeaderName: headerName, values: [value] } };
}

function valuesOf(c: AlbCondition): readonly string[] {
  return [...(c.pathPattern?.values ?? []), ...(c.hostHeader?.values ?? []), ...(c.httpHeader?.values ?? [])];
}

function checkScope(scope: RuleScope, ruleCount: number): void {
  const { priority, pathPatterns, hostHeaders } = scope;
  if (!Number.isInteger(priority) || priority < 1 || priority > ALB_LIMITS.maxPriority) {
    throw new AlbCanaryError(`priority must be an integer from 1 to ${ALB_LIMITS.maxPriority}, got ${priority}`);
  }
  const last = priority + ruleCount - 1;
  if (last > ALB_LIMITS.maxPriority) {
    throw new AlbCanaryError(`priority ${priority} leaves no room for ${ruleCount} consecutive rules: the last would be ${last}, above ${ALB_LIMITS.maxPriority}`);
  }
  if (pathPatterns.length === 0 && hostHeaders.length === 0) {
    throw new AlbCanaryError("pathPatterns and hostHeaders are both empty; an ALB listener rule needs at least one condition");
  }
  for (const [key, values] of [["pathPatterns", pathPatterns], ["hostHeaders", hostHeaders]] as const) {
    if (values.length > ALB_LIMITS.valuesPerCondition) {
      throw new AlbCanaryError(`${key}: ALB allows ${ALB_LIMITS.valuesPerCondition} values per condition, got ${values.length}`);
    }
    for (const v of values) {
      if (v.length === 0 || v.length > ALB_LIMITS.valueLength) {
        throw new AlbCanaryError(`${key}: values must be 1 to ${ALB_LIMITS.valueLength} characters, got ${JSON.stringify(v)}`);
      }
    }
  }
}

function checkRuleLimits(rule: RenderedRule): void {
  const values = rule.conditions.flatMap(valuesOf);
  if (values.length > ALB_LIMITS.valuesPerRule) {
    throw new AlbCanaryError(
      `rule ${rule.name} (priority ${rule.priority}) has ${values.length} condition values; ALB allows ${ALB_LIMITS.valuesPerRule} per rule, so use fewer pathPatterns and hostHeaders`,
    );
  }
  const wildcards = values.join("").replace(/[^*?]/g, "").length;
  if (wildcards > ALB_LIMITS.wildcardsPerRule) {
    throw new AlbCanaryError(
      `rule ${rule.name} (priority ${rule.priority}) has ${wildcards} wildcards in ${JSON.stringify(values)}; ALB allows ${ALB_LIMITS.wildcardsPerRule} per rule`,
    );
  }
}

/**
 * The listener rules for `spec`, in route order (override, segments, default) with consecutive
 * priorities from `scope.priority`. Every rule carries the scope's path and host conditions, so
 * the default rule has at least one condition (ALB requires one) and a listener can be shared by
 * several services. Weights are the route's split on the ALB scale.
 * @throws AlbCanaryError when the rules exceed an ALB limit, naming the rule and the limit.
 */
export function renderListenerRules(spec: TrafficSpec, scope: RuleScope): RenderedRule[] {
  const routes = buildRoutes(spec);
  checkScope(scope, routes.length);
  const { durationSeconds } = spec.stickiness;
  if (!Number.isInteger(durationSeconds) || durationSeconds < ALB_LIMITS.minStickinessSeconds || durationSeconds > ALB_LIMITS.maxStickinessSeconds) {
    throw new AlbCanaryError(`stickiness duration must be an integer from ${ALB_LIMITS.minStickinessSeconds} to ${ALB_LIMITS.maxStickinessSeconds} seconds, got ${durationSeconds}`);
  }
  const scoped: AlbCondition[] = [];
  if (scope.pathPatterns.length > 0) scoped.push({ pathPattern: { values: [...scope.pathPatterns] } });
  if (scope.hostHeaders.length > 0) scoped.push({ hostHeader: { values: [...scope.hostHeaders] } });

  return routes.map((route, i) => {
    const weights = scaleSplit(route.split, SCALES.alb);
    const targets: ForwardTarget[] = [{ role: "stable", weight: weights.stable }];
    if (spec.hasCanary) targets.push({ role: "canary", weight: weights.canary });
    const what = route.kind === "segment" ? `segment ${route.name}` : route.name;
    const rule: RenderedRule = {
      name: route.name,
      kind: route.kind,
      priority: scope.priority + i,
      conditions: route.match ? [...scoped, matchCondition(route.match, what)] : scoped,
      forward: {
        targets,
        stickiness: { enabled: spec.stickiness.enabled && weights.canary > 0 && weights.stable > 0, duration: durationSeconds },
      },
    };
    checkRuleLimits(rule);
    return rule;
  });
}

/** The part of a listener rule action the read-back needs (matches the provider's output type). */
export interface ActionOutput {
  readonly forward?: { readonly targetGroups: ReadonlyArray<{ readonly arn: string; readonly weight?: number }> } | null;
}

/**
 * The canary percent a rule actually forwards, read from its `actions` output: the canary target
 * group's weight over the sum of the weights, as an integer percent; 0 when the canary target
 * group is not in the forward action.
 * @throws AlbCanaryError when the rule has no forward action or its weights sum to 0.
 */
export function appliedCanaryPercent(actions: readonly ActionOutput[] | undefined, canaryTargetGroupArn: string): number {
  const forward = (actions ?? []).find((a) => a.forward)?.forward;
  if (!forward) throw new AlbCanaryError("the default listener rule has no forward action to read the canary weight from");
  // A missing weight counts as 1, so a lone unweighted target group carries all of the traffic.
  const weight = (tg: { weight?: number }) => tg.weight ?? 1;
  const total = forward.targetGroups.reduce((sum, tg) => sum + weight(tg), 0);
  if (total === 0) throw new AlbCanaryError("the default listener rule forwards with all target group weights 0");
  const canary = forward.targetGroups.find((tg) => tg.arn === canaryTargetGroupArn);
  return canary ? Math.round((weight(canary) * 100) / total) : 0;
}
