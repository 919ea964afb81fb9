/**
 * The seam between the validated config and the per-platform components: one module per
 * platform, each owning its config block's schema, the one map from the config to its
 * component's arguments, and the way back from an argument to the config key that set it.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { Platform, TrafficSpec } from "../../components/routing";
import { Path, Problem } from "../../components/validation";
import type { commonShape } from "../schema";

type Common = z.output<z.ZodObject<typeof commonShape>>;

/** The validated stack config: every shared key with its default applied, plus the platform block. */
export interface CanaryConfig extends Common {
  readonly platform: Platform;
  /** The validated `canary:<blockKey>` block; platform modules receive it typed through definePlatform. */
  readonly block: unknown;
  /** The traffic model derived from the shared keys (the only weight input is `weight`). */
  readonly traffic: TrafficSpec;
}

/**
 * What a platform adds to the stack outputs. `appliedCanaryWeight` is read from the rendered
 * resource's own outputs (not from config), so the driver can verify what was deployed.
 */
export interface PlatformOutputs {
  readonly appliedCanaryWeight: pulumi.Output<number>;
  readonly [name: string]: pulumi.Input<unknown>;
}

/** A platform as the program sees it. Create one with {@link definePlatform}. */
export interface PlatformModule {
  readonly platform: Platform;
  /** The block's key after `canary:`, e.g. `aws`, `istio`, `gateway`. */
  readonly blockKey: string;
  /** Validates the raw block (which is `undefined` when the key is not set). */
  readonly blockSchema: z.ZodType;
  /**
   * The component's own check of the arguments this config gives it, each problem at the config
   * path (after `canary:`) that set the argument: what `pulumi up` would refuse, found before
   * anything is registered.
   */
  problems(config: CanaryConfig): Problem[];
  /** Creates the platform's component from the validated config. */
  deploy(config: CanaryConfig): PlatformOutputs;
  /**
   * Stack outputs kept under their former names (deprecated name → current name): outputs are a
   * public contract, so a renamed output is exported under both names.
   */
  readonly deprecatedOutputs: Readonly<Record<string, string>>;
}

/**
 * Declares a platform module, typing `args`, `problems` and `deploy` by the block schema and the
 * component's argument type, so the one cast from the registry's `unknown` lives here.
 */
export function definePlatform<S extends z.ZodType, A>(module: {
  platform: Platform;
  blockKey: string;
  blockSchema: S;
  /** The component's arguments from the config: the one config-to-arguments map. */
  args(config: CanaryConfig, block: z.output<S>): A;
  /** The component's exported argument check. */
  check(args: A): Problem[];
  /** The config path (after `canary:`) that sets an argument path, or undefined when none does. */
  keyOf(argPath: Path): Path | undefined;
  /** Creates the component from its arguments and returns the platform's stack outputs. */
  deploy(args: A, config: CanaryConfig, block: z.output<S>): PlatformOutputs;
  deprecatedOutputs?: Readonly<Record<string, string>>;
}): PlatformModule {
  const block = (config: CanaryConfig) => config.block as z.output<S>;
  return {
    platform: module.platform,
    blockKey: module.blockKey,
    blockSchema: module.blockSchema,
    problems: (config) => module.check(module.args(config, block(config))).map((p) => ({ ...p, path: module.keyOf(p.path) ?? [module.blockKey, `(argument ${p.path.join(".")})`] })),
    deploy: (config) => module.deploy(module.args(config, block(config)), config, block(config)),
    deprecatedOutputs: module.deprecatedOutputs ?? {},
  };
}
