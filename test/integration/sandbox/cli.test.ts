/**
 * The sandbox as separate processes see it: `up`/`status`/`weight`/`down` through the state
 * file, cleanup on SIGTERM, and startup failures that stop what was started and say why.
 */
import * as assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { attachSandbox, isPortClash, readState, SandboxError, startSandbox } from "../../../local/sandbox";
import { assertAllDead } from "../../helpers/sandbox";
import { HAPROXY, needs, PROMETHEUS } from "../../helpers/tools";

const CLI = path.resolve(__dirname, "../../../local/cli.ts");
const TSX = require.resolve("tsx/cjs");

/** Runs the CLI to completion (bounded) and returns its exit code and output. */
function cli(state: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--require", TSX, CLI, "--state", state, ...args], { timeout: timeoutMs, encoding: "utf8" }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Pids of live processes whose command line contains `token`. */
function processesWith(token: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, "utf8");
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      if (cmd.includes(token) && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z") out.push(Number(e));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

describe("sandbox CLI and process lifecycle", function () {
  needs(HAPROXY, PROMETHEUS);
  this.timeout(120_000);
  let dir: string;
  let state: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-cli-"));
    state = path.join(dir, "state.json");
  });
  afterEach(async () => {
    // Whatever a failed test left behind is stopped here.
    if (readState(state)) await attachSandbox(state).stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("up, status, weight and down work from separate processes", async () => {
    const up = await cli(state, ["up", "--no-prometheus", "--weight", "20"]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /default +be_default +stable +80 +canary +20 +20\.0% canary/);
    const pids = readState(state)?.processes.map((p) => p.pid) ?? [];
    assert.equal(pids.length, 3);

    const status = await cli(state, ["status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as { up: boolean; processes: Record<string, boolean>; weights: Array<{ route: string; canary: number }> };
    assert.deepEqual(parsed.processes, { stable: true, canary: true, haproxy: true });
    assert.deepEqual(parsed.weights.map((w) => [w.route, w.canary]), [["override", 100], ["default", 20]]);

    const weight = await cli(state, ["weight", "60"]);
    assert.equal(weight.code, 0, weight.stderr);
    assert.match(weight.stdout, /default +be_default +stable +40 +canary +60 +60\.0% canary/);

    const down = await cli(state, ["down"]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(fs.existsSync(state), false);
    assertAllDead(Object.fromEntries(pids.map((p) => [String(p), p])));

    const after = await cli(state, ["status"]);
    assert.equal(after.code, 3);
  });

  it("refuses a second up while one runs", async () => {
    assert.equal((await cli(state, ["up", "--no-prometheus"])).code, 0);
    const again = await cli(state, ["up", "--no-prometheus"]);
    assert.equal(again.code, 1);
    assert.equal(again.stderr.trim(), `sandbox: SandboxError: a sandbox is already up (${state}); run \`npm run sandbox -- down\` first`);
  });

  it("a foreground sandbox stops every process on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--require", TSX, CLI, "--state", state, "up", "--no-prometheus", "--foreground"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const deadline = Date.now() + 60_000;
    while (!stdout.includes("Ctrl-C to stop")) {
      assert.ok(Date.now() < deadline, `not up within 60 s: ${stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const pids = Object.fromEntries((readState(state)?.processes ?? []).map((p) => [p.name, p.pid]));
    assert.deepEqual(Object.keys(pids).sort(), ["canary", "haproxy", "stable"]);
    child.kill("SIGTERM");
    assert.equal(await exited, 143);
    assertAllDead(pids);
    assert.equal(fs.existsSync(state), false);
  });

  it("a stale state file never makes down signal a process that reused a pid", async () => {
    const stranger = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
    const exited = new Promise((r) => stranger.once("exit", r));
    try {
      const pid = stranger.pid as number;
      fs.writeFileSync(
        state,
        JSON.stringify({
          format: 1, createdAt: new Date().toISOString(), dir: path.join(dir, "gone"), ownsDir: false, socketPath: path.join(dir, "gone.sock"),
          ports: { frontend: 1, stats: 2, stable: 3, canary: 4 }, urls: {}, versions: { stable: "v1", canary: "v2" },
          traffic: { hasCanary: true, canaryWeight: 0, segments: [], stickiness: { enabled: false, durationSeconds: 1, hashKey: { kind: "header", name: "x-user-id" } } },
          processes: [{ name: "haproxy", pid, logFile: "/dev/null", argv: ["/usr/sbin/haproxy", "-db", "-f", path.join(dir, "gone", "haproxy.cfg")] }],
        }),
      );
      const status = await cli(state, ["status", "--json"]);
      assert.equal(status.code, 1);
      assert.deepEqual((JSON.parse(status.stdout) as { processes: unknown }).processes, { haproxy: false });
      const down = await cli(state, ["down"]);
      assert.equal(down.code, 0, down.stderr);
      process.kill(pid, 0); // throws if down killed it
      assert.equal(fs.existsSync(state), false);
    } finally {
      stranger.kill("SIGKILL");
      await exited;
    }
  });

  it("a config HAProxy rejects fails with HAProxy's own message and the cited lines, before anything starts", async () => {
    const token = `v-bad-${process.pid}`;
    const tempDirs = () => fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith("canary-sandbox-")).sort();
    const dirsBefore = tempDirs();
    // HAProxy, not the renderer, refuses a 0 ms health-check interval.
    await assert.rejects(startSandbox({ prometheus: false, healthCheckIntervalMs: 0, versions: { stable: `${token}-1`, canary: `${token}-2` } }), (e: Error) => {
      assert.equal(e.name, "SandboxError");
      assert.match(e.message, /^haproxy rejected .*haproxy\.cfg \(exit 1\):\n/);
      const cited = [...e.message.matchAll(/haproxy\.cfg:(\d+)\] : invalid value 0 for argument 'inter' of server default-server/g)].map((m) => m[1]);
      assert.equal(cited.length, 2, "one alert per backend");
      assert.ok(e.message.endsWith(`\nrendered config:\n${cited.map((n) => `  ${n}:   default-server check inter 0ms fall 2 rise 1`).join("\n")}`), e.message);
      return true;
    });
    assert.deepEqual(processesWith(token), []);
    assert.deepEqual(tempDirs(), dirsBefore, "the working directory is removed");
  });

  it("recognises a port taken by another process as a clash worth retrying", () => {
    assert.equal(isPortClash(new SandboxError("canary instance on port 4000 exited during startup (code 1); log x:\nv2: cannot listen on 127.0.0.1:4000: listen EADDRINUSE: address already in use 127.0.0.1:4000")), true);
    assert.equal(isPortClash(new SandboxError("haproxy exited during startup (code 1); log x:\n[ALERT] Starting frontend fe_traffic: cannot bind socket (Address already in use) [127.0.0.1:4000]")), true);
    assert.equal(isPortClash(new SandboxError("prometheus exited during startup (code 1); log x:\nbind: address already in use")), true);
    assert.equal(isPortClash(new SandboxError("haproxy rejected x (exit 1)")), false);
    assert.equal(isPortClash(new Error("EADDRINUSE")), false);
  });

  it("a process that dies during startup fails fast with its log, and the rest is stopped", async () => {
    const token = `v-dies-${process.pid}`;
    const t = Date.now();
    await assert.rejects(startSandbox({ prometheusBin: "/bin/false", versions: { stable: `${token}-1`, canary: `${token}-2` } }), {
      name: "SandboxError",
      message: /^prometheus exited during startup \(code 1\); log /,
    });
    assert.ok(Date.now() - t < 30_000);
    assert.deepEqual(processesWith(token), []);
  });
});
