/**
 * `npm run sandbox -- <command>`: the local sandbox from a terminal.
 *
 *   up        start the sandbox in the background (state in .sandbox/state.json)
 *   status    processes, URLs and HAProxy's current weights
 *   weight    set a route's canary weight through HAProxy's runtime API (no reload)
 *   fault     inject or clear a fault in one instance
 *   restart   start an instance again (after a crash)
 *   load      run the open-model load generator against the frontend
 *   down      stop everything and remove the state file
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { parse as parseYaml } from "yaml";
import { Segment, TrafficSpec } from "../components/routing";
import { FaultSpec } from "./app/faults";
import { MatchShare, runLoad } from "./loadgen";
import { attachSandbox, readState, Role, RouteWeights, Sandbox, SandboxError, startSandbox } from "./sandbox";

const DEFAULT_STATE = path.resolve(__dirname, "..", ".sandbox", "state.json");

function intIn(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}, got ${v}`);
    return n;
  };
}

function fraction(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`must be a number from 0 to 1, got ${v}`);
  return n;
}

function positive(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`must be a positive number, got ${v}`);
  return n;
}

/** `<name>:<header|cookie>:<key>=<value>:<weight>`, e.g. `beta:cookie:beta=yes:50`. */
function segment(v: string, prev: Segment[] = []): Segment[] {
  const m = /^([a-z0-9-]+):(header|cookie):([^=:]+)=([^:]+):(\d+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected <name>:<header|cookie>:<key>=<value>:<weight>, got ${v}`);
  return [...prev, { name: m[1], match: { kind: m[2] as "header" | "cookie", name: m[3], value: m[4] }, weight: Number(m[5]) }];
}

/** `<header|cookie>:<name>`. */
function sticky(v: string): TrafficSpec["stickiness"] {
  const m = /^(header|cookie):(.+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected header:<name> or cookie:<name>, got ${v}`);
  return { enabled: true, durationSeconds: 3600, hashKey: { kind: m[1] as "header" | "cookie", name: m[2] } };
}

function role(v: string): Role {
  if (v !== "stable" && v !== "canary") throw new InvalidArgumentError(`must be stable or canary, got ${v}`);
  return v;
}

function printWeights(ws: RouteWeights[]): void {
  for (const w of ws) {
    const pct = w.canaryPercent === undefined ? "no traffic (both weights 0)" : `${w.canaryPercent.toFixed(1)}% canary`;
    process.stdout.write(`  ${w.route.padEnd(12)} ${w.backend.padEnd(16)} stable ${String(w.stable).padStart(3)}${w.stableUp ? "" : " (DOWN)"}  canary ${String(w.canary).padStart(3)}${w.canaryUp ? "" : " (DOWN)"}  ${pct}\n`);
  }
}

function printSandbox(s: Sandbox, stateFile: string): void {
  process.stdout.write(
    [
      `traffic     ${s.urls.traffic}   (override: ${s.traffic.override ? `${s.traffic.override.name}: ${s.traffic.override.value}` : "none"})`,
      `prometheus  ${s.urls.prometheus ?? "(not started)"}`,
      `haproxy     ${s.urls.haproxyStats}   metrics ${s.urls.haproxyMetrics}`,
      `stable      ${s.urls.stable} (${s.versions.stable})   canary ${s.urls.canary} (${s.versions.canary})`,
      `dir         ${s.dir}`,
      `state       ${stateFile}`,
      "",
    ].join("\n"),
  );
}

const program = new Command("sandbox").description("The local canary sandbox: sample service ×2, HAProxy, Prometheus, load generator.");
program.option("--state <file>", "state file", DEFAULT_STATE);
const stateFile = (): string => path.resolve(program.opts<{ state: string }>().state);

program
  .command("up")
  .description("start the sandbox (in the background unless --foreground)")
  .option("--weight <percent>", "canary weight of the default route", intIn(0, 100), 0)
  .option("--sticky <key>", "stickiness by consistent hashing on header:<name> or cookie:<name>", sticky)
  .option("--segment <spec>", "a segment <name>:<header|cookie>:<key>=<value>:<weight> (repeatable)", segment)
  .option("--no-override", "no override header route")
  .option("--traffic <file>", "a TrafficSpec as JSON or YAML (other traffic options apply on top)")
  .option("--no-prometheus", "do not start Prometheus")
  .option("--foreground", "stay attached; Ctrl-C stops everything")
  .action(async (o: { weight: number; sticky?: TrafficSpec["stickiness"]; segment?: Segment[]; override: boolean; traffic?: string; prometheus: boolean; foreground?: boolean }) => {
    const file = stateFile();
    const existing = readState(file);
    if (existing && Object.values(attachSandbox(file).processStatus()).some(Boolean)) throw new SandboxError(`a sandbox is already up (${file}); run \`npm run sandbox -- down\` first`);
    const base: Partial<TrafficSpec> = o.traffic ? (parseYaml(fs.readFileSync(o.traffic, "utf8")) as Partial<TrafficSpec>) : {};
    const traffic: Partial<TrafficSpec> = {
      ...base,
      canaryWeight: o.weight,
      ...(o.sticky ? { stickiness: o.sticky } : {}),
      ...(o.segment ? { segments: o.segment } : {}),
      ...(o.override ? {} : { override: undefined }),
    };
    const s = await startSandbox({ traffic, prometheus: o.prometheus, stateFile: file });
    printSandbox(s, file);
    printWeights(await s.readWeights());
    if (o.foreground) {
      process.stdout.write("\nrunning; Ctrl-C to stop\n");
      // The children are unref'd, so keep this process alive; the sandbox's SIGINT/SIGTERM
      // handler stops everything and exits.
      setInterval(() => undefined, 1 << 30);
      await new Promise(() => undefined);
    }
    s.detach();
    process.stdout.write("\nup; `npm run sandbox -- down` to stop\n");
  });

program
  .command("status")
  .description("show processes, URLs and weights; exit 0 when everything runs, 1 when something is down, 3 when no sandbox")
  .option("--json", "machine-readable output")
  .action(async (o: { json?: boolean }) => {
    const file = stateFile();
    const state = readState(file);
    if (!state) {
      process.stdout.write(o.json ? `${JSON.stringify({ up: false })}\n` : `no sandbox (${file})\n`);
      process.exitCode = 3;
      return;
    }
    const s = attachSandbox(file);
    const procs = s.processStatus();
    const weights = procs.haproxy ? await s.readWeights().catch(() => undefined) : undefined;
    const allUp = Object.values(procs).every(Boolean);
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ up: allUp, processes: procs, pids: s.pids, urls: s.urls, weights }, null, 2)}\n`);
    } else {
      printSandbox(s, file);
      for (const [name, alive] of Object.entries(procs)) process.stdout.write(`  ${name.padEnd(11)} pid ${s.pids[name]}  ${alive ? "running" : "NOT RUNNING"}\n`);
      if (weights) printWeights(weights);
    }
    process.exitCode = allUp ? 0 : 1;
  });

program
  .command("down")
  .description("stop every sandbox process and remove the state file")
  .action(async () => {
    const file = stateFile();
    if (!readState(file)) {
      process.stdout.write(`no sandbox (${file})\n`);
      return;
    }
    const s = attachSandbox(file);
    const pids = s.pids;
    await s.stop();
    process.stdout.write(`stopped ${Object.entries(pids).map(([n, p]) => `${n} (${p})`).join(", ")}\n`);
  });

program
  .command("weight")
  .description("set a route's canary weight through HAProxy's runtime API and print the read-back")
  .argument("<percent>", "canary percent 0-100", intIn(0, 100))
  .option("--route <name>", "route: default, override or a segment name", "default")
  .action(async (percent: number, o: { route: string }) => {
    const s = attachSandbox(stateFile());
    printWeights([await s.setWeight(percent, o.route)]);
  });

program
  .command("fault")
  .description("inject a fault into one instance (replaces its current fault)")
  .argument("<role>", "stable or canary", role)
  .option("--error-rate <fraction>", "share of requests answered 500", fraction)
  .option("--latency-ms <ms>", "fixed added latency", positive)
  .option("--latency-exp-ms <ms>", "exponential added latency with this mean", positive)
  .option("--slow-start <ms:durationMs>", "extra latency decaying to 0 over the duration")
  .option("--crash", "exit the process now (a real crash)")
  .option("--clear", "remove every fault")
  .option("--spec <json>", "a full fault spec as JSON (see docs/sandbox.md)")
  .action(async (r: Role, o: { errorRate?: number; latencyMs?: number; latencyExpMs?: number; slowStart?: string; crash?: boolean; clear?: boolean; spec?: string }) => {
    const s = attachSandbox(stateFile());
    if (o.clear) {
      await s.clearFault(r);
      process.stdout.write(`${r}: healthy\n`);
      return;
    }
    const spec: FaultSpec = o.spec ? (JSON.parse(o.spec) as FaultSpec) : {};
    if (o.errorRate !== undefined) spec.errorRate = o.errorRate;
    if (o.latencyMs !== undefined) spec.latency = { kind: "fixed", ms: o.latencyMs };
    if (o.latencyExpMs !== undefined) spec.latency = { kind: "exponential", meanMs: o.latencyExpMs };
    if (o.slowStart) {
      const [ms, durationMs] = o.slowStart.split(":").map(Number);
      spec.slowStart = { ms, durationMs };
    }
    if (o.crash) spec.crash = {};
    process.stdout.write(`${r}: ${JSON.stringify(await s.injectFault(r, spec))}\n`);
  });

program
  .command("restart")
  .description("start an instance again and wait until it is healthy")
  .argument("<role>", "stable or canary", role)
  .action(async (r: Role) => {
    await attachSandbox(stateFile()).restartApp(r);
    process.stdout.write(`${r}: restarted\n`);
  });

program
  .command("load")
  .description("send open-model load to the sandbox's frontend and print counts per version and status")
  .option("--rps <n>", "requests per second", positive, 50)
  .option("--duration <seconds>", "how long", positive, 10)
  .option("--users <n>", "user population", intIn(1, 10_000_000), 1000)
  .option("--override-share <fraction>", "share of requests with the override header", fraction, 0)
  .addOption(new Option("--segment-share <name=fraction...>", "share of requests carrying a segment's match"))
  .option("--url <url>", "send here instead of the sandbox's frontend")
  .action(async (o: { rps: number; duration: number; users: number; overrideShare: number; segmentShare?: string[]; url?: string }) => {
    const s = o.url ? undefined : attachSandbox(stateFile());
    const traffic = s?.traffic;
    const shares: MatchShare[] = [];
    if (o.overrideShare > 0) {
      if (!traffic?.override) throw new SandboxError("the sandbox has no override route");
      shares.push({ name: "override", match: traffic.override, share: o.overrideShare });
    }
    for (const item of o.segmentShare ?? []) {
      const [name, share] = item.split("=");
      const seg = traffic?.segments.find((x) => x.name === name);
      if (!seg) throw new SandboxError(`no segment ${JSON.stringify(name)}; segments: ${traffic?.segments.map((x) => x.name).join(", ") || "none"}`);
      shares.push({ name, match: seg.match, share: fraction(share) });
    }
    const userKey = traffic?.stickiness.enabled ? traffic.stickiness.hashKey : undefined;
    const r = await runLoad({ url: o.url ?? (s as Sandbox).urls.traffic, rps: o.rps, durationSeconds: o.duration, users: o.users, shares, userKey });
    process.stdout.write(`sent ${r.sent} in ${r.elapsedSeconds.toFixed(1)} s (max schedule lag ${r.maxLagMs.toFixed(0)} ms)\n`);
    for (const [route, c] of Object.entries(r.byRoute)) {
      const parts = Object.entries(c.byVersionStatus).map(([v, st]) => `${v} ${Object.entries(st).map(([code, n]) => `${code}:${n}`).join(" ")}`);
      process.stdout.write(`  ${route.padEnd(12)} ${c.total} requests  ${parts.join("  |  ")}\n`);
    }
    for (const [e, n] of Object.entries(r.errors)) process.stdout.write(`  error ${e}: ${n}\n`);
  });

program.parseAsync().catch((e: Error) => {
  process.stderr.write(`sandbox: ${e.name === "Error" ? "" : `${e.name}: `}${e.message}\n`);
  process.exit(1);
});
