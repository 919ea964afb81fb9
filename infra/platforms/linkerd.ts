/** The Linkerd platform: `canary:linkerd` block and the LinkerdCanary component. */
import { z } from "zod";
import { LinkerdCanary, linkerdCanaryProblems } from "../../components/linkerd";
import { workloadShape } from "../schema";
import { blockKeys, workloadArgs } from "./args";
import { definePlatform } from "./types";

/** `canary:linkerd`. Every field has a default, so the block may be omitted. Linkerd's SMI extension must be installed. */
export const linkerdBlockSchema = z.strictObject({ ...workloadShape }).prefault({});

/** The validated `canary:linkerd` block. */
export type LinkerdBlock = z.output<typeof linkerdBlockSchema>;

/** The Linkerd platform module. */
export const linkerd = definePlatform({
  platform: "linkerd",
  blockKey: "linkerd",
  blockSchema: linkerdBlockSchema,
  args: workloadArgs,
  check: linkerdCanaryProblems,
  keyOf: blockKeys("linkerd", {}),
  deploy: (args, config, block) => {
    const canary = new LinkerdCanary(config.service, args);
    return {
      namespace: block.namespace,
      serviceName: canary.apexService.metadata.name,
      stableServiceName: canary.stableService.metadata.name,
      canaryServiceName: canary.canaryService?.metadata.name ?? null,
      stableDeploymentName: canary.stableDeployment.metadata.name,
      canaryDeploymentName: canary.canaryDeployment?.metadata.name ?? null,
      trafficSplitName: canary.trafficSplitName,
      appliedCanaryWeight: canary.appliedCanaryWeight,
    };
  },
  deprecatedOutputs: { apexService: "serviceName", stableService: "stableServiceName", canaryService: "canaryServiceName", trafficSplit: "trafficSplitName" },
});
