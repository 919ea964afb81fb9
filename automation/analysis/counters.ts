/**
 * Turning raw cumulative counter readings into per-tick increments. Pure: the Prometheus
 * provider feeds it HTTP results, the benchmark feeds it simulated pods, and both get the
 * same reset and new-series handling.
 */

/** The labels of one series, without `__name__`. */
export type Labels = Readonly<Record<string, string>>;

/** One series' reading at a tick boundary. */
export interface SeriesReading {
  readonly labels: Labels;
  readonly value: number;
}

/** Readings of one metric at one boundary, keyed by {@link seriesKey}. */
export type Snapshot = ReadonlyMap<string, SeriesReading>;

/** A canonical key for a label set (sorted, unambiguous), so one series is one key. */
export function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/** Builds a snapshot from readings; the last reading wins for duplicate label sets. */
export function snapshotOf(readings: readonly SeriesReading[]): Map<string, SeriesReading> {
  const m = new Map<string, SeriesReading>();
  for (const r of readings) if (Number.isFinite(r.value)) m.set(seriesKey(r.labels), r);
  return m;
}

/** Per-series increments between two snapshots, and what was unusual about them. */
export interface CounterDelta {
  /** Increments per series present in the later snapshot. */
  readonly increments: readonly SeriesReading[];
  /** Series whose value went down: the process restarted and the counter began again at 0. */
  readonly resets: number;
  /** Series absent from the earlier snapshot (a new pod, or a label value seen for the first time). */
  readonly newSeries: number;
  /** Series absent from the later snapshot (a pod went away); their last increments are lost. */
  readonly vanished: number;
}

/**
 * Increments from `previous` to `current`, series by series. Summing counters BEFORE
 * differencing would hide a restarted pod (its drop to 0 cancels other pods' growth, so
 * the total goes down or grows too little); differencing per series and then summing
 * keeps every other pod's increments exact.
 *  - decrease → reset: the increment is the new value (what was counted since the
 *    restart; increments between the last reading and the restart are unknowable — the same
 *    loss Prometheus's own `increase()` accepts);
 *  - new series → its whole value: prom-client creates a series at its first increment,
 *    so everything it holds happened since the last reading. Callers pass as `previous`
 *    every series seen recently, not just the last reading, so a series that dropped out
 *    of one reading (stale after a failed scrape) is differenced on its return.
 */
export function counterDelta(previous: Snapshot, current: Snapshot): CounterDelta {
  const increments: SeriesReading[] = [];
  let resets = 0;
  let newSeries = 0;
  for (const [key, cur] of current) {
    const prev = previous.get(key);
    if (prev === undefined) {
      newSeries++;
      increments.push({ labels: cur.labels, value: cur.value });
    } else if (cur.value < prev.value) {
      resets++;
      increments.push({ labels: cur.labels, value: cur.value });
    } else {
      increments.push({ labels: cur.labels, value: cur.value - prev.value });
    }
  }
  let vanished = 0;
  for (const key of previous.keys()) if (!current.has(key)) vanished++;
  return { increments, resets, newSeries, vanished };
}
