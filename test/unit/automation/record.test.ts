import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileRecordStore } from "../../../automation/record/file";
import { MemoryRecordStore } from "../../../automation/record/memory";
import { RecordStore } from "../../../automation/record/types";
import { compactRecord, PulumiConfigRecordStore, ROLLOUT_RECORD_KEY } from "../../../automation/record/pulumiConfig";
import { newRecord, RolloutRecord, transition } from "../../../automation/state";
import type { ConfigMap, UpdateSummary } from "@pulumi/pulumi/automation";

const record = transition(newRecord({ id: "r1", stack: "dev", target: "pulumi", version: "v2", image: "app:v2", steps: [5, 100], at: "2026-01-01T00:00:00.000Z" }), {
  type: "start",
  at: "2026-01-01T00:00:01.000Z",
  reason: "go",
});

describe("record stores", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-record-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("file: nothing stored reads as undefined; a saved record reads back equal, with no temporary file left", async () => {
    const store = new FileRecordStore(path.join(dir, "sub", "rollout.json"));
    assert.equal(await store.load(), undefined);
    const saved = await store.save(record);
    assert.deepEqual(saved, { ...record, revision: 1 });
    assert.deepEqual(await store.load(), saved);
    assert.deepEqual(fs.readdirSync(path.join(dir, "sub")), ["rollout.json"], "no temporary file and no lock left");
    const next = transition(saved, { type: "rollback", at: "2026-01-01T00:00:02.000Z", reason: "r", trigger: "operator" });
    assert.equal((await store.save(next)).revision, 2);
    assert.equal((await store.load())!.phase, "RollingBack");
  });

  it("file: a corrupt record is a RecordError naming the file", async () => {
    const file = path.join(dir, "rollout.json");
    fs.writeFileSync(file, "{ not json");
    await assert.rejects(new FileRecordStore(file).load(), { name: "RecordError", message: new RegExp(`^rollout record in file ${file.replace(/[.]/g, "\\.")}: not valid JSON: `) });
    fs.writeFileSync(file, JSON.stringify({ ...record, phase: "Exploded" }));
    await assert.rejects(new FileRecordStore(file).load(), { name: "RecordError", message: `rollout record in file ${file}: unknown phase "Exploded"` });
  });

  /** A stack with a workspace config and a last update's config. */
  function stack(local?: RolloutRecord, deployed?: RolloutRecord) {
    const config: ConfigMap = local ? { [ROLLOUT_RECORD_KEY]: { value: JSON.stringify(local) } } : {};
    return {
      name: "dev",
      config,
      async getAllConfig() {
        return config;
      },
      async setConfig(key: string, value: { value: string }) {
        config[key] = value;
      },
      async info(): Promise<UpdateSummary | undefined> {
        return deployed ? ({ result: "succeeded", config: { [ROLLOUT_RECORD_KEY]: { value: JSON.stringify(deployed) } } } as unknown as UpdateSummary) : undefined;
      },
    };
  }

  it("stack config: saves the record as JSON under canary:rollout and reads the newer of the workspace's and the last update's copy", async () => {
    const s = stack();
    const store = new PulumiConfigRecordStore(s);
    assert.equal(store.description, "stack dev config canary:rollout");
    assert.equal(await store.load(), undefined);
    await store.save(record);
    assert.deepEqual(JSON.parse(s.config[ROLLOUT_RECORD_KEY].value), { ...record, revision: 1 });
    assert.deepEqual(await store.load(), { ...record, revision: 1 });

    const later = transition(record, { type: "rollback", at: "2026-01-01T00:00:05.000Z", reason: "r", trigger: "operator" });
    assert.equal((await new PulumiConfigRecordStore(stack(record, later)).load())!.phase, "RollingBack", "the last update's copy is newer");
    assert.equal((await new PulumiConfigRecordStore(stack(later, record)).load())!.phase, "RollingBack", "the workspace's copy is newer");
    assert.equal((await new PulumiConfigRecordStore(stack(undefined, later)).load())!.phase, "RollingBack", "a machine with only backend access");
  });

  it("stack config: of two copies of the same rollout, the one saved more often is newer", async () => {
    const a = { ...record, revision: 7 };
    const b = { ...record, revision: 9, updatedAt: "2026-01-01T00:00:00.500Z" };
    assert.equal((await new PulumiConfigRecordStore(stack(a, b)).load())!.revision, 9);
    assert.equal((await new PulumiConfigRecordStore(stack(b, a)).load())!.revision, 9);
  });

  // Compare-and-swap: the same contract for every store.
  const stores: [string, () => RecordStore][] = [
    ["memory", () => new MemoryRecordStore()],
    ["file", () => new FileRecordStore(path.join(dir, "rollout.json"))],
    ["stack config", () => new PulumiConfigRecordStore(stack())],
  ];
  for (const [name, make] of stores) {
    it(`${name}: a save derived from an older revision is refused with the stored record, and nothing is written`, async () => {
      const store = make();
      const first = await store.save(record);
      const driver = await store.save(transition(first, { type: "advance", at: "2026-01-01T00:00:02.000Z", reason: "step 0", step: 0, weight: 5 }));
      // A control call that read `first`, before the driver's save.
      const stale = { ...first, controls: [{ id: "c1", verb: "pause" as const, at: "t", by: "a@h", reason: "x", status: "pending" as const }] };
      await assert.rejects(store.save(stale), (e: Error & { stored?: RolloutRecord }) => {
        assert.equal(e.name, "RecordConflictError");
        assert.equal(e.message, `rollout record in ${store.description} changed since it was read (revision 2, expected 1); nothing was written`);
        assert.deepEqual(e.stored, driver);
        return true;
      });
      assert.deepEqual(await store.load(), driver);
      // A new rollout over a record it did not read is refused too.
      await assert.rejects(store.save({ ...record, id: "r2" }), { name: "RecordConflictError" });
    });
  }

  it("stack config: a record too large for one command-line argument drops the oldest evidence first", () => {
    const big = { ...record, history: [0, 1, 2].map((i) => ({ ...record.history[0], reason: `e${i}`, evidence: { blob: "x".repeat(400) } })) };
    const compact = compactRecord(big, JSON.stringify(big).length - 300);
    assert.deepEqual(
      compact.history.map((h) => [h.reason, h.evidence !== undefined]),
      [
        ["e0 (evidence dropped to fit the record in the stack config)", false],
        ["e1", true],
        ["e2", true],
      ],
    );
    assert.equal(compactRecord(record), record);
  });
});
