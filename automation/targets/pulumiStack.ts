/**
 * The Pulumi target: the stack config is the source of truth, so every change is a config
 * change followed by `up`, and a rollback restores the config snapshotted before the rollout
 * (keys added since are removed) and runs `up` again. Nothing drifts from the IaC.
 *
 * Written against {@link StackLike}, the part of the Automation API's `Stack` it uses, so the
 * tests can run it against an in-memory stack whose `up` evaluates the real program.
 */
import { ConcurrentUpdateError, ConfigMap, ConfigValue, LocalWorkspace, Stack, UpResult } from "@pulumi/pulumi/automation";
import { allCapabilities, capabilitiesOf, PLATFORMS } from "../../components/routing/capabilities";
import { NAMESPACE } from "../../infra/keys";
import { ROLLOUT_RECORD_KEY } from "../record/pulumiConfig";
import { errorMessage } from "../errors";
import { Strategy } from "../state";
import { ConcurrentUpdateRefusedError, OverrideRoute, RestoreError, RollbackMode, Target, TargetError, TargetSnapshot } from "./types";

/** The part of the Automation API's `Stack` this target (and the record store) uses. */
export type StackLike = Pick<Stack, "name" | "getAllConfig" | "setAllConfig" | "removeAllConfig" | "setConfig" | "up" | "outputs" | "info">;

// Compile-time proof that the real Stack class satisfies StackLike.
const realStackIsStackLike = (s: Stack): StackLike => s;
void realStackIsStackLike;

/** Config keys the driver writes. */
export const KEYS = { canary: "canary:canary", stable: "canary:stable", weight: "canary:weight" } as const;

/** One snapshotted config value. A secret's value is not kept in the record (see {@link PulumiSnapshot}). */
export interface SnapshotValue {
  readonly value?: string;
  readonly secret: boolean;
}

/**
 * The stack config before the rollout. Secret values are redacted (only `secret: true` is
 * kept) so the record, which is stored in plain text, never holds a secret: the driver never
 * writes a secret key, so a rollback leaves secret keys as they are.
 */
export interface PulumiSnapshot extends TargetSnapshot {
  readonly type: "pulumi";
  readonly stack: string;
  readonly config: Readonly<Record<string, SnapshotValue>>;
}

/** `{ stableVersion }` from `canary:stable`, or nothing when it is not readable. */
function stableVersionIn(config: ConfigMap): { stableVersion?: string } {
  try {
    const v = JSON.parse(config[KEYS.stable]?.value ?? "null") as { version?: unknown } | null;
    return typeof v?.version === "string" ? { stableVersion: v.version } : {};
  } catch {
    return {};
  }
}

/** The value of `canary:canary`: the version, its image, and `strategy: blueGreen` for green. */
interface CanaryValue {
  readonly version: string;
  readonly image: string;
  readonly strategy?: "blueGreen";
}

/** Options of {@link PulumiStackTarget}. */
export interface PulumiStackTargetOptions {
  /** Receives the `up` output line by line, and the target's own notes. */
  readonly log?: (line: string) => void;
  /** Keys a rollback never restores or removes. Defaults to the rollout record's key. */
  readonly preserveKeys?: readonly string[];
}

function isSnapshot(s: TargetSnapshot): s is PulumiSnapshot {
  return s.type === "pulumi" && typeof s.config === "object" && s.config !== null;
}

/** A Pulumi stack driven through the Automation API. */
export class PulumiStackTarget implements Target {
  public readonly type = "pulumi";
  private readonly log: (line: string) => void;
  private readonly preserve: ReadonlySet<string>;
  /** The full snapshot, secrets included, while this process holds it. */
  private full?: ConfigMap;
  private canary?: CanaryValue;

  constructor(
    private readonly stack: StackLike,
    options: PulumiStackTargetOptions = {},
  ) {
    this.log = options.log ?? (() => undefined);
    this.preserve = new Set(options.preserveKeys ?? [ROLLOUT_RECORD_KEY]);
  }

  /** The stack name. */
  get name(): string {
    return this.stack.name;
  }

  async prepare(): Promise<PulumiSnapshot> {
    const last = await this.call("read the last update", () => this.stack.info());
    if (last?.result === "in-progress") {
      throw new ConcurrentUpdateRefusedError(
        `stack ${this.name}: an update started at ${new Date(last.startTime).toISOString()} is still in progress; refusing to start a rollout (wait for it, or cancel it with \`pulumi cancel\`)`,
      );
    }
    const config = await this.call("read the config", () => this.stack.getAllConfig());
    this.full = config;
    const redacted: Record<string, SnapshotValue> = {};
    for (const [k, v] of Object.entries(config)) {
      if (this.preserve.has(k)) continue;
      redacted[k] = v.secret ? { secret: true } : { value: v.value, secret: false };
    }
    return { type: "pulumi", stack: this.name, ...stableVersionIn(config), config: redacted };
  }

  async setCanary(version: string, image: string, strategy?: Strategy): Promise<void> {
    this.canary = { version, image, ...(strategy === "blueGreen" ? { strategy } : {}) };
    const canary = this.canary;
    await this.call(`set ${KEYS.canary} to ${version}`, () => this.stack.setAllConfig({ [KEYS.canary]: { value: JSON.stringify(canary) }, [KEYS.weight]: { value: "0" } }));
    await this.up(strategy === "blueGreen" ? `canary: deploy green ${version} beside blue at weight 0` : `canary: deploy ${version} at weight 0`);
  }

  /**
   * Blue/green needs a platform that can express it (the capability matrix, read from
   * `canary:platform`) and the override route for its pre-traffic checks (`canary:override`).
   */
  strategyProblem(strategy: Strategy, snapshot: TargetSnapshot): string | undefined {
    if (strategy !== "blueGreen" || !isSnapshot(snapshot)) return undefined;
    const platform = snapshot.config[`${NAMESPACE}:platform`]?.value;
    if (platform === undefined || !(PLATFORMS as readonly string[]).includes(platform)) return `stack ${this.name} has no known canary:platform (${JSON.stringify(platform ?? null)})`;
    const support = capabilitiesOf(platform).features.blueGreen;
    if (!support.supported) {
      const others = allCapabilities().filter((c) => c.features.blueGreen.supported).map((c) => c.platform);
      return `platform ${platform} cannot do blue/green: ${support.why}; platforms that can: ${others.join(", ")}`;
    }
    try {
      const override = JSON.parse(snapshot.config[`${NAMESPACE}:override`]?.value ?? "{}") as { enabled?: unknown };
      if (override.enabled === false) return "canary:override.enabled is false: the pre-traffic checks reach green through the override route (enable it)";
    } catch {
      // An unreadable override is the program's to refuse, at the first up.
    }
    return undefined;
  }

  /** The canary's tag URL (Cloud Run), or the override header, from the last update's outputs. */
  async overrideRoute(): Promise<OverrideRoute | undefined> {
    const outputs = await this.call("read the stack outputs", () => this.stack.outputs());
    const url: unknown = outputs.canaryUrl?.value;
    const header = outputs.overrideHeader?.value as { name?: unknown; value?: unknown } | null | undefined;
    const route = {
      ...(typeof url === "string" && url !== "" ? { url } : {}),
      ...(header && typeof header.name === "string" && typeof header.value === "string" ? { header: { name: header.name, value: header.value } } : {}),
    };
    return Object.keys(route).length > 0 ? route : undefined;
  }

  async setWeight(weight: number): Promise<void> {
    await this.call(`set ${KEYS.weight} to ${weight}`, () => this.stack.setConfig(KEYS.weight, { value: String(weight) }));
    await this.up(`canary: weight ${weight}${this.canary ? ` (${this.canary.version})` : ""}`);
  }

  async verify(): Promise<number | undefined> {
    const outputs = await this.call("read the stack outputs", () => this.stack.outputs());
    const applied: unknown = outputs.appliedCanaryWeight?.value;
    return typeof applied === "number" && Number.isFinite(applied) ? applied : undefined;
  }

  async promote(): Promise<void> {
    const canary = this.canary ?? (await this.currentCanary());
    // The stable version is a version and its image: how the canary was rolled out stays with the canary.
    const stable = { version: canary.version, image: canary.image };
    await this.call(`promote ${canary.version}`, async () => {
      await this.stack.setAllConfig({ [KEYS.stable]: { value: JSON.stringify(stable) }, [KEYS.weight]: { value: "0" } });
      await this.stack.removeAllConfig([KEYS.canary]);
    });
    await this.up(`canary: promote ${canary.version} to stable`);
  }

  async rollback(snapshot: TargetSnapshot, mode: RollbackMode): Promise<void> {
    if (!isSnapshot(snapshot)) {
      throw new RestoreError(`stack ${this.name}: cannot roll back from a ${snapshot.type} snapshot`);
    }
    if (snapshot.stack !== this.name) {
      throw new RestoreError(`stack ${this.name}: the snapshot was taken of stack ${snapshot.stack}`);
    }
    try {
      const current = await this.stack.getAllConfig();
      const desired: Record<string, SnapshotValue> = {};
      for (const [k, v] of Object.entries(snapshot.config)) {
        // A secret's value is only known to the process that took the snapshot.
        const full = this.full?.[k];
        desired[k] = v.secret ? (full ? { value: full.value, secret: true } : { secret: true }) : v;
      }
      if (mode === "keepCanary") {
        const canary = this.canary ?? this.canaryIn(current);
        if (canary) {
          // Kept for debugging at weight 0: at a canary's size, not green's full one.
          desired[KEYS.canary] = { value: JSON.stringify({ version: canary.version, image: canary.image }), secret: false };
          desired[KEYS.weight] = { value: "0", secret: false };
        }
      }
      const set: ConfigMap = {};
      for (const [k, v] of Object.entries(desired)) {
        if (this.preserve.has(k) || v.value === undefined) continue;
        const now = current[k];
        if (!now || now.value !== v.value || (now.secret ?? false) !== v.secret) set[k] = { value: v.value, secret: v.secret };
      }
      const remove = Object.keys(current).filter((k) => !(k in desired) && !this.preserve.has(k));
      if (Object.keys(set).length > 0) await this.stack.setAllConfig(set);
      if (remove.length > 0) await this.stack.removeAllConfig(remove);
      this.log(`restored the config of stack ${this.name}: set ${Object.keys(set).join(", ") || "nothing"}; removed ${remove.join(", ") || "nothing"}`);
      await this.up(mode === "keepCanary" ? "canary: roll back (canary kept at weight 0)" : "canary: roll back to the snapshot");
    } catch (e) {
      if (e instanceof ConcurrentUpdateRefusedError) throw new RestoreError(`stack ${this.name}: rollback refused: ${e.message}`, e);
      throw new RestoreError(`stack ${this.name}: rollback failed: ${errorMessage(e)}`, e);
    }
  }

  private canaryIn(config: ConfigMap): CanaryValue | undefined {
    const raw = config[KEYS.canary]?.value;
    if (raw === undefined) return undefined;
    try {
      const v = JSON.parse(raw) as { version?: unknown; image?: unknown; strategy?: unknown };
      return typeof v.version === "string" && typeof v.image === "string" ? { version: v.version, image: v.image, ...(v.strategy === "blueGreen" ? { strategy: "blueGreen" as const } : {}) } : undefined;
    } catch {
      return undefined;
    }
  }

  private async currentCanary(): Promise<CanaryValue> {
    const canary = this.canaryIn(await this.call("read the config", () => this.stack.getAllConfig()));
    if (!canary) throw new TargetError(`stack ${this.name}: cannot promote: ${KEYS.canary} is not set`);
    return canary;
  }

  private async up(message: string): Promise<UpResult> {
    this.log(`pulumi up (stack ${this.name}): ${message}`);
    return this.call(`run pulumi up (${message})`, () =>
      this.stack.up({
        message,
        onOutput: (out: string) => {
          for (const line of out.split("\n")) if (line.trim() !== "") this.log(line.trimEnd());
        },
      }),
    );
  }

  /** Runs one stack operation, turning a concurrent update into a refusal and any failure into a TargetError with context. */
  private async call<T>(action: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof TargetError) throw e;
      if (e instanceof ConcurrentUpdateError) {
        throw new ConcurrentUpdateRefusedError(`stack ${this.name}: cannot ${action}: another update of the stack is in progress; refusing (not retried)`, e);
      }
      throw new TargetError(`stack ${this.name}: cannot ${action}: ${errorMessage(e)}`, e);
    }
  }
}

/** Where a Pulumi stack lives. */
export interface PulumiStackSpec {
  readonly stackName: string;
  /** The Pulumi project directory (holding Pulumi.yaml). */
  readonly workDir: string;
}

/** Selects an existing stack of the project in `workDir` (it is never created). */
export async function selectStack(spec: PulumiStackSpec): Promise<Stack> {
  try {
    return await LocalWorkspace.selectStack({ stackName: spec.stackName, workDir: spec.workDir });
  } catch (e) {
    const why = /ENOENT: pulumi/.test(errorMessage(e)) ? "the Pulumi CLI is not installed or not on PATH" : errorMessage(e);
    throw new TargetError(`cannot select stack ${spec.stackName} in ${spec.workDir}: ${why}`, e);
  }
}

/** A value of the config map. */
export type { ConfigValue };
