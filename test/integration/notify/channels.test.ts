import * as assert from "node:assert/strict";
import { notificationFor } from "../../../automation/notify/events";
import { SlackNotifier, slackMessage } from "../../../automation/notify/slack";
import { NOTIFICATION_TYPES, NotifyError } from "../../../automation/notify/types";
import { USER_AGENT, WebhookNotifier } from "../../../automation/notify/webhook";
import { fixtureTransitions } from "../../helpers/notifyFixtures";
import { withReceivers } from "../../helpers/receiver";

const t = fixtureTransitions();
const rollback = notificationFor(t[3].record, t[3].entry, "checkout");
const step = notificationFor(t[2].record, t[2].entry, "checkout");
const live = new AbortController().signal;

/** The rejection of a promise (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<NotifyError> {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(r instanceof NotifyError, `expected a NotifyError, got ${String(r)}`);
  return r;
}

describe("notify channels over HTTP", () => {

  it("slack: posts the message to the webhook as JSON", async () => {
    await withReceivers(1, async (r) => {
      const n = new SlackNotifier({ name: "slack[0]", url: `${r.base}/services/T1/B2/abc`, events: NOTIFICATION_TYPES, timeoutMs: 5000, username: "canary" });
      await n.send(rollback, live);
      assert.equal(r.requests.length, 1);
      assert.deepEqual([r.requests[0].method, r.requests[0].path, r.requests[0].headers["content-type"]], ["POST", "/services/T1/B2/abc", "application/json"]);
      assert.deepEqual(r.json(), [{ username: "canary", ...slackMessage(rollback) }]);
    });
  });

  it("webhook: posts the notification verbatim as JSON", async () => {
    await withReceivers(1, async (r) => {
      const n = new WebhookNotifier({ name: "webhook[0]", url: `${r.base}/hook`, events: NOTIFICATION_TYPES, timeoutMs: 5000 });
      await n.send(rollback, live);
      const req = r.requests[0];
      assert.deepEqual([req.method, req.path, req.headers["content-type"], req.headers["user-agent"]], ["POST", "/hook", "application/json", USER_AGENT]);
      assert.deepEqual(JSON.parse(req.body), rollback);
    });
  });

  for (const kind of ["slack", "webhook"] as const) {
    const make = (base: string, timeoutMs = 5000) =>
      kind === "slack"
        ? new SlackNotifier({ name: "slack[0]", url: `${base}/services/x`, events: NOTIFICATION_TYPES, timeoutMs })
        : new WebhookNotifier({ name: "webhook[0]", url: `${base}/hook`, events: NOTIFICATION_TYPES, timeoutMs });

    it(`${kind}: a 5xx is a retryable error with the status and the body`, async () => {
      await withReceivers(1, async (r) => {
        r.fallback = { status: 503, body: "upstream\nbusy" };
        const e = await rejection(make(r.base).send(step, live));
        assert.deepEqual([e.message, e.retryable, e.status], [`${kind}[0]: HTTP 503: upstream busy`, true, 503]);
      });
    });

    it(`${kind}: a 4xx other than 408 and 429 is permanent`, async () => {
      await withReceivers(1, async (r) => {
        r.script.push({ status: 404, body: "no_service" }, { status: 429, body: "slow down" });
        const e = await rejection(make(r.base).send(step, live));
        assert.deepEqual([e.message, e.retryable, e.status], [`${kind}[0]: HTTP 404: no_service`, false, 404]);
        const again = await rejection(make(r.base).send(step, live));
        assert.deepEqual([again.retryable, again.status], [true, 429]);
      });
    });

    it(`${kind}: a receiver that does not answer times out (retryable)`, async () => {
      await withReceivers(1, async (r) => {
        r.holding = true;
        const e = await rejection(make(r.base, 100).send(step, live));
        assert.deepEqual([e.message, e.retryable], [`${kind}[0]: no answer within 0.1s`, true]);
      });
    });

    it(`${kind}: a refused connection is a retryable request error`, async () => {
      let base = "";
      await withReceivers(1, async (r) => {
        base = r.base;
      });
      const e = await rejection(make(base).send(step, live));
      assert.deepEqual([e.message, e.retryable], [`${kind}[0]: request failed: fetch failed: connect ECONNREFUSED ${base.replace("http://", "")}`, true]);
    });
  }
});
