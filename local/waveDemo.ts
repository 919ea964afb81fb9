/**
 * `npm run demo:wave`: a release rolled out across two regions on one machine, no cloud. Two
 * sandboxes stand for us-east and eu-west (each two versions of the sample service behind its own
 * HAProxy, scraped by its own Prometheus, under generated load), and a wave runs through them:
 *  1. a good release: us-east first, a bake under its guardrails, then eu-west; both promoted;
 *  2. a bad release whose canary starts failing in eu-west: eu-west rolls back, the wave stops,
 *     and (onFailure: rollbackAll) us-east, already promoted, is restored to its own snapshot;
 * then prints what each region ended at and what its users saw. Everything started is stopped,
 * also on Ctrl-C.
 */
import { WaveDriverEvent } from "../automation/wave/run";
import { runDemo } from "./demo";
import { Sandbox, startSandbox } from "./sandbox";
import { runSandboxWave, SandboxWaveResult } from "./sandboxWave";

const REGIONS = ["us-east", "eu-west"] as const;

function printer(): (e: WaveDriverEvent) => void {
  const t0 = Date.now();
  const ts = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
  return (e) => {
    if (e.kind === "wave") console.log(`${ts()} wave: ${e.entry.type}: ${e.entry.reason}`);
    else if (e.kind === "bake") console.log(`${ts()}   bake after ${e.stage}: ${e.observedSeconds.toFixed(0)}s of ${e.bakeSeconds}s observed${e.holding ? ` (holding: ${e.holding})` : ""}`);
    else if (e.kind === "action") console.log(`${ts()}   → ${e.message}`);
    else if (e.kind === "stack" && e.event.kind === "transition") {
      const h = e.event.entry;
      console.log(`${ts()}   [${e.stack}] ${h.from} → ${h.to}${h.step !== undefined && h.to === "Progressing" ? ` (weight ${h.weight}%)` : ""}: ${h.reason}`);
    }
  };
}

function regions(r: SandboxWaveResult): string {
  return REGIONS.map((name) => {
    const w = r.weights.get(name)!;
    return `${name}: ${r.records.get(name)?.phase ?? "not started"}, HAProxy stable ${w.stable} / canary ${w.canary}, ${r.failedRequests.get(name) ?? 0} failed of ${r.totalRequests.get(name) ?? 0} requests`;
  }).join("\n  ");
}

async function main(): Promise<number> {
  const t0 = Date.now();
  console.log("canary wave demo: two regions (two sandboxes: HAProxy, Prometheus, v1 and v2 of the sample service), 600 requests/s each\n");
  const sandboxes = new Map<string, Sandbox>();
  const started = await Promise.allSettled(REGIONS.map(() => startSandbox({ versions: { stable: "v1", canary: "v2" }, traffic: { canaryWeight: 0 }, scrapeIntervalSeconds: 0.5 })));
  started.forEach((s, i) => s.status === "fulfilled" && sandboxes.set(REGIONS[i], s.value));
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    const stages = [
      { name: "us", stacks: [{ name: "us-east" }] },
      { name: "eu", stacks: [{ name: "eu-west" }] },
    ];

    console.log("1. a good release (v1 → v2): us-east, a 5 s bake, then eu-west");
    const good = await runSandboxWave({ sandboxes, wave: { name: "good", onFailure: "rollbackAll", bake: "5s", tick: "1s", stages }, report: printer() });
    console.log(`wave ${good.result.outcome}: ${good.result.reason}\n  ${regions(good)}\n`);

    console.log("2. a bad release: its canary fails 30% of requests in eu-west; onFailure: rollbackAll");
    const bad = await runSandboxWave({ sandboxes, wave: { name: "bad", onFailure: "rollbackAll", bake: "5s", tick: "1s", stages }, faults: [{ stack: "eu-west", atStep: 0, fault: { errorRate: 0.3 } }], report: printer() });
    console.log(`wave ${bad.result.outcome}: ${bad.result.reason}\n  ${regions(bad)}\n`);

    const ok = good.result.outcome === "succeeded" && bad.result.outcome === "rolledBack" && REGIONS.every((r) => bad.weights.get(r)!.canary === 0 && good.weights.get(r)!.canary === 100);
    console.log("summary");
    console.log(`  good release: ${good.result.outcome} in ${good.elapsedSeconds.toFixed(0)} s; both regions on v2`);
    console.log(`  bad release:  ${bad.result.outcome} in ${bad.elapsedSeconds.toFixed(0)} s; eu-west rolled back by its judge, us-east restored by the wave`);
    console.log(`  total time:   ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return ok ? 0 : 1;
  } finally {
    await Promise.all([...sandboxes.values()].map((s) => s.stop()));
  }
}

if (require.main === module) runDemo(main);
