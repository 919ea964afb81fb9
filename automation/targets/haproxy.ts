/**
 * The local target: the sandbox's HAProxy, changed through its runtime API (no reload) and read
 * back the same way, using the sandbox's own weight setter (`Sandbox.setWeight`, which verifies
 * its read-back) and reader (`Sandbox.readWeights`). Both versions run as the `stable` and
 * `canary` servers; the rollout only moves the default route's weight between them, so:
 *  - setCanary checks the canary server runs the requested version and sets weight 0 (the
 *    override route, rendered at 100% canary, is the header route); blue/green is the same, both
 *    servers running at full size already, and its switch is weight 100 at once;
 *  - promote puts all traffic on the canary (weight 100): the sandbox has no deployment to
 *    rewrite, so the new version serving everything is what a promotion means here;
 *  - rollback sets weight 0 (`keepCanary`) or the snapshotted weight (`restore`).
 */
import type { Sandbox } from "../../local/sandbox";
import { errorMessage } from "../errors";
import { Strategy } from "../state";
import { OverrideRoute, RestoreError, RollbackMode, Target, TargetError, TargetSnapshot } from "./types";

/** The part of the sandbox handle the target uses. */
export type SandboxLike = Pick<Sandbox, "setWeight" | "readWeights" | "versions" | "urls" | "traffic">;

/** Options of {@link HaproxyTarget}. */
export interface HaproxyTargetOptions {
  /** The route whose split the rollout steps. Defaults to `default`. */
  readonly route?: string;
  readonly log?: (line: string) => void;
}

/** What the HAProxy target snapshots: the route's canary weight before the rollout. */
export interface HaproxySnapshot extends TargetSnapshot {
  readonly type: "haproxy";
  readonly route: string;
  /** Canary percent, undefined when both servers were at weight 0. */
  readonly canaryPercent?: number;
}

/** HAProxy of the local sandbox. */
export class HaproxyTarget implements Target {
  public readonly type = "haproxy";
  private readonly route: string;
  private readonly log: (line: string) => void;

  constructor(
    private readonly sandbox: SandboxLike,
    options: HaproxyTargetOptions = {},
  ) {
    this.route = options.route ?? "default";
    this.log = options.log ?? (() => undefined);
  }

  /** The sandbox's traffic URL. */
  get name(): string {
    return `haproxy ${this.sandbox.urls.traffic}`;
  }

  async prepare(): Promise<HaproxySnapshot> {
    const percent = await this.read();
    return { type: "haproxy", route: this.route, stableVersion: this.sandbox.versions.stable, ...(percent !== undefined ? { canaryPercent: percent } : {}) };
  }

  async setCanary(version: string): Promise<void> {
    if (this.sandbox.versions.canary !== version) {
      throw new TargetError(`${this.name}: the sandbox's canary server runs ${this.sandbox.versions.canary}, not ${version}`);
    }
    await this.apply(0);
  }

  async setWeight(weight: number): Promise<void> {
    await this.apply(weight);
  }

  /** Blue/green's pre-traffic checks need the sandbox's override route (its header ACL). */
  strategyProblem(strategy: Strategy): string | undefined {
    return strategy === "blueGreen" && !this.sandbox.traffic.override ? "the sandbox was started without an override route, through which the pre-traffic checks reach green" : undefined;
  }

  /** The sandbox's frontend and its override header. */
  async overrideRoute(): Promise<OverrideRoute | undefined> {
    const o = this.sandbox.traffic.override;
    return { url: this.sandbox.urls.traffic, ...(o && o.kind === "header" ? { header: { name: o.name, value: o.value } } : {}) };
  }

  async verify(): Promise<number | undefined> {
    const percent = await this.read();
    return percent === undefined ? undefined : Math.round(percent);
  }

  async promote(): Promise<void> {
    await this.apply(100);
  }

  async rollback(snapshot: TargetSnapshot, mode: RollbackMode): Promise<void> {
    if (snapshot.type !== "haproxy") throw new RestoreError(`${this.name}: cannot roll back from a ${snapshot.type} snapshot`);
    const s = snapshot as HaproxySnapshot;
    const weight = mode === "keepCanary" ? 0 : Math.round(s.canaryPercent ?? 0);
    try {
      await this.sandbox.setWeight(weight, s.route);
    } catch (e) {
      throw new RestoreError(`${this.name}: rollback to canary weight ${weight} failed: ${errorMessage(e)}`, e);
    }
    this.log(`${this.name}: route ${s.route} back to canary weight ${weight}`);
  }

  private async read(): Promise<number | undefined> {
    const routes = await this.call("read the weights", () => this.sandbox.readWeights());
    const r = routes.find((x) => x.route === this.route);
    if (!r) throw new TargetError(`${this.name}: no route ${this.route}; routes: ${routes.map((x) => x.route).join(", ")}`);
    return r.canaryPercent;
  }

  private async apply(weight: number): Promise<void> {
    const applied = await this.call(`set the canary weight to ${weight}`, () => this.sandbox.setWeight(weight, this.route));
    this.log(`${this.name}: route ${this.route} canary weight ${weight} (HAProxy: stable ${applied.stable}, canary ${applied.canary})`);
  }

  private async call<T>(action: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw new TargetError(`${this.name}: cannot ${action}: ${errorMessage(e)}`, e);
    }
  }
}
