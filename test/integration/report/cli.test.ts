/** `canary history` and `canary report` as a user runs them, on a history directory holding a judged rollout. */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HistoryStore } from "../../../automation/history/store";
import { appendSample } from "../../../automation/report/trace";
import { judgedRollout } from "../../helpers/reportFixtures";

const ROOT = path.resolve(__dirname, "../../..");
const CLI = path.join(ROOT, "automation", "cli", "index.ts");
const TSX = require.resolve("tsx/cjs");

/** Runs the CLI as a user would (node with the tsx loader), bounded in time. */
function canary(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--require", TSX, CLI, ...args], { cwd, encoding: "utf8", timeout: 30_000, env: { ...process.env, NODE_OPTIONS: "" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("canary history and canary report", function () {
  this.timeout(90_000);
  let dir: string;
  const fixture = judgedRollout();

  before(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "canary-history-cli-")));
    const store = new HistoryStore(path.join(dir, "history"));
    await store.save(fixture.kept);
    await store.save({ ...fixture.kept, startedBy: "carol@ci", record: { ...fixture.kept.record, id: "other-stack", stack: "prod-us", createdAt: "2026-02-01T00:00:00.000Z" } });
    for (const s of fixture.samples) await appendSample(store.traceFile(fixture.kept.record.id), s);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("history: one line per rollout, newest first; --json one object per line; --stack picks the stack's", () => {
    const table = canary(["history", "--target", "haproxy", "--history-dir", "history"], dir);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^VERSION +START +END +OUTCOME +TRIGGER +DURATION +WHO +ROLLOUT$/);
    assert.match(lines[1]!, /^v4\.2\.0 +2026-03-01T10:00:00Z +2026-03-01T10:01:48Z +rolledBack +analysis +1m48s +deploy-bot@ci-7, alice@laptop +20260301T100000000Z-v4\.2\.0$/);
    const json = canary(["history", "--target", "pulumi", "--stack", "prod-eu", "--history-dir", "history", "--json"], dir);
    assert.equal(json.code, 0, json.stderr);
    const rows = json.stdout.trim().split("\n").map((l) => JSON.parse(l) as { rollout: string; outcome: string; who: string });
    assert.deepEqual(rows.map((r) => [r.rollout, r.outcome, r.who]), [["20260301T100000000Z-v4.2.0", "rolledBack", "deploy-bot@ci-7"]]);
    const bad = canary(["history", "--target", "haproxy", "--history-dir", "history", "--limit", "0"], dir);
    assert.deepEqual([bad.code, bad.stderr.trim()], [2, 'canary: InputError: --limit: must be a whole number ≥ 1, got "0"']);
  });

  it("report: the newest rollout by default, written where asked, its path printed; an unknown rollout is exit 2", () => {
    const r = canary(["report", "--target", "haproxy", "--history-dir", "history", "--rollout", "20260301T100000000Z-v4.2.0", "--out", "out/r.html"], dir);
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(dir, "out", "r.html");
    assert.equal(r.stdout, `report of rollout 20260301T100000000Z-v4.2.0: ${file}\n`);
    const html = fs.readFileSync(file, "utf8");
    assert.match(html, /<title>Rollout report: checkout v4\.2\.0 on prod-eu<\/title>/);
    // No sandbox here: the report says why it has no Prometheus series, and charts the judge's ticks.
    assert.match(html, /Error rate and latency: the counts the judge read at each tick \(no Prometheus series: no Prometheus for the raw series: --sandbox: no sandbox state at /);
    const unknown = canary(["report", "--target", "haproxy", "--history-dir", "history", "--rollout", "nope"], dir);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trim(), `canary: InputError: --rollout: no rollout "nope" in the history at ${path.join(dir, "history")}`);
  });
});
