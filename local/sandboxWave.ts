/**
 * A wave across several local sandboxes, one per region (or service), measured from outside the
 * driver: the harness `npm run demo:wave` and the wave's end-to-end tests run. Each sandbox is
 * reset, gets generated load for the whole wave, and is one stack of the wave: its HAProxy the
 * target, a record file of its own, its own Prometheus for the judge. The wave itself is the real
 * wave driver (automation/wave) running a real rollout per stack.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parsePlan, Plan } from "../automation/plan";
import { FileRecordStore } from "../automation/record/file";
import { metricsFromPlan } from "../automation/rollout/judging";
import { RolloutRecord } from "../automation/state";
import { HaproxyTarget } from "../automation/targets/haproxy";
import { validateWave, WaveFile } from "../automation/wave/file";
import { runWave, WaveDriverEvent, WaveResult } from "../automation/wave/run";
import { StackAccess } from "../automation/wave/stacks";
import { FileWaveStore } from "../automation/wave/store";
import { FaultSpec } from "./app/faults";
import { runLoad } from "./loadgen";
import { RouteWeights, Sandbox } from "./sandbox";
import { resetSandbox } from "./sandboxRollout";

/**
 * The plan of each region in the demo and the tests, tuned to decide in seconds on a sandbox (not
 * a production plan): one judged step at 50% with 1 s ticks that passes once the canary's error
 * rate is shown to be below 5% (with 80% confidence, promoteAlpha 0.2: about 1,200 clean canary
 * requests, 4–5 s at 600 requests/s); the judge's default guardrails (more than 5% errors rolls
 * back at once).
 */
export const WAVE_DEMO_PLAN = `
steps: [{ weight: 50, minDuration: 1s, maxDuration: 60s }, { weight: 100 }]
tick: 1s
analysis:
  judge:
    metrics: [{ name: errors, source: { kind: errors }, negligibleRate: 0.05 }]
    minCanaryRequestsToPromote: 50
    promoteAlpha: 0.2
  metrics: { selectors: { job: app } }
`;

/** One wave over sandboxes. */
export interface SandboxWaveOptions {
  /** The sandboxes, by the name of the stack each one is in the wave. Each is reset first. */
  readonly sandboxes: ReadonlyMap<string, Sandbox>;
  /**
   * The wave file as an object, without stack locations: each stack is `{ name }` (its sandbox is
   * found by name). Target, version and image default to the sandbox's (haproxy, its canary).
   */
  readonly wave: Record<string, unknown>;
  /** Every stack's plan. Defaults to {@link WAVE_DEMO_PLAN}. */
  readonly plan?: Plan;
  /** Requests per second of generated load on each sandbox. Defaults to 600. */
  readonly rps?: number;
  /** A fault injected into a stack's canary when its rollout reaches judged step `atStep`. */
  readonly faults?: readonly { readonly stack: string; readonly atStep: number; readonly fault: FaultSpec }[];
  /** Where the wave and rollout records go. Defaults to a temporary directory, removed after. */
  readonly dir?: string;
  readonly report?: (e: WaveDriverEvent) => void;
  readonly interrupt?: AbortSignal;
  /** Called once the wave waits at a stage's gate (e.g. to approve it), with the wave store. */
  readonly onGate?: (stage: string, store: FileWaveStore) => Promise<void>;
  /**
   * Whether both versions of every sandbox get their first series first ({@link warmSandboxes}).
   * Defaults to true; a caller that warmed the sandboxes once (they keep their counters) skips it.
   */
  readonly warm?: boolean;
  /** Bound on the whole wave. Defaults to 120 s. */
  readonly timeoutMs?: number;
}

/** What happened, measured from outside the driver. */
export interface SandboxWaveResult {
  readonly result: WaveResult;
  /** Each sandbox's default route after the wave. */
  readonly weights: ReadonlyMap<string, RouteWeights>;
  /** Each stack's rollout record after the wave. */
  readonly records: ReadonlyMap<string, RolloutRecord | undefined>;
  /** Requests users saw fail (no response, or a 5xx) on each sandbox during the whole wave. */
  readonly failedRequests: ReadonlyMap<string, number>;
  readonly totalRequests: ReadonlyMap<string, number>;
  readonly elapsedSeconds: number;
}

/** The wave file of the harness: every stack a haproxy stack named after its sandbox. */
export function sandboxWaveFile(doc: Record<string, unknown>, sandboxes: ReadonlyMap<string, Sandbox>, plan: Plan): WaveFile {
  const first = [...sandboxes.values()][0];
  const stages = (doc.stages as { stacks: { name: string }[] }[]).map((s) => ({ ...s, stacks: s.stacks.map((k) => ({ ...k, sandbox: `${k.name}.json` })) }));
  return validateWave({ target: "haproxy", version: first.versions.canary, image: `sandbox/app:${first.versions.canary}`, ...doc, stages }, { dir: os.tmpdir(), readPlan: () => plan });
}

/** Each stack's access: its sandbox's HAProxy, a record file in `dir`, its sandbox's Prometheus. */
export function sandboxAccesses(wave: WaveFile, sandboxes: ReadonlyMap<string, Sandbox>, dir: string): Map<string, StackAccess> {
  const out = new Map<string, StackAccess>();
  for (const stack of wave.stages.flatMap((s) => s.stacks)) {
    const sandbox = sandboxes.get(stack.name);
    if (!sandbox) throw new Error(`no sandbox for stack ${stack.name}`);
    const target = new HaproxyTarget(sandbox);
    const store = new FileRecordStore(path.join(dir, `${stack.name}.rollout.json`));
    out.set(stack.name, { stack, target: async () => target, store: async () => store, metrics: (versions) => metricsFromPlan(stack.plan, { ...versions, url: sandbox.urls.prometheus }) });
  }
  return out;
}

/**
 * Gives both versions of every sandbox counter series, and lets Prometheus scrape them, so the
 * first reading of a rollout has a baseline (a version without series is missing data, not "no
 * traffic"): a few requests to each through the override route.
 */
export async function warmSandboxes(sandboxes: Iterable<Sandbox>): Promise<void> {
  const all = [...sandboxes];
  await Promise.all(all.map((s) => runLoad({ url: s.urls.traffic, rps: 20, durationSeconds: 0.5, shares: [{ name: "override", match: { kind: "header", name: "x-canary", value: "true" }, share: 0.5 }] })));
  await new Promise((r) => setTimeout(r, 2500 * Math.max(...all.map((s) => s.scrapeIntervalSeconds))));
}

/** Runs the wave over the sandboxes under generated load and measures what users saw. */
export async function runSandboxWave(o: SandboxWaveOptions): Promise<SandboxWaveResult> {
  const started = Date.now();
  const plan = o.plan ?? parsePlan(WAVE_DEMO_PLAN);
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "canary-wave-"));
  const wave = sandboxWaveFile(o.wave, o.sandboxes, plan);
  const stop = new AbortController();
  const failed = new Map<string, number>();
  const total = new Map<string, number>();
  let loads: Promise<unknown>[] = [];
  const faults: Promise<unknown>[] = [];
  try {
    await Promise.all([...o.sandboxes.values()].map((s) => resetSandbox(s)));
    if (o.warm !== false) await warmSandboxes(o.sandboxes.values());
    loads = [...o.sandboxes].map(([name, s]) =>
      runLoad({
        url: s.urls.traffic,
        rps: o.rps ?? 600,
        durationSeconds: 3600,
        signal: stop.signal,
        onResponse: (r) => {
          total.set(name, (total.get(name) ?? 0) + 1);
          if (r.status === 0 || r.status >= 500) failed.set(name, (failed.get(name) ?? 0) + 1);
        },
      }),
    );
    const store = new FileWaveStore(path.join(dir, "wave.json"));
    const gated = new Set<string>();
    const report = (e: WaveDriverEvent): void => {
      if (e.kind === "stack" && e.event.kind === "transition" && e.event.entry.type === "advance") {
        const entry = e.event.entry;
        for (const f of o.faults ?? []) if (f.stack === e.stack && f.atStep === entry.step) faults.push(o.sandboxes.get(e.stack)!.injectFault("canary", f.fault));
      }
      if (e.kind === "gateWaiting" && o.onGate && !gated.has(e.stage)) {
        gated.add(e.stage);
        faults.push(o.onGate(e.stage, store));
      }
      o.report?.(e);
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the wave did not finish within ${(o.timeoutMs ?? 120_000) / 1000}s`)), o.timeoutMs ?? 120_000);
    });
    let result: WaveResult;
    try {
      result = await Promise.race([runWave({ wave, store, stacks: sandboxAccesses(wave, o.sandboxes, dir), report, ...(o.interrupt ? { interrupt: o.interrupt } : {}) }), timeout]);
    } finally {
      clearTimeout(timer);
    }
    await Promise.all(faults);
    stop.abort();
    await Promise.all(loads);
    const weights = new Map<string, RouteWeights>();
    const records = new Map<string, RolloutRecord | undefined>();
    for (const [name, s] of o.sandboxes) {
      weights.set(name, (await s.readWeights()).find((w) => w.route === "default")!);
      records.set(name, await new FileRecordStore(path.join(dir, `${name}.rollout.json`)).load());
    }
    return { result, weights, records, failedRequests: failed, totalRequests: total, elapsedSeconds: (Date.now() - started) / 1000 };
  } finally {
    stop.abort();
    await Promise.allSettled(loads);
    if (o.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
  }
}
