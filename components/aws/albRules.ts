/**
 * Renders the provider-neutral routes to ALB listener rules, as plain data (no Pulumi), and reads
 * the applied canary weight back from a rule's forward action. The AlbCanary component only maps
 * the target-group roles to ARNs and creates one ListenerRule per rendered rule.
 */
import { buildRoutes, canaryRoutes, RequestMatch, Route, RouteKind, scaleSplit, SCALES, STICKINESS_SECONDS, TrafficSpec, trafficProblems } from "../routing";
import { Checks, formatProblems, intRange, Path, Problem } from "../validation";
import { AlbCanaryError } from "./errors";

/**
 * ALB limits the rendered rules must respect, each with its source:
 * - rule-condition-types: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
 *   ("up to three match evaluations per condition", "up to five match evaluations per rule",
 *   "up to five wildcards per rule", "rules are applied only to visible ASCII characters;
 *   control characters (0x00 to 0x1f and 0x7f) are excluded");
 * - HttpHeaderConditionConfig: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HttpHeaderConditionConfig.html
 *   (header name at most 40 characters, no wildcards, not the host header; values at most 128
 *   characters, `*` and `?` are wildcards);
 * - PathPatternConditionConfig / HostHeaderConditionConfig (values at most 128 characters; host
 *   names with at least one '.' and only letters after the last):
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HostHeaderConditionConfig.html;
 * - RulePriorityPair: priorities 1–50000,
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_RulePriorityPair.html;
 * - TargetGroupStickinessConfig: 1–604800 seconds (the traffic model's own range, STICKINESS_SECONDS).
 */
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
  minStickinessSeconds: STICKINESS_SECONDS.min,
  maxStickinessSeconds: STICKINESS_SECONDS.max,
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

/** An http-header condition: one header name, the values it may match. */
export interface HttpHeaderCondition extends AlbCondition {
  /** The header and the values it may match. */
  readonly httpHeader: AlbHttpHeaderCondition;
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

/** The header an http-header condition may not name: ALB matches the host with a host-header condition instead. */
const HOST_HEADER = "host";

/** Visible ASCII and space: what ALB compares (control characters and non-ASCII never match). */
const NOT_VISIBLE_ASCII = /[^\x20-\x7e]/;

/** A path pattern ALB accepts: A–Z, a–z, 0–9, _ - . $ / ~ " ' @ : + & and the wildcards * and ?, 1–128 characters. */
const PATH_PATTERN = /^[A-Za-z0-9_\-.$/~"'@:+&*?]{1,128}$/;

/** A host name ALB accepts: A–Z, a–z, 0–9, - . and the wildcards, 1–128 characters, with a '.', only letters after the last one. */
const HOST_PATTERN = /^[A-Za-z0-9\-.*?]{0,127}\.[A-Za-z*?]+$/;

const wildcards = (values: readonly string[]): number => values.join("").replace(/[^*?]/g, "").length;

/** Why an ALB path-pattern value is refused, or undefined. */
export function pathPatternProblem(value: string): string | undefined {
  if (typeof value !== "string" || NOT_VISIBLE_ASCII.test(value)) return "must be visible ASCII (ALB matches nothing else)";
  if (!PATH_PATTERN.test(value)) return "must be an ALB path pattern: 1–128 of A–Z, a–z, 0–9, _ - . $ / ~ \" ' @ : + & and the wildcards * and ?";
  return undefined;
}

/** Why an ALB host-header value is refused, or undefined. */
export function hostHeaderProblem(value: string): string | undefined {
  if (typeof value !== "string" || NOT_VISIBLE_ASCII.test(value)) return "must be visible ASCII (ALB matches nothing else)";
  if (!HOST_PATTERN.test(value)) return "must be an ALB host name: 1–128 of A–Z, a–z, 0–9, - . and the wildcards * and ?, with a '.' and only letters after the last one";
  return undefined;
}

/**
 * The http-header condition that selects requests matching `match`. A header match is the exact
 * value; a cookie match is the `Cookie` header containing `name=value` anywhere (`*beta=1*`),
 * because ALB header values only support `*` and `?` wildcards. That is a substring match:
 * `xbeta=1` and `beta=10` match too (see docs/aws.md). Call {@link matchProblems} first.
 */
export function matchCondition(match: RequestMatch): HttpHeaderCondition {
  const headerName = match.kind === "cookie" ? COOKIE_HEADER : match.name;
  const value = match.kind === "cookie" ? `*${match.name}=${match.value}*` : match.value;
  return { httpHeader: { httpHeaderName: headerName, values: [value] } };
}

/** What ALB refuses or cannot match in `match`, at `path` (the match's argument path). */
export function matchProblems(match: RequestMatch, path: Path): Problem[] {
  const c = new Checks();
  if (match.kind === "header") {
    if (match.name.length > ALB_LIMITS.headerNameLength) c.add([...path, "name"], `must have at most ${ALB_LIMITS.headerNameLength} characters (ALB's limit on header names)`, match.name);
    if (match.name.toLowerCase() === HOST_HEADER) c.add([...path, "name"], "cannot be the Host header on ALB (an http-header condition cannot match it; use hostHeaders)", match.name);
  } else if (/[*?]/.test(match.name)) {
    c.add([...path, "name"], "cannot contain * or ? on ALB (they are wildcards in the Cookie header pattern)", match.name);
  }
  if (/[*?]/.test(match.value)) c.add([...path, "value"], "cannot contain * or ? on ALB (ALB treats them as wildcards)", match.value);
  else if (NOT_VISIBLE_ASCII.test(match.value)) c.add([...path, "value"], "must be visible ASCII (ALB matches nothing else)", match.value);
  const value = matchCondition(match).httpHeader.values[0]!;
  if (match.kind === "cookie" && value.length > ALB_LIMITS.valueLength) {
    c.add([...path, "value"], `makes the Cookie pattern *<name>=<value>* ${value.length} characters long; ALB allows ${ALB_LIMITS.valueLength}, so name and value together may have at most ${ALB_LIMITS.valueLength - 3}`, match.value);
  } else if (value.length > ALB_LIMITS.valueLength) {
    c.add([...path, "value"], `must have at most ${ALB_LIMITS.valueLength} characters (ALB's limit on condition values)`, match.value);
  }
  return c.problems;
}

/** Where a route's match sits in the traffic spec, for problems about its rule. */
function routePath(spec: TrafficSpec, route: Route): Path {
  if (route.kind === "override") return ["traffic", "override"];
  if (route.kind === "segment") return ["traffic", "segments", spec.segments.findIndex((s) => s.name === route.name)];
  return ["pathPatterns"];
}

const priorityRule = intRange(1, ALB_LIMITS.maxPriority);

/**
 * Every ALB limit the rules for `spec` and `scope` would break, by argument path (`priority`,
 * `pathPatterns[0]`, `traffic.segments[1].match.value`, …). The rules are counted and checked as
 * they are once a canary is deployed, whether or not one is now, so a config that deploys without
 * a canary cannot fail at the first rollout step. Expects `spec` free of {@link trafficProblems}.
 */
export function listenerRuleProblems(spec: TrafficSpec, scope: RuleScope): Problem[] {
  const c = new Checks();
  const routes = canaryRoutes(spec);
  const { priority, pathPatterns, hostHeaders } = scope;
  c.rule(["priority"], priority, priorityRule);
  if (priorityRule.check(priority) === undefined && priority + routes.length - 1 > ALB_LIMITS.maxPriority) {
    c.add(["priority"], `must be at most ${ALB_LIMITS.maxPriority - routes.length + 1}: the ${routes.length} rules take consecutive priorities up to ${ALB_LIMITS.maxPriority}`, priority);
  }
  if (pathPatterns.length === 0 && hostHeaders.length === 0) c.note(["pathPatterns"], "pathPatterns and hostHeaders are both empty; an ALB listener rule needs at least one condition");
  for (const [key, values, check] of [["pathPatterns", pathPatterns, pathPatternProblem], ["hostHeaders", hostHeaders, hostHeaderProblem]] as const) {
    if (values.length > ALB_LIMITS.valuesPerCondition) c.add([key], `must have at most ${ALB_LIMITS.valuesPerCondition} values (ALB's limit per condition)`, values);
    values.forEach((v, i) => {
      const message = check(v);
      if (message) c.add([key, i], message, v);
    });
  }
  const headerRules = routes.some((r) => r.match !== undefined);
  const scopeValues = pathPatterns.length + hostHeaders.length;
  const perCondition = pathPatterns.length <= ALB_LIMITS.valuesPerCondition && hostHeaders.length <= ALB_LIMITS.valuesPerCondition;
  if (perCondition && scopeValues + (headerRules ? 1 : 0) > ALB_LIMITS.valuesPerRule) {
    c.add(
      ["hostHeaders"],
      `together with pathPatterns must have at most ${ALB_LIMITS.valuesPerRule - (headerRules ? 1 : 0)} values (ALB allows ${ALB_LIMITS.valuesPerRule} per rule${headerRules ? " and the override and segment rules add one" : ""}); pathPatterns has ${pathPatterns.length}`,
      hostHeaders,
    );
  }
  for (const route of routes) {
    if (!route.match) continue;
    c.addAll(matchProblems(route.match, [...routePath(spec, route), ...(route.kind === "segment" ? ["match"] : [])]));
  }
  if (!c.ok) return c.problems;
  for (const route of routes) {
    const values = [...pathPatterns, ...hostHeaders, ...(route.match ? matchCondition(route.match).httpHeader.values : [])];
    const count = wildcards(values);
    if (count <= ALB_LIMITS.wildcardsPerRule) continue;
    const where = route.kind === "default" ? "the default rule" : route.kind === "override" ? "the override rule" : `the rule of segment ${route.name}`;
    const message = `makes ${where} have ${count} wildcards (* and ?) in ${JSON.stringify(values)}; ALB allows ${ALB_LIMITS.wildcardsPerRule} per rule`;
    if (route.kind === "default") c.add(routePath(spec, route), message, pathPatterns);
    else c.note(routePath(spec, route), message);
  }
  return c.problems;
}

/**
 * The listener rules for `spec`, in route order (override, segments, default) with consecutive
 * priorities from `scope.priority`. Every rule carries the scope's path and host conditions, so
 * the default rule has at least one condition (ALB requires one) and a listener can be shared by
 * several services. Weights are the route's split on the ALB scale.
 * @throws AlbCanaryError listing the traffic problems and the ALB limits the rules would break.
 */
export function renderListenerRules(spec: TrafficSpec, scope: RuleScope): RenderedRule[] {
  const traffic = trafficProblems(spec);
  const problems = traffic.length > 0 ? traffic : listenerRuleProblems(spec, scope);
  if (problems.length > 0) throw new AlbCanaryError(formatProblems(problems));
  const routes = buildRoutes(spec);
  const { durationSeconds } = spec.stickiness;
  const scoped: AlbCondition[] = [];
  if (scope.pathPatterns.length > 0) scoped.push({ pathPattern: { values: [...scope.pathPatterns] } });
  if (scope.hostHeaders.length > 0) scoped.push({ hostHeader: { values: [...scope.hostHeaders] } });

  return routes.map((route, i) => {
    const weights = scaleSplit(route.split, SCALES.alb);
    const targets: ForwardTarget[] = [{ role: "stable", weight: weights.stable }];
    if (spec.hasCanary) targets.push({ role: "canary", weight: weights.canary });
    return {
      name: route.name,
      kind: route.kind,
      priority: scope.priority + i,
      conditions: route.match ? [...scoped, matchCondition(route.match)] : scoped,
      forward: {
        targets,
        stickiness: { enabled: spec.stickiness.enabled && weights.canary > 0 && weights.stable > 0, duration: durationSeconds },
      },
    };
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
