/**
 * The driver's `report` callback wired to notifications and metrics, as the CLI wires them: a
 * real rollout (fake target, scripted judge) that rolls back at step 1.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { DriverEvent } from "../../../automation/rollout/events";
import { runRollout } from "../../../automation/rollout/run";
import { RolloutNotifications } from "../../../automation/notify/rollout";
import { NOTIFICATION_TYPES, NotificationEvent } from "../../../automation/notify/types";
import { WebhookNotifier } from "../../../automation/notify/webhook";
import { validatePlan } from "../../../automation/plan";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { RolloutMetrics } from "../../../automation/telemetry/metrics";
import { FakeClock, FakeMetrics, FakeTarget, ScriptedAnalysis } from "../../helpers/fakes";
import { withReceivers } from "../../helpers/receiver";

describe("notifications and metrics wired to the driver's report", () => {
  it("a rollout rolled back at step 1: every transition notified, incident written, metrics at RolledBack", async () => {
    await withReceivers(1, async (r) => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "canary-wired-"));
      try {
        const notifications = new RolloutNotifications({
          service: "checkout",
          notifiers: [new WebhookNotifier({ name: "webhook[0]", url: `${r.base}/hook`, events: NOTIFICATION_TYPES, timeoutMs: 5000 })],
          incidentDir: dir,
          log: (l) => assert.fail(l),
        });
        const metrics = new RolloutMetrics({ service: "checkout", stack: "fake-target" });
        const report = (e: DriverEvent): void => {
          notifications.observe(e);
          metrics.observe(e);
        };
        const plan = validatePlan({ steps: [{ weight: 10, minDuration: 1, maxDuration: 10 }, { weight: 50, minDuration: 1, maxDuration: 10 }, { weight: 100 }], tick: 1 });
        const result = await runRollout({
          plan,
          version: "v2",
          image: "app:v2",
          target: new FakeTarget(),
          store: new MemoryRecordStore(),
          metrics: new FakeMetrics(),
          analysis: new ScriptedAnalysis([["promote"], ["continue", "rollback"]]),
          clock: new FakeClock(),
          report,
          id: "r1",
        });
        assert.equal(result.outcome, "rolledBack");
        const flushed = await notifications.flush(10_000);
        assert.deepEqual(
          r.json().map((e) => `${(e as NotificationEvent).type} ${(e as NotificationEvent).phase} ${(e as NotificationEvent).weight}`),
          ["start Initializing null", "advance Progressing 10", "advance Progressing 50", "rollback RollingBack 50", "rolledBack RolledBack 50"],
        );
        const rollback = r.json()[3] as NotificationEvent;
        assert.deepEqual([rollback.trigger, rollback.reason, rollback.decision?.decision, rollback.decision?.reasons], ["analysis", "step 1 tick 2: rollback", "rollback", ["step 1 tick 2: rollback"]]);
        assert.deepEqual(flushed.incidents, [path.join(dir, "incident-r1.json"), path.join(dir, "incident-r1.md")]);
        const L = 'service="checkout",stack="fake-target"';
        const text = await metrics.text();
        for (const line of [
          `canary_rollout_weight{${L}} 0`,
          `canary_rollout_phase{${L},phase="RolledBack"} 1`,
          `canary_rollout_step{${L}} 1`,
          `canary_rollout_decisions_total{${L},decision="continue"} 1`,
          `canary_rollout_decisions_total{${L},decision="promote"} 1`,
          `canary_rollout_decisions_total{${L},decision="rollback"} 1`,
          `canary_rollout_info{${L},stable_version="",canary_version="v2"} 1`,
        ]) {
          assert.ok(text.split("\n").includes(line), `missing ${line}`);
        }
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  });

  it("a receiver that never answers does not hold the rollback: the rollout is RolledBack while the first notification is still unanswered", async () => {
    await withReceivers(1, async (r) => {
      r.holding = true;
      const lines: string[] = [];
      const notifications = new RolloutNotifications({
        service: "checkout",
        notifiers: [new WebhookNotifier({ name: "webhook[0]", url: `${r.base}/hook`, events: NOTIFICATION_TYPES, timeoutMs: 60_000 })],
        log: (l) => lines.push(l),
      });
      const order: string[] = [];
      const store = new MemoryRecordStore();
      const save = store.save.bind(store);
      // The first step is recorded only once the receiver holds the start notification, so the
      // rollback below happens while a delivery is provably in flight and unanswered.
      store.save = async (record) => {
        if (record.phase === "Progressing" && record.history.length === 2) await r.waitForRequests(1);
        const saved = await save(record);
        order.push(`${record.phase} (delivered ${notifications.dispatcher.stats().delivered}, received ${r.requests.length})`);
        return saved;
      };
      const result = await runRollout({
        plan: validatePlan({ steps: [{ weight: 10, minDuration: 1, maxDuration: 10 }, { weight: 100 }], tick: 1 }),
        version: "v2",
        image: "app:v2",
        target: new FakeTarget(),
        store,
        metrics: new FakeMetrics(),
        analysis: new ScriptedAnalysis([["rollback"]]),
        clock: new FakeClock(),
        report: (e) => notifications.observe(e),
        id: "r2",
      });
      assert.equal(result.outcome, "rolledBack");
      assert.equal(result.record.phase, "RolledBack");
      const stats = notifications.dispatcher.stats();
      assert.deepEqual([stats.delivered, r.requests.length, stats.pending > 0], [0, 1, true]);
      assert.deepEqual(order.slice(-2), ["RollingBack (delivered 0, received 1)", "RolledBack (delivered 0, received 1)"]);
      // At exit the bounded flush abandons what the receiver never took.
      const flushed = await notifications.flush(50);
      assert.equal(flushed.notifications.delivered, 0);
      assert.ok(flushed.notifications.abandoned >= 1, JSON.stringify(flushed.notifications));
    });
  });
});
