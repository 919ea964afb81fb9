/**
 * The record file under concurrent writers in separate processes: compare-and-swap under the
 * lock loses no write.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { FileRecordStore } from "../../../automation/record/file";
import { newRecord, transition } from "../../../automation/state";

const record = transition(newRecord({ id: "r1", stack: "dev", target: "pulumi", version: "v2", image: "app:v2", steps: [5, 100], at: "2026-01-01T00:00:00.000Z" }), {
  type: "start",
  at: "2026-01-01T00:00:01.000Z",
  reason: "go",
});

describe("record file across processes", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-record-procs-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("file: four processes appending to the record at once lose no write (compare-and-swap under the lock)", async function () {
    this.timeout(60_000);
    const file = path.join(dir, "rollout.json");
    const store = new FileRecordStore(file);
    await store.save(record);
    // Separate processes, as a driver and control calls are: the lock must hold across them.
    // Each appends 25 requests, read-modify-write, reading again after a conflict.
    const script = `
      const { FileRecordStore } = require(${JSON.stringify(path.join(__dirname, "../../../automation/record/file.ts"))});
      const store = new FileRecordStore(process.argv[1]);
      const who = process.argv[2];
      (async () => {
        await new Promise((r) => setTimeout(r, Number(process.argv[3]) - Date.now()));
        let conflicts = 0;
        for (let k = 0; k < 25; k++) {
          for (;;) {
            const r = await store.load();
            try {
              await store.save({ ...r, controls: [...(r.controls || []), { id: who + "-" + k, verb: "pause", at: "t", by: who, reason: "x", status: "pending" }] });
              break;
            } catch (e) {
              if (e.name !== "RecordConflictError") throw e;
              conflicts++;
            }
          }
        }
        console.log(conflicts);
      })();
    `;
    const go = Date.now() + 2000;
    const run = (who: string) =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), "-e", script, file, who, String(go)], { env: { ...process.env, NODE_OPTIONS: "" } });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("close", (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`${who} exited ${code}: ${err}`))));
      });
    const conflicts = await Promise.all(["a", "b", "c", "d"].map(run));
    const stored = (await store.load())!;
    assert.equal(stored.controls!.length, 100, `every append is kept (conflicts retried: ${conflicts.join(", ")})`);
    assert.equal(new Set(stored.controls!.map((c) => c.id)).size, 100);
    assert.equal(stored.revision, 101);
    assert.deepEqual(fs.readdirSync(dir), ["rollout.json"], "no lock or temporary file left");
  });
});
