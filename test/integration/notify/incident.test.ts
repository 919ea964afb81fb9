import * as assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { RolloutNotifications } from "../../../automation/notify/rollout";
import { WebhookNotifier } from "../../../automation/notify/webhook";
import { NOTIFICATION_TYPES, NotificationEvent } from "../../../automation/notify/types";
import { fixtureRecord, fixtureTransitions } from "../../helpers/notifyFixtures";
import { withReceivers } from "../../helpers/receiver";

/** A fresh temporary directory, removed after `f`. */
async function inTmp<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "canary-incident-"));
  try {
    return await f(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe("incident record with notifications over HTTP", () => {

  it("RolloutNotifications: notifies every transition and leaves the final incident record", async () => {
    await withReceivers(1, async (r) => {
      await inTmp(async (dir) => {
        const n = new RolloutNotifications({
          service: "checkout",
          notifiers: [new WebhookNotifier({ name: "webhook[0]", url: `${r.base}/hook`, events: NOTIFICATION_TYPES, timeoutMs: 5000 })],
          incidentDir: dir,
          log: (l) => assert.fail(l),
        });
        n.observe({ kind: "action" });
        for (const t of fixtureTransitions()) n.observe({ kind: "transition", ...t });
        n.observe({ kind: "gateWaiting", record: fixtureRecord(), wait: { gate: "never", at: "2026-01-01T00:08:00.000Z", reason: "after the end" } });
        const result = await n.flush(10_000);
        assert.deepEqual(result.notifications, { delivered: 6, failed: 0, dropped: 0, abandoned: 0, pending: 0, attempts: 6 });
        assert.deepEqual(result.incidents, [path.join(dir, "incident-20260101T000000000Z-v2.5.0.json"), path.join(dir, "incident-20260101T000000000Z-v2.5.0.md")]);
        assert.deepEqual(
          r.json().map((e) => (e as NotificationEvent).type),
          ["start", "advance", "advance", "rollback", "rolledBack", "gateWaiting"],
        );
        const written = JSON.parse(await fs.readFile(result.incidents[0], "utf8")) as { outcome: string };
        assert.equal(written.outcome, "rolledBack");
      });
    });
  });
});
