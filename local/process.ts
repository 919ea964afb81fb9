/**
 * Process plumbing for the sandbox: free loopback ports, children in their own process
 * groups (so stopping one also stops anything it spawned), liveness checks that work for
 * processes started by another command, and bounded readiness waits with clear errors.
 */
import { ChildProcess, spawn, execFile } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";

/** Thrown when a sandbox process fails to start, to become ready, or to stop. */
export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SandboxError";
  }
}

/** The Debian packages that provide the programs the sandbox and its tests run. */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  "/usr/sbin/haproxy": "haproxy",
  "/usr/bin/prometheus": "prometheus",
  "/usr/bin/promtool": "prometheus",
  "/usr/bin/chromium": "chromium",
};

/** The line that installs every program the sandbox and the tests need. */
export const INSTALL_LINE = "apt-get install -y haproxy prometheus chromium";

/**
 * Throws a {@link SandboxError} naming every missing program and the line that installs it,
 * so a machine without HAProxy or Prometheus fails at once and says what to do (never a
 * silent skip, never a bare ENOENT from a spawn deep inside a start-up).
 */
export function requirePrograms(paths: readonly string[]): void {
  const missing = paths.filter((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) {
    const packages = [...new Set(missing.map((p) => DEBIAN_PACKAGES[p] ?? p))].join(" ");
    throw new SandboxError(`${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not installed (Debian: apt-get install -y ${packages}; everything the tests use: ${INSTALL_LINE})`);
  }
}

/**
 * `count` distinct free ports on 127.0.0.1. All listeners are held open until every port is
 * known, so the same port is never handed out twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => resolve());
      });
      ports.push((s.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** A child process started in its own process group, with its output in a log file. */
export interface GroupChild {
  readonly name: string;
  /** Process id, which is also the process group id. */
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** The command line it was started with (argv[0] first), to recognise it later. */
  readonly argv: readonly string[];
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set once the process has exited. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

/** Starts `command` detached in a new process group, stdout and stderr appended to `logFile`. */
export function spawnGroup(name: string, command: string, args: readonly string[], opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv }): GroupChild {
  const fd = fs.openSync(opts.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ["ignore", fd, fd] });
  } finally {
    fs.closeSync(fd);
  }
  if (child.pid === undefined) throw new SandboxError(`${name}: could not start ${command}`);
  const handle: GroupChild = {
    name,
    pid: child.pid,
    child,
    logFile: opts.logFile,
    argv: [command, ...args],
    exited: new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        handle.exit = { code, signal };
        resolve({ code, signal });
      });
      child.once("error", () => {
        handle.exit = { code: null, signal: null };
        resolve(handle.exit);
      });
    }),
  };
  // A detached child must not keep the parent's event loop alive on its own.
  child.unref();
  return handle;
}

/**
 * Whether a process exists and is not a zombie. Zombies count as dead: a process orphaned by a
 * previous `sandbox up` may never be reaped in a container whose init does not reap.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return true;
  }
}

/**
 * Whether process `pid` still runs the command line `argv` — so that a stale state file can
 * never make `down` signal an unrelated process that reused the pid. True when /proc cannot
 * tell (the caller then falls back to the pid alone).
 */
export function runsCommand(pid: number, argv: readonly string[] | undefined): boolean {
  if (!argv) return true;
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ENOENT";
  }
  // A zombie's cmdline is empty; it counts as not running anything.
  return cmdline === `${argv.join("\0")}\0`;
}

/** Whether any live (non-zombie) process remains in process group `pgid`. */
export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        continue;
      }
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // fields[0] is the state, fields[2] the process group.
      if (Number(fields[2]) === pgid && fields[0] !== "Z") return true;
    }
    return false;
  } catch {
    return true;
  }
}

/** Sends `signal` to a whole process group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops process groups: SIGTERM, then SIGKILL for any still alive after `graceMs`, then waits
 * (bounded) until none remains. Returns the names of groups that could not be stopped.
 */
export async function stopGroups(groups: ReadonlyArray<{ name: string; pid: number }>, graceMs = 3000): Promise<string[]> {
  for (const g of groups) signalGroup(g.pid, "SIGTERM");
  const waitDead = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && groups.some((g) => isGroupAlive(g.pid))) await sleep(20);
  };
  await waitDead(graceMs);
  for (const g of groups) if (isGroupAlive(g.pid)) signalGroup(g.pid, "SIGKILL");
  await waitDead(2000);
  return groups.filter((g) => isGroupAlive(g.pid)).map((g) => g.name);
}

/** The last `lines` lines of a log file ("" when it cannot be read). */
export function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/**
 * Polls `probe` until it returns true, failing after `timeoutMs` (with the probe's last error)
 * or as soon as `child` exits (with its exit status and log tail).
 */
export async function waitReady(what: string, probe: () => Promise<boolean>, opts: { timeoutMs: number; child?: GroupChild; intervalMs?: number }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = "not ready";
  for (;;) {
    if (opts.child?.exit) {
      const x = opts.child.exit;
      throw new SandboxError(`${what} exited during startup (${x.signal ? `signal ${x.signal}` : `code ${x.code}`}); log ${opts.child.logFile}:\n${tail(opts.child.logFile)}`);
    }
    try {
      if (await probe()) return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() >= deadline) {
      const log = opts.child ? `; log ${opts.child.logFile}:\n${tail(opts.child.logFile)}` : "";
      throw new SandboxError(`${what} not ready within ${opts.timeoutMs} ms (last: ${last})${log}`);
    }
    await sleep(opts.intervalMs ?? 50);
  }
}

/** Runs a short command to completion, bounded by `timeoutMs`, and returns its output. */
export function runBounded(command: string, args: readonly string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, encoding: "utf8" }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (err && typeof err.code !== "number") return reject(new SandboxError(`${command} ${args.join(" ")}: ${err.message}`));
      resolve({ code: err ? Number(err.code) : 0, output });
    });
  });
}

/** GET a loopback URL with a short timeout; resolves to the status and body. */
export async function httpGet(url: string, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}
