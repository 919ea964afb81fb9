import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { HAPROXY, needs, PROMETHEUS } from "../../helpers/tools";

const ROOT = path.resolve(__dirname, "../../..");

// The sandbox's child processes are unref'd so they never keep a program alive on their own.
// A program whose last act is stop() must still see stop() finish (and everything it does after);
// this runs such a program in its own process, where nothing else keeps the event loop busy.
// The failure it guards against is a race (a child still a zombie when the last poll ends):
// without the fix in stop() it showed up in about one run of three here, with Prometheus on.
describe("sandbox stop() as a program's last act", () => {
  needs(HAPROXY, PROMETHEUS);
  it("resolves, and the program carries on to its end", async () => {
    const script = `
      const { startSandbox } = require(${JSON.stringify(path.join(ROOT, "local/sandbox"))});
      (async () => {
        const s = await startSandbox({});
        const pids = Object.values(s.pids);
        await s.stop();
        const alive = pids.filter((p) => { try { process.kill(p, 0); return true; } catch { return false; } });
        console.log("stopped; alive: " + alive.length);
      })();
    `;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--require", require.resolve("tsx/cjs"), "-e", script], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    assert.equal(out.trim(), "stopped; alive: 0");
  });
});
