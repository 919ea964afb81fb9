/**
 * A driver killed while saving leaves the record file's lock behind. The next writer (a rerun
 * right after the kill, a control verb) waits the lock out instead of failing.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileRecordStore } from "../../../automation/record/file";
import { newRecord, transition } from "../../../automation/state";

describe("record file lock left by a killed process", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-lock-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a save right after the kill waits until the lock is stale, then writes", async function () {
    this.timeout(20_000);
    const file = path.join(dir, "rollout.json");
    // Stale after 2 s (the lock library's least) instead of the default 10 s: the same wait, shorter.
    const store = new FileRecordStore(file, { lockStaleMs: 2_000 });
    const record = transition(newRecord({ id: "r1", stack: "s", target: "haproxy", version: "v2", image: "app:v2", steps: [5, 100], at: "2026-01-01T00:00:00.000Z" }), { type: "start", at: "2026-01-01T00:00:01.000Z", reason: "go" });
    // What proper-lockfile holds while a save runs, as a SIGKILLed process leaves it: a fresh lock.
    fs.mkdirSync(`${file}.lock`);
    const started = Date.now();
    const saved = await store.save(record);
    const waited = Date.now() - started;
    assert.equal(saved.revision, 1);
    assert.deepEqual(await store.load(), saved);
    assert.ok(waited >= 1_800, `waited ${waited} ms: the lock was not yet stale before 2 s`);
    assert.equal(fs.existsSync(`${file}.lock`), false, "the lock is released after the save");
  });
});
