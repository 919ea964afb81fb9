/**
 * The platform registry: `canary:platform` selects one module. The lookup throws on an unknown
 * platform, naming the known ones; there is no default platform to fall back to.
 */
import { Platform } from "../../components/routing";
import { aws } from "./aws";
import { gatewayApi } from "./gatewayApi";
import { gcp } from "./gcp";
import { istio } from "./istio";
import { linkerd } from "./linkerd";
import { PlatformModule } from "./types";

const MODULES: Readonly<Partial<Record<Platform, PlatformModule>>> = { aws, istio, linkerd, "gateway-api": gatewayApi, gcp };

/** Every platform the program can deploy, by `canary:platform` value. */
export function platformModules(): Readonly<Partial<Record<Platform, PlatformModule>>> {
  return MODULES;
}

/** The module for `platform`; throws naming the known platforms when there is none. */
export function platformModule(platform: string): PlatformModule {
  const module = (MODULES as Record<string, PlatformModule | undefined>)[platform];
  if (!module) {
    throw new Error(`unknown platform ${JSON.stringify(platform)}; known platforms: ${Object.keys(MODULES).join(", ")}`);
  }
  return module;
}
