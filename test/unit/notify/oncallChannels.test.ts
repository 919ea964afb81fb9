/** The on-call channels' pure parts: config, severity routing, PagerDuty events, email and annotation bodies. */
import * as assert from "node:assert/strict";
import { channelSecret, notificationsSchema, NotifyConfigError, secretConfigKeys } from "../../../automation/notify/config";
import { emailMessage } from "../../../automation/notify/email";
import { notificationFor } from "../../../automation/notify/events";
import { createNotifier, createNotifiers } from "../../../automation/notify/factory";
import { grafanaAnnotation } from "../../../automation/notify/grafana";
import { dedupKey, pagerdutyEvents } from "../../../automation/notify/pagerduty";
import { NOTIFICATION_TYPES, NotificationEvent, severityOf } from "../../../automation/notify/types";
import { buildDashboard, resolveSettings } from "../../../components/monitoring";
import { fixtureTransitions } from "../../helpers/notifyFixtures";

const t = fixtureTransitions();
const rollback = notificationFor(t[3]!.record, t[3]!.entry, "checkout");
const event = (type: NotificationEvent["type"], extra: Partial<NotificationEvent> = {}): NotificationEvent => ({ ...rollback, type, ...extra });

function issues(input: unknown): string[] {
  const r = notificationsSchema.safeParse(input);
  assert.equal(r.success, false);
  return r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("on-call channels (pure)", () => {
  it("severity: a failed rollback is critical, a rollback warning, the rest info", () => {
    assert.deepEqual(
      NOTIFICATION_TYPES.filter((x) => severityOf(x) !== "info").map((x) => [x, severityOf(x)]),
      [
        ["rollback", "warning"],
        ["rolledBack", "warning"],
        ["rollbackFailed", "critical"],
      ],
    );
  });

  describe("config", () => {
    it("parses email, pagerduty and grafana channels with their defaults", () => {
      const c = notificationsSchema.parse({
        channels: [
          { type: "email", urlEnv: "SMTP_URL", from: "canary@example.com", to: ["oncall@example.com"], minSeverity: "warning" },
          { type: "pagerduty", routingKeyConfig: "canary:pagerdutyKey" },
          { type: "grafana", url: "https://grafana.example.com", tokenEnv: "GRAFANA_TOKEN", events: ["rollback"] },
        ],
      });
      assert.deepEqual(c.channels, [
        { type: "email", urlEnv: "SMTP_URL", from: "canary@example.com", to: ["oncall@example.com"], minSeverity: "warning", timeout: 10 },
        { type: "pagerduty", routingKeyConfig: "canary:pagerdutyKey", endpoint: "https://events.pagerduty.com/v2/enqueue", timeout: 10 },
        { type: "grafana", url: "https://grafana.example.com", tokenEnv: "GRAFANA_TOKEN", events: ["rollback"], timeout: 10 },
      ]);
      assert.deepEqual(secretConfigKeys(c), ["canary:pagerdutyKey"]);
    });

    it("names each bad field: the secret's source, addresses, severity, a URL with credentials, a key pasted into the plan", () => {
      assert.deepEqual(
        issues({
          channels: [
            { type: "pagerduty" },
            { type: "email", urlEnv: "S", from: "nobody", to: [] },
            { type: "grafana", url: "https://admin:hunter2@grafana.example.com", tokenEnv: "T", minSeverity: "loud" },
            { type: "pagerduty", routingKeyEnv: "K", routingKey: "R0UTINGKEY" },
          ],
        }),
        [
          "channels.0.routingKeyEnv: is required (or routingKeyConfig): the environment variable holding the integration's routing key",
          "channels.1.from: must be an email address such as oncall@example.com",
          "channels.1.to: must list at least one address",
          "channels.2.minSeverity: must be one of info, warning, critical",
          "channels.2.url: must be an http(s) URL without credentials (credentials go in the secret, not the URL)",
          'channels.3: Unrecognized key: "routingKey"',
        ],
      );
    });

    it("reads each type's secret from its own field and never echoes a pasted one", () => {
      const [pd, grafana] = notificationsSchema.parse({ channels: [{ type: "pagerduty", routingKeyEnv: "PD" }, { type: "grafana", url: "http://g.example", tokenConfig: "canary:grafanaToken" }] }).channels;
      assert.equal(channelSecret(pd!, 0, { env: { PD: "key-1234567" } }), "key-1234567");
      assert.equal(channelSecret(grafana!, 1, { config: { "canary:grafanaToken": "glsa_x" } }), "glsa_x");
      assert.throws(() => channelSecret(pd!, 0, { env: {} }), new NotifyConfigError("notifications.channels[0].routingKeyEnv: environment variable PD is not set"));
      const pasted = notificationsSchema.parse({ channels: [{ type: "pagerduty", routingKeyEnv: "0123456789abcdef0123456789abcdef" }] }).channels[0]!;
      assert.throws(
        () => channelSecret(pasted, 0, {}),
        new NotifyConfigError("notifications.channels[0].routingKeyEnv: must be an environment variable name such as PAGERDUTY_ROUTING_KEY (put the routing key in the environment, not in the plan)"),
      );
    });

    it("factory: default events per type, minSeverity filters them, an SMTP URL of the wrong kind is refused unechoed", () => {
      const config = notificationsSchema.parse({
        channels: [
          { type: "email", urlEnv: "S", from: "a@example.com", to: ["b@example.com"] },
          { type: "grafana", url: "https://g.example", tokenEnv: "G" },
          { type: "pagerduty", routingKeyEnv: "P", minSeverity: "critical" },
          { type: "slack", urlEnv: "W", minSeverity: "warning" },
        ],
      });
      const [email, grafana, pd, slack] = createNotifiers(config, { env: { S: "smtps://u:p@smtp.example.com", G: "glsa_token", P: "routingkey", W: "https://hooks.example/x" } });
      assert.deepEqual(email!.events, ["complete", "rollback", "rolledBack", "rollbackFailed"]);
      assert.deepEqual(grafana!.events, ["start", "advance", "promote", "promoteFull", "complete", "rollback", "rolledBack", "rollbackFailed"]);
      assert.deepEqual(pd!.events, ["rollback", "rolledBack", "rollbackFailed", "complete"]);
      assert.deepEqual(slack!.events, ["rollback", "rolledBack", "rollbackFailed"]);
      assert.throws(() => createNotifier(config.channels[0]!, "https://u:TOPSECRET@smtp.example.com", "email[0]"), new NotifyConfigError("email[0]: the SMTP URL is not an smtp(s) URL (value not shown: it is a secret)"));
    });
  });

  describe("PagerDuty events", () => {
    const key = dedupKey("prod", "20260101T000000000Z-v2.5.0");
    const table: [string, NotificationEvent, "warning" | "critical", [string, string, string | null][]][] = [
      ["a rollback triggers a warning", event("rollback"), "warning", [["trigger", key, "warning"]]],
      ["a rollback under minSeverity critical sends nothing", event("rollback"), "critical", []],
      ["a failed rollback triggers its own critical alert", event("rollbackFailed"), "critical", [["trigger", `${key}/rollback-failed`, "critical"]]],
      ["a completed restore resolves the failed-rollback alert", event("rolledBack"), "warning", [["resolve", `${key}/rollback-failed`, null]]],
      ["a promoted rollout that retries none sends nothing", event("complete"), "warning", []],
      ["a promoted retry resolves the retried rollout's alerts", event("complete", { rollout: "r2", retryOf: "20260101T000000000Z-v2.5.0" }), "warning", [["resolve", key, null], ["resolve", `${key}/rollback-failed`, null]]],
      ["a retry's rollback updates the retried rollout's alert", event("rollback", { rollout: "r2", retryOf: "20260101T000000000Z-v2.5.0" }), "warning", [["trigger", key, "warning"]]],
      ["progress sends nothing", event("advance"), "warning", []],
    ];
    for (const [name, e, min, expected] of table) {
      it(name, () => {
        const sent = pagerdutyEvents(e, "KEY", min);
        assert.deepEqual(sent.map((x) => [x.event_action, x.dedup_key, x.payload?.severity ?? null]), expected);
        for (const x of sent) assert.equal(x.routing_key, "KEY");
      });
    }

    it("caps the summary at 1024 characters and the dedup key at 255", () => {
      const [x] = pagerdutyEvents(event("rollback", { reason: "r".repeat(2000), stack: "s".repeat(300) }), "KEY", "warning");
      assert.equal(x!.payload!.summary.length, 1024);
      assert.ok(x!.payload!.summary.endsWith("..."));
      assert.equal(x!.dedup_key.length, 255);
    });
  });

  it("email: the subject says what happened to which version where; critical ones say so", () => {
    assert.equal(emailMessage(rollback).subject, "[canary] Rolling back: checkout v2.5.0 on prod");
    assert.equal(emailMessage(event("rollbackFailed")).subject, "[canary] CRITICAL: Rollback failed: checkout v2.5.0 on prod");
    assert.match(emailMessage(event("rollbackFailed")).text, /\nThe stack may still route traffic to the canary: a person must look\.\n$/);
    assert.equal(emailMessage(notificationFor(t[2]!.record, t[2]!.entry, "checkout")).subject, "[canary] Step 2 of 2 (weight 25%): checkout v2.5.0 on prod");
  });

  it("grafana: an annotation at the event's time, tagged with service, version, stack and event", () => {
    assert.deepEqual(grafanaAnnotation(rollback), {
      time: Date.parse("2026-01-01T00:06:40.000Z"),
      tags: ["canary-rollout", "service:checkout", "version:v2.5.0", "stack:prod", "event:rollback"],
      text: "Rolling back: checkout v2.5.0 on prod: errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200 (trigger: analysis) [rollout 20260101T000000000Z-v2.5.0]",
    });
  });

  it("the dashboard's annotation query selects the rollout tag and its service, whatever the version", () => {
    const d = buildDashboard(resolveSettings({ service: "checkout", stableVersion: "v2.4.0", canaryVersion: "v2.5.0", canaryWeight: 5 }));
    assert.deepEqual(d.annotations.list, [
      { name: "Canary rollouts", datasource: { type: "grafana", uid: "-- Grafana --" }, enable: true, iconColor: "orange", target: { type: "tags", tags: ["canary-rollout", "service:checkout"], matchAny: false, limit: 100 } },
    ]);
    const tags = new Set(grafanaAnnotation(rollback).tags);
    assert.ok(["canary-rollout", "service:checkout"].every((x) => tags.has(x)));
  });
});
