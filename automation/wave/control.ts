/**
 * Control of a wave from another process (`canary wave abort|pause|resume|approve`), through the
 * wave record only, as the rollout's control verbs work through the rollout record
 * (automation/rollout/control.ts): whoever may write the wave record may control the wave.
 * - With a running wave driver, the verb appends a pending request that the driver applies at
 *   its next tick (./requests.ts), and waits for the acknowledgement.
 * - With none, the verb applies the request to the record itself; an abort then runs the wave's
 *   own loop (./run.ts) to roll the failed stage back and apply the wave's policy, holding the
 *   wave's lease meanwhile.
 */
import { ControlRefusedError } from "../rollout/control";
import { Clock, isoNow } from "../rollout/clock";
import { leaseLive } from "../rollout/lease";
import { isWaveUnfinished, WaveControlRequest, WaveRecord } from "./record";
import { applyWaveControl, newWaveRequest, WaveControlInput, waveRefusalOf } from "./requests";
import { WaveResult } from "./run";
import { WaveConflictError, WaveStore } from "./store";

/**
 * Appends a request to the stored record (derived from `record`), retrying over a newer record
 * while it is the same unfinished wave.
 * @throws ControlRefusedError when the wave ended or was replaced meanwhile.
 */
export async function submitWaveControl(store: WaveStore, record: WaveRecord, request: WaveControlRequest): Promise<WaveRecord> {
  let current = record;
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.save({ ...current, controls: [...(current.controls ?? []), request] });
    } catch (e) {
      if (!(e instanceof WaveConflictError) || attempt >= 20) throw e;
      const stored = e.stored;
      if (!stored || stored.id !== record.id || !isWaveUnfinished(stored.phase)) {
        throw new ControlRefusedError(`wave ${record.id} ${stored?.id === record.id ? `is ${stored.phase}` : "was replaced"} while ${request.verb} was being recorded: nothing to ${request.verb}`);
      }
      current = stored;
    }
  }
}

/** Waits until the running wave driver settles `request`; `undefined` after `timeoutMs`. */
export async function awaitWaveControl(
  store: WaveStore,
  request: WaveControlRequest,
  timeoutMs: number,
  clock: Clock,
): Promise<WaveControlRequest | undefined> {
  const now = (): number => clock.now();
  const deadline = now() + timeoutMs;
  for (;;) {
    const stored = await store.load();
    const mine = stored?.controls?.find((c) => c.id === request.id);
    if (mine && mine.status !== "pending") return mine;
    if (now() >= deadline) return undefined;
    await clock.sleep(Math.min(500, Math.max(deadline - now(), 1)));
  }
}

/** How a wave control call ended. */
export interface WaveControlOutcome {
  /** `applied` (by the running driver, or to the stopped wave), `refused`, `timeout`, or how an abort of a stopped wave ended. */
  readonly status: "applied" | "refused" | "timeout" | "restoreFailed";
  readonly message: string;
  readonly record?: WaveRecord;
}

/** What a wave control call acts with. */
export interface WaveControlOptions {
  readonly clock: Clock;
  /** How long to wait for a running wave driver to apply the request. */
  readonly waitMs: number;
  /** The stages that have a gate (from the wave file). */
  readonly gates: readonly string[];
  /** Finishes a stopped wave an abort set rolling back: runs the wave's loop on it. */
  readonly finish: () => Promise<WaveResult>;
  readonly log?: (line: string) => void;
}

/**
 * Acts on the wave in `store`: through its running driver, or directly when none holds it.
 * @throws ControlRefusedError when there is nothing to act on or the verb is illegal now.
 */
export async function controlWave(store: WaveStore, input: WaveControlInput, o: WaveControlOptions): Promise<WaveControlOutcome> {
  const { clock } = o;
  for (let attempt = 1; ; attempt++) {
    const record = await store.load();
    if (!record) throw new ControlRefusedError(`no wave recorded in ${store.description}: nothing to ${input.verb}`);
    if (!isWaveUnfinished(record.phase)) throw new ControlRefusedError(`wave ${record.id} (${record.name}) is ${record.phase}: nothing to ${input.verb}`);
    const at = isoNow(clock);
    const request = newWaveRequest(input, clock.now());
    const refused = waveRefusalOf(record, request, at, o.gates);
    if (refused !== undefined) throw new ControlRefusedError(refused);
    const driver = record.lease && leaseLive(record.lease, clock.now()) ? record.lease : undefined;
    if (driver) {
      await submitWaveControl(store, record, request);
      o.log?.(`${input.verb}: requested from the running wave driver ${driver.holder}; waiting for it to apply the request`);
      const settled = await awaitWaveControl(store, request, o.waitMs, clock);
      if (!settled) return { status: "timeout", message: `the wave driver ${driver.holder} did not acknowledge ${input.verb} within ${Math.round(o.waitMs / 1000)}s; the request stays pending in ${store.description}` };
      return settled.status === "applied"
        ? { status: "applied", message: `${input.verb} applied by ${driver.holder}: ${settled.result ?? ""}` }
        : { status: "refused", message: `${input.verb} refused by ${driver.holder}: ${settled.result ?? ""}` };
    }
    const requested = { ...record, controls: [...(record.controls ?? []), request] };
    let saved: WaveRecord;
    try {
      saved = await store.save(applyWaveControl(requested, request, at, o.gates).record);
    } catch (e) {
      // A driver started meanwhile: start over, through it.
      if (e instanceof WaveConflictError && attempt < 5) continue;
      throw e;
    }
    if (input.verb !== "abort") {
      return { status: "applied", message: `${input.verb}: wave ${saved.id} ${input.verb === "approve" ? `stage ${input.stage} approved (recorded; honoured when the wave reaches it)` : input.verb === "pause" ? "paused (no wave driver is running; the next run holds before the next stage)" : "resumed (no wave driver is running; `canary wave run` continues it)"}`, record: saved };
    }
    o.log?.(`abort: no wave driver is running; rolling wave ${saved.id} back here`);
    const result = await o.finish();
    return {
      status: result.outcome === "restoreFailed" ? "restoreFailed" : "applied",
      message: result.outcome === "restoreFailed" ? result.reason : `aborted wave ${saved.id}: ${result.record.phase}: ${result.reason}`,
      record: result.record,
    };
  }
}
