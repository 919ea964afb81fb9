/**
 * The report of a real rolled-back canary: the sandbox (HAProxy, Prometheus, the sample app under
 * load) rolls out a version that starts failing at step 1; the report is written while the
 * sandbox's Prometheus still answers, so its error-rate and latency charts are Prometheus' raw
 * series. Opened in headless Chromium: the charts drew, the rollback is marked, nothing else was
 * fetched, no error.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runSandboxRollout } from "../../../local/sandboxRollout";
import { HistoryStore } from "../../../automation/history/store";
import { readTrace } from "../../../automation/report/trace";
import { COLORS } from "../../../automation/report/html";
import { drawn, HeadlessChromium, pixels, ready } from "../../helpers/chromium";
import { CHROMIUM, HAPROXY, needs, PROMETHEUS } from "../../helpers/tools";

describe("report of a rolled-back sandbox canary", function () {
  this.timeout(240_000);
  needs(HAPROXY, PROMETHEUS, CHROMIUM);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-sandbox-report-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("is written on the rollback with Prometheus' raw series, kept in the history, and draws in Chromium", async () => {
    const r = await runSandboxRollout({ versions: { stable: "v1", canary: "v2" }, fault: { atStep: 1, fault: { errorRate: 0.3 } }, reportDir: dir });
    assert.equal(r.result.outcome, "rolledBack");
    assert.equal(r.report, path.join(dir, `report-${r.record.id}.html`));
    const html = fs.readFileSync(r.report!, "utf8");
    assert.match(html, /Error rate and latency: Prometheus' raw counters, differenced per \d+ s step\./);

    const history = new HistoryStore(path.join(dir, "history"));
    const kept = await history.list();
    assert.deepEqual(kept.map((k) => [k.record.id, k.record.phase]), [[r.record.id, "RolledBack"]]);
    const trace = await readTrace(history.traceFile(r.record.id));
    assert.ok(trace.samples.length >= 3 && trace.samples.every((s) => s.kind === "ok" || s.kind === "priming" || s.kind === "noValues"), `${trace.samples.length} samples`);
    assert.equal(trace.samples[trace.samples.length - 1]!.decision, "rollback");

    const browser = await HeadlessChromium.launch();
    try {
      const opened = await browser.open(r.report!);
      await ready(opened.page);
      await opened.page.screenshot({ path: path.join(dir, "report.png"), fullPage: true });
      const { charts } = await drawn(opened.page);
      const byId = new Map(charts.map((c) => [c.id, c]));
      for (const id of ["weight", "errors", "latency", "bounds-errors", "evidence-errors", "guardrail-errorRate"]) {
        assert.ok(byId.get(id) && !byId.get(id)!.empty && byId.get(id)!.points > 0, `chart ${id} drew`);
      }
      const canary = await pixels(opened.page, "errors", COLORS.series.canary);
      assert.ok(canary.total > 100, `canary error rate drew ${canary.total} pixels`);
      const rollbackAt = Date.parse(r.record.history.find((h) => h.type === "rollback")!.at) / 1000;
      const marker = await pixels(opened.page, "errors", COLORS.markers.rollback, rollbackAt);
      assert.ok(marker.column > 0.8 * marker.plotHeight, `rollback marker ${marker.column} of ${marker.plotHeight} rows`);
      assert.deepEqual(opened.errors, []);
      assert.deepEqual(opened.requests, []);
    } finally {
      await browser.close();
    }
  });
});
