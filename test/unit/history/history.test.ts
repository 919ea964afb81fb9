/** The rollout history: kept records in a directory, their summaries and the table people read. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatDuration, formatHistory, HistoryStore, KeptRollout, outcomeOf, summarizeRollout } from "../../../automation/history/store";
import { RecordError, transition } from "../../../automation/state";
import { fixtureRecord } from "../../helpers/notifyFixtures";
import { judgedRollout } from "../../helpers/reportFixtures";

const rolledBack = judgedRollout().kept;

describe("rollout history", () => {
  it("outcome of each phase", () => {
    const failed = transition(fixtureRecord(4), { type: "rollbackFailed", at: "2026-01-01T00:07:00.000Z", reason: "restore failed" });
    assert.deepEqual(
      [fixtureRecord(1), fixtureRecord(3), fixtureRecord(4), fixtureRecord(5), failed].map(outcomeOf),
      ["running", "running", "rollingBack", "rolledBack", "rollbackFailed"],
    );
  });

  it("summary: version, start, end, outcome, trigger, duration, who and the operators who acted", () => {
    assert.deepEqual(summarizeRollout(rolledBack), {
      rollout: "20260301T100000000Z-v4.2.0",
      service: "checkout",
      stack: "prod-eu",
      version: "v4.2.0",
      stableVersion: "v4.1.3",
      start: "2026-03-01T10:00:00.000Z",
      end: "2026-03-01T10:01:48.000Z",
      outcome: "rolledBack",
      trigger: "analysis",
      reason: rolledBack.record.history.find((h) => h.type === "rollback")!.reason,
      durationSeconds: 108,
      who: "deploy-bot@ci-7",
      operators: ["alice@laptop"],
    });
    // Who started it is not listed again among the operators.
    assert.deepEqual(summarizeRollout({ ...rolledBack, startedBy: "alice@laptop" }).operators, []);
    const running = summarizeRollout({ ...rolledBack, record: fixtureRecord(2) });
    assert.deepEqual([running.outcome, running.end, running.trigger], ["running", null, null]);
  });

  it("the table, newest first as given", () => {
    const promoted: KeptRollout = { schema: 1, service: "checkout", startedBy: "bob@ci", record: { ...fixtureRecord(3), id: "r-old", phase: "Succeeded", updatedAt: "2026-01-01T01:02:03.000Z" } };
    assert.equal(
      formatHistory([summarizeRollout(rolledBack), summarizeRollout(promoted)]),
      [
        "VERSION  START                 END                   OUTCOME     TRIGGER   DURATION  WHO                            ROLLOUT",
        "v4.2.0   2026-03-01T10:00:00Z  2026-03-01T10:01:48Z  rolledBack  analysis  1m48s     deploy-bot@ci-7, alice@laptop  20260301T100000000Z-v4.2.0",
        "v2.5.0   2026-01-01T00:00:00Z  2026-01-01T01:02:03Z  promoted    -         1h02m     bob@ci                         r-old",
      ].join("\n"),
    );
    assert.deepEqual([formatDuration(42.4), formatDuration(185), formatDuration(7322)], ["42s", "3m05s", "2h02m"]);
  });

  describe("store", () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-history-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("keeps one file per rollout, replaced in place, listed newest first; an empty or missing directory is no rollout", async () => {
      const store = new HistoryStore(path.join(dir, "h"));
      assert.deepEqual(await store.list(), []);
      const older: KeptRollout = { schema: 1, service: "checkout", startedBy: "bob@ci", record: fixtureRecord(2) };
      await store.save(older);
      await store.save({ ...older, record: fixtureRecord(5) });
      await store.save(rolledBack);
      const list = await store.list();
      assert.deepEqual(list.map((k) => [k.record.id, k.record.phase]), [
        ["20260301T100000000Z-v4.2.0", "RolledBack"],
        ["20260101T000000000Z-v2.5.0", "RolledBack"],
      ]);
      assert.deepEqual(fs.readdirSync(path.join(dir, "h")).sort(), ["20260101T000000000Z-v2.5.0.json", "20260301T100000000Z-v4.2.0.json"]);
      assert.equal(await store.load("nope"), undefined);
    });

    it("a file that is not a kept rollout is an error naming it", async () => {
      const store = new HistoryStore(dir);
      fs.writeFileSync(path.join(dir, "broken.json"), "{ not json");
      await assert.rejects(store.list(), (e: unknown) => e instanceof RecordError && e.message.startsWith(`rollout history file ${path.join(dir, "broken.json")}: not valid JSON`));
      fs.writeFileSync(path.join(dir, "broken.json"), JSON.stringify({ schema: 2 }));
      await assert.rejects(store.list(), new RecordError(`rollout history file ${path.join(dir, "broken.json")}: not a kept rollout (schema 1 with service, startedBy and record)`));
    });
  });
});
