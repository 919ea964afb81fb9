/**
 * Scrape-aligned counter increments. Pure: the Prometheus provider feeds it the raw samples
 * of range queries, the benchmark feeds it simulated scrapes.
 *
 * Why. Prometheus stores each series' counter at its own scrape times; an instant query at
 * time t returns the latest sample at or before t, whenever it was taken. When the canary's
 * and the baseline's targets are scraped at different phases, a tick shorter than the scrape
 * interval sees a new sample for one version and none for the other, so the two versions'
 * counts cover different spans (or one of them nothing) and the comparison either loses the
 * tick or compares unequal times.
 *
 * How. Every reading takes each series' raw samples, makes them monotone across counter
 * resets, and picks one common boundary T: the earliest of the live series' latest sample
 * times, the last moment every series has data for. Each series' value at T is interpolated
 * linearly between the samples on either side of it (exact for the series whose latest
 * sample is T; elsewhere it spreads one scrape interval's increments evenly in time). The
 * reading's increments are the values at T minus the values at the previous boundary, so
 * both versions' counts cover exactly [previous T, T] and nothing is lost or counted twice:
 * the increments of consecutive readings add up to the raw counters' total increase. When no
 * live series has a sample beyond the previous boundary, the reading is "pending": nothing
 * new yet, and nothing is consumed.
 */
/** The labels of one series, without `__name__`. */
export type Labels = Readonly<Record<string, string>>;

/** One series' value (a counter's reading, or its increase over an interval). */
export interface SeriesReading {
  readonly labels: Labels;
  readonly value: number;
}

/** A canonical key for a label set (sorted, unambiguous), so one series is one key. */
export function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/** One series' raw samples from a range query, oldest first. */
export interface SeriesSamples {
  /** A key unique to the series (and to the query it came from). */
  readonly key: string;
  readonly labels: Labels;
  /** [Unix seconds, cumulative counter value], ascending in time. */
  readonly samples: readonly (readonly [number, number])[];
}

/** What one reading yields. */
export type AlignedReading =
  /** The first reading: it only fixes the starting values. */
  | { readonly kind: "priming"; readonly boundary: number; readonly live: ReadonlySet<string> }
  /** No live series has a sample after the previous boundary: nothing new to count yet. */
  | { readonly kind: "pending"; readonly since: number; readonly live: ReadonlySet<string> }
  | {
      readonly kind: "ok";
      /** Keys of the series with a recent sample (the others stopped reporting). */
      readonly live: ReadonlySet<string>;
      /** The previous boundary. */
      readonly start: number;
      /** The new boundary T. */
      readonly end: number;
      /** Per series (by its key): the increase over [start, end]; fractional where interpolated. */
      readonly increments: readonly (SeriesReading & { readonly key: string })[];
      /** Counter resets and series that stopped reporting, worth keeping in the record. */
      readonly notes: readonly string[];
    };

interface Track {
  readonly labels: Labels;
  /** Reset-adjusted samples from the last one at or before the boundary onwards. */
  samples: [number, number][];
  lastRaw: number;
  offset: number;
  /** Adjusted value at the current boundary; undefined for a series first seen after it. */
  atBoundary: number | undefined;
  /** Smallest positive time between two samples seen: the series' scrape interval. */
  spacing: number | undefined;
}

/** Settings of a {@link SampleAligner}. */
export interface AlignerOptions {
  /** A series without a sample for this long is forgotten (a pod gone for good). */
  readonly forgetAfterSeconds: number;
  /**
   * A series whose latest sample is older than this many of its scrape intervals no longer
   * holds the boundary back (a pod that stopped, or missed scrapes). Defaults to 2.5.
   */
  readonly staleIntervals?: number;
  /** Scrape interval assumed for a series with a single sample so far. Defaults to 60. */
  readonly defaultSpacingSeconds?: number;
}

const EPS = 1e-9;

/**
 * Turns successive range-query results into increments over common, gap-free intervals.
 * Holds the per-series state between readings (in memory: a resumed driver primes again).
 */
export class SampleAligner {
  private readonly tracks = new Map<string, Track>();
  private boundary: number | undefined;
  private readonly staleIntervals: number;
  private readonly defaultSpacing: number;

  constructor(private readonly options: AlignerOptions) {
    this.staleIntervals = options.staleIntervals ?? 2.5;
    this.defaultSpacing = options.defaultSpacingSeconds ?? 60;
  }

  /** The current boundary (the end of the last interval counted), if primed. */
  get currentBoundary(): number | undefined {
    return this.boundary;
  }

  /**
   * Adds the samples a reading at `at` returned and counts the increments since the last
   * boundary. Samples already seen are ignored, so overlapping range windows are fine.
   */
  read(at: number, series: readonly SeriesSamples[]): AlignedReading {
    const notes: string[] = [];
    let resets = 0;
    for (const s of series) {
      let track = this.tracks.get(s.key);
      if (!track) {
        track = { labels: s.labels, samples: [], lastRaw: 0, offset: 0, atBoundary: undefined, spacing: undefined };
        this.tracks.set(s.key, track);
      }
      for (const [t, raw] of s.samples) {
        if (!Number.isFinite(t) || !Number.isFinite(raw)) continue;
        const last = track.samples[track.samples.length - 1];
        if (last && t <= last[0] + EPS) continue;
        if (last && raw < track.lastRaw) {
          // A restart: the counter began again at 0, so everything it holds is new.
          track.offset += track.lastRaw;
          resets++;
        }
        if (last && t - last[0] > EPS) track.spacing = Math.min(track.spacing ?? Infinity, t - last[0]);
        track.lastRaw = raw;
        track.samples.push([t, raw + track.offset]);
      }
    }
    if (resets > 0) notes.push(`${resets} counter reset(s)`);

    const spacings = [...this.tracks.values()].map((t) => t.spacing).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    const typical = spacings.length > 0 ? spacings[Math.floor(spacings.length / 2)] : this.defaultSpacing;
    let T = Infinity;
    let stale = 0;
    const live = new Set<string>();
    for (const [key, track] of this.tracks) {
      const latest = track.samples[track.samples.length - 1];
      if (!latest) continue;
      if (at - latest[0] > this.staleIntervals * (track.spacing ?? typical)) {
        stale++;
        continue;
      }
      live.add(key);
      T = Math.min(T, latest[0]);
    }

    if (this.boundary === undefined) {
      const b = Number.isFinite(T) ? T : at;
      for (const track of this.tracks.values()) track.atBoundary = valueAt(track, b);
      this.boundary = b;
      this.prune(at);
      return { kind: "priming", boundary: b, live };
    }
    if (!Number.isFinite(T) || T <= this.boundary + EPS) {
      this.prune(at);
      return { kind: "pending", since: this.boundary, live };
    }
    if (stale > 0) notes.push(`${stale} series without a recent sample`);
    const increments: (SeriesReading & { readonly key: string })[] = [];
    for (const [key, track] of this.tracks) {
      if (track.samples.length === 0) continue;
      const v = valueAt(track, T);
      // A series first seen after the boundary was created since (prom-client creates a series
      // at its first increment): all it holds is new.
      const before = track.atBoundary ?? 0;
      increments.push({ key, labels: track.labels, value: Math.max(0, v - before) });
      track.atBoundary = v;
    }
    const start = this.boundary;
    this.boundary = T;
    this.prune(at);
    return { kind: "ok", live, start, end: T, increments, notes };
  }

  /** Drops samples no interpolation can need any more, and series gone for too long. */
  private prune(at: number): void {
    for (const [key, track] of this.tracks) {
      const latest = track.samples[track.samples.length - 1];
      if (latest && at - latest[0] > this.options.forgetAfterSeconds) {
        this.tracks.delete(key);
        continue;
      }
      if (this.boundary === undefined) continue;
      let keepFrom = 0;
      for (let i = 0; i < track.samples.length; i++) if (track.samples[i][0] <= this.boundary + EPS) keepFrom = i;
      if (keepFrom > 0) track.samples = track.samples.slice(keepFrom);
    }
  }
}

/** A track's reset-adjusted value at time t: interpolated between samples, held after the last, 0 (or the boundary value) before the first. */
function valueAt(track: Track, t: number): number {
  const s = track.samples;
  if (s.length === 0) return track.atBoundary ?? 0;
  if (t >= s[s.length - 1][0]) return s[s.length - 1][1];
  if (t < s[0][0]) return track.atBoundary ?? 0;
  for (let i = 0; i + 1 < s.length; i++) {
    const [t0, v0] = s[i];
    const [t1, v1] = s[i + 1];
    if (t >= t0 && t <= t1) return t1 - t0 > EPS ? v0 + ((v1 - v0) * (t - t0)) / (t1 - t0) : v1;
  }
  return s[s.length - 1][1];
}

/** Reset-adjusted copy of a series' samples (monotone: a drop is a restart from 0). */
function adjusted(samples: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  let offset = 0;
  let lastRaw = 0;
  for (const [t, raw] of samples) {
    if (!Number.isFinite(t) || !Number.isFinite(raw)) continue;
    if (out.length > 0 && t <= out[out.length - 1][0] + EPS) continue;
    if (out.length > 0 && raw < lastRaw) offset += lastRaw;
    lastRaw = raw;
    out.push([t, raw + offset]);
  }
  return out;
}

/**
 * The increments of every series over `count` consecutive intervals of `intervalSeconds`
 * ending at the series' common latest sample time (oldest interval first), from one range
 * query's samples: the pre-flight reading of a version's recent history. A series whose
 * first sample comes after an interval's start is taken as created then (0 before). Fewer
 * intervals are returned when the samples do not reach back far enough; undefined when
 * there are none.
 */
export function historyIncrements(
  series: readonly SeriesSamples[],
  intervalSeconds: number,
  count: number,
): { readonly start: number; readonly end: number; readonly intervals: readonly (readonly (SeriesReading & { readonly key: string })[])[] } | undefined {
  const tracks = series.map((s) => ({ key: s.key, labels: s.labels, samples: adjusted(s.samples) })).filter((s) => s.samples.length > 0);
  if (tracks.length === 0) return undefined;
  let end = Infinity;
  let earliest = Infinity;
  for (const s of tracks) {
    end = Math.min(end, s.samples[s.samples.length - 1][0]);
    earliest = Math.min(earliest, s.samples[0][0]);
  }
  const n = Math.min(count, Math.floor((end - earliest) / intervalSeconds + EPS));
  if (n < 1) return undefined;
  const start = end - n * intervalSeconds;
  const at = (s: { samples: [number, number][] }, t: number): number => {
    const xs = s.samples;
    if (t < xs[0][0]) return 0;
    if (t >= xs[xs.length - 1][0]) return xs[xs.length - 1][1];
    for (let i = 0; i + 1 < xs.length; i++) {
      const [t0, v0] = xs[i];
      const [t1, v1] = xs[i + 1];
      if (t >= t0 && t <= t1) return t1 - t0 > EPS ? v0 + ((v1 - v0) * (t - t0)) / (t1 - t0) : v1;
    }
    return xs[xs.length - 1][1];
  };
  // A series already running at the window's start contributes only what it gained since.
  const intervals: (SeriesReading & { readonly key: string })[][] = [];
  for (let j = 0; j < n; j++) {
    const a = start + j * intervalSeconds;
    const b = a + intervalSeconds;
    intervals.push(tracks.map((s) => ({ key: s.key, labels: s.labels, value: Math.max(0, at(s, b) - (s.samples[0][0] <= a + EPS ? at(s, a) : 0)) })));
  }
  return { start, end, intervals };
}
