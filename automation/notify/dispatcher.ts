/**
 * Fans notifications out to every channel without ever holding up the rollout. `notify` only
 * puts the notification on each channel's queue and returns; a worker per channel delivers
 * them in order, retrying with exponential backoff and jitter, bounded in attempts and in
 * total time. A full queue drops its oldest notification and says so. A channel that fails,
 * hangs or throws never throws into the caller: failures become scrubbed log lines and counts.
 */
import { NotificationEvent, Notifier, NotifyError } from "./types";

/** Time and waiting, injected so tests can record the backoff without waiting for it. */
export interface DispatchClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock. Its timers are unref'd so a pending backoff never keeps the process alive. */
export const dispatchClock: DispatchClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
};

/** Retry policy, in milliseconds. */
export interface RetryPolicy {
  /** Attempts per notification, the first included. */
  readonly attempts: number;
  /** Backoff ceiling before the second attempt; doubles per attempt up to `maxDelayMs`. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Time budget of one notification on one channel, attempts and backoff included. */
  readonly maxTotalMs: number;
}

/** The default retry policy: 5 attempts, 1s doubling to 30s, 2 minutes in all. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialDelayMs: 1000, maxDelayMs: 30_000, maxTotalMs: 120_000 };

/**
 * The backoff before attempt `attempt + 1`: the exponential ceiling
 * `min(maxDelay, initialDelay · 2^(attempt−1))`, of which half is fixed and half random ("equal
 * jitter"), so retries of many drivers spread out but never come back-to-back.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Options of a {@link NotificationDispatcher}. */
export interface DispatcherOptions {
  readonly retry?: RetryPolicy;
  /** Notifications waiting per channel; the oldest is dropped when full. Defaults to 100. */
  readonly queueSize?: number;
  /** Warnings and failures, one line each, already scrubbed. Defaults to stderr. */
  readonly log?: (line: string) => void;
  readonly clock?: DispatchClock;
  /** Jitter source in [0, 1). Defaults to `Math.random`. */
  readonly random?: () => number;
}

/** Counts since the dispatcher was created. */
export interface DispatchStats {
  /** Deliveries that succeeded (one per notification and channel). */
  readonly delivered: number;
  /** Deliveries given up after the last attempt, the time budget, or a permanent error. */
  readonly failed: number;
  /** Notifications dropped from a full queue. */
  readonly dropped: number;
  /** Notifications given up because a flush timed out. */
  readonly abandoned: number;
  /** Notifications queued or in flight now. */
  readonly pending: number;
  /** Delivery attempts made, retries included. */
  readonly attempts: number;
}

/** One channel's queue and worker. */
interface Lane {
  readonly notifier: Notifier;
  readonly queue: NotificationEvent[];
  running: boolean;
  /** Aborts the notification being delivered (and its backoff) when a flush gives up. */
  current?: AbortController;
}

/** Fans notifications out to channels; see the module comment. */
export class NotificationDispatcher {
  private readonly lanes: Lane[];
  private readonly retry: RetryPolicy;
  private readonly queueSize: number;
  private readonly log: (line: string) => void;
  private readonly clock: DispatchClock;
  private readonly random: () => number;
  private readonly redactor: { scrub(text: string): string };
  private readonly idleWaiters: (() => void)[] = [];
  private counts = { delivered: 0, failed: 0, dropped: 0, abandoned: 0, attempts: 0 };

  constructor(notifiers: readonly Notifier[], o: DispatcherOptions = {}) {
    this.lanes = notifiers.map((notifier) => ({ notifier, queue: [], running: false }));
    this.retry = o.retry ?? DEFAULT_RETRY;
    this.queueSize = o.queueSize ?? 100;
    const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.clock = o.clock ?? dispatchClock;
    this.random = o.random ?? Math.random;
    // Every line is scrubbed of every channel's secrets, whichever channel it is about.
    this.redactor = { scrub: (text) => notifiers.reduce((t, n) => n.scrub(t), text) };
    this.log = (line) => {
      try {
        log(this.redactor.scrub(line));
      } catch {
        // A broken log sink must not break the rollout either.
      }
    };
  }

  /**
   * Queues a notification for every channel that wants its type and returns at once: no
   * network, no waiting, no exception.
   */
  notify(event: NotificationEvent): void {
    for (const lane of this.lanes) {
      if (!lane.notifier.events.includes(event.type) || lane.notifier.wants?.(event) === false) continue;
      if (lane.queue.length >= this.queueSize) {
        const old = lane.queue.shift()!;
        this.counts.dropped++;
        this.log(`notify: ${lane.notifier.name}: queue full (${this.queueSize}); dropped the oldest notification (${old.type} of rollout ${old.rollout} at ${old.at}); ${this.counts.dropped} dropped so far`);
      }
      lane.queue.push(event);
      if (!lane.running) {
        lane.running = true;
        // Started on the next turn of the event loop, so not even a notifier's synchronous
        // work runs inside the caller's call.
        setImmediate(() => void this.pump(lane));
      }
    }
  }

  /** The counts so far. */
  stats(): DispatchStats {
    const pending = this.lanes.reduce((n, l) => n + l.queue.length + (l.current ? 1 : 0), 0);
    return { ...this.counts, pending };
  }

  /**
   * Waits until every queued notification is delivered or given up, at most `timeoutMs`. Past
   * it, what is left is abandoned (requests in flight are aborted) and counted, so a driver
   * can exit. Never rejects.
   */
  async flush(timeoutMs: number): Promise<DispatchStats> {
    if (this.idle()) return this.stats();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.abandon();
        resolve();
      }, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.stats();
  }

  private idle(): boolean {
    return this.lanes.every((l) => !l.running && l.queue.length === 0);
  }

  private abandon(): void {
    let n = 0;
    for (const lane of this.lanes) {
      n += lane.queue.length + (lane.current ? 1 : 0);
      lane.queue.length = 0;
      lane.current?.abort();
      lane.current = undefined;
    }
    this.counts.abandoned += n;
    if (n > 0) this.log(`notify: flush timed out; abandoned ${n} undelivered notification(s)`);
  }

  private async pump(lane: Lane): Promise<void> {
    try {
      for (let event = lane.queue.shift(); event; event = lane.queue.shift()) {
        const controller = new AbortController();
        lane.current = controller;
        try {
          await this.deliver(lane.notifier, event, controller.signal);
        } finally {
          lane.current = undefined;
        }
      }
    } finally {
      lane.running = false;
      if (this.idle()) this.idleWaiters.splice(0).forEach((w) => w());
    }
  }

  /** Delivers one notification to one channel, with retries. Never rejects. */
  private async deliver(notifier: Notifier, event: NotificationEvent, signal: AbortSignal): Promise<void> {
    const started = this.clock.now();
    const what = `${event.type} of rollout ${event.rollout}`;
    for (let attempt = 1; ; attempt++) {
      this.counts.attempts++;
      let error: NotifyError;
      try {
        await Promise.resolve().then(() => notifier.send(event, signal));
        this.counts.delivered++;
        return;
      } catch (e) {
        // A notifier's own errors are scrubbed already; anything else is scrubbed here.
        error = e instanceof NotifyError ? e : new NotifyError(`${notifier.name}: ${notifier.scrub(e instanceof Error ? e.message : String(e))}`, true);
      }
      if (signal.aborted) return; // abandoned by a flush, and already counted there
      const delay = backoffMs(this.retry, attempt, this.random);
      const elapsed = this.clock.now() - started;
      const stop = !error.retryable ? "a permanent error" : attempt >= this.retry.attempts ? `${attempt} attempts` : elapsed + delay > this.retry.maxTotalMs ? `${Math.round(elapsed)}ms (budget ${this.retry.maxTotalMs}ms)` : undefined;
      if (stop !== undefined) {
        this.counts.failed++;
        this.log(`notify: ${notifier.name}: gave up on ${what} after ${stop}: ${error.message}`);
        return;
      }
      this.log(`notify: ${notifier.name}: attempt ${attempt} of ${this.retry.attempts} for ${what} failed (${error.message}); retrying in ${delay}ms`);
      await Promise.race([this.clock.sleep(delay), new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }))]);
      if (signal.aborted) return;
    }
  }
}
