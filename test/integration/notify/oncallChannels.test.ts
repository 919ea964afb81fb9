/**
 * PagerDuty, email and Grafana channels against local servers that check each request against
 * the documented API (PagerDuty Events API v2, SMTP through smtp-server, Grafana's annotations
 * API), through the real dispatcher with its retries and secret scrubbing.
 */
import * as assert from "node:assert/strict";
import { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer, SMTPServerOptions } from "smtp-server";
import { buildDashboard, resolveSettings } from "../../../components/monitoring";
import { notificationsSchema } from "../../../automation/notify/config";
import { EmailNotifier } from "../../../automation/notify/email";
import { notificationFor } from "../../../automation/notify/events";
import { RolloutNotifications } from "../../../automation/notify/rollout";
import { NotifyError } from "../../../automation/notify/types";
import { newRecord, RolloutEvent, RolloutRecord, transition } from "../../../automation/state";
import { fixtureRecord, fixtureTransitions } from "../../helpers/notifyFixtures";
import { LocalGrafana, LocalPagerDuty } from "../../helpers/oncallServers";

const ROLLOUT = "20260101T000000000Z-v2.5.0";
const ROUTING_KEY = "R0UTINGKEY0123456789abcdefABCDEF";
const TOKEN = "glsa_SERVICEACCOUNTTOKEN_0123456789";

/** Notifications for `channels`, fast retries, log lines collected. */
function notificationsFor(channels: unknown[], env: Record<string, string>, log: string[]): RolloutNotifications {
  const config = notificationsSchema.parse({ channels, retry: { attempts: 3, initialDelay: "10ms", maxDelay: "20ms", maxTotal: "10s" }, incidents: { enabled: false } });
  return RolloutNotifications.fromConfig(config, { service: "checkout", sources: { env }, defaultIncidentDir: "/nonexistent", log: (l) => log.push(l), random: () => 0 });
}

/** A retry of the fixture's rolled-back rollout that promotes: its record after each transition. */
function promotedRetry(): { record: RolloutRecord; entry: RolloutRecord["history"][number] }[] {
  const events: RolloutEvent[] = [
    { type: "start", at: "2026-01-01T01:00:00.000Z", reason: `retry of rolled-back rollout ${ROLLOUT} by alice@ci: flaky dependency fixed`, by: "alice@ci", evidence: { snapshotOf: "pulumi", retryOf: ROLLOUT } },
    { type: "advance", at: "2026-01-01T01:00:10.000Z", step: 0, weight: 5, reason: "canary deployed; first step at weight 5" },
    { type: "advance", at: "2026-01-01T01:05:10.000Z", step: 1, weight: 25, reason: "step 0 passed; weight 25" },
    { type: "promote", at: "2026-01-01T01:10:10.000Z", reason: "step 1 passed" },
    { type: "complete", at: "2026-01-01T01:10:20.000Z", reason: "v2.5.0 is the stable version" },
  ];
  let r: RolloutRecord = { ...newRecord({ id: "20260101T010000000Z-v2.5.0", stack: "prod", target: "pulumi", version: "v2.5.0", image: "registry.example.com/checkout:v2.5.0", steps: [5, 25, 100], at: events[0]!.at }), snapshot: { type: "pulumi", stableVersion: "v2.4.0" } };
  return events.map((e) => {
    r = transition(r, e);
    return { record: r, entry: r.history[r.history.length - 1]! };
  });
}

/** The fixture rollout whose restore failed (instead of completing). */
function failedRestore(): { record: RolloutRecord; entry: RolloutRecord["history"][number] } {
  const r = transition(fixtureRecord(4), { type: "rollbackFailed", at: "2026-01-01T00:07:30.000Z", reason: "restore failed: pulumi up exited 255", evidence: { error: "pulumi up exited 255" } });
  return { record: r, entry: r.history[r.history.length - 1]! };
}

describe("on-call channels against local servers", function () {
  this.timeout(30_000);

  describe("PagerDuty Events API v2", () => {
    let pd: LocalPagerDuty;
    beforeEach(async () => {
      pd = await new LocalPagerDuty().start();
    });
    afterEach(async () => pd.stop());

    it("a rollback triggers a warning with the evidence, a failed rollback a separate critical alert, a promoted retry resolves both; every request matches the API", async () => {
      const log: string[] = [];
      const n = notificationsFor([{ type: "pagerduty", routingKeyEnv: "PD_KEY", endpoint: pd.endpoint }], { PD_KEY: ROUTING_KEY }, log);
      for (const t of fixtureTransitions()) n.observe({ kind: "transition", ...t });
      const failed = failedRestore();
      n.observe({ kind: "transition", ...failed });
      for (const t of promotedRetry()) n.observe({ kind: "transition", ...t });
      const flushed = await n.flush(10_000);

      assert.deepEqual(pd.requests.map((r) => r.problems), [[], [], [], [], []]);
      const events = pd.events();
      const key = `pulumi-canary/prod/${ROLLOUT}`;
      assert.deepEqual(
        events.map((e) => [e.event_action, e.dedup_key, (e.payload as { severity?: string } | undefined)?.severity ?? null]),
        [
          ["trigger", key, "warning"], // rollback
          ["resolve", `${key}/rollback-failed`, null], // rolledBack: nothing failed, the resolve is a no-op for PagerDuty
          ["trigger", `${key}/rollback-failed`, "critical"], // rollbackFailed
          ["resolve", key, null], // the retry promoted
          ["resolve", `${key}/rollback-failed`, null],
        ],
      );
      const trigger = events[0] as { routing_key: string; payload: { summary: string; source: string; component: string; timestamp: string; custom_details: Record<string, unknown> } };
      assert.equal(trigger.routing_key, ROUTING_KEY);
      assert.equal(trigger.payload.summary, "Rolling back: checkout v2.5.0 on prod: errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200");
      assert.deepEqual([trigger.payload.source, trigger.payload.component, trigger.payload.timestamp], ["prod", "checkout", "2026-01-01T00:06:40.000Z"]);
      assert.deepEqual(trigger.payload.custom_details.metrics, ["errors breached: canary 4.1% vs baseline 0.5%, ratio 8.2 [3.1, ∞], e-value 412 (rollback at 200)"]);
      assert.equal(trigger.payload.custom_details.trigger, "analysis");
      assert.deepEqual(flushed.notifications, { delivered: 4, failed: 0, dropped: 0, abandoned: 0, pending: 0, attempts: 4 });
      assert.deepEqual(log, []);
    });

    it("minSeverity critical: a rollback is left to the other channels, a failed rollback pages", async () => {
      const n = notificationsFor([{ type: "pagerduty", routingKeyEnv: "PD_KEY", endpoint: pd.endpoint, minSeverity: "critical" }], { PD_KEY: ROUTING_KEY }, []);
      const t = fixtureTransitions();
      n.observe({ kind: "transition", ...t[3]! }); // rollback
      n.observe({ kind: "transition", ...failedRestore() });
      await n.flush(10_000);
      assert.deepEqual(
        pd.events().map((e) => [e.event_action, (e.payload as { severity?: string } | undefined)?.severity]),
        [["trigger", "critical"]],
      );
    });

    it("429 and 5xx are retried, 400 is not; the routing key echoed in an error body never reaches a log line", async () => {
      const log: string[] = [];
      const n = notificationsFor([{ type: "pagerduty", routingKeyEnv: "PD_KEY", endpoint: pd.endpoint }], { PD_KEY: ROUTING_KEY }, log);
      pd.overrides.push({ status: 429, body: `{"status":"throttled","message":"rate limited for ${ROUTING_KEY}"}` }, { status: 503, body: "busy" });
      n.observe({ kind: "transition", ...fixtureTransitions()[3]! });
      await n.flush(10_000);
      assert.equal(pd.requests.length, 3);
      pd.overrides.push({ status: 400, body: `{"status":"invalid event","message":"Event object is invalid","errors":["routing_key ${ROUTING_KEY} unknown"]}` });
      n.observe({ kind: "transition", ...failedRestore() });
      const flushed = await n.flush(10_000);
      assert.equal(pd.requests.length, 4);
      assert.deepEqual([flushed.notifications.delivered, flushed.notifications.failed], [1, 1]);
      assert.equal(log.length, 3);
      assert.match(log[0]!, /^notify: pagerduty\[0\]: attempt 1 of 3 for rollback of rollout .* failed \(pagerduty\[0\]: HTTP 429 for trigger pulumi-canary\/prod\/.*: \{"status":"throttled","message":"rate limited for \[redacted\]"\}\); retrying in \d+ms$/);
      assert.match(log[2]!, /gave up on rollbackFailed .* after a permanent error: pagerduty\[0\]: HTTP 400 .*routing_key \[redacted\] unknown/);
      for (const line of log) assert.ok(!line.includes(ROUTING_KEY), line);
    });
  });

  describe("email over SMTP", () => {
    interface Mail {
      readonly from: string;
      readonly to: string[];
      readonly user: string | undefined;
      readonly raw: string;
    }
    let server: SMTPServer;
    let port = 0;
    let mails: Mail[] = [];
    /** The SMTP reply to the next messages (then: accept). */
    let rejections: { code: number; message: string }[] = [];

    async function startSmtp(extra: Partial<SMTPServerOptions> = {}): Promise<void> {
      mails = [];
      rejections = [];
      server = new SMTPServer({
        // A plain-text test server: no STARTTLS (no certificate to trust), authentication allowed without it.
        disabledCommands: ["STARTTLS"],
        allowInsecureAuth: true,
        authMethods: ["PLAIN", "LOGIN"],
        logger: false,
        onAuth(auth, _session, callback) {
          if (auth.username === "canary" && auth.password === "SMTPPASSWORD-s3cret") callback(null, { user: auth.username });
          // Echoes what it was given, as a careless server might: the client must scrub it.
          else callback(Object.assign(new Error(`Invalid username or password: ${auth.username ?? ""}:${auth.password ?? ""}`), { responseCode: 535 }));
        },
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            const reject = rejections.shift();
            if (reject) return callback(Object.assign(new Error(reject.message), { responseCode: reject.code }));
            const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
            mails.push({ from, to: session.envelope.rcptTo.map((r) => r.address), user: session.user as string | undefined, raw: Buffer.concat(chunks).toString("utf8") });
            callback();
          });
        },
        ...extra,
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
      port = (server.server.address() as AddressInfo).port;
    }
    afterEach(async () => new Promise<void>((resolve) => server.close(() => resolve())));

    const channel = { type: "email", urlEnv: "SMTP_URL", from: "canary@example.com", to: ["oncall@example.com", "team@example.com"] };

    it("a rollback is mailed, authenticated, to every recipient, with the evidence in the body", async () => {
      await startSmtp();
      const log: string[] = [];
      const n = notificationsFor([channel], { SMTP_URL: `smtp://canary:SMTPPASSWORD-s3cret@127.0.0.1:${port}` }, log);
      for (const t of fixtureTransitions()) n.observe({ kind: "transition", ...t });
      const flushed = await n.flush(10_000);
      // The default events: rollback and rolledBack of these five transitions.
      assert.equal(mails.length, 2);
      const m = mails[0]!;
      assert.deepEqual([m.from, m.to, m.user], ["canary@example.com", ["oncall@example.com", "team@example.com"], "canary"]);
      const parsed = await simpleParser(m.raw);
      assert.equal(parsed.subject, "[canary] Rolling back: checkout v2.5.0 on prod");
      const text = parsed.text ?? "";
      assert.match(text, /^Rolling back: errors: canary 4\.1% vs baseline 0\.5%, e-value 412 ≥ 200$/m);
      assert.match(text, /^Trigger: {2}analysis$/m);
      assert.match(text, /^ {2}errors breached: canary 4\.1% vs baseline 0\.5% over 1200 canary requests; ratio 8\.2 \[3\.1, inf\], e-value 412 \(rollback at 200\)$/m);
      assert.equal((await simpleParser(mails[1]!.raw)).subject, "[canary] Rolled back: checkout v2.5.0 on prod");
      assert.deepEqual(flushed.notifications.delivered, 2);
      assert.deepEqual(log, []);
    });

    it("a failed rollback is marked critical; a 4xx reply is retried, a 5xx reply and a wrong password are not, and the password never reaches a log line", async () => {
      await startSmtp();
      const log: string[] = [];
      const n = notificationsFor([{ ...channel, minSeverity: "critical" }], { SMTP_URL: `smtp://canary:SMTPPASSWORD-s3cret@127.0.0.1:${port}` }, log);
      rejections.push({ code: 451, message: "try again later" });
      n.observe({ kind: "transition", ...fixtureTransitions()[3]! }); // a rollback: under minSeverity critical
      n.observe({ kind: "transition", ...failedRestore() });
      await n.flush(10_000);
      assert.equal(mails.length, 1);
      assert.equal((await simpleParser(mails[0]!.raw)).subject, "[canary] CRITICAL: Rollback failed: checkout v2.5.0 on prod");
      assert.equal(log.length, 1);
      assert.match(log[0]!, /attempt 1 of 3 for rollbackFailed .* failed \(email\[0\]: SMTP 451: /);

      rejections.push({ code: 554, message: "message rejected" });
      n.observe({ kind: "transition", ...failedRestore() });
      const after554 = await n.flush(10_000);
      assert.equal(after554.notifications.failed, 1);
      assert.match(log[1]!, /gave up on rollbackFailed .* after a permanent error: email\[0\]: SMTP 554: /);

      const wrong = notificationsFor([{ ...channel, minSeverity: "critical" }], { SMTP_URL: `smtp://canary:WRONGPASSWORD-x@127.0.0.1:${port}` }, log);
      wrong.observe({ kind: "transition", ...failedRestore() });
      const stats = (await wrong.flush(10_000)).notifications;
      assert.deepEqual([stats.attempts, stats.failed], [1, 1]);
      assert.match(log[2]!, /after a permanent error: email\[0\]: SMTP 535: EAUTH: /);
      for (const line of log) assert.ok(!line.includes("WRONGPASSWORD-x") && !line.includes("SMTPPASSWORD-s3cret"), line);

      // The channel's own error is scrubbed before the dispatcher sees it.
      const direct = new EmailNotifier({ name: "email[9]", url: `smtp://canary:WRONGPASSWORD-x@127.0.0.1:${port}`, from: "a@example.com", to: ["b@example.com"], events: ["rollbackFailed"], timeoutMs: 5000 });
      const error = await direct.send(notificationFor(failedRestore().record, failedRestore().entry, "checkout"), new AbortController().signal).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof NotifyError && !error.retryable);
      assert.equal(error.message, "email[9]: SMTP 535: EAUTH: Invalid login: 535 Invalid username or password: [redacted]:[redacted]");
    });
  });

  describe("Grafana annotations", () => {
    let grafana: LocalGrafana;
    beforeEach(async () => {
      grafana = await new LocalGrafana(TOKEN).start();
    });
    afterEach(async () => grafana.stop());

    it("posts each traffic-changing event as a tagged annotation that the generated dashboard's annotation query finds", async () => {
      const log: string[] = [];
      const n = notificationsFor([{ type: "grafana", url: `${grafana.base}/`, tokenEnv: "GRAFANA_TOKEN" }], { GRAFANA_TOKEN: TOKEN }, log);
      for (const t of fixtureTransitions()) n.observe({ kind: "transition", ...t });
      await n.flush(10_000);
      assert.deepEqual(grafana.requests.map((r) => r.problems), [[], [], [], [], []]);
      assert.deepEqual(grafana.requests[3]!.body, {
        time: Date.parse("2026-01-01T00:06:40.000Z"),
        tags: ["canary-rollout", "service:checkout", "version:v2.5.0", "stack:prod", "event:rollback"],
        text: `Rolling back: checkout v2.5.0 on prod: errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200 (trigger: analysis) [rollout ${ROLLOUT}]`,
      });
      assert.equal((grafana.requests[1]!.body as { text: string }).text.split(":")[0], "Step 1 of 2");

      // What the dashboard asks Grafana for: its annotation query's tags (AND).
      const query = buildDashboard(resolveSettings({ service: "checkout", stableVersion: "v2.4.0", canaryVersion: "v2.5.0", canaryWeight: 0 })).annotations.list!.find((a) => a.name === "Canary rollouts")!;
      const target = query.target as unknown as { type: string; tags: string[]; matchAny: boolean };
      assert.deepEqual([query.datasource, target.type, target.matchAny], [{ type: "grafana", uid: "-- Grafana --" }, "tags", false]);
      const url = new URL("/api/annotations", grafana.base);
      for (const t of target.tags) url.searchParams.append("tags", t);
      const found = (await (await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { tags: string[] }[];
      assert.deepEqual(
        found.map((a) => a.tags[4]),
        ["event:start", "event:advance", "event:advance", "event:rollback", "event:rolledBack"],
      );
      assert.deepEqual(log, []);
    });

    it("a rejected token is not retried, and the token never reaches a log line", async () => {
      const log: string[] = [];
      const n = notificationsFor([{ type: "grafana", url: grafana.base, tokenEnv: "GRAFANA_TOKEN", events: ["rollback"] }], { GRAFANA_TOKEN: "glsa_WRONGTOKEN_987654" }, log);
      n.observe({ kind: "transition", ...fixtureTransitions()[3]! });
      await n.flush(10_000);
      assert.equal(grafana.requests.length, 1);
      assert.deepEqual(log, [`notify: grafana[0]: gave up on rollback of rollout ${ROLLOUT} after a permanent error: grafana[0]: HTTP 401: {"message":"Unauthorized"}`]);
    });
  });
});
