import * as assert from "node:assert/strict";
import { DispatchClock, NotificationDispatcher, RetryPolicy } from "../../../automation/notify/dispatcher";
import { notificationFor } from "../../../automation/notify/events";
import { NOTIFICATION_TYPES, NotificationEvent, NotificationType } from "../../../automation/notify/types";
import { WebhookNotifier } from "../../../automation/notify/webhook";
import { fixtureTransitions } from "../../helpers/notifyFixtures";
import { withReceivers } from "../../helpers/receiver";

const events = fixtureTransitions().map(({ record, entry }) => notificationFor(record, entry, "checkout"));
const [start, step0, step1, rollback] = events;

/** A clock whose sleep records the delay and advances time at once. */
class RecordingClock implements DispatchClock {
  readonly sleeps: number[] = [];
  constructor(public ms = 0) {}
  now(): number {
    return this.ms;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.ms += ms;
  }
}

const policy = (p: Partial<RetryPolicy> = {}): RetryPolicy => ({ attempts: 4, initialDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 60_000, ...p });
const hook = (base: string, events: readonly NotificationType[] = NOTIFICATION_TYPES, name = "webhook[0]") => new WebhookNotifier({ name, url: `${base}/hook`, events, timeoutMs: 5000 });

describe("notify dispatcher over HTTP", () => {

  it("retries 5xx with exponential backoff, then delivers", async () => {
    await withReceivers(1, async (r) => {
      r.script.push({ status: 500, body: "boom" }, { status: 502, body: "" });
      const clock = new RecordingClock();
      const log: string[] = [];
      const d = new NotificationDispatcher([hook(r.base)], { retry: policy(), clock, random: () => 1, log: (l) => log.push(l) });
      d.notify(rollback);
      const stats = await d.flush(10_000);
      assert.equal(r.requests.length, 3);
      assert.deepEqual(r.json(), [rollback, rollback, rollback]);
      assert.deepEqual(clock.sleeps, [100, 200]);
      assert.deepEqual(stats, { delivered: 1, failed: 0, dropped: 0, abandoned: 0, pending: 0, attempts: 3 });
      assert.deepEqual(log, [
        "notify: webhook[0]: attempt 1 of 4 for rollback of rollout 20260101T000000000Z-v2.5.0 failed (webhook[0]: HTTP 500: boom); retrying in 100ms",
        "notify: webhook[0]: attempt 2 of 4 for rollback of rollout 20260101T000000000Z-v2.5.0 failed (webhook[0]: HTTP 502); retrying in 200ms",
      ]);
    });
  });

  it("gives up after the last attempt, and says so once", async () => {
    await withReceivers(1, async (r) => {
      r.fallback = { status: 500, body: "down" };
      const clock = new RecordingClock();
      const log: string[] = [];
      const d = new NotificationDispatcher([hook(r.base)], { retry: policy({ attempts: 3 }), clock, random: () => 0, log: (l) => log.push(l) });
      d.notify(start);
      const stats = await d.flush(10_000);
      assert.equal(r.requests.length, 3);
      assert.deepEqual(clock.sleeps, [50, 100]);
      assert.deepEqual(stats, { delivered: 0, failed: 1, dropped: 0, abandoned: 0, pending: 0, attempts: 3 });
      assert.equal(log[2], "notify: webhook[0]: gave up on start of rollout 20260101T000000000Z-v2.5.0 after 3 attempts: webhook[0]: HTTP 500: down");
      assert.equal(log.length, 3);
    });
  });

  it("gives up when the next backoff would pass the time budget", async () => {
    await withReceivers(1, async (r) => {
      r.fallback = { status: 500 };
      const clock = new RecordingClock();
      const log: string[] = [];
      // 1st fails at 0 (next wait 1000: ends at 1000 ≤ 2500), 2nd fails at 1000 (next wait 2000: 3000 > 2500).
      const d = new NotificationDispatcher([hook(r.base)], { retry: policy({ attempts: 10, initialDelayMs: 1000, maxDelayMs: 10_000, maxTotalMs: 2500 }), clock, random: () => 1, log: (l) => log.push(l) });
      d.notify(start);
      await d.flush(10_000);
      assert.equal(r.requests.length, 2);
      assert.deepEqual(clock.sleeps, [1000]);
      assert.equal(log[1], "notify: webhook[0]: gave up on start of rollout 20260101T000000000Z-v2.5.0 after 1000ms (budget 2500ms): webhook[0]: HTTP 500");
    });
  });

  it("does not retry a permanent error", async () => {
    await withReceivers(1, async (r) => {
      r.fallback = { status: 400, body: "invalid_payload" };
      const clock = new RecordingClock();
      const log: string[] = [];
      const d = new NotificationDispatcher([hook(r.base)], { retry: policy(), clock, log: (l) => log.push(l) });
      d.notify(start);
      assert.deepEqual(await d.flush(10_000), { delivered: 0, failed: 1, dropped: 0, abandoned: 0, pending: 0, attempts: 1 });
      assert.deepEqual(clock.sleeps, []);
      assert.deepEqual(log, ["notify: webhook[0]: gave up on start of rollout 20260101T000000000Z-v2.5.0 after a permanent error: webhook[0]: HTTP 400: invalid_payload"]);
    });
  });

  it("notify returns synchronously while the receiver has not answered", async () => {
    await withReceivers(1, async (r) => {
      r.holding = true;
      const d = new NotificationDispatcher([hook(r.base)], { retry: policy(), log: () => undefined });
      const returned = d.notify(rollback);
      // Nothing was sent inside the call: the request starts on a later turn of the event loop.
      assert.equal(returned, undefined);
      assert.equal(r.requests.length, 0);
      assert.deepEqual(d.stats(), { delivered: 0, failed: 0, dropped: 0, abandoned: 0, pending: 1, attempts: 0 });
      await r.waitForRequests(1);
      // The request is at the receiver, unanswered, and the caller has long moved on.
      assert.deepEqual(d.stats(), { delivered: 0, failed: 0, dropped: 0, abandoned: 0, pending: 1, attempts: 1 });
      r.release();
      assert.deepEqual(await d.flush(10_000), { delivered: 1, failed: 0, dropped: 0, abandoned: 0, pending: 0, attempts: 1 });
    });
  });

  it("a full queue drops the oldest notification with a counted warning", async () => {
    await withReceivers(1, async (r) => {
      r.holding = true;
      const log: string[] = [];
      const d = new NotificationDispatcher([hook(r.base)], { retry: policy(), queueSize: 2, log: (l) => log.push(l) });
      for (const e of [start, step0, step1, rollback]) d.notify(e);
      assert.deepEqual(log, [
        "notify: webhook[0]: queue full (2); dropped the oldest notification (start of rollout 20260101T000000000Z-v2.5.0 at 2026-01-01T00:00:00.000Z); 1 dropped so far",
        "notify: webhook[0]: queue full (2); dropped the oldest notification (advance of rollout 20260101T000000000Z-v2.5.0 at 2026-01-01T00:00:10.000Z); 2 dropped so far",
      ]);
      r.release();
      assert.deepEqual(await d.flush(10_000), { delivered: 2, failed: 0, dropped: 2, abandoned: 0, pending: 0, attempts: 2 });
      assert.deepEqual(r.json(), [step1, rollback]);
    });
  });

  it("delivers in order per channel, to every channel that wants the type, and a failing channel does not hold up the others", async () => {
    await withReceivers(2, async (good, bad) => {
      bad.fallback = { status: 500 };
      const d = new NotificationDispatcher([hook(good.base), hook(bad.base, ["rollback", "rolledBack"], "webhook[1]")], { retry: policy({ attempts: 2 }), clock: new RecordingClock(), log: () => undefined });
      for (const e of events) d.notify(e);
      const stats = await d.flush(10_000);
      assert.deepEqual(
        good.json().map((e) => (e as NotificationEvent).type),
        ["start", "advance", "advance", "rollback", "rolledBack"],
      );
      assert.deepEqual(
        bad.requests.map((q) => (JSON.parse(q.body) as NotificationEvent).type),
        ["rollback", "rollback", "rolledBack", "rolledBack"],
      );
      assert.deepEqual(stats, { delivered: 5, failed: 2, dropped: 0, abandoned: 0, pending: 0, attempts: 9 });
    });
  });

  it("flush gives up at its timeout, aborts the request in flight and counts what it abandons", async () => {
    await withReceivers(1, async (r) => {
      r.holding = true;
      const log: string[] = [];
      const d = new NotificationDispatcher([hook(r.base)], { retry: policy(), log: (l) => log.push(l) });
      d.notify(start);
      d.notify(step0);
      await r.waitForRequests(1);
      assert.deepEqual(await d.flush(50), { delivered: 0, failed: 0, dropped: 0, abandoned: 2, pending: 0, attempts: 1 });
      assert.deepEqual(log, ["notify: flush timed out; abandoned 2 undelivered notification(s)"]);
      // Still usable afterwards.
      r.release();
      d.notify(rollback);
      assert.deepEqual(await d.flush(10_000), { delivered: 1, failed: 0, dropped: 0, abandoned: 2, pending: 0, attempts: 2 });
      assert.deepEqual(r.json().slice(-1), [rollback]);
    });
  });
});
