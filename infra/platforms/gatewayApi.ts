/** The Gateway API platform: `canary:gateway` block and the GatewayCanary component. */
import { z } from "zod";
import { GatewayCanary, GatewayCanaryArgs, gatewayCanaryProblems } from "../../components/gateway";
import { dnsLabel, dnsSubdomain, hostName } from "../../components/validation";
import { workloadShape } from "../schema";
import { zString } from "../zod";
import { blockKeys, workloadArgs } from "./args";
import { definePlatform } from "./types";

/** `canary:gateway`. Required: the Gateway to attach to has no sensible default. */
export const gatewayBlockSchema = z.strictObject({
  /** The existing Gateway the HTTPRoute attaches to; its listener must allow routes from `namespace`. */
  gateway: z.strictObject(
    {
      /** The Gateway's name. */
      name: zString(dnsSubdomain),
      /** The Gateway's namespace. */
      namespace: zString(dnsLabel),
      /** One listener of the Gateway. Defaults to every listener that allows the route. */
      sectionName: zString(dnsSubdomain).optional(),
    },
    { error: "must be an object with name, namespace and optionally sectionName" },
  ),
  /** Host names the route serves (1–16, GatewayCanary's check). Defaults to every host name the listener accepts. */
  hostnames: z.array(zString(hostName), { error: "must be a list of host names" }).optional(),
  /** Namespace of the HTTPRoute, Services and Deployments, and the other workload settings. */
  ...workloadShape,
});

/** The validated `canary:gateway` block. */
export type GatewayBlock = z.output<typeof gatewayBlockSchema>;

/** The Gateway API platform module. */
export const gatewayApi = definePlatform({
  platform: "gateway-api",
  blockKey: "gateway",
  blockSchema: gatewayBlockSchema,
  args: (config, block): GatewayCanaryArgs => ({ ...workloadArgs(config, block), gateway: block.gateway, hostnames: block.hostnames }),
  check: gatewayCanaryProblems,
  keyOf: blockKeys("gateway", { gateway: ["gateway"], hostnames: ["hostnames"] }),
  deploy: (args, config, block) => {
    const canary = new GatewayCanary(config.service, args);
    return {
      namespace: block.namespace,
      gateway: `${block.gateway.namespace}/${block.gateway.name}`,
      httpRouteName: canary.httpRouteName,
      stableServiceName: canary.stableService.metadata.name,
      canaryServiceName: canary.canaryService?.metadata.name ?? null,
      stableDeploymentName: canary.stableDeployment.metadata.name,
      canaryDeploymentName: canary.canaryDeployment?.metadata.name ?? null,
      appliedCanaryWeight: canary.appliedCanaryWeight,
    };
  },
  deprecatedOutputs: { httpRoute: "httpRouteName", stableService: "stableServiceName", canaryService: "canaryServiceName" },
});
