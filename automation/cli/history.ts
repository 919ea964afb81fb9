/** `canary history` and `canary report`: past rollouts of the target, and the HTML report of one. */
import * as path from "node:path";
import { parseJudgeConfig } from "../analysis/judge";
import { MetricsProvider } from "../analysis/prometheus";
import { Backend } from "../backends";
import { errorMessage, InputError } from "../errors";
import { formatHistory, HistoryStore, KeptRollout, summarizeRollout } from "../history/store";
import { prometheusSeries, reportFileName, writeReport } from "../report/archive";
import { readTrace } from "../report/trace";
import { metricsFromPlan } from "../rollout/judging";
import { CommandDeps, CommonFlags, DEFAULT_DEPS } from "./flags";
import { readPlan } from "./input";
import { serviceOf } from "./rollout";

/** The kept rollouts of the flags' target, newest first. */
async function keptRollouts(backend: Backend): Promise<{ store: HistoryStore; kept: KeptRollout[] }> {
  const store = new HistoryStore(backend.historyDir);
  return { store, kept: (await store.list()).filter((k) => backend.concerns(k.record)) };
}

/** Lists past rollouts: version, start, end, outcome, trigger, duration, who. */
export async function history(o: CommonFlags & { readonly limit?: string }, deps: CommandDeps = DEFAULT_DEPS): Promise<number> {
  const limit = o.limit === undefined ? Infinity : Number(o.limit);
  if (!(Number.isInteger(limit) && limit >= 1) && limit !== Infinity) throw new InputError(`--limit: must be a whole number ≥ 1, got ${JSON.stringify(o.limit)}`);
  const { store, kept } = await keptRollouts(deps.openBackend(o));
  const rows = kept.slice(0, limit).map(summarizeRollout);
  if (o.json) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  else process.stdout.write(`${rows.length > 0 ? formatHistory(rows) : `no rollouts in the history at ${store.dir}`}\n`);
  return 0;
}

/** The flags of `canary report`. */
export interface ReportFlags extends CommonFlags {
  readonly rollout?: string;
  readonly out?: string;
  readonly plan?: string;
  readonly service?: string;
}

/** Writes a rollout's self-contained HTML report (the newest kept rollout by default). */
export async function report(o: ReportFlags, deps: CommandDeps = DEFAULT_DEPS): Promise<number> {
  const plan = readPlan(o.plan);
  const backend = deps.openBackend(o);
  const { store, kept } = await keptRollouts(backend);
  let chosen = o.rollout !== undefined ? kept.find((k) => k.record.id === o.rollout) : kept[0];
  if (!chosen && o.rollout === undefined) {
    // Nothing kept (a rollout from before the history existed): the target's current record.
    const record = await (await backend.store()).load();
    if (record) chosen = { schema: 1, service: serviceOf(o, plan, record.stack), startedBy: record.history.find((h) => h.type === "start")?.by ?? "unknown", record };
  }
  if (!chosen) throw new InputError(o.rollout !== undefined ? `--rollout: no rollout ${JSON.stringify(o.rollout)} in the history at ${store.dir}` : `no rollout in the history at ${store.dir} nor in the rollout record`);
  const record = chosen.record;
  const { samples, skipped } = await readTrace(store.traceFile(record.id));
  if (skipped > 0) process.stderr.write(`report: skipped ${skipped} unreadable line(s) of ${store.traceFile(record.id)}\n`);
  // Prometheus for the raw series when the plan (or the sandbox) says where it is and it answers.
  let provider: MetricsProvider | undefined;
  let why: string | undefined;
  try {
    const stable = (record.snapshot as { stableVersion?: unknown } | undefined)?.stableVersion;
    provider = metricsFromPlan(plan, { canary: record.version, ...(typeof stable === "string" ? { baseline: stable } : {}), ...backend.metricsDefaults() });
  } catch (e) {
    why = errorMessage(e);
  }
  const raw = prometheusSeries(() => provider);
  const file = path.resolve(o.cwd, o.out ?? reportFileName(record.id));
  await writeReport(chosen, samples, { file, raw: async (k, s) => (provider ? raw(k, s) : { missing: `no Prometheus for the raw series: ${why ?? "none configured"}` }), judge: parseJudgeConfig(plan.analysis.judge) });
  process.stdout.write(o.json ? `${JSON.stringify({ event: "report", rollout: record.id, file })}\n` : `report of rollout ${record.id}: ${file}\n`);
  return 0;
}
