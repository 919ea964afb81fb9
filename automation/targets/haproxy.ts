/**
 * The local target: the sandbox's HAProxy, changed through its runtime API (no reload) and read
 * back the same way. Both versions run as the `stable` and `canary` servers of the default
 * route's backend; the rollout only moves the weight between them, so:
 *  - setCanary checks the canary server runs the requested version and sets weight 0;
 *  - promote puts all traffic on the canary (weight 100): the sandbox has no deployment to
 *    rewrite, so the new version serving everything is what a promotion means here;
 *  - rollback sets weight 0 (`keepCanary`) or the snapshotted weights (`restore`).
 */
import { scaleSplit, ScaledWeights, SCALES, splitWeights } from "../../components/routing";
import { errorMessage, RestoreError, RollbackMode, Target, TargetError, TargetSnapshot } from "./types";

/** The runtime API operations the target needs, on one backend's `stable` and `canary` servers. */
export interface HaproxyRuntime {
  /** The address (socket path) for messages. */
  readonly address: string;
  /** The weights in effect, as HAProxy reports them. */
  getWeights(backend: string): Promise<ScaledWeights>;
  /** Applies `next` (given `current`, so the order never leaves both servers at 0). */
  setWeights(backend: string, current: ScaledWeights, next: ScaledWeights): Promise<void>;
}

/** Options of {@link HaproxyTarget}. */
export interface HaproxyTargetOptions {
  /** The backend whose split the rollout steps. Defaults to `be_default` (the default route). */
  readonly backend?: string;
  /** The version the sandbox's canary server runs; setCanary refuses any other. */
  readonly canaryVersion?: string;
  readonly log?: (line: string) => void;
}

/** What the HAProxy target snapshots: the weights before the rollout. */
export interface HaproxySnapshot extends TargetSnapshot {
  readonly type: "haproxy";
  readonly backend: string;
  readonly weights: ScaledWeights;
}

/** HAProxy through its runtime API. */
export class HaproxyTarget implements Target {
  public readonly type = "haproxy";
  private readonly backend: string;
  private readonly log: (line: string) => void;

  constructor(
    private readonly runtime: HaproxyRuntime,
    private readonly options: HaproxyTargetOptions = {},
  ) {
    this.backend = options.backend ?? "be_default";
    this.log = options.log ?? (() => undefined);
  }

  /** The runtime API address and backend. */
  get name(): string {
    return `haproxy ${this.runtime.address} ${this.backend}`;
  }

  async prepare(): Promise<HaproxySnapshot> {
    const weights = await this.call("read the weights", () => this.runtime.getWeights(this.backend));
    return { type: "haproxy", backend: this.backend, weights };
  }

  async setCanary(version: string): Promise<void> {
    if (this.options.canaryVersion !== undefined && this.options.canaryVersion !== version) {
      throw new TargetError(`${this.name}: the sandbox's canary server runs ${this.options.canaryVersion}, not ${version}`);
    }
    await this.apply(0);
  }

  async setWeight(weight: number): Promise<void> {
    await this.apply(weight);
  }

  async verify(): Promise<number | undefined> {
    const w = await this.call("read the weights", () => this.runtime.getWeights(this.backend));
    const total = w.canary + w.stable;
    // Both servers at 0 (or drained) carry no split to verify.
    return total > 0 ? Math.round((100 * w.canary) / total) : undefined;
  }

  async promote(): Promise<void> {
    await this.apply(100);
  }

  async rollback(snapshot: TargetSnapshot, mode: RollbackMode): Promise<void> {
    if (snapshot.type !== "haproxy") throw new RestoreError(`${this.name}: cannot roll back from a ${snapshot.type} snapshot`);
    const s = snapshot as HaproxySnapshot;
    const next = mode === "keepCanary" ? scaleSplit(splitWeights(0), SCALES.haproxy) : s.weights;
    try {
      const current = await this.runtime.getWeights(s.backend);
      await this.runtime.setWeights(s.backend, current, next);
      this.log(`${this.name}: weights restored to stable ${next.stable}, canary ${next.canary}`);
    } catch (e) {
      throw new RestoreError(`${this.name}: rollback failed: ${errorMessage(e)}`, e);
    }
  }

  private async apply(weight: number): Promise<void> {
    const next = scaleSplit(splitWeights(weight), SCALES.haproxy);
    await this.call(`set the canary weight to ${weight}`, async () => {
      const current = await this.runtime.getWeights(this.backend);
      await this.runtime.setWeights(this.backend, current, next);
    });
    this.log(`${this.name}: canary weight ${weight} (stable ${next.stable}, canary ${next.canary})`);
  }

  private async call<T>(action: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw new TargetError(`${this.name}: cannot ${action}: ${errorMessage(e)}`, e);
    }
  }
}
