/**
 * The production command line never loads the local sandbox: only the haproxy backend does, and
 * only when it is used. Checked in a fresh Node process, whose module cache is its own.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../../..");

/** Runs `code` in a fresh node with the TypeScript loader; returns its stdout. */
function node(code: string): string {
  const r = spawnSync(process.execPath, ["--require", require.resolve("tsx/cjs"), "-e", code], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** Project files under local/ in the module cache, after `code`. */
const LOADED = `console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(path.join(ROOT, "local") + path.sep)})).map((f) => f.slice(${ROOT.length + 1}))))`;

describe("the sandbox is loaded only by the haproxy backend", function () {
  this.timeout(120_000);

  it("loading the CLI, and opening the pulumi backend, loads nothing of local/", () => {
    const loaded = node(`require("./automation/cli"); require("./automation/backends").openBackend({ target: "pulumi", stack: "dev", cwd: "." }); ${LOADED}`);
    assert.deepEqual(JSON.parse(loaded), []);
  });

  it("the haproxy backend loads the sandbox when it reads it", () => {
    const loaded = node(`const b = require("./automation/backends").openBackend({ target: "haproxy", cwd: "/nonexistent" }); try { b.metricsDefaults(); } catch {} ${LOADED}`);
    assert.ok((JSON.parse(loaded) as string[]).includes("local/sandbox.ts"), loaded);
  });
});
