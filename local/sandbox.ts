/**
 * The local sandbox: two versions of the sample service behind a real HAProxy (rendered from
 * the traffic model), scraped by a real Prometheus, all on loopback ports of one machine.
 *
 * `startSandbox()` starts everything and returns a handle; `attachSandbox(stateFile)` gives
 * the same handle to another process (the CLI's `down`/`status`, a rollout driver). Every
 * child runs in its own process group, so stopping it leaves nothing behind; a process that
 * started a sandbox also stops it on exit, SIGINT and SIGTERM unless it was `detach()`ed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MAX_RECORD_FILE_BYTES, readBoundedIfExists } from "../automation/inputFile";
import { buildRoutes, Route, scaleSplit, SCALES, splitWeights, TrafficSpec } from "../components/routing";
import { FaultSpec, parseFault, Fault } from "./app/faults";
import { backendFor, renderHaproxyConfig, SERVERS } from "./haproxy/config";
import { HaproxyRuntimeError, setServerWeights, showServersState, ServerState } from "./haproxy/runtime";
import { renderPrometheusConfig } from "./prometheus/config";
import { queryInstant } from "./prometheus/query";
import { freePorts, GroupChild, requirePrograms, httpGet, isAlive, isGroupAlive, runBounded, runsCommand, SandboxError, signalGroup, spawnGroup, stopGroups, tail, waitReady } from "./process";

export { SandboxError } from "./process";

/** The two versions of the service. */
export type Role = "stable" | "canary";

/** Thrown when HAProxy's read-back after a weight change differs from what was set. */
export class WeightVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WeightVerificationError";
  }
}

/** The traffic model the sandbox uses when a test or the CLI gives none (the stack defaults). */
export const DEFAULT_TRAFFIC: TrafficSpec = {
  hasCanary: true,
  canaryWeight: 0,
  override: { kind: "header", name: "x-canary", value: "true" },
  segments: [],
  stickiness: { enabled: false, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } },
};

/** How to start a sandbox. Every field is optional. */
export interface SandboxOptions {
  /** Overrides of `DEFAULT_TRAFFIC` (canary weight, override, segments, stickiness). */
  readonly traffic?: Partial<TrafficSpec>;
  /** Version names reported by the two instances. Defaults to `{ stable: "v1", canary: "v2" }`. */
  readonly versions?: { readonly stable?: string; readonly canary?: string };
  /** Start Prometheus. Defaults to true. */
  readonly prometheus?: boolean;
  /** Prometheus scrape interval in seconds. Defaults to 1. */
  readonly scrapeIntervalSeconds?: number;
  /**
   * Prometheus' rule file (recording and alerting rules, e.g. components/monitoring's for the
   * sample service), evaluated every scrape interval; `setRules` replaces it. Defaults to none.
   */
  readonly rules?: string;
  /** HAProxy health-check interval in ms. Defaults to 500. */
  readonly healthCheckIntervalMs?: number;
  /** Working directory (configs, logs, socket, TSDB). Defaults to a new temp directory, removed on stop. */
  readonly dir?: string;
  /** Where to write the state file that `attachSandbox` reads. Defaults to none. */
  readonly stateFile?: string;
  /** Bound on the whole startup. Defaults to 30000 ms. */
  readonly startTimeoutMs?: number;
  /** Defaults to `/usr/sbin/haproxy`. */
  readonly haproxyBin?: string;
  /** Defaults to `/usr/bin/prometheus`. */
  readonly prometheusBin?: string;
}

/** Loopback ports in use. */
export interface SandboxPorts {
  readonly frontend: number;
  readonly stats: number;
  readonly stable: number;
  readonly canary: number;
  readonly prometheus?: number;
}

/** Where to reach each part. */
export interface SandboxUrls {
  /** The traffic frontend: send user requests here. */
  readonly traffic: string;
  /** HAProxy's stats page. */
  readonly haproxyStats: string;
  /** HAProxy's Prometheus exporter. */
  readonly haproxyMetrics: string;
  /** Prometheus's base URL (HTTP API under `/api/v1`), when started. */
  readonly prometheus?: string;
  /** The instances directly (admin endpoint, metrics). */
  readonly stable: string;
  readonly canary: string;
}

/** One managed process, as persisted in the state file. */
export interface ProcessInfo {
  readonly name: string;
  /** Process id and process-group id. */
  readonly pid: number;
  readonly logFile: string;
  /** The command line it was started with; a pid running anything else is not ours. */
  readonly argv?: readonly string[];
}

/** Everything another process needs to control a running sandbox. */
export interface SandboxState {
  readonly format: 1;
  readonly createdAt: string;
  readonly dir: string;
  /** Whether `dir` was created by the sandbox (and is removed on stop). */
  readonly ownsDir: boolean;
  readonly socketPath: string;
  readonly ports: SandboxPorts;
  readonly urls: SandboxUrls;
  readonly versions: { readonly stable: string; readonly canary: string };
  readonly traffic: TrafficSpec;
  /** Prometheus's scrape interval, seconds (absent in state files written before it was kept). */
  readonly scrapeIntervalSeconds?: number;
  readonly processes: ProcessInfo[];
}

/** A route's weights as HAProxy reports them. */
export interface RouteWeights {
  /** The route's name (`default`, `override`, or a segment's name). */
  readonly route: string;
  readonly backend: string;
  /** HAProxy server weights in effect. */
  readonly stable: number;
  readonly canary: number;
  /** The canary's share in percent, or undefined when both weights are 0 (no traffic can flow). */
  readonly canaryPercent: number | undefined;
  /** Whether HAProxy's health checks consider each server up. */
  readonly stableUp: boolean;
  readonly canaryUp: boolean;
}

/** A running sandbox. */
export interface Sandbox {
  readonly urls: SandboxUrls;
  readonly ports: SandboxPorts;
  readonly dir: string;
  /** HAProxy's runtime API socket (admin level), for callers that talk to it directly. */
  readonly socketPath: string;
  readonly versions: { readonly stable: string; readonly canary: string };
  /** The traffic model HAProxy was started with (runtime weights: `readWeights`). */
  readonly traffic: TrafficSpec;
  /** Prometheus's scrape interval, seconds: how long a request takes, at most, to be counted. */
  readonly scrapeIntervalSeconds: number;
  /** Process id (= process group id) of each managed process. */
  readonly pids: Readonly<Record<string, number>>;
  /**
   * Sets a route's canary weight (percent; the stable weight is derived) through HAProxy's
   * runtime API, without a reload, then reads it back. Resolves with the read-back; throws
   * `WeightVerificationError` when HAProxy reports something else. `route` defaults to `default`.
   */
  setWeight(canaryWeight: number, route?: string): Promise<RouteWeights>;
  /** Every route's weights and server health, read from HAProxy. */
  readWeights(): Promise<RouteWeights[]>;
  /** Replaces an instance's fault (`{}` is healthy); resolves with the fault as applied. */
  injectFault(role: Role, fault: FaultSpec): Promise<Fault>;
  /** Clears an instance's fault. */
  clearFault(role: Role): Promise<void>;
  /**
   * Starts an instance again (after a crash, or to simulate a deploy) and waits until it is
   * healthy. `fault` is applied from the first request (e.g. a slow start after the restart).
   */
  restartApp(role: Role, fault?: FaultSpec): Promise<void>;
  /**
   * Replaces Prometheus' rule file and reloads it (SIGHUP), resolving once Prometheus reports the
   * reload succeeded (at once when the file already holds `rules`): an alert starts (or stops)
   * being evaluated as a real alert would. Throws
   * when the sandbox runs no Prometheus or Prometheus rejects the rules (its log tail attached).
   */
  setRules(rules: string): Promise<void>;
  /** Which managed processes are alive. */
  processStatus(): Record<string, boolean>;
  /** Stops every process (whole process groups) and removes the working directory it created. */
  stop(): Promise<void>;
  /** Leaves the processes running when this process exits (for `sandbox up`). */
  detach(): void;
}

const PROJECT_ROOT = path.resolve(__dirname, "..");
const APP_ENTRY = path.join(__dirname, "app", "server.ts");
const HOST = "127.0.0.1";
/** Prometheus' rule file in the sandbox's directory (always loaded, so rules can be set later). */
const RULE_FILE = "rules.yml";

/** Sandboxes this process started and must stop on exit or signal. */
const live = new Set<SandboxHandle>();
let hooked = false;

function killAllNow(): void {
  for (const s of live) s.killNow();
}

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  await Promise.allSettled([...live].map((s) => s.stop()));
  process.exit(signal === "SIGINT" ? 130 : 143);
}

function track(s: SandboxHandle): void {
  live.add(s);
  if (hooked) return;
  hooked = true;
  process.on("exit", killAllNow);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

function untrack(s: SandboxHandle): void {
  live.delete(s);
  if (live.size > 0 || !hooked) return;
  hooked = false;
  process.off("exit", killAllNow);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
}

class SandboxHandle implements Sandbox {
  private stopped = false;
  /** Children this process spawned, so stop() can wait until they are reaped (not zombies). */
  private readonly children = new Map<string, GroupChild>();
  constructor(
    private state: SandboxState,
    private readonly stateFile: string | undefined,
  ) {}

  get urls(): SandboxUrls {
    return this.state.urls;
  }
  get ports(): SandboxPorts {
    return this.state.ports;
  }
  get dir(): string {
    return this.state.dir;
  }
  get socketPath(): string {
    return this.state.socketPath;
  }
  get versions(): { stable: string; canary: string } {
    return this.state.versions;
  }
  get traffic(): TrafficSpec {
    return this.state.traffic;
  }
  get scrapeIntervalSeconds(): number {
    return this.state.scrapeIntervalSeconds ?? 1;
  }
  get pids(): Record<string, number> {
    return Object.fromEntries(this.state.processes.map((p) => [p.name, p.pid]));
  }

  /** Records a process (started or restarted) and persists the state. */
  addProcess(p: ProcessInfo, child?: GroupChild): void {
    if (child) this.children.set(p.name, child);
    this.state = { ...this.state, processes: [...this.state.processes.filter((x) => x.name !== p.name), p] };
    this.persist();
  }

  persist(): void {
    if (!this.stateFile) return;
    fs.mkdirSync(path.dirname(this.stateFile), { recursive: true });
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2) + "\n");
    fs.renameSync(tmp, this.stateFile);
  }

  private route(name: string): Route {
    const routes = buildRoutes(this.state.traffic);
    const r = routes.find((x) => x.name === name);
    if (!r) throw new SandboxError(`no route ${JSON.stringify(name)}; routes: ${routes.map((x) => x.name).join(", ")}`);
    return r;
  }

  private toWeights(route: Route, servers: readonly ServerState[]): RouteWeights {
    const backend = backendFor(route);
    const find = (name: string) => servers.find((s) => s.backend === backend && s.server === name);
    const stable = find(SERVERS.stable);
    const canary = find(SERVERS.canary);
    if (!stable) throw new HaproxyRuntimeError(`HAProxy has no server ${backend}/${SERVERS.stable}`);
    const c = canary?.weight ?? 0;
    const total = stable.weight + c;
    return {
      route: route.name,
      backend,
      stable: stable.weight,
      canary: c,
      canaryPercent: total === 0 ? undefined : (100 * c) / total,
      stableUp: stable.opState === 2,
      canaryUp: canary?.opState === 2,
    };
  }

  async readWeights(): Promise<RouteWeights[]> {
    const servers = await showServersState(this.state.socketPath);
    return buildRoutes(this.state.traffic).map((r) => this.toWeights(r, servers));
  }

  async setWeight(canaryWeight: number, routeName = "default"): Promise<RouteWeights> {
    const route = this.route(routeName);
    const next = scaleSplit(splitWeights(canaryWeight), SCALES.haproxy);
    const backend = backendFor(route);
    const before = this.toWeights(route, await showServersState(this.state.socketPath, backend));
    await setServerWeights(this.state.socketPath, backend, before, next, this.state.traffic.hasCanary);
    const after = this.toWeights(route, await showServersState(this.state.socketPath, backend));
    if (after.canary !== next.canary || after.stable !== next.stable) {
      throw new WeightVerificationError(
        `route ${route.name} (${backend}): set canary ${next.canary} / stable ${next.stable}, HAProxy reports canary ${after.canary} / stable ${after.stable}`,
      );
    }
    return after;
  }

  async injectFault(role: Role, fault: FaultSpec): Promise<Fault> {
    parseFault(fault);
    const res = await fetch(`${this.state.urls[role]}admin/fault`, { method: "POST", body: JSON.stringify(fault), signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { fault?: Fault; error?: string };
    if (!res.ok || !body.fault) throw new SandboxError(`${role}: fault rejected (HTTP ${res.status}): ${body.error ?? ""}`);
    return body.fault;
  }

  async clearFault(role: Role): Promise<void> {
    const res = await fetch(`${this.state.urls[role]}admin/fault`, { method: "DELETE", signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new SandboxError(`${role}: clearing the fault failed with HTTP ${res.status}`);
  }

  async restartApp(role: Role, fault?: FaultSpec): Promise<void> {
    if (fault) parseFault(fault);
    const old = this.signalable().find((p) => p.name === role);
    if (old) await stopGroups([old]);
    const child = spawnApp(role, this.state.versions[role], this.state.ports[role], this.state.dir, fault);
    this.addProcess({ name: role, pid: child.pid, logFile: child.logFile, argv: child.argv }, child);
    await waitApp(role, this.state.ports[role], child, 15_000);
  }

  async setRules(rules: string): Promise<void> {
    const prom = this.signalable().find((p) => p.name === "prometheus");
    const base = this.state.urls.prometheus;
    if (!prom || !base) throw new SandboxError("this sandbox runs no Prometheus to load rules");
    const file = path.join(this.state.dir, RULE_FILE);
    if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === rules) return;
    const runtime = async (): Promise<{ reloadConfigSuccess: boolean; lastConfigTime: string }> => (JSON.parse((await httpGet(`${base}/api/v1/status/runtimeinfo`)).body) as { data: { reloadConfigSuccess: boolean; lastConfigTime: string } }).data;
    const before = Date.parse((await runtime()).lastConfigTime);
    // Prometheus reports its last reload to the second: reload in a later second than the last
    // one, so this reload can be told from it.
    const wait = before + 1000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    fs.writeFileSync(file, rules);
    signalGroup(prom.pid, "SIGHUP");
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await runtime();
      if (!r.reloadConfigSuccess) throw new SandboxError(`prometheus rejected the rules; log ${prom.logFile}:\n${tail(prom.logFile)}`);
      if (Date.parse(r.lastConfigTime) > before) return;
      if (Date.now() >= deadline) throw new SandboxError(`prometheus did not reload its rules within 10 s; log ${prom.logFile}:\n${tail(prom.logFile)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  processStatus(): Record<string, boolean> {
    return Object.fromEntries(this.state.processes.map((p) => [p.name, isAlive(p.pid) && runsCommand(p.pid, p.argv)]));
  }

  /**
   * The processes to signal: ours by pid and command line. A process that already exited (or
   * whose pid now runs something else) is left alone; its group is still signalled when the
   * leader is gone but members of the group remain.
   */
  private signalable(): ProcessInfo[] {
    return this.state.processes.filter((p) => (isAlive(p.pid) ? runsCommand(p.pid, p.argv) : isGroupAlive(p.pid)));
  }

  /** SIGKILLs every group synchronously (the `exit` hook: nothing async can run there). */
  killNow(): void {
    for (const p of this.signalable()) signalGroup(p.pid, "SIGKILL");
    if (this.state.ownsDir) fs.rmSync(this.state.dir, { recursive: true, force: true });
    if (this.stateFile) fs.rmSync(this.stateFile, { force: true });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      const left = await stopGroups(this.signalable());
      // The children are unref'd, so this bounded timer must stay referenced: it is what keeps
      // the event loop alive until their exit events arrive. An unref'd one let a program whose
      // last act is stop() end silently inside this await.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((r) => (timer = setTimeout(r, 2000)));
      try {
        await Promise.race([Promise.all([...this.children.values()].map((c) => c.exited)), timeout]);
      } finally {
        clearTimeout(timer);
      }
      if (left.length > 0) throw new SandboxError(`could not stop ${left.join(", ")} (pids ${this.state.processes.filter((p) => left.includes(p.name)).map((p) => p.pid).join(", ")})`);
      if (this.state.ownsDir) fs.rmSync(this.state.dir, { recursive: true, force: true });
      if (this.stateFile) fs.rmSync(this.stateFile, { force: true });
    } finally {
      untrack(this);
    }
  }

  detach(): void {
    untrack(this);
  }
}

function spawnApp(role: Role, version: string, port: number, dir: string, fault?: FaultSpec): GroupChild {
  const args = ["--require", require.resolve("tsx/cjs"), APP_ENTRY, "--version", version, "--port", String(port), "--host", HOST];
  if (fault) args.push("--fault", JSON.stringify(fault));
  return spawnGroup(role, process.execPath, args, { logFile: path.join(dir, "logs", `${role}.log`), cwd: PROJECT_ROOT });
}

function waitApp(role: Role, port: number, child: GroupChild, timeoutMs: number): Promise<void> {
  return waitReady(`${role} instance on port ${port}`, async () => (await httpGet(`http://${HOST}:${port}/health`)).status === 200, { timeoutMs, child });
}

/** How many times startup is tried when another process took one of the chosen ports. */
const PORT_CLASH_ATTEMPTS = 3;

/** Whether a startup failure was a port taken between choosing it and binding it. */
export function isPortClash(e: unknown): boolean {
  return e instanceof SandboxError && /EADDRINUSE|address already in use/i.test(e.message);
}

/**
 * Starts a sandbox: the stable and canary instances, then HAProxy (after `haproxy -c` accepts
 * the rendered config, so a bad config fails with HAProxy's own message), and Prometheus;
 * resolves when every server is up in HAProxy and Prometheus has scraped every target. On
 * any failure everything already started is stopped before the error is thrown. Free ports
 * are chosen just before the processes bind them; if another process on the machine takes
 * one in between, startup is tried again with new ports (up to 3 times).
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      if (!isPortClash(e) || attempt >= PORT_CLASH_ATTEMPTS) throw e;
    }
  }
}

async function startOnce(options: SandboxOptions): Promise<Sandbox> {
  const traffic: TrafficSpec = { ...DEFAULT_TRAFFIC, ...options.traffic };
  buildRoutes(traffic); // validates weights and segment names before anything starts
  const versions = { stable: options.versions?.stable ?? "v1", canary: options.versions?.canary ?? "v2" };
  if (versions.stable === versions.canary) throw new SandboxError(`the two versions must differ, both are ${JSON.stringify(versions.stable)}`);
  const withPrometheus = options.prometheus ?? true;
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const remaining = (): number => Math.max(0, deadline - Date.now());
  const haproxyBin = options.haproxyBin ?? "/usr/sbin/haproxy";
  const prometheusBin = options.prometheusBin ?? "/usr/bin/prometheus";
  requirePrograms(withPrometheus ? [haproxyBin, prometheusBin] : [haproxyBin]);

  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "canary-sandbox-"));
  fs.mkdirSync(path.join(dir, "logs"), { recursive: true });
  const socketPath = path.join(dir, "haproxy.sock");
  if (Buffer.byteLength(socketPath) > 100) throw new SandboxError(`socket path too long for a unix socket (${socketPath}); use a shorter dir`);

  const [frontend, stats, stable, canary, prom] = await freePorts(5);
  const ports: SandboxPorts = { frontend, stats, stable, canary, ...(withPrometheus ? { prometheus: prom } : {}) };
  const urls: SandboxUrls = {
    traffic: `http://${HOST}:${frontend}/`,
    haproxyStats: `http://${HOST}:${stats}/stats`,
    haproxyMetrics: `http://${HOST}:${stats}/metrics`,
    ...(withPrometheus ? { prometheus: `http://${HOST}:${prom}` } : {}),
    stable: `http://${HOST}:${stable}/`,
    canary: `http://${HOST}:${canary}/`,
  };

  const haproxyCfg = path.join(dir, "haproxy.cfg");
  const rendered = renderHaproxyConfig(traffic, ports, { socketPath, healthCheck: { path: "/health", intervalMs: options.healthCheckIntervalMs ?? 500 } });
  fs.writeFileSync(haproxyCfg, rendered);
  const check = await runBounded(haproxyBin, ["-c", "-f", haproxyCfg], 10_000).catch((e: Error) => ({ code: -1, output: e.message }));
  if (check.code !== 0) {
    if (ownsDir) fs.rmSync(dir, { recursive: true, force: true });
    throw new SandboxError(`haproxy rejected ${haproxyCfg} (exit ${check.code}):\n${check.output}${quoteConfigLines(rendered, haproxyCfg, check.output)}`);
  }

  const scrapeIntervalSeconds = options.scrapeIntervalSeconds ?? 1;
  const state: SandboxState = { format: 1, createdAt: new Date().toISOString(), dir, ownsDir, socketPath, ports, urls, versions, traffic, scrapeIntervalSeconds, processes: [] };
  const handle = new SandboxHandle(state, options.stateFile);
  track(handle);
  const started = (c: GroupChild): GroupChild => (handle.addProcess({ name: c.name, pid: c.pid, logFile: c.logFile, argv: c.argv }, c), c);
  try {
    const apps = (["stable", "canary"] as const).map((role) => ({ role, child: started(spawnApp(role, versions[role], ports[role], dir)) }));
    let promChild: GroupChild | undefined;
    if (withPrometheus) {
      const promCfg = path.join(dir, "prometheus.yml");
      fs.writeFileSync(path.join(dir, RULE_FILE), options.rules ?? "groups: []\n");
      fs.writeFileSync(promCfg, renderPrometheusConfig({ apps: [{ role: "stable", port: stable }, { role: "canary", port: canary }], haproxyStatsPort: stats, scrapeIntervalSeconds, ruleFiles: [RULE_FILE] }));
      promChild = started(
        spawnGroup("prometheus", prometheusBin, [`--config.file=${promCfg}`, `--storage.tsdb.path=${path.join(dir, "tsdb")}`, `--web.listen-address=${HOST}:${prom}`, "--log.level=warn"], {
          logFile: path.join(dir, "logs", "prometheus.log"),
        }),
      );
    }
    await Promise.all(apps.map((a) => waitApp(a.role, ports[a.role], a.child, remaining())));

    // HAProxy starts once the instances answer, so its first health checks pass.
    const haproxy = started(spawnGroup("haproxy", haproxyBin, ["-db", "-f", haproxyCfg], { logFile: path.join(dir, "logs", "haproxy.log") }));
    const serverCount = buildRoutes(traffic).length * (traffic.hasCanary ? 2 : 1);
    await waitReady(
      "haproxy",
      async () => {
        const servers = await showServersState(socketPath);
        return servers.length === serverCount && servers.every((s) => s.opState === 2);
      },
      { timeoutMs: remaining(), child: haproxy },
    );

    if (promChild && urls.prometheus) {
      const base = urls.prometheus;
      await waitReady("prometheus", async () => (await httpGet(`${base}/-/ready`)).status === 200, { timeoutMs: remaining(), child: promChild });
      await waitReady(
        "prometheus scrape of every target",
        async () => {
          const up = await queryInstant(base, "up");
          return up.length === 3 && up.every((s) => s.value === 1);
        },
        { timeoutMs: remaining(), child: promChild, intervalMs: 200 },
      );
    }
    handle.persist();
    return handle;
  } catch (e) {
    await handle.stop().catch(() => undefined);
    throw e;
  }
}

/** The config lines HAProxy's messages point at (`[file:12]`), since the file is removed. */
function quoteConfigLines(config: string, file: string, output: string): string {
  const lines = config.split("\n");
  const cited = [...output.matchAll(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+)`, "g"))].map((m) => Number(m[1]));
  const unique = [...new Set(cited)].filter((n) => n >= 1 && n <= lines.length).sort((a, b) => a - b);
  return unique.length === 0 ? "" : `\nrendered config:\n${unique.map((n) => `  ${n}: ${lines[n - 1]}`).join("\n")}`;
}

/** Reads a state file written by `startSandbox({ stateFile })`; undefined when there is none. */
export function readState(stateFile: string): SandboxState | undefined {
  const text = readBoundedIfExists(stateFile, MAX_RECORD_FILE_BYTES, (m) => new SandboxError(`${stateFile}: ${m}`));
  if (text === undefined) return undefined;
  const state = JSON.parse(text) as SandboxState;
  if (state.format !== 1 || !Array.isArray(state.processes) || typeof state.socketPath !== "string") {
    throw new SandboxError(`${stateFile} is not a sandbox state file (format ${String(state.format)})`);
  }
  return state;
}

/**
 * A handle on a sandbox started by another process, from its state file. Its `stop()` stops
 * that sandbox's processes and removes the state file. Throws when there is no state file.
 */
export function attachSandbox(stateFile: string): Sandbox {
  const state = readState(stateFile);
  if (!state) throw new SandboxError(`no sandbox state at ${stateFile} (is a sandbox up?)`);
  return new SandboxHandle(state, stateFile);
}
