import * as assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Gauge, Registry } from "prom-client";
import { writeFileAtomic } from "../../../automation/atomicFile";
import { RolloutMetrics } from "../../../automation/telemetry/metrics";
import { TextfileWriter, writeTextfile } from "../../../automation/telemetry/textfile";
import { fixtureTransitions } from "../../helpers/notifyFixtures";

async function inTmp<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "canary-textfile-"));
  try {
    return await f(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe("telemetry textfile", () => {
  it("writes <dir>/canary_rollout.prom with the exposition and leaves nothing else", async () => {
    await inTmp(async (dir) => {
      const m = new RolloutMetrics({ service: "checkout", stack: "prod" });
      m.observe({ kind: "transition", ...fixtureTransitions()[1] });
      const file = await writeTextfile(m.registry, path.join(dir, "textfile"));
      assert.equal(file, path.join(dir, "textfile", "canary_rollout.prom"));
      assert.equal(await fs.readFile(file, "utf8"), await m.text());
      assert.deepEqual(await fs.readdir(path.join(dir, "textfile")), ["canary_rollout.prom"]);
    });
  });

  it("refuses a name node-exporter would not read", async () => {
    await assert.rejects(writeTextfile(new Registry(), "/tmp", "canary.txt"), new Error("textfile canary.txt: the name must end in .prom (node-exporter reads only *.prom files)"));
  });

  it("a reader racing the writes sees the old file or the new, never part of one", async () => {
    await inTmp(async (dir) => {
      const registry = new Registry();
      const g = new Gauge({ name: "big", help: "big", labelNames: ["i"], registers: [registry] });
      for (let i = 0; i < 20_000; i++) g.set({ i: String(i) }, 0);
      const versions = new Set<string>();
      const file = path.join(dir, "canary_rollout.prom");
      let done = false;
      const reads: string[] = [];
      const reader = (async () => {
        while (!done) {
          const text = await fs.readFile(file, "utf8").catch(() => undefined);
          if (text !== undefined) reads.push(text);
        }
      })();
      for (let v = 1; v <= 5; v++) {
        for (let i = 0; i < 20_000; i++) g.set({ i: String(i) }, v);
        const text = await registry.metrics();
        versions.add(text);
        await writeTextfile(registry, dir);
      }
      done = true;
      await reader;
      assert.ok(reads.length > 0);
      for (const r of reads) assert.ok(versions.has(r), `a read of ${r.length} characters matched no complete version`);
      assert.deepEqual(await fs.readdir(dir), ["canary_rollout.prom"]);
    });
  });

  it("a failed rename leaves the target untouched and no temporary file", async () => {
    await inTmp(async (dir) => {
      const target = path.join(dir, "canary_rollout.prom");
      await fs.mkdir(target);
      await fs.writeFile(path.join(target, "keep"), "x");
      await assert.rejects(writeFileAtomic(target, "new"), (e: NodeJS.ErrnoException) => e.code === "EISDIR" || e.code === "ENOTEMPTY" || e.code === "EEXIST");
      assert.deepEqual(await fs.readdir(dir), ["canary_rollout.prom"]);
      assert.deepEqual(await fs.readdir(target), ["keep"]);
    });
  });

  it("TextfileWriter: update() returns at once; after flush the file holds the last state", async () => {
    await inTmp(async (dir) => {
      const m = new RolloutMetrics({ service: "checkout", stack: "prod" });
      const w = new TextfileWriter(m.registry, dir, undefined, (l) => assert.fail(l));
      for (const t of fixtureTransitions()) {
        m.observe({ kind: "transition", ...t });
        assert.equal(w.update(), undefined);
      }
      await w.flush();
      assert.equal(await fs.readFile(path.join(dir, "canary_rollout.prom"), "utf8"), await m.text());
      assert.equal(w.lastError, undefined);
    });
  });

  it("TextfileWriter: a failing write is a log line and lastError, not an exception", async () => {
    await inTmp(async (dir) => {
      const blocker = path.join(dir, "file");
      await fs.writeFile(blocker, "");
      const log: string[] = [];
      const w = new TextfileWriter(new Registry(), path.join(blocker, "sub"), "x.prom", (l) => log.push(l));
      w.update();
      await w.flush();
      assert.equal((w.lastError as NodeJS.ErrnoException).code, "ENOTDIR");
      assert.equal(log.length, 1);
      assert.ok(log[0].startsWith(`telemetry: cannot write ${path.join(blocker, "sub", "x.prom")}: ENOTDIR`));
    });
  });
});
