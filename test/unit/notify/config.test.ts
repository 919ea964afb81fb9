import * as assert from "node:assert/strict";
import { channelSecret, defaultNotifications, notificationsSchema, NotifyConfigError } from "../../../automation/notify/config";
import { createNotifier, createNotifiers } from "../../../automation/notify/factory";
import { SlackNotifier } from "../../../automation/notify/slack";
import { NOTIFICATION_TYPES } from "../../../automation/notify/types";
import { WebhookNotifier } from "../../../automation/notify/webhook";

/** Every issue as `path: message`. */
function issues(input: unknown): string[] {
  const r = notificationsSchema.safeParse(input);
  assert.equal(r.success, false);
  return r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("notify config", () => {
  it("defaults: no channels, 5 attempts, 1s doubling to 30s, 2m budget, queue 100, incidents on", () => {
    assert.deepEqual(defaultNotifications(), { channels: [], retry: { attempts: 5, initialDelay: 1, maxDelay: 30, maxTotal: 120 }, queueSize: 100, incidents: { enabled: true, report: true } });
  });

  it("parses channels with durations in seconds", () => {
    const c = notificationsSchema.parse({
      channels: [
        { type: "slack", urlEnv: "SLACK_WEBHOOK_URL", events: ["rollback", "gateWaiting"], username: "canary" },
        { type: "webhook", urlConfig: "canary:deployHookUrl", timeout: "500ms" },
      ],
      retry: { attempts: 3, initialDelay: "250ms", maxDelay: "4s", maxTotal: "1m" },
      incidents: { dir: "/var/incidents" },
    });
    assert.deepEqual(c, {
      channels: [
        { type: "slack", urlEnv: "SLACK_WEBHOOK_URL", events: ["rollback", "gateWaiting"], username: "canary", timeout: 10 },
        { type: "webhook", urlConfig: "canary:deployHookUrl", timeout: 0.5 },
      ],
      retry: { attempts: 3, initialDelay: 0.25, maxDelay: 4, maxTotal: 60 },
      queueSize: 100,
      incidents: { enabled: true, dir: "/var/incidents", report: true },
    });
  });

  it("rejects an unknown channel type, naming the known ones", () => {
    assert.deepEqual(issues({ channels: [{ type: "teams", urlEnv: "X" }] }), ["channels.0.type: must be one of slack, webhook, email, pagerduty, grafana"]);
  });

  it("rejects a URL in the plan as an unknown key; no issue sits where a plan error would quote the channel", () => {
    const input = { channels: [{ type: "slack", url: "https://hooks.slack.com/services/T1/B2/SECRET" }] };
    // plan.ts quotes the input's value at each issue's path ("…, got <value>"), except for
    // unknown keys (named, not quoted): none may be the URL or hold it.
    for (const issue of notificationsSchema.safeParse(input).error!.issues.filter((i) => i.code !== "unrecognized_keys")) {
      const quoted = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], input);
      assert.ok(!JSON.stringify(quoted ?? null).includes("SECRET"), `issue at ${issue.path.join(".")} would quote the URL`);
    }
    const found = issues(input);
    assert.deepEqual(found, ['channels.0: Unrecognized key: "url"', "channels.0.urlEnv: is required (or urlConfig): the environment variable holding the webhook URL"]);
  });

  it("needs exactly one URL source", () => {
    assert.deepEqual(issues({ channels: [{ type: "webhook" }] }), ["channels.0.urlEnv: is required (or urlConfig): the environment variable holding the webhook URL"]);
    assert.deepEqual(issues({ channels: [{ type: "webhook", urlEnv: "A", urlConfig: "canary:b" }] }), ["channels.0.urlConfig: must not be set together with urlEnv: the URL comes from one place"]);
  });

  it("rejects bad events, durations and retry bounds by path", () => {
    assert.deepEqual(issues({ channels: [{ type: "webhook", urlEnv: "A", events: ["deployed"], timeout: "soon" }], retry: { attempts: 0 } }), [
      "channels.0.events.0: must be one of start, advance, switch, promote, complete, rollback, rolledBack, rollbackFailed, pause, resume, freeze, unfreeze, skip, promoteFull, approve, takeOver, gateWaiting",
      "channels.0.timeout: must be a duration such as 30s, 5m or 1h (or a number of seconds)",
      "retry.attempts: must be ≥ 1",
    ]);
  });

  describe("channel URLs", () => {
    const slack = notificationsSchema.parse({ channels: [{ type: "slack", urlEnv: "SLACK_WEBHOOK_URL" }] }).channels[0];
    const hook = notificationsSchema.parse({ channels: [{ type: "webhook", urlConfig: "canary:deployHookUrl" }] }).channels[0];

    it("reads the environment variable named by urlEnv", () => {
      assert.equal(channelSecret(slack, 0, { env: { SLACK_WEBHOOK_URL: "https://hooks.example/x" } }), "https://hooks.example/x");
    });

    it("reads the secret config value named by urlConfig", () => {
      assert.equal(channelSecret(hook, 1, { config: { "canary:deployHookUrl": "https://hooks.example/y" } }), "https://hooks.example/y");
    });

    it("names the missing variable or key", () => {
      assert.throws(() => channelSecret(slack, 0, { env: {} }), new NotifyConfigError("notifications.channels[0].urlEnv: environment variable SLACK_WEBHOOK_URL is not set"));
      assert.throws(
        () => channelSecret(hook, 2, {}),
        new NotifyConfigError("notifications.channels[2].urlConfig: no value was passed for stack config key canary:deployHookUrl (read it with getAllConfig and pass it as a secret)"),
      );
    });

    it("refuses a URL pasted into urlEnv without echoing it", () => {
      const pasted = notificationsSchema.parse({ channels: [{ type: "slack", urlEnv: "https://hooks.slack.com/services/T1/B2/SECRETSECRET" }] }).channels[0];
      assert.throws(
        () => channelSecret(pasted, 0, { env: {} }),
        new NotifyConfigError("notifications.channels[0].urlEnv: must be an environment variable name such as SLACK_WEBHOOK_URL (put the URL in the environment, not in the plan)"),
      );
    });
  });

  describe("factory", () => {
    it("builds one notifier per channel, by type, named by position", () => {
      const config = notificationsSchema.parse({ channels: [{ type: "slack", urlEnv: "S" }, { type: "webhook", urlEnv: "W", events: ["rollback"], timeout: "2s" }] });
      const [s, w] = createNotifiers(config, { env: { S: "https://hooks.slack.example/services/a", W: "http://127.0.0.1:1/hook" } });
      assert.ok(s instanceof SlackNotifier);
      assert.ok(w instanceof WebhookNotifier);
      assert.deepEqual([s.name, s.type, s.events, w.name, w.type, w.events], ["slack[0]", "slack", NOTIFICATION_TYPES, "webhook[1]", "webhook", ["rollback"]]);
    });

    it("throws on an unknown type, naming the known ones", () => {
      const teams = { type: "teams", urlEnv: "T", timeout: 10 } as unknown as Parameters<typeof createNotifier>[0];
      assert.throws(() => createNotifier(teams, "https://x.example/", "teams[0]"), new NotifyConfigError('teams[0]: unknown notification channel type "teams"; known types: slack, webhook, email, pagerduty, grafana'));
    });

    it("refuses a value that is not an http(s) URL without echoing it", () => {
      const c = notificationsSchema.parse({ channels: [{ type: "webhook", urlEnv: "W" }] });
      assert.throws(() => createNotifiers(c, { env: { W: "not a url TOPSECRET" } }), new NotifyConfigError("webhook[0]: the webhook URL is not an http(s) URL (value not shown: it is a secret)"));
    });
  });
});
