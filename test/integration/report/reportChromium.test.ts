/**
 * The rollout report as a person sees it: rendered by Debian's headless Chromium, screenshotted,
 * and checked on the canvases themselves: each chart drew its series (pixels of the series'
 * colour inside the plot), the rollback and the operator's control requests are vertical lines
 * at their times, the page made no request and logged no error.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseJudgeConfig } from "../../../automation/analysis/judge";
import { writeReport } from "../../../automation/report/archive";
import { COLORS } from "../../../automation/report/html";
import { drawn, HeadlessChromium, pixels, ready } from "../../helpers/chromium";
import { FIXTURE_JUDGE, judgedRollout } from "../../helpers/reportFixtures";
import { CHROMIUM, needs } from "../../helpers/tools";

describe("rollout report in headless Chromium", function () {
  this.timeout(90_000);
  needs(CHROMIUM);
  let browser: HeadlessChromium;
  let dir: string;
  const fixture = judgedRollout();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-report-"));
    browser = await HeadlessChromium.launch();
  });
  after(async () => {
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("draws every chart with its series, the limits and the markers; no request, no console error", async () => {
    const file = await writeReport(fixture.kept, fixture.samples, { file: path.join(dir, "report.html"), judge: parseJudgeConfig(FIXTURE_JUDGE) });
    const opened = await browser.open(file);
    const { page } = opened;
    await ready(page);
    const shot = path.join(dir, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    const png = fs.readFileSync(shot);
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
    assert.ok(png.length > 100_000, `a screenshot of a drawn report is large, got ${png.length} bytes`);

    const { charts } = await drawn(page);
    assert.deepEqual(
      charts.map((c) => [c.id, c.series, c.empty]),
      [
        ["weight", ["canary weight"], false],
        ["errors", ["baseline v4.1.3", "canary v4.2.0"], false],
        ["latency", ["baseline v4.1.3", "canary v4.2.0"], false],
        ["bounds-errors", ["estimate", "lower bound", "upper bound"], false],
        ["evidence-errors", ["e-value"], false],
        ["bounds-latency", ["estimate", "lower bound", "upper bound"], false],
        ["evidence-latency", ["e-value"], false],
        ["guardrail-errorRate", ["observed", "lower bound"], false],
        ["guardrail-successRate", ["observed", "lower bound"], false],
        ["guardrail-p95", ["observed", "lower bound"], false],
      ],
    );
    // 7 transitions, 2 control requests, the judge's promote and rollback decisions.
    for (const c of charts) assert.equal(c.markersDrawn, 11, `${c.id}: markers drawn`);
    assert.deepEqual(
      charts.map((c) => c.limitsDrawn),
      [0, 1, 1, 2, 1, 2, 1, 1, 1, 1],
    );

    // The pixels: each series' colour is on its canvas, and the markers are at their times.
    for (const [chart, role] of [["errors", "canary"], ["errors", "baseline"], ["latency", "canary"], ["latency", "baseline"], ["weight", "weight"], ["bounds-errors", "upper"], ["evidence-errors", "evidence"], ["guardrail-errorRate", "observed"]] as const) {
      const p = await pixels(page, chart, COLORS.series[role]);
      assert.ok(p.total > 150, `${chart}: ${role} series drew ${p.total} pixels`);
    }
    const rollback = await pixels(page, "errors", COLORS.markers.rollback, fixture.rollbackAt);
    assert.ok(rollback.column > 0.8 * rollback.plotHeight, `rollback marker: ${rollback.column} of ${rollback.plotHeight} rows`);
    const pause = await pixels(page, "errors", COLORS.markers.control, Date.parse(fixture.kept.record.controls![0]!.at) / 1000);
    assert.ok(pause.column > 0.5 * pause.plotHeight, `control request marker: ${pause.column} of ${pause.plotHeight} rows (dashed)`);
    // Where nothing happened there is no marker colour.
    const quiet = await pixels(page, "errors", COLORS.markers.rollback, fixture.rollbackAt - 60);
    assert.equal(quiet.column, 0);

    assert.equal(await page.locator("#verdict .headline").textContent(), "Rolled back: checkout v4.2.0 on prod-eu, decided at step 2 of 3 (canary weight 25%), 20s into the step");
    assert.deepEqual(opened.errors, []);
    assert.deepEqual(opened.requests, []);
    await page.close();
  });

  it("text from the record cannot break out of the page: a reason holding </script> and markup stays text", async () => {
    const hostile = judgedRollout();
    const record = hostile.kept.record;
    const history = record.history.map((h) => (h.type === "rollback" ? { ...h, reason: `</script><script>console.error("injected")</script><img src=x onerror=alert(1)>` } : h));
    const file = await writeReport({ ...hostile.kept, record: { ...record, history } }, hostile.samples, { file: path.join(dir, "hostile.html") });
    const opened = await browser.open(file);
    await ready(opened.page);
    assert.match((await opened.page.locator("#verdict").textContent()) ?? "", /<\/script><script>console\.error\("injected"\)<\/script>/);
    assert.equal(await opened.page.locator("img").count(), 0);
    assert.deepEqual(opened.errors, []);
    assert.deepEqual(opened.requests, []);
    await opened.page.close();
  });
});
