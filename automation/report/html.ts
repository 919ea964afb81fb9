/**
 * The rollout report as one self-contained HTML file: uPlot (script and stylesheet) and the
 * report's data are inlined, and a Content-Security-Policy forbids every fetch, so the file
 * opens the same from an incident ticket, a mail attachment or a laptop on a plane.
 *
 * Rendering is pure ({@link renderReportHtml}); {@link loadChartAssets} reads uPlot from
 * node_modules. The page's script draws each chart with the markers (transitions, control
 * requests, judge decisions) as vertical lines and the limits as dashed horizontal lines, and
 * records what it drew in `window.__report` (charts, series, points, markers drawn) so a
 * headless browser can check the page as a person sees it.
 */
import * as fs from "node:fs";
import { formatDuration } from "../history/store";
import { ReportData } from "./data";

/** uPlot's script and stylesheet, inlined into every report. */
export interface ChartAssets {
  readonly script: string;
  readonly style: string;
}

/** Reads uPlot from node_modules. */
export function loadChartAssets(): ChartAssets {
  return {
    script: fs.readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
    style: fs.readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
  };
}

/** Text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** JSON inside a `<script type="application/json">`: no `</script>` or `<!--` can end or confuse it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Colours by series role and by marker; shared by the page script and the tests that look for them. */
export const COLORS = {
  series: { canary: "#d62728", baseline: "#1f77b4", estimate: "#222222", lower: "#2ca02c", upper: "#9467bd", weight: "#ff7f0e", evidence: "#8c564b", observed: "#d62728" },
  markers: { rollback: "#e6194b", rollbackFailed: "#800000", rolledBack: "#f58231", promote: "#3cb44b", complete: "#3cb44b", promoteFull: "#3cb44b", control: "#911eb4", decision: "#000075", transition: "#a9a9a9" },
  limit: "#808080",
} as const;

/** The page's own script: draws the charts from the embedded data; see the module comment. */
const PAGE_SCRIPT = String.raw`
(function () {
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var C = JSON.parse(document.getElementById("report-colors").textContent);
  var report = { charts: [], ready: false };
  window.__report = report;
  window.__uplots = {};
  function markerColor(m) {
    if (m.kind === "control") return C.markers.control;
    if (m.kind === "decision") return m.type === "rollback" ? C.markers.rollback : m.type === "promote" ? C.markers.promote : C.markers.decision;
    return C.markers[m.type] || C.markers.transition;
  }
  function num(v) { return String(+(+v).toPrecision(3)); }
  function fmtValue(unit, v) {
    if (v === null || v === undefined) return "";
    if (unit === "percent") return num(v * 100) + "%";
    if (unit === "seconds") return v >= 1 || v === 0 ? num(v) + " s" : num(v * 1000) + " ms";
    if (unit === "weight") return v + "%";
    return v >= 10000 || (v > 0 && v < 0.001) ? v.toExponential(1) : num(v);
  }
  var width = Math.max(600, Math.min(1100, document.getElementById("charts").clientWidth - 16));
  data.charts.forEach(function (chart, index) {
    var box = document.createElement("section");
    box.className = "chart";
    box.id = "chart-" + chart.id;
    var h = document.createElement("h3");
    h.textContent = chart.title;
    var p = document.createElement("p");
    p.className = "caption";
    p.textContent = chart.caption;
    box.appendChild(h);
    box.appendChild(p);
    document.getElementById("charts").appendChild(box);
    var entry = { id: chart.id, title: chart.title, series: chart.series.map(function (s) { return s.label; }), points: 0, markersDrawn: 0, limitsDrawn: 0, empty: false };
    report.charts.push(entry);
    var values = chart.series.map(function (s) { return s.values; });
    entry.points = values.reduce(function (n, v) { return n + v.filter(function (x) { return x !== null; }).length; }, 0);
    if (chart.t.length === 0 || entry.points === 0) {
      entry.empty = true;
      var none = document.createElement("p");
      none.className = "nodata";
      none.textContent = "No data for this chart.";
      box.appendChild(none);
      return;
    }
    var finite = [];
    values.forEach(function (v) { v.forEach(function (x) { if (x !== null && (!chart.log || x > 0)) finite.push(x); }); });
    chart.limits.forEach(function (l) { finite.push(l.value); });
    var lo = Math.min.apply(null, finite), hi = Math.max.apply(null, finite);
    var yRange = chart.log
      ? function () { return uPlot.rangeLog(Math.max(lo, 1e-6), Math.max(hi, lo * 10), 10, true); }
      : function () { var top = hi > 0 ? hi * 1.15 : 1; return [chart.unit === "weight" ? 0 : Math.min(0, lo), chart.unit === "weight" ? 105 : top]; };
    var opts = {
      width: width,
      height: index === 0 ? 170 : 230,
      cursor: { sync: { key: "rollout" } },
      scales: { x: { time: true, range: function () { return [data.window.start, data.window.end]; } }, y: { distr: chart.log ? 3 : 1, range: yRange } },
      axes: [{}, { size: 70, values: function (u, splits) { return splits.map(function (v) { return fmtValue(chart.unit, v); }); } }],
      series: [{}].concat(chart.series.map(function (s) {
        return { label: s.label, stroke: C.series[s.role], width: s.role === "lower" || s.role === "upper" ? 1.5 : 2, dash: s.role === "lower" || s.role === "upper" ? [6, 3] : undefined, points: { show: chart.t.length <= 80, size: 4 }, value: function (u, v) { return fmtValue(chart.unit, v); } };
      })),
      hooks: {
        draw: [function (u) {
          var ctx = u.ctx, top = u.bbox.top, bottom = u.bbox.top + u.bbox.height, left = u.bbox.left, right = u.bbox.left + u.bbox.width;
          ctx.save();
          ctx.textAlign = "left";
          ctx.textBaseline = "alphabetic";
          entry.markersDrawn = 0;
          entry.limitsDrawn = 0;
          // Labels of lines close together go on successive rows instead of over each other.
          var labelX = -Infinity, labelRow = 0;
          // The most important lines last, so a restore 80 ms after the rollback does not hide it.
          var rank = function (m) { return m.type === "rollbackFailed" ? 5 : m.kind === "transition" && m.type === "rollback" ? 4 : m.type === "rollback" ? 3 : m.kind === "control" ? 2 : m.kind === "decision" ? 1 : 0; };
          data.markers.slice().sort(function (a, b) { return rank(a) - rank(b); }).forEach(function (m) {
            if (m.t < data.window.start || m.t > data.window.end) return;
            var x = Math.round(u.valToPos(m.t, "x", true));
            ctx.strokeStyle = markerColor(m);
            ctx.lineWidth = m.kind === "transition" && C.markers[m.type] === undefined ? 1 : 2;
            ctx.setLineDash(m.kind === "decision" ? [2, 3] : m.kind === "control" ? [8, 3] : []);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, bottom);
            ctx.stroke();
            entry.markersDrawn++;
            if (index === 0 && m.kind !== "decision") {
              ctx.setLineDash([]);
              ctx.fillStyle = markerColor(m);
              ctx.font = Math.round(11 * devicePixelRatio) + "px sans-serif";
              labelRow = Math.abs(x - labelX) < 90 * devicePixelRatio ? labelRow + 1 : 0;
              labelX = x;
              ctx.fillText(m.label, x + 3, top + 12 * devicePixelRatio * (1 + labelRow));
            }
          });
          chart.limits.forEach(function (l) {
            var y = Math.round(u.valToPos(l.value, "y", true));
            ctx.strokeStyle = C.limit;
            ctx.lineWidth = 1;
            ctx.setLineDash([10, 5]);
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(right, y);
            ctx.stroke();
            ctx.setLineDash([]);
            ctx.fillStyle = C.limit;
            ctx.font = Math.round(11 * devicePixelRatio) + "px sans-serif";
            ctx.fillText(l.label, right - ctx.measureText(l.label).width - 4, y - 4);
            entry.limitsDrawn++;
          });
          ctx.restore();
        }],
      },
    };
    var el = document.createElement("div");
    box.appendChild(el);
    window.__uplots[chart.id] = new uPlot(opts, [chart.t].concat(values), el);
  });
  report.ready = true;
})();
`;

/** The report page (pure); see the module comment. */
export function renderReportHtml(d: ReportData, assets: ChartAssets): string {
  const s = d.summary;
  const e = escapeHtml;
  const outcomeClass = s.outcome === "promoted" ? "ok" : s.outcome === "rollbackFailed" ? "critical" : s.outcome === "rolledBack" || s.outcome === "rollingBack" ? "bad" : "neutral";
  const facts: [string, string][] = [
    ["Rollout", s.rollout],
    ["Service", s.service],
    ["Stack", `${s.stack} (${d.target})`],
    ["Canary", `${s.version} (${d.image})`],
    ["Stable", s.stableVersion ?? "unknown"],
    ["Steps", d.steps.map((w) => `${w}%`).join(" → ")],
    ["Started", `${s.start} by ${s.who}`],
    ["Ended", s.end ?? `not yet (phase ${d.phase})`],
    ["Duration", formatDuration(s.durationSeconds)],
    ["Outcome", `${s.outcome}${s.trigger ? ` (trigger: ${s.trigger})` : ""}`],
    ...(s.operators.length > 0 ? ([["Operators", s.operators.join(", ")]] as [string, string][]) : []),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="pulumi-canary">
<title>${e(d.title)}</title>
<style>${assets.style}</style>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 0 auto; max-width: 1140px; padding: 16px 20px 40px; }
h1 { font-size: 22px; margin: 4px 0 12px; }
h2 { font-size: 17px; margin: 24px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 2px; }
.verdict { border-left: 6px solid #999; background: #f6f6f6; padding: 10px 14px; margin: 8px 0 16px; }
.verdict.ok { border-color: #3cb44b; } .verdict.bad { border-color: #e6194b; } .verdict.critical { border-color: #800000; background: #fde8e8; }
.verdict .headline { font-weight: 600; font-size: 16px; margin: 0 0 6px; }
.verdict p { margin: 4px 0; }
table { border-collapse: collapse; }
table.facts td { padding: 2px 14px 2px 0; vertical-align: top; }
table.facts td:first-child { color: #666; }
table.list { width: 100%; font-size: 13px; }
table.list th, table.list td { border-bottom: 1px solid #eee; padding: 3px 8px 3px 0; text-align: left; vertical-align: top; }
.caption { color: #555; margin: 0 0 4px; font-size: 13px; }
.nodata { color: #999; font-style: italic; }
.swatch { display: inline-block; width: 12px; height: 3px; vertical-align: middle; margin-right: 6px; }
.notes { color: #666; font-size: 12px; }
</style>
</head>
<body>
<h1>${e(d.title)}</h1>
<div class="verdict ${outcomeClass}" id="verdict">
<p class="headline">${e(d.verdict.headline)}</p>
${d.verdict.paragraphs.map((p) => `<p>${e(p)}</p>`).join("\n")}
</div>
<table class="facts">
${facts.map(([k, v]) => `<tr><td>${e(k)}</td><td>${e(v)}</td></tr>`).join("\n")}
</table>
<h2>Charts</h2>
<p class="caption">Vertical lines: <span class="swatch" style="background:${COLORS.markers.transition}"></span>phase changes (<span style="color:${COLORS.markers.rollback}">rollback</span>, <span style="color:${COLORS.markers.promote}">promotion</span>), <span class="swatch" style="background:${COLORS.markers.control}"></span>control requests, <span class="swatch" style="background:${COLORS.markers.decision}"></span>judge decisions and holds (dotted). Dashed horizontal lines: limits.</p>
<div id="charts"></div>
<h2>Markers</h2>
<table class="list" id="markers"><tr><th>Time</th><th>Kind</th><th>What</th></tr>
${d.markers.map((m) => `<tr><td>${e(new Date(m.t * 1000).toISOString())}</td><td>${e(m.kind)}</td><td>${e(m.detail.replace(/^\S+ /, ""))}</td></tr>`).join("\n")}
</table>
<h2>Timeline</h2>
<table class="list" id="timeline"><tr><th>Time</th><th>Event</th><th>Phase</th><th>Step</th><th>By</th><th>Reason</th></tr>
${d.timeline.map((t) => `<tr><td>${e(t.at)}</td><td>${e(t.type)}</td><td>${e(t.phases)}</td><td>${e(t.step)}</td><td>${e(t.by)}</td><td>${e(t.reason)}</td></tr>`).join("\n")}
</table>
<p class="notes">${d.notes.map(e).join("<br>")}<br>Generated ${e(d.generatedAt)} by pulumi-canary.</p>
<script type="application/json" id="report-data">${scriptJson(d)}</script>
<script type="application/json" id="report-colors">${scriptJson(COLORS)}</script>
<script>${assets.script}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
