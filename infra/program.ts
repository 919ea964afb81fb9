/**
 * The Pulumi program: validated config → the selected platform's component → stack outputs.
 * Exported as a function so the CLI entry point, the Automation API and the tests all run the
 * same code.
 */
import * as pulumi from "@pulumi/pulumi";
import { splitWeights } from "../components/routing";
import { loadConfig } from "./config";
import { deployMonitoring } from "./monitoring";
import { platformModule } from "./platforms";

/** The stack outputs every platform shares; dashboards and the rollout driver read these. */
export interface StackOutputs {
  readonly service: string;
  readonly platform: string;
  /** The configured canary weight, percent. */
  readonly canaryWeight: number;
  /** The stable weight derived from it, percent. */
  readonly stableWeight: number;
  readonly stableVersion: string;
  /** The canary's version, or null when no canary is deployed. */
  readonly canaryVersion: string | null;
  /** The canary weight as rendered into the platform's traffic resource (read back from its outputs). */
  readonly appliedCanaryWeight: pulumi.Output<number>;
  /**
   * The header that sends a request to the canary whatever the weight (pre-traffic checks), or
   * null: no canary, no override route, or Cloud Run, which reaches the canary by its tag URL
   * (`canaryUrl`).
   */
  readonly overrideHeader: { readonly name: string; readonly value: string } | null;
  /**
   * Platform identifiers: target group and rule ARNs, resource names and namespace, URLs. Names
   * of objects the stack creates end in `Name` (`serviceName`, `stableDeploymentName`, …) on every
   * platform; former names are kept as deprecated aliases (PlatformModule.deprecatedOutputs).
   */
  readonly [name: string]: pulumi.Input<unknown>;
}

/**
 * Runs the program. Config is validated first, so invalid config fails before any resource is
 * registered.
 */
export function program(): StackOutputs {
  const config = loadConfig();
  const split = splitWeights(config.weight);
  const module = platformModule(config.platform);
  const platformOutputs = module.deploy(config);
  const monitoringOutputs = deployMonitoring(config);
  // Renamed outputs stay under their former names too: dashboards and scripts read them.
  const deprecated = Object.fromEntries(Object.entries(module.deprecatedOutputs).map(([old, current]) => [old, platformOutputs[current]]));
  return {
    ...deprecated,
    ...platformOutputs,
    ...monitoringOutputs,
    service: config.service,
    platform: config.platform,
    canaryWeight: split.canary,
    stableWeight: split.stable,
    stableVersion: config.stable.version,
    canaryVersion: config.canary?.version ?? null,
    overrideHeader: config.canary && config.traffic.override && config.platform !== "gcp" ? { name: config.traffic.override.name, value: config.traffic.override.value } : null,
  };
}
