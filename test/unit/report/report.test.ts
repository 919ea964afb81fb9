/** The report's content (pure), its page, the Prometheus differencing, the trace and the archive's files. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseJudgeConfig } from "../../../automation/analysis/judge";
import { HistoryStore } from "../../../automation/history/store";
import { RolloutArchive } from "../../../automation/report/archive";
import { bucketQuantile, buildReportData } from "../../../automation/report/data";
import { renderReportHtml } from "../../../automation/report/html";
import { countsFromMatrices } from "../../../automation/report/prometheus";
import { readTrace } from "../../../automation/report/trace";
import { FIXTURE_JUDGE, judgedRollout } from "../../helpers/reportFixtures";

const fixture = judgedRollout();
const now = new Date("2026-03-01T11:00:00.000Z");

describe("rollout report (pure)", () => {
  const quantiles: [string, { le: number | null; count: number }[] | undefined, number, number | null][] = [
    ["no histogram", undefined, 0.95, null],
    ["no requests", [{ le: 0.1, count: 0 }, { le: null, count: 0 }], 0.95, null],
    ["interpolated inside its bucket", [{ le: 0.1, count: 50 }, { le: 0.2, count: 100 }, { le: null, count: 100 }], 0.75, 0.15],
    ["in the first bucket, from 0", [{ le: 0.1, count: 100 }, { le: null, count: 100 }], 0.5, 0.05],
    ["in +Inf: the highest finite bound", [{ le: 0.1, count: 10 }, { le: 0.5, count: 20 }, { le: null, count: 100 }], 0.95, 0.5],
  ];
  for (const [name, buckets, q, expected] of quantiles) {
    it(`bucketQuantile: ${name}`, () => {
      const got = bucketQuantile(buckets, q);
      assert.equal(got === null ? null : Math.round(got * 1e9) / 1e9, expected);
    });
  }

  it("charts, markers and words of a judged rollout that rolled back", () => {
    const d = buildReportData({ kept: fixture.kept, samples: fixture.samples, judge: parseJudgeConfig(FIXTURE_JUDGE), rawMissing: "none configured", now });
    assert.equal(d.title, "Rollout report: checkout v4.2.0 on prod-eu");
    assert.deepEqual(
      d.charts.map((c) => [c.id, c.log, c.limits.map((l) => l.label)]),
      [
        ["weight", false, []],
        ["errors", false, ["guardrail errorRate 5%"]],
        ["latency", false, ["guardrail p95 p95 ≤ 0.5 s"]],
        ["bounds-errors", true, ["margin 1", "allowed 1.5"]],
        ["evidence-errors", true, ["rollback at 200"]],
        ["bounds-latency", true, ["margin 1", "allowed 1.5"]],
        ["evidence-latency", true, ["rollback at 200"]],
        ["guardrail-errorRate", false, ["limit 5%"]],
        ["guardrail-successRate", false, ["limit 5%"]],
        ["guardrail-p95", false, ["limit 5%"]],
      ],
    );
    // The weight steps: 0 at the start, 5, 25, then 0 after the restore.
    const weight = d.charts[0]!;
    assert.deepEqual([...new Set(weight.series[0]!.values)], [0, 5, 25]);
    assert.equal(weight.series[0]!.values[weight.series[0]!.values.length - 1], 0);
    assert.deepEqual(
      d.markers.map((m) => `${m.kind}:${m.type}`),
      ["transition:start", "transition:advance", "control:pause", "transition:pause", "control:resume", "transition:resume", "decision:promote", "transition:advance", "decision:rollback", "transition:rollback", "transition:rolledBack"],
    );
    // The bounds narrow while the canary is clean (step 0), then the lower bound rises once it fails.
    const [, lower, upper] = d.charts.find((c) => c.id === "bounds-latency")!.series.map((s) => s.values);
    const promoted = fixture.samples.findIndex((s) => s.decision === "promote");
    assert.ok(upper![promoted]! < upper![0]! / 2, `latency upper bound ${upper![0]} → ${upper![promoted]}`);
    const errorsLower = d.charts.find((c) => c.id === "bounds-errors")!.series[1]!.values;
    assert.ok(errorsLower[errorsLower.length - 1]! > 1, "the errors' lower bound passes the margin at the rollback");
    assert.equal(lower!.length, fixture.samples.length);
    assert.equal(d.verdict.headline, "Rolled back: checkout v4.2.0 on prod-eu, decided at step 2 of 3 (canary weight 25%), 20s into the step");
    assert.match(d.verdict.paragraphs[0]!, /^The judge rolled it back: guardrail errorRate: /);
    assert.ok(d.verdict.paragraphs.some((p) => /^errors: the canary's rate was .* against the baseline's .*; the canary\/baseline ratio is estimated at .*, with always-valid confidence bounds \[/.test(p)));
    assert.ok(d.verdict.paragraphs.some((p) => p.startsWith("Guardrail errorRate: ") && p.endsWith(": breached.")));
    assert.equal(d.verdict.paragraphs[d.verdict.paragraphs.length - 1], "The snapshot taken before the rollout was restored 3 s after the decision (restored the snapshot; canary kept at weight 0).");
    assert.deepEqual(d.notes, ["Error rate and latency: the counts the judge read at each tick (no Prometheus series: none configured)."]);
  });

  it("a switch (blue/green, or a canary's bake) puts the weight at 100 until the rollback", () => {
    const history = fixture.kept.record.history;
    const last = history.findIndex((h) => h.type === "rollback");
    const switched = { ...history[last - 1]!, type: "switch" as const, to: "Baking" as const, weight: 100, at: new Date(Date.parse(history[last]!.at) - 1000).toISOString(), reason: "step 1 passed; all traffic on v4.2.0" };
    const kept = { ...fixture.kept, record: { ...fixture.kept.record, history: [...history.slice(0, last), switched, ...history.slice(last)] } };
    const weight = buildReportData({ kept, samples: fixture.samples, judge: parseJudgeConfig(FIXTURE_JUDGE), rawMissing: "none configured", now }).charts[0]!.series[0]!.values;
    assert.deepEqual([...new Set(weight)], [0, 5, 25, 100]);
    assert.deepEqual(weight.slice(-3), [100, 0, 0]);
  });

  it("without a trace: the weight and the words still, and a note saying what is missing", () => {
    const d = buildReportData({ kept: fixture.kept, samples: [], now });
    assert.deepEqual(d.charts.map((c) => c.id), ["weight", "errors"]);
    assert.ok(d.notes.includes("No trace of the judge's ticks was kept for this rollout: no confidence bounds, evidence or guardrail charts."));
  });

  it("Prometheus' counters differenced per step: errors by the code label, resets, latency buckets", () => {
    const config = { requests: { metric: "http_requests_total", codeLabel: "code", errorCodes: "^5\\d\\d$" }, latency: { metric: "b", leLabel: "le" } };
    const requests = [
      { metric: { code: "200", pod: "a" }, values: [[100, "10"], [110, "30"], [120, "5"]] as [number, string][] }, // reset at 120: 5 new
      { metric: { code: "503", pod: "a" }, values: [[100, "1"], [110, "3"], [120, "4"]] as [number, string][] },
    ];
    const latency = [
      { metric: { le: "0.1" }, values: [[100, "5"], [110, "20"], [120, "22"]] as [number, string][] },
      { metric: { le: "+Inf" }, values: [[100, "11"], [110, "33"], [120, "42"]] as [number, string][] },
    ];
    assert.deepEqual(countsFromMatrices([110, 120, 130], requests, latency, config), [
      { requests: 22, errors: 2, latency: [{ le: 0.1, count: 15 }, { le: null, count: 22 }] },
      { requests: 6, errors: 1, latency: [{ le: 0.1, count: 2 }, { le: null, count: 9 }] },
      null,
    ]);
  });

  it("the page inlines uPlot and the data, forbids every fetch, and escapes record text", () => {
    const html = renderReportHtml(buildReportData({ kept: fixture.kept, samples: fixture.samples, now }), { script: "/*UPLOT*/", style: "/*CSS*/" });
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">/);
    assert.ok(html.includes("<script>/*UPLOT*/</script>") && html.includes("<style>/*CSS*/</style>"));
    assert.ok(!/\b(src|href)=/.test(html), "no external resource");
    const hostile = { ...fixture.kept, record: { ...fixture.kept.record, version: "<b>v</b>" } };
    const page = renderReportHtml(buildReportData({ kept: hostile, samples: [], now }), { script: "", style: "" });
    assert.ok(!page.includes("<b>v</b>"));
    assert.ok(page.includes("&lt;b&gt;v&lt;/b&gt;") && page.includes("\\u003cb>v\\u003c/b>"));
  });
});

describe("rollout archive (files)", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-archive-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("keeps the rollout after each transition, traces each tick, and writes the report after the restore", async () => {
    const history = new HistoryStore(path.join(dir, "history"));
    const log: string[] = [];
    const archive = new RolloutArchive({ service: "checkout", history, operator: "me@here", reportDir: dir, log: (l) => log.push(l) });
    const record = fixture.kept.record;
    // Replay: each transition with the record as it stood, the ticks in between.
    let sample = 0;
    for (let i = 0; i < record.history.length; i++) {
      const entry = record.history[i]!;
      const asOf = { ...record, history: record.history.slice(0, i + 1), phase: entry.to, updatedAt: entry.at };
      for (; sample < fixture.samples.length && fixture.samples[sample]!.at <= Date.parse(entry.at) / 1000; sample++) {
        const s = fixture.samples[sample]!;
        archive.observe({ kind: "tick", record: asOf, verdict: { decision: s.decision as "continue", at: s.at, reasons: [s.reason], stepElapsedSeconds: 0, stepObservedSeconds: 0, metrics: [], guardrails: [] } });
      }
      archive.observe({ kind: "transition", record: asOf, entry });
    }
    const result = await archive.flush(10_000);
    assert.deepEqual(log, []);
    assert.equal(result.history, history.recordFile(record.id));
    assert.deepEqual(result.reports, [path.join(dir, "report-20260301T100000000Z-v4.2.0.html")]);
    const kept = await history.load(record.id);
    assert.deepEqual([kept?.startedBy, kept?.service, kept?.record.phase], ["me@here", "checkout", "RolledBack"]);
    const trace = await readTrace(history.traceFile(record.id));
    assert.deepEqual([trace.samples.length, trace.skipped], [fixture.samples.length, 0]);
    assert.match(fs.readFileSync(result.reports[0]!, "utf8"), /<title>Rollout report: checkout v4\.2\.0 on prod-eu<\/title>/);
  });

  it("a trace line cut short by a killed driver is skipped and counted, the rest is read", async () => {
    const file = path.join(dir, "x.trace.jsonl");
    fs.writeFileSync(file, `${JSON.stringify(fixture.samples[0])}\n{"at": 17723\n${JSON.stringify(fixture.samples[1])}\n`);
    const t = await readTrace(file);
    assert.deepEqual([t.samples.length, t.skipped], [2, 1]);
  });
});
