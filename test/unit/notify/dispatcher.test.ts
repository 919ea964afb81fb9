import * as assert from "node:assert/strict";
import { backoffMs, DispatchClock, NotificationDispatcher, RetryPolicy } from "../../../automation/notify/dispatcher";
import { notificationFor } from "../../../automation/notify/events";
import { NOTIFICATION_TYPES, Notifier } from "../../../automation/notify/types";
import { fixtureTransitions } from "../../helpers/notifyFixtures";

const events = fixtureTransitions().map(({ record, entry }) => notificationFor(record, entry, "checkout"));
const rolledBack = events[4];

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

describe("notify dispatcher", () => {
  it("backoff: exponential ceiling, half fixed and half jitter, capped", () => {
    const p = policy({ initialDelayMs: 100, maxDelayMs: 500 });
    assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffMs(p, a, () => 1)), [100, 200, 400, 500, 500]);
    assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffMs(p, a, () => 0)), [50, 100, 200, 250, 250]);
    assert.deepEqual([1, 2, 3].map((a) => backoffMs(p, a, () => 0.5)), [75, 150, 300]);
  });

  it("a notifier that throws synchronously or rejects with a foreign error never reaches the caller", async () => {
    const log: string[] = [];
    const boom: Notifier = {
      type: "custom",
      name: "custom[0]",
      events: NOTIFICATION_TYPES,
      send: () => {
        throw new Error("kaput at https://secret.example/TOKEN123456");
      },
      scrub: (t) => t.split("https://secret.example/TOKEN123456").join("[redacted]"),
    };
    const d = new NotificationDispatcher([boom], { retry: policy({ attempts: 2 }), clock: new RecordingClock(), log: (l) => log.push(l) });
    assert.doesNotThrow(() => d.notify(rolledBack));
    assert.deepEqual(await d.flush(10_000), { delivered: 0, failed: 1, dropped: 0, abandoned: 0, pending: 0, attempts: 2 });
    assert.equal(log[1], "notify: custom[0]: gave up on rolledBack of rollout 20260101T000000000Z-v2.5.0 after 2 attempts: custom[0]: kaput at [redacted]");
  });

  it("flush with nothing queued returns at once", async () => {
    const d = new NotificationDispatcher([], {});
    assert.deepEqual(await d.flush(1), { delivered: 0, failed: 0, dropped: 0, abandoned: 0, pending: 0, attempts: 0 });
  });
});
