/** Wall-clock time and waiting, injected so tests run a whole rollout without waiting. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The clock's time as ISO 8601. */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
