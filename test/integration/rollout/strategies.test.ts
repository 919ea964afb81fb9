/**
 * Blue/green, the bake, hooks, the alert gate and analysis starting with traffic, end to end on
 * one shared sandbox (real HAProxy and Prometheus scraping every 500 ms, the sample service under
 * generated load, the real judge, the HAProxy target; reset between tests):
 *  - green checked through the override route by a local command, all traffic switched at once
 *    with zero failed requests, an HTTP hook with a secret URL and header against a local server,
 *    the bake with blue kept; a green failing its bake switched straight back to blue;
 *  - a canary baking after its last step, rolled back to the kept previous version on a
 *    guardrail breach, its onRollback command recorded with its output;
 *  - a firing alert, evaluated by the sandbox's Prometheus from a rule file, rolling back or
 *    holding the rollout as the plan says;
 *  - a step whose canary gets its first request seconds after the weight is set, judged from
 *    that request on.
 */
import * as assert from "node:assert/strict";
import { parsePlan } from "../../../automation/plan";
import { firingAlerts } from "../../../automation/rollout/alerts";
import { DriverEvent } from "../../../automation/rollout/events";
import { RequestRecord, runLoad } from "../../../local/loadgen";
import { Sandbox, startSandbox } from "../../../local/sandbox";
import { runSandboxRollout } from "../../../local/sandboxRollout";
import { Receiver } from "../../helpers/receiver";
import { HAPROXY, needs, PROMETHEUS } from "../../helpers/tools";

/** The smoke test a pre-traffic hook runs: one request through the override route, which must reach the new version. */
const SMOKE = `
const url = process.env.CANARY_OVERRIDE_URL;
fetch(url, { headers: { [process.env.CANARY_OVERRIDE_HEADER]: process.env.CANARY_OVERRIDE_VALUE } }).then((r) => {
  const v = r.headers.get("x-version");
  console.log("override route " + url + " answered " + r.status + " from " + v);
  process.exit(r.status === 200 && v === process.env.CANARY_VERSION ? 0 : 1);
}, (e) => { console.error(e.message); process.exit(2); });
`;

/**
 * The judge for short steps: errors only, and no allowance for noise shared by a version's pods
 * (each version is one process here), so a clean step decides in a couple of ticks.
 */
const JUDGE = `
analysis:
  judge:
    metrics: [{ name: errors, source: { kind: errors }, negligibleRate: 0.01 }]
    dispersion: { versionNoise: { enabled: false } }
    guardrails: { latency: [{ name: p95, le: 0.5, maxFraction: 0.05 }] }
    minCanaryRequestsToPromote: 100
  metrics: { selectors: { job: app } }
`;

/** A one-step canary: 50 %, then all traffic. */
const CANARY = (maxDuration = "30s") => `steps: [{ weight: 50, minDuration: 1s, maxDuration: ${maxDuration} }, { weight: 100 }]\ntick: 1s\n`;

/** The sandbox Prometheus' rule file: an operator's paging alert, firing or not. */
const PAGING = (firing: boolean) => `
groups:
  - name: operator
    rules:
      - alert: CheckoutPaging
        expr: vector(1) ${firing ? ">" : "<"} 0
        labels: { team: checkout, severity: page }
`;
const ALERTS = (onFiring: "rollback" | "hold") => `alerts: { selector: '{team="checkout"}', onFiring: ${onFiring} }\n`;

const RPS = 600;

/** Every failed request, by status and version, for an assertion's message. */
const breakdown = (failures: readonly RequestRecord[]): string => {
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(`${f.status} ${f.version ?? "-"}`, (counts.get(`${f.status} ${f.version ?? "-"}`) ?? 0) + 1);
  return JSON.stringify(Object.fromEntries(counts));
};

describe("blue/green, bake, hooks and alert gates on the sandbox", function () {
  needs(HAPROXY, PROMETHEUS);
  this.timeout(90_000);
  let sandbox: Sandbox | undefined;
  const receiver = new Receiver();
  const sb = (): Sandbox => sandbox as Sandbox;

  before(async () => {
    await receiver.start();
    sandbox = await startSandbox({ versions: { stable: "v1", canary: "v2" }, traffic: { canaryWeight: 0 }, scrapeIntervalSeconds: 0.5, rules: PAGING(false) });
  });
  after(async () => {
    await sandbox?.stop();
    await receiver.stop();
  });

  it("blue/green: green is checked through the override route, switched to at once with zero failed requests, baked with blue kept, then promoted", async () => {
    receiver.fallback = { status: 202, body: "queued" };
    const token = "Bearer rel-9f8e7d6c5b4a";
    const url = `${receiver.base}/hooks/release/T0KENPATH123`;
    const plan = parsePlan(`
strategy: blueGreen
tick: 1s
bake: { duration: 1s, maxDuration: 30s, reference: 30s }
blueGreen: { scaleDownDelay: 2s }
hooks:
  - { name: smoke, at: beforePromotion, command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(SMOKE)}], timeout: 10s }
  - name: release-notes
    at: afterPromotion
    http: { urlEnv: RELEASE_HOOK_URL, method: POST, headersEnv: { Authorization: RELEASE_TOKEN }, body: '{"version":"\${CANARY_VERSION}","stack":"\${CANARY_STACK}"}', expectStatus: [202] }
${JUDGE}`);
    const failures: RequestRecord[] = [];
    const r = await runSandboxRollout({
      sandbox: sb(),
      plan,
      rps: RPS,
      hookSecrets: { env: { RELEASE_HOOK_URL: url, RELEASE_TOKEN: token } },
      onResponse: (x) => void ((x.status === 0 || x.status >= 500) && failures.push(x)),
    });
    assert.equal(r.result.outcome, "promoted", r.result.reason);
    assert.deepEqual(r.record.history.map((h) => `${h.type} ${h.to}${h.weight !== undefined ? ` ${h.weight}` : ""}`), ["start Initializing", "switch Baking 100", "promote Promoting 100", "complete Succeeded 100"]);
    // Zero downtime: not one request failed while all traffic moved at once.
    assert.equal(r.failedRequests, 0, breakdown(failures));
    assert.ok(r.totalRequests > 1000, String(r.totalRequests));
    assert.deepEqual([r.weights.stable, r.weights.canary], [0, 100]);
    assert.ok(r.switchSeconds !== undefined && r.switchSeconds >= 0, String(r.switchSeconds));
    // Blue was kept for scaleDownDelay after the switch.
    const at = (t: string) => Date.parse(r.record.history.find((h) => h.type === t)!.at);
    assert.ok(at("promote") - at("switch") >= 2000, `${at("promote") - at("switch")} ms`);
    // The smoke test ran before the switch, through the override route, and reached green.
    const smoke = r.record.hooks!.find((h) => h.hook === "smoke")!;
    assert.deepEqual([smoke.slot, smoke.ok, smoke.detail], ["beforePromotion", true, "exit 0"]);
    assert.match(smoke.excerpt!, new RegExp(`^override route ${sb().urls.traffic} answered 200 from v2$`));
    assert.ok(Date.parse(smoke.finishedAt) <= at("switch"));
    // The HTTP hook ran after the switch with its secret URL and header, and nothing recorded them.
    const notes = r.record.hooks!.find((h) => h.hook === "release-notes")!;
    assert.deepEqual([notes.slot, notes.ok, notes.detail, notes.excerpt], ["afterPromotion", true, "HTTP 202", "queued"]);
    assert.ok(Date.parse(notes.startedAt) >= at("switch"));
    assert.equal(receiver.requests.length, 1);
    const [req] = receiver.requests;
    assert.deepEqual([req.method, req.path, req.headers.authorization, JSON.parse(req.body)], ["POST", "/hooks/release/T0KENPATH123", token, { version: "v2", stack: `haproxy ${sb().urls.traffic}` }]);
    const json = JSON.stringify(r.record);
    assert.ok(!json.includes("T0KENPATH123") && !json.includes("rel-9f8e7d6c5b4a"), "a secret reached the record");
    // The bake judged green against blue's own pre-rollout rates.
    assert.ok(r.record.reference && "requests" in r.record.reference && r.record.reference.version === "v1" && r.record.reference.requests > 0, JSON.stringify(r.record.reference));
  });

  it("blue/green: green failing its bake is switched back to blue at once; the only failed requests are green's own 5xx", async () => {
    const failures: RequestRecord[] = [];
    const plan = parsePlan(`strategy: blueGreen\ntick: 1s\nbake: { duration: 20s, maxDuration: 60s, reference: 30s }\nblueGreen: { scaleDownDelay: 20s }\n${JUDGE}`);
    const r = await runSandboxRollout({ sandbox: sb(), plan, rps: RPS, fault: { atStep: "switch", fault: { errorRate: 0.3 } }, onResponse: (x) => void ((x.status === 0 || x.status >= 500) && failures.push(x)) });
    assert.equal(r.result.outcome, "rolledBack");
    assert.match(r.result.reason, /^guardrail (errorRate|successRate): canary /);
    assert.deepEqual(r.record.history.map((h) => h.type), ["start", "switch", "rollback", "rolledBack"]);
    assert.deepEqual([r.weights.stable, r.weights.canary], [100, 0]);
    assert.ok(r.rollbackSeconds !== undefined && r.rollbackSeconds < 5, String(r.rollbackSeconds));
    // Every failed request was answered by green with its injected 500: the switch and the switch back themselves lost none.
    assert.ok(failures.length > 0);
    assert.deepEqual([...new Set(failures.map((f) => `${f.status} ${f.version}`))], ["500 v2"], breakdown(failures));
  });

  it("a canary baking after its last step is rolled back to the kept previous version on a guardrail breach; its onRollback command is recorded", async () => {
    const plan = parsePlan(`${CANARY()}bake: { duration: 20s, maxDuration: 60s, reference: 30s }
hooks:
  - { name: page-owner, at: onRollback, command: 'echo "rolled back $CANARY_VERSION to $CANARY_STABLE_VERSION"' }
${JUDGE}`);
    const r = await runSandboxRollout({ sandbox: sb(), plan, rps: RPS, fault: { atStep: "switch", fault: { errorRate: 0.3 } } });
    assert.equal(r.result.outcome, "rolledBack");
    assert.match(r.result.reason, /^guardrail (errorRate|successRate): canary /);
    assert.deepEqual(r.record.history.map((h) => `${h.type} ${h.to}`), ["start Initializing", "advance Progressing", "switch Baking", "rollback RollingBack", "rolledBack RolledBack"]);
    // The previous version was kept deployed through the bake: all traffic is back on it.
    assert.deepEqual([r.weights.stable, r.weights.canary], [100, 0]);
    assert.ok(r.weights.stableUp);
    const hook = r.record.hooks!.find((h) => h.hook === "page-owner")!;
    assert.deepEqual([hook.slot, hook.ok, hook.detail, hook.excerpt], ["onRollback", true, "exit 0", "rolled back v2 to v1"]);
    assert.ok(Date.parse(hook.startedAt) >= Date.parse(r.record.history.at(-1)!.at));
  });

  describe("the alert gate", () => {
    const firing = async (): Promise<readonly string[]> => {
      const reading = await firingAlerts({ url: sb().urls.prometheus! }, [{ label: "team", op: "=", value: "checkout" }], Date.now() / 1000);
      if ("error" in reading) throw new Error(reading.error);
      return reading.firing;
    };
    /** Sets the paging alert and waits until Prometheus reports it (not) firing. */
    const page = async (on: boolean): Promise<void> => {
      await sb().setRules(PAGING(on));
      for (let i = 0; (await firing()).length !== (on ? 1 : 0); i++) {
        if (i > 100) throw new Error(`CheckoutPaging did not ${on ? "fire" : "resolve"} within 5 s`);
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    afterEach(() => page(false));

    it("a firing alert rolls the rollout back before the canary gets any traffic (onFiring: rollback)", async () => {
      const r = await runSandboxRollout({ sandbox: sb(), plan: parsePlan(`${CANARY()}${ALERTS("rollback")}${JUDGE}`), rps: RPS, beforeRollout: () => page(true) });
      assert.equal(r.result.outcome, "rolledBack");
      assert.equal(r.result.reason, 'alerts firing (step 0): CheckoutPaging{severity="page",team="checkout"}');
      assert.deepEqual(r.record.history.map((h) => h.type), ["start", "rollback", "rolledBack"]);
      assert.equal(r.canaryRequests, 0);
      assert.deepEqual([r.weights.stable, r.weights.canary], [100, 0]);
    });

    it("a firing alert holds the first step until it resolves, then the rollout goes on (onFiring: hold)", async () => {
      const events: { at: number; text: string }[] = [];
      let resolved: Promise<void> | undefined;
      const report = (e: DriverEvent): void => {
        const text = e.kind === "action" ? e.message : e.kind === "log" ? e.line : e.kind === "transition" ? `${e.entry.type}` : undefined;
        if (text !== undefined) events.push({ at: Date.now(), text });
        // The operator's incident ends a second into the hold.
        if (e.kind === "action" && e.message.startsWith("alerts firing (step 0)")) resolved = new Promise((res) => setTimeout(res, 1000)).then(() => page(false));
      };
      const r = await runSandboxRollout({ sandbox: sb(), plan: parsePlan(`${CANARY()}${ALERTS("hold")}${JUDGE}`), rps: RPS, beforeRollout: () => page(true), report });
      await resolved;
      assert.equal(r.result.outcome, "promoted", r.result.reason);
      assert.deepEqual(r.record.history.map((h) => h.type), ["start", "advance", "promote", "complete"]);
      const when = (prefix: string) => events.find((e) => e.text.startsWith(prefix))?.at;
      const held = when('alerts firing (step 0): CheckoutPaging{severity="page",team="checkout"}; plan alerts.onFiring: hold');
      const cleared = when("alerts (step 0): none firing any more");
      const advanced = when("advance");
      assert.ok(held !== undefined && cleared !== undefined && advanced !== undefined, events.map((e) => e.text).join("\n"));
      // The weight stayed at 0 while the alert fired, and moved once it stopped.
      assert.ok(cleared - held >= 1000 && advanced >= cleared, `held ${held}, cleared ${cleared}, advanced ${advanced}`);
    });
  });

  it("a step's observation starts with the canary's first request: traffic arriving 3 s into a 4 s step does not run out its time", async () => {
    const stop = new AbortController();
    let load: Promise<unknown> | undefined;
    const logs: string[] = [];
    const report = (e: DriverEvent): void => {
      if (e.kind === "log") logs.push(e.line);
      // No user reaches the service until 3 s after step 0's weight is set.
      if (e.kind === "transition" && e.entry.type === "advance") {
        load = new Promise((res) => setTimeout(res, 3000)).then(() => runLoad({ url: sb().urls.traffic, rps: RPS, durationSeconds: 120, signal: stop.signal }));
      }
    };
    try {
      const r = await runSandboxRollout({ sandbox: sb(), plan: parsePlan(`${CANARY("4s")}${JUDGE}`), rps: 0, report });
      assert.equal(r.result.outcome, "promoted", r.result.reason);
      const line = logs.find((l) => l.startsWith("step 0: the first request of v2 came "));
      assert.ok(line, logs.join("\n"));
      const after = Number(/came ([0-9.]+)s after/.exec(line)![1]);
      // The observation starts with the first tick that counts a request: at most a tick and a scrape before it.
      assert.ok(after >= 1.5 && after <= 4, line);
      const at = (t: string) => Date.parse(r.record.history.find((h) => h.type === t)!.at);
      // Promoted more than the step's 4 s after its weight: its limit counted from the first request.
      assert.ok(at("promote") - at("advance") > 4000, `${at("promote") - at("advance")} ms`);
    } finally {
      stop.abort();
      await load;
    }
  });
});
