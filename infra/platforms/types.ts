/**
 * The seam between the validated config and the per-platform components: one module per
 * platform, each owning its config block's schema and turning the config into resources.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { Platform, TrafficSpec } from "../../components/routing";
import { commonShape } from "../schema";

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
  /** Creates the platform's component from the validated config. */
  deploy(config: CanaryConfig): PlatformOutputs;
}

/**
 * Declares a platform module, typing `deploy`'s block by the block schema so the one cast from
 * the registry's `unknown` lives here.
 */
export function definePlatform<S extends z.ZodType>(module: {
  platform: Platform;
  blockKey: string;
  blockSchema: S;
  deploy(config: CanaryConfig, block: z.output<S>): PlatformOutputs;
}): PlatformModule {
  return {
    platform: module.platform,
    blockKey: module.blockKey,
    blockSchema: module.blockSchema,
    deploy: (config) => module.deploy(config, config.block as z.output<S>),
  };
}
