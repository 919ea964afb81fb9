import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { AlbCanaryError, appliedCanaryPercent, matchCondition, matchProblems, RenderedRule, renderListenerRules, RuleScope } from "../../../components/aws";
import { Stickiness, TrafficSpec } from "../../../components/routing";
import { formatProblem } from "../../../components/validation";

const sticky: Stickiness = { enabled: true, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } };
const notSticky: Stickiness = { ...sticky, enabled: false };
const scope: RuleScope = { priority: 100, pathPatterns: ["/*"], hostHeaders: [] };

function spec(canaryWeight: number, extra: Partial<TrafficSpec> = {}): TrafficSpec {
  return {
    hasCanary: true,
    canaryWeight,
    override: { kind: "header", name: "x-canary", value: "true" },
    segments: [
      { name: "employees", match: { kind: "header", name: "x-employee", value: "true" }, weight: 100 },
      { name: "beta", match: { kind: "cookie", name: "beta", value: "1" }, weight: 50 },
    ],
    stickiness: sticky,
    ...extra,
  };
}

const PATH = { pathPattern: { values: ["/*"] } };
const OVERRIDE = { httpHeader: { httpHeaderName: "x-canary", values: ["true"] } };
const EMPLOYEES = { httpHeader: { httpHeaderName: "x-employee", values: ["true"] } };
const BETA = { httpHeader: { httpHeaderName: "Cookie", values: ["*beta=1*"] } };

/** A forward of both target groups; stickiness as the renderer must decide it. */
function both(canary: number, stickyEnabled: boolean, duration = 3600) {
  return { targets: [{ role: "stable", weight: 100 - canary }, { role: "canary", weight: canary }], stickiness: { enabled: stickyEnabled, duration } };
}

describe("aws: renderListenerRules", () => {
  const segmentRules = (stickyOn: boolean): RenderedRule[] => [
    { name: "override", kind: "override", priority: 100, conditions: [PATH, OVERRIDE], forward: both(100, false) },
    { name: "employees", kind: "segment", priority: 101, conditions: [PATH, EMPLOYEES], forward: both(100, false) },
    { name: "beta", kind: "segment", priority: 102, conditions: [PATH, BETA], forward: both(50, stickyOn) },
  ] as RenderedRule[];
  const defaultRule = (canary: number, stickyOn: boolean, priority = 103) =>
    ({ name: "default", kind: "default", priority, conditions: [PATH], forward: both(canary, stickyOn) }) as RenderedRule;

  const table: Array<[string, TrafficSpec, RuleScope, RenderedRule[]]> = [
    ["weight 0: canary kept in every forward at 0, no stickiness on the default rule", spec(0), scope, [...segmentRules(true), defaultRule(0, false)]],
    ["weight 5, sticky", spec(5), scope, [...segmentRules(true), defaultRule(5, true)]],
    ["weight 50, sticky", spec(50), scope, [...segmentRules(true), defaultRule(50, true)]],
    ["weight 100: all to canary, no stickiness", spec(100), scope, [...segmentRules(true), defaultRule(100, false)]],
    ["weight 5, stickiness off", spec(5, { stickiness: notSticky }), scope, [...segmentRules(false), defaultRule(5, false)]],
    [
      "stickiness duration carried through",
      spec(5, { stickiness: { ...sticky, durationSeconds: 604800 }, segments: [] }),
      scope,
      [
        { name: "override", kind: "override", priority: 100, conditions: [PATH, OVERRIDE], forward: both(100, false, 604800) },
        { name: "default", kind: "default", priority: 101, conditions: [PATH], forward: both(5, true, 604800) },
      ] as RenderedRule[],
    ],
    [
      "no override, no segments: only the default rule at the first priority",
      spec(20, { override: undefined, segments: [] }),
      { priority: 7, pathPatterns: ["/*"], hostHeaders: [] },
      [{ name: "default", kind: "default", priority: 7, conditions: [PATH], forward: both(20, true) }] as RenderedRule[],
    ],
    [
      "no canary: only the default rule, stable alone",
      { hasCanary: false, canaryWeight: 0, override: { kind: "header", name: "x-canary", value: "true" }, segments: [], stickiness: sticky },
      scope,
      [{ name: "default", kind: "default", priority: 100, conditions: [PATH], forward: { targets: [{ role: "stable", weight: 100 }], stickiness: { enabled: false, duration: 3600 } } }] as RenderedRule[],
    ],
    [
      "paths and hosts scope every rule, host after path, route match last",
      spec(5, { segments: [] }),
      { priority: 40000, pathPatterns: ["/api/*", "/checkout"], hostHeaders: ["shop.example.com"] },
      [
        {
          name: "override",
          kind: "override",
          priority: 40000,
          conditions: [{ pathPattern: { values: ["/api/*", "/checkout"] } }, { hostHeader: { values: ["shop.example.com"] } }, OVERRIDE],
          forward: both(100, false),
        },
        {
          name: "default",
          kind: "default",
          priority: 40001,
          conditions: [{ pathPattern: { values: ["/api/*", "/checkout"] } }, { hostHeader: { values: ["shop.example.com"] } }],
          forward: both(5, true),
        },
      ] as RenderedRule[],
    ],
    [
      "hosts alone scope the rules",
      spec(5, { override: undefined, segments: [] }),
      { priority: 100, pathPatterns: [], hostHeaders: ["a.example.com"] },
      [{ name: "default", kind: "default", priority: 100, conditions: [{ hostHeader: { values: ["a.example.com"] } }], forward: both(5, true) }] as RenderedRule[],
    ],
    [
      "segment at 0 keeps both target groups",
      spec(30, { override: undefined, segments: [{ name: "eu", match: { kind: "header", name: "x-region", value: "eu" }, weight: 0 }] }),
      scope,
      [
        { name: "eu", kind: "segment", priority: 100, conditions: [PATH, { httpHeader: { httpHeaderName: "x-region", values: ["eu"] } }], forward: both(0, false) },
        { name: "default", kind: "default", priority: 101, conditions: [PATH], forward: both(30, true) },
      ] as RenderedRule[],
    ],
  ];
  for (const [title, input, s, expected] of table) {
    it(title, () => {
      assert.deepStrictEqual(renderListenerRules(input, s), expected);
    });
  }

  const errors: Array<[string, TrafficSpec, RuleScope, string]> = [
    ["priority 0", spec(5), { ...scope, priority: 0 }, "priority: must be an integer from 1 to 50000, got 0"],
    ["priority not an integer", spec(5), { ...scope, priority: 1.5 }, "priority: must be an integer from 1 to 50000, got 1.5"],
    ["rules past 50000", spec(5), { ...scope, priority: 49998 }, "priority: must be at most 49997: the 4 rules take consecutive priorities up to 50000, got 49998"],
    // Counted as with a canary: the segments are rendered at the first rollout step.
    ["rules past 50000 before a canary exists", { ...spec(0), hasCanary: false }, { ...scope, priority: 49998 }, "priority: must be at most 49997: the 4 rules take consecutive priorities up to 50000, got 49998"],
    ["no condition at all", spec(5), { priority: 1, pathPatterns: [], hostHeaders: [] }, "pathPatterns: pathPatterns and hostHeaders are both empty; an ALB listener rule needs at least one condition"],
    ["4 path patterns", spec(5), { ...scope, pathPatterns: ["/a", "/b", "/c", "/d"] }, 'pathPatterns: must have at most 3 values (ALB\'s limit per condition), got ["/a","/b","/c","/d"]'],
    ["empty path pattern", spec(5), { ...scope, pathPatterns: [""] }, 'pathPatterns[0]: must be an ALB path pattern: 1–128 of A–Z, a–z, 0–9, _ - . $ / ~ " \' @ : + & and the wildcards * and ?, got ""'],
    ["a non-ASCII path pattern", spec(5), { ...scope, pathPatterns: ["/caf\u00e9"] }, 'pathPatterns[0]: must be visible ASCII (ALB matches nothing else), got "/café"'],
    ["a control character in a host", spec(5), { ...scope, hostHeaders: ["a\u0007.example.com"] }, 'hostHeaders[0]: must be visible ASCII (ALB matches nothing else), got "a\\u0007.example.com"'],
    ["a host without a dot", spec(5), { ...scope, hostHeaders: ["localhost"] }, 'hostHeaders[0]: must be an ALB host name: 1–128 of A–Z, a–z, 0–9, - . and the wildcards * and ?, with a \'.\' and only letters after the last one, got "localhost"'],
    [
      "6 values on a header rule",
      spec(5),
      { priority: 1, pathPatterns: ["/a", "/b", "/c"], hostHeaders: ["a.example.com", "b.example.com"] },
      'hostHeaders: together with pathPatterns must have at most 4 values (ALB allows 5 per rule and the override and segment rules add one); pathPatterns has 3, got ["a.example.com","b.example.com"]',
    ],
    [
      "6 wildcards on the cookie rule",
      spec(5, { override: undefined }),
      { priority: 1, pathPatterns: ["/a/*", "/b/*"], hostHeaders: ["*.example.com", "x?.example.com"] },
      'traffic.segments[1]: makes the rule of segment beta have 6 wildcards (* and ?) in ["/a/*","/b/*","*.example.com","x?.example.com","*beta=1*"]; ALB allows 5 per rule',
    ],
    ["stickiness duration 0", spec(5, { stickiness: { ...sticky, durationSeconds: 0 } }), scope, "traffic.stickiness.durationSeconds: must be an integer number of seconds from 1 to 604800, got 0"],
    ["stickiness duration above 7 days", spec(5, { stickiness: { ...notSticky, durationSeconds: 604801 } }), scope, "traffic.stickiness.durationSeconds: must be an integer number of seconds from 1 to 604800, got 604801"],
    ["weight without a canary", { ...spec(5), hasCanary: false }, scope, "traffic.canaryWeight: must be 0 when no canary is deployed, got 5"],
  ];
  for (const [title, input, s, message] of errors) {
    it(`refuses ${title}`, () => {
      assert.throws(() => renderListenerRules(input, s), new AlbCanaryError(message));
    });
  }
});

describe("aws: matchCondition and matchProblems", () => {
  const table: Array<[string, Parameters<typeof matchCondition>[0], unknown]> = [
    ["header: exact value, lower-case name", { kind: "header", name: "x-canary", value: "true" }, { httpHeader: { httpHeaderName: "x-canary", values: ["true"] } }],
    ["cookie: Cookie header wildcard", { kind: "cookie", name: "beta", value: "1" }, { httpHeader: { httpHeaderName: "Cookie", values: ["*beta=1*"] } }],
    ["cookie with dashes", { kind: "cookie", name: "ab-test", value: "group-b" }, { httpHeader: { httpHeaderName: "Cookie", values: ["*ab-test=group-b*"] } }],
  ];
  for (const [title, match, expected] of table) {
    it(title, () => {
      assert.deepStrictEqual(matchCondition(match), expected);
      assert.deepStrictEqual(matchProblems(match, ["m"]), []);
    });
  }

  const errors: Array<[string, Parameters<typeof matchCondition>[0], string]> = [
    ["* in a value", { kind: "header", name: "x-a", value: "a*b" }, 'm.value: cannot contain * or ? on ALB (ALB treats them as wildcards), got "a*b"'],
    ["? in a cookie value", { kind: "cookie", name: "c", value: "a?" }, 'm.value: cannot contain * or ? on ALB (ALB treats them as wildcards), got "a?"'],
    ["header name over 40", { kind: "header", name: "x".repeat(41), value: "1" }, `m.name: must have at most 40 characters (ALB's limit on header names), got "${"x".repeat(41)}"`],
    ["the Host header", { kind: "header", name: "Host", value: "a.example.com" }, 'm.name: cannot be the Host header on ALB (an http-header condition cannot match it; use hostHeaders), got "Host"'],
    [
      "cookie value over 128 once wrapped",
      { kind: "cookie", name: "c", value: "v".repeat(125) },
      `m.value: makes the Cookie pattern *<name>=<value>* 129 characters long; ALB allows 128, so name and value together may have at most 125, got "${"v".repeat(76)}...`,
    ],
  ];
  for (const [title, match, message] of errors) {
    it(`refuses ${title}`, () => assert.deepStrictEqual(matchProblems(match, ["m"]).map(formatProblem), [message]));
  }
});

describe("aws: appliedCanaryPercent", () => {
  const canary = "arn:canary";
  const fwd = (...targetGroups: Array<{ arn: string; weight?: number }>) => [{ forward: { targetGroups } }];
  const table: Array<[string, Parameters<typeof appliedCanaryPercent>[0], number]> = [
    ["5 of 100", fwd({ arn: "arn:stable", weight: 95 }, { arn: canary, weight: 5 }), 5],
    ["0 of 100", fwd({ arn: "arn:stable", weight: 100 }, { arn: canary, weight: 0 }), 0],
    ["100 of 100", fwd({ arn: "arn:stable", weight: 0 }, { arn: canary, weight: 100 }), 100],
    ["other scale: 333 of 999", fwd({ arn: "arn:stable", weight: 666 }, { arn: canary, weight: 333 }), 33],
    ["canary absent (no canary deployed)", fwd({ arn: "arn:stable", weight: 100 }), 0],
    ["lone unweighted canary", fwd({ arn: canary }), 100],
    ["forward after another action", [{}, ...fwd({ arn: "arn:stable", weight: 50 }, { arn: canary, weight: 50 })], 50],
  ];
  for (const [title, actions, expected] of table) {
    it(title, () => assert.equal(appliedCanaryPercent(actions, canary), expected));
  }
  it("refuses a rule without a forward action", () => {
    assert.throws(() => appliedCanaryPercent([{}], canary), new AlbCanaryError("the default listener rule has no forward action to read the canary weight from"));
    assert.throws(() => appliedCanaryPercent(undefined, canary), new AlbCanaryError("the default listener rule has no forward action to read the canary weight from"));
  });
  it("refuses weights summing to 0", () => {
    assert.throws(() => appliedCanaryPercent(fwd({ arn: "arn:stable", weight: 0 }, { arn: canary, weight: 0 }), canary), new AlbCanaryError("the default listener rule forwards with all target group weights 0"));
  });
});
