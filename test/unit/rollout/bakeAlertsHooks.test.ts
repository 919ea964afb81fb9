/**
 * The pure parts of the bake (its verdict against the guardrails and the previous version's
 * reference), of the alert gate (selectors, the query, reading Prometheus' answer through an
 * injected fetch) and of the hooks (their secrets, variables and descriptions).
 */
import * as assert from "node:assert/strict";
import { parseJudgeConfig } from "../../../automation/analysis/judge";
import { TickMeasurement, Verdict } from "../../../automation/analysis/types";
import { parsePlan } from "../../../automation/plan";
import { alertName, alertsQuery, firingAlerts, generatedAlertMatchers, parseSelector } from "../../../automation/rollout/alerts";
import { bakeVerdict, compareWithReference, countsOf, firstTrafficAt, referenceOf } from "../../../automation/rollout/bake";
import { describeHook, hookSecretConfigKeys, resolveHookSecrets, substitute } from "../../../automation/rollout/hooks";

const JUDGE = parseJudgeConfig({ metrics: [{ name: "errors", source: { kind: "errors" } }, { name: "latency", source: { kind: "latencyAbove", le: 0.25 } }], minCanaryRequestsToPromote: 200 });
const BAKE = parsePlan("bake: { duration: 30s, maxDuration: 2m }").bake!;
const REFERENCE = { version: "v1", from: "2026-01-01T00:00:00.000Z", to: "2026-01-01T00:10:00.000Z", requests: 10_000, errors: 10, slower: { "0.25": 50 } };

function judgeVerdict(over: Partial<Verdict> = {}): Verdict {
  return { decision: "continue", at: 100, reasons: ["collecting evidence"], stepElapsedSeconds: 40, stepObservedSeconds: 40, metrics: [], guardrails: [{ name: "errorRate", observed: 0, lowerBound: 0, limit: 0.05, requests: 500, status: "ok" }], ...over };
}

describe("the bake", () => {
  it("compares the new version's error and slow-request rates with the reference's, at maxRatio × its upper bound", () => {
    const clean = compareWithReference({ requests: 2000, errors: 2, slower: { "0.25": 10 } }, REFERENCE, JUDGE, 2);
    assert.deepEqual(
      clean.map((c) => [c.name, c.status, c.events, c.requests]),
      [
        ["errors", "ok", 2, 2000],
        ["latency", "ok", 10, 2000],
      ],
    );
    // The limit is 2 × the reference's upper bound (at the guardrails' δ), never below the negligible rate.
    assert.ok(clean[0].limit > 2 * (10 / 10_000) && clean[0].limit < 0.01, String(clean[0].limit));
    const bad = compareWithReference({ requests: 2000, errors: 60, slower: { "0.25": 10 } }, REFERENCE, JUDGE, 2);
    assert.deepEqual(bad.map((c) => c.status), ["breached", "ok"]);
    // Too few requests decide nothing; no usable reference compares nothing.
    assert.deepEqual(compareWithReference({ requests: 10, errors: 5 }, REFERENCE, JUDGE, 2).map((c) => c.status), ["insufficientSample", "insufficientSample"]);
    assert.deepEqual(compareWithReference({ requests: 2000, errors: 60 }, { ...REFERENCE, requests: 0, errors: 0 }, JUDGE, 2), []);
    assert.deepEqual(compareWithReference({ requests: 2000, errors: 60 }, { version: "v1", from: "a", to: "b", unavailable: "no series" }, JUDGE, 2), []);
  });

  it("passes once its duration is observed with enough requests and nothing breached", () => {
    const v = bakeVerdict(judgeVerdict(), { bake: BAKE, judge: JUDGE, counts: { requests: 2000, errors: 2, slower: { "0.25": 10 } }, reference: REFERENCE, version: "v2", previous: "v1" });
    assert.equal(v.decision, "promote");
    assert.match(v.reasons[0], /^40\.0s observed with 2000 requests on v2; guardrails clear; against v1: errors ≤ [0-9.]+% \(ok\), latency ≤ [0-9.]+% \(ok\)$/);
  });

  it("rolls back on a rate confidently above the reference's, naming both", () => {
    const v = bakeVerdict(judgeVerdict(), { bake: BAKE, judge: JUDGE, counts: { requests: 2000, errors: 60 }, reference: REFERENCE, version: "v2", previous: "v1" });
    assert.equal(v.decision, "rollback");
    assert.match(v.reasons[0], /^bake: errors rate of v2 ≥ [0-9.]+% \(observed 3\.00% of 2000 requests\) exceeds 2 × v1's 0\.10% \(≤ [0-9.]+% over 10000 requests before the rollout\): limit [0-9.]+%$/);
  });

  it("keeps the judge's rollback (a guardrail, an outage) and its hold, and is inconclusive past its maximum duration", () => {
    const guard = judgeVerdict({ decision: "rollback", reasons: ["guardrail errorRate: canary bad fraction ≥ 9%"] });
    assert.deepEqual(bakeVerdict(guard, { bake: BAKE, judge: JUDGE, counts: { requests: 2000, errors: 2 }, reference: REFERENCE, version: "v2" }), guard);
    const short = bakeVerdict(judgeVerdict({ stepObservedSeconds: 10 }), { bake: BAKE, judge: JUDGE, counts: { requests: 2000, errors: 2 }, reference: REFERENCE, version: "v2" });
    assert.deepEqual([short.decision, short.reasons], ["continue", ["baking: observed 10.0s of the bake's 30s"]]);
    const noTraffic = bakeVerdict(judgeVerdict({ hold: "noTraffic", reasons: ["no canary requests in this tick: holding the step"] }), { bake: BAKE, judge: JUDGE, counts: { requests: 2000, errors: 2 }, version: "v2" });
    assert.deepEqual([noTraffic.decision, noTraffic.hold], ["continue", "noTraffic"]);
    const late = bakeVerdict(judgeVerdict({ stepObservedSeconds: 10, stepElapsedSeconds: 130 }), { bake: BAKE, judge: JUDGE, counts: { requests: 100, errors: 0 }, version: "v2" });
    assert.deepEqual([late.decision, late.reasons], ["inconclusive", ["the bake reached its maximum duration (120s) without passing: observed 10.0s of the bake's 30s; 100 requests on v2, need 200"]]);
  });

  it("the reference is the previous version's counts (the `canary` of a provider with the versions swapped), or why not", () => {
    const m: TickMeasurement = { kind: "ok", start: 0, end: 600, canary: { requests: 900, errors: 3, latencyBuckets: [{ le: 0.25, count: 880 }, { le: Infinity, count: 900 }] }, baseline: { requests: 0, errors: 0 } };
    assert.deepEqual(referenceOf(m, "v1", 0, 600, [0.25]), { version: "v1", from: "1970-01-01T00:00:00.000Z", to: "1970-01-01T00:10:00.000Z", requests: 900, errors: 3, slower: { "0.25": 20 } });
    // The new version has no series yet: its absence does not spoil the previous version's counts.
    assert.deepEqual(referenceOf({ kind: "noValues", end: 600, start: 0, missing: ["baseline"], neverSeen: ["baseline"], canary: { requests: 900, errors: 3 }, detail: "" }, "v1", 0, 600, []), { version: "v1", from: "1970-01-01T00:00:00.000Z", to: "1970-01-01T00:10:00.000Z", requests: 900, errors: 3 });
    assert.deepEqual(referenceOf({ kind: "queryFailed", end: 600, error: "timeout" }, "v1", 0, 600, []), { version: "v1", from: "1970-01-01T00:00:00.000Z", to: "1970-01-01T00:10:00.000Z", unavailable: "timeout" });
    assert.deepEqual(countsOf({ requests: 10, errors: 12 }, []), { requests: 10, errors: 10 });
  });

  it("a step's observation starts with the tick that saw the new version's first request", () => {
    assert.equal(firstTrafficAt({ kind: "ok", start: 10, end: 15, canary: { requests: 0, errors: 0 }, baseline: { requests: 90, errors: 0 } }), undefined);
    assert.equal(firstTrafficAt({ kind: "ok", start: 15, end: 20, canary: { requests: 3, errors: 0 }, baseline: { requests: 90, errors: 0 } }), 15);
    assert.equal(firstTrafficAt({ kind: "noValues", start: 15, end: 20, missing: ["canary"], neverSeen: ["canary"], detail: "" }), undefined);
    assert.equal(firstTrafficAt({ kind: "priming", end: 20 }), undefined);
  });
});

describe("the alert gate", () => {
  it("reads selectors into matchers, refusing anything else", () => {
    assert.deepEqual(parseSelector('{ team = "pay,ments", severity=~"critical|page", env!="dev" }'), {
      matchers: [
        { label: "team", op: "=", value: "pay,ments" },
        { label: "severity", op: "=~", value: "critical|page" },
        { label: "env", op: "!=", value: "dev" },
      ],
    });
    assert.deepEqual(parseSelector('{a="x\\"y"}'), { matchers: [{ label: "a", op: "=", value: 'x"y' }] });
    assert.deepEqual(parseSelector("{}"), { error: "must have at least one matcher" });
    assert.deepEqual(parseSelector('{a="x"} or vector(1)'), { error: 'must be label matchers in braces, such as {team="payments", severity="critical"}' });
    assert.deepEqual(parseSelector('{a="x"}, b="y"}'), { error: 'cannot read matcher "a=\\"x\\"}": must be label="value" (or !=, =~, !~)' });
  });

  it("asks for the firing alerts only, built from the matchers (values escaped)", () => {
    assert.equal(
      alertsQuery(generatedAlertMatchers("checkout", "service")),
      'ALERTS{alertstate="firing",alertname=~"CanaryHighErrorRate|CanaryErrorRateHigherThanStable|CanaryLatencyHigherThanStable|CanaryPodCrashLooping",service="checkout"}',
    );
    assert.equal(alertsQuery([{ label: "a", op: "=", value: 'x"}' }]), 'ALERTS{alertstate="firing",a="x\\"}"}');
    assert.equal(alertName({ __name__: "ALERTS", alertname: "CanaryHighErrorRate", alertstate: "firing", version: "v2", service: "checkout" }), 'CanaryHighErrorRate{service="checkout",version="v2"}');
  });

  it("reads Prometheus' answer; a failure is a value, never an exception", async () => {
    const calls: { url: string; body: string }[] = [];
    const answer = (status: number, body: unknown): typeof fetch =>
      (async (url: string | URL | Request, init?: RequestInit) => {
        calls.push({ url: String(url), body: String(init?.body) });
        return new Response(typeof body === "string" ? body : JSON.stringify(body), { status });
      }) as typeof fetch;
    const firing = { status: "success", data: { resultType: "vector", result: [{ metric: { __name__: "ALERTS", alertname: "CanaryHighErrorRate", alertstate: "firing", service: "checkout", version: "v2" }, value: [1, "1"] }] } };
    const source = { url: "http://prometheus:9090", headers: { authorization: "Bearer t" } };
    assert.deepEqual(await firingAlerts(source, [{ label: "service", op: "=", value: "checkout" }], 1767225600, answer(200, firing)), { firing: ['CanaryHighErrorRate{service="checkout",version="v2"}'] });
    assert.equal(calls[0].url, "http://prometheus:9090/api/v1/query");
    assert.equal(new URLSearchParams(calls[0].body).get("query"), 'ALERTS{alertstate="firing",service="checkout"}');
    assert.equal(new URLSearchParams(calls[0].body).get("time"), "1767225600.000");
    assert.deepEqual(await firingAlerts(source, [], 1, answer(200, { status: "success", data: { resultType: "vector", result: [] } })), { firing: [] });
    assert.deepEqual(await firingAlerts(source, [], 1, answer(503, "unavailable")), { error: 'query ALERTS{alertstate="firing"}: HTTP 503: unavailable' });
    const refused = (async () => {
      throw new TypeError("fetch failed");
    }) as unknown as typeof fetch;
    assert.deepEqual(await firingAlerts(source, [], 1, refused), { error: 'query ALERTS{alertstate="firing"}: fetch failed' });
  });
});

describe("hooks", () => {
  const plan = parsePlan(`
hooks:
  - { name: cab, at: preRollout, http: { urlEnv: CAB_URL, headersEnv: { Authorization: CAB_TOKEN }, headersConfig: { X-Team: "canary:team" } } }
  - { name: smoke, at: beforeStep, command: [./smoke, "\${CANARY_OVERRIDE_URL}"] }
  - { name: chat, at: afterPromotion, http: { urlConfig: "canary:chatUrl", method: POST } }
`);

  it("reads each secret from where the plan says, and scrubs every one of them", () => {
    const secrets = resolveHookSecrets(plan.hooks, { env: { CAB_URL: "https://cab.example.com/hooks/T0K3NSECRET", CAB_TOKEN: "Bearer abcdefsecret" }, config: { "canary:team": "payments", "canary:chatUrl": "https://chat.example.com/x/ZZZZZZZZ" } });
    assert.deepEqual(secrets.byHook.get("cab"), { url: "https://cab.example.com/hooks/T0K3NSECRET", headers: { Authorization: "Bearer abcdefsecret", "X-Team": "payments" } });
    assert.deepEqual(secrets.byHook.get("chat"), { url: "https://chat.example.com/x/ZZZZZZZZ", headers: {} });
    assert.equal(
      secrets.redactor.scrub("POST https://cab.example.com/hooks/T0K3NSECRET failed with Bearer abcdefsecret; chat ZZZZZZZZ"),
      "POST [redacted] failed with [redacted]; chat [redacted]",
    );
    assert.deepEqual(hookSecretConfigKeys(plan.hooks), ["canary:team", "canary:chatUrl"]);
  });

  it("a secret that is not set fails before anything changes, naming the field, never a value", () => {
    assert.throws(() => resolveHookSecrets(plan.hooks, { env: { CAB_URL: "https://x.example.com" } }), { name: "HookConfigError", message: "hooks[0].http.headersEnv.Authorization: environment variable CAB_TOKEN is not set" });
    assert.throws(() => resolveHookSecrets(plan.hooks, { env: { CAB_URL: "u", CAB_TOKEN: "t" }, config: { "canary:team": "p" } }), {
      name: "HookConfigError",
      message: "hooks[2].http.urlConfig: no value was passed for stack config key canary:chatUrl (read it with getAllConfig and pass it as a secret)",
    });
  });

  it("variables fill ${…}; hooks are described without their secrets", () => {
    assert.equal(substitute("${CANARY_OVERRIDE_URL}/smoke?v=${CANARY_VERSION}&s=${CANARY_STEP}", { CANARY_OVERRIDE_URL: "http://127.0.0.1:8080", CANARY_VERSION: "v2" }), "http://127.0.0.1:8080/smoke?v=v2&s=");
    assert.deepEqual(plan.hooks.map(describeHook), ["GET [redacted] (from $CAB_URL)", "command ./smoke ${CANARY_OVERRIDE_URL}", "POST [redacted] (from canary:chatUrl)"]);
  });
});
