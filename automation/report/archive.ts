/**
 * What the driver leaves behind for people: the rollout kept in the history after every
 * transition, the judge's readings appended to its trace after every tick, and on a rollback (and
 * a failed one) the HTML report next to the incident record. Like the notifications, it watches
 * the driver's events and never holds up the rollout: every write is queued, failures become log
 * lines, and `flush` waits a bounded time at exit.
 *
 * Wiring: `archive.observe(e)` in the driver's report callback, and the metrics source wrapped
 * with `archive.wrapMetrics(source)` so each tick's sample carries the counts the judge read.
 */
import * as path from "node:path";
import { JudgeConfig } from "../analysis/judge";
import { MetricsProvider, PrometheusProvider } from "../analysis/prometheus";
import { TickMeasurement, Verdict } from "../analysis/types";
import { writeFileAtomic } from "../atomicFile";
import { fileBase, HistoryStore, KeptRollout } from "../history/store";
import { HistoryEntry, RolloutRecord } from "../state";
import { buildReportData } from "./data";
import { ChartAssets, loadChartAssets, renderReportHtml } from "./html";
import { CountSeries, fetchCountSeries } from "./prometheus";
import { appendSample, readTrace, TraceSample, traceSample } from "./trace";

/** The history entries after which the report is written. */
const REPORT_EVENTS: readonly string[] = ["rolledBack", "rollbackFailed"];

/** Raw series for a report, or why there are none. */
export type RawSeriesSource = (kept: KeptRollout, samples: readonly TraceSample[]) => Promise<{ readonly raw?: CountSeries; readonly missing?: string }>;

/** The file name of a rollout's report. */
export function reportFileName(rollout: string): string {
  return `report-${fileBase(rollout)}.html`;
}

/**
 * Raw series from the rollout's Prometheus provider (asked for when the report is written, so a
 * provider built once the rollout started can be passed in): the rollout's window plus a few steps on each
 * side, at the judge's tick length. A provider that is not Prometheus, or a Prometheus that does
 * not answer, gives the reason instead (the report then charts the judge's own ticks).
 */
export function prometheusSeries(providerOf: () => MetricsProvider | undefined, now: () => number = Date.now): RawSeriesSource {
  return async (kept, samples) => {
    const provider = providerOf();
    if (!(provider instanceof PrometheusProvider)) return { missing: "no Prometheus settings for this rollout" };
    const r = kept.record;
    const gaps = samples.slice(1).map((s, i) => s.at - samples[i]!.at).filter((g) => g > 0).sort((a, b) => a - b);
    const start = Date.parse(r.createdAt) / 1000;
    const end = Date.parse(r.updatedAt) / 1000;
    const step = Math.max(1, Math.round(gaps[Math.floor(gaps.length / 2)] ?? (end - start) / 300));
    try {
      return { raw: await fetchCountSeries(provider, { start: start - 3 * step, end: Math.min(end + 3 * step, now() / 1000), stepSeconds: step }) };
    } catch (e) {
      // The URL without any credentials in it: the note is printed into a file people share.
      const where = new URL(provider.config.url);
      where.username = "";
      where.password = "";
      return { missing: `Prometheus at ${where.href} did not answer (${e instanceof Error ? e.message : String(e)})` };
    }
  };
}

/** Options of {@link writeReport}. */
export interface WriteReportOptions {
  /** The report file. */
  readonly file: string;
  readonly raw?: RawSeriesSource;
  readonly judge?: JudgeConfig;
  readonly assets?: ChartAssets;
  readonly now?: Date;
}

/** Builds and writes a rollout's report (atomically); returns its path. */
export async function writeReport(kept: KeptRollout, samples: readonly TraceSample[], o: WriteReportOptions): Promise<string> {
  const raw = o.raw ? await o.raw(kept, samples) : {};
  const data = buildReportData({ kept, samples, ...(raw.raw ? { raw: raw.raw } : {}), ...(raw.missing ? { rawMissing: raw.missing } : {}), ...(o.judge ? { judge: o.judge } : {}), now: o.now ?? new Date() });
  await writeFileAtomic(o.file, renderReportHtml(data, o.assets ?? loadChartAssets()));
  return o.file;
}

/** Options of {@link RolloutArchive}. */
export interface RolloutArchiveOptions {
  readonly service: string;
  readonly history: HistoryStore;
  /** Who runs this driver (`user@host`): recorded as who started a rollout it starts. */
  readonly operator: string;
  /** Where reports go on a rollback (the incident directory); `undefined` writes none. */
  readonly reportDir?: string;
  /** The raw series for the report; without it the report charts the judge's ticks. */
  readonly raw?: RawSeriesSource;
  readonly judge?: JudgeConfig;
  /** Warnings, one line each. Defaults to stderr. */
  readonly log?: (line: string) => void;
}

/** The result of {@link RolloutArchive.flush}. */
export interface ArchiveResult {
  /** The kept rollout's file, once written. */
  readonly history?: string;
  /** Reports written. */
  readonly reports: readonly string[];
}

/** See the module comment. */
export class RolloutArchive {
  private writes: Promise<void> = Promise.resolve();
  private lastMeasurement?: TickMeasurement;
  private startedBy?: string;
  private historyFile?: string;
  private readonly reports = new Set<string>();
  private readonly log: (line: string) => void;

  constructor(private readonly o: RolloutArchiveOptions) {
    this.log = o.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** The metrics source, remembering each measurement for the tick's trace sample. */
  wrapMetrics<T extends { measure(at: number): Promise<TickMeasurement> }>(source: T): T {
    // Everything else of the source (the pre-flight's reads of a provider) stays reachable.
    const wrapped = Object.create(source) as T;
    wrapped.measure = async (at: number): Promise<TickMeasurement> => {
      const m = await source.measure(at);
      this.lastMeasurement = m;
      return m;
    };
    return wrapped;
  }

  /** Takes any driver event: transitions and ticks; ignores the rest. Returns at once, never throws. */
  observe(e: { readonly kind: string; readonly record?: RolloutRecord; readonly entry?: HistoryEntry; readonly verdict?: Verdict }): void {
    if (e.kind === "transition" && e.record && e.entry) this.transition(e.record, e.entry);
    else if (e.kind === "tick" && e.record && e.verdict) this.tick(e.record, e.verdict);
  }

  private enqueue(what: string, job: () => Promise<void>): void {
    this.writes = this.writes.then(job).catch((err: unknown) => this.log(`archive: cannot ${what}: ${err instanceof Error ? err.message : String(err)}`));
  }

  private transition(record: RolloutRecord, entry: HistoryEntry): void {
    const history = this.o.history;
    this.enqueue(`keep rollout ${record.id} in the history at ${history.dir}`, async () => {
      // A resumed rollout keeps who started it; a new one is this operator's, or the retry's requester.
      this.startedBy ??= (await history.load(record.id).catch(() => undefined))?.startedBy ?? record.history.find((h) => h.type === "start")?.by ?? this.o.operator;
      this.historyFile = await history.save({ schema: 1, service: this.o.service, startedBy: this.startedBy, record });
    });
    if (this.o.reportDir !== undefined && REPORT_EVENTS.includes(entry.type)) {
      const file = path.join(this.o.reportDir, reportFileName(record.id));
      this.enqueue(`write the report of rollout ${record.id} to ${file}`, async () => {
        const { samples, skipped } = await readTrace(history.traceFile(record.id));
        if (skipped > 0) this.log(`archive: skipped ${skipped} unreadable line(s) of ${history.traceFile(record.id)}`);
        const kept: KeptRollout = { schema: 1, service: this.o.service, startedBy: this.startedBy ?? this.o.operator, record };
        this.reports.add(await writeReport(kept, samples, { file, ...(this.o.raw ? { raw: this.o.raw } : {}), ...(this.o.judge ? { judge: this.o.judge } : {}) }));
      });
    }
  }

  private tick(record: RolloutRecord, verdict: Verdict): void {
    const m = this.lastMeasurement;
    // Only the measurement this verdict judged (same end) belongs in its sample.
    const sample = traceSample(verdict, record, m && m.end === verdict.at ? m : undefined);
    this.enqueue(`append to the trace of rollout ${record.id}`, () => appendSample(this.o.history.traceFile(record.id), sample));
  }

  /** Waits for the queued writes, at most `timeoutMs`. Never rejects. */
  async flush(timeoutMs: number): Promise<ArchiveResult> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([this.writes.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))]);
    clearTimeout(timer);
    if (timedOut) this.log(`archive: gave up waiting for the history and report writes after ${timeoutMs} ms`);
    return { ...(this.historyFile ? { history: this.historyFile } : {}), reports: [...this.reports] };
  }
}
