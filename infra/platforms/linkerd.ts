/** The Linkerd platform: `canary:linkerd` block and the LinkerdCanary component. */
import { z } from "zod";
import { LinkerdCanary } from "../../components/linkerd";
import { workloadShape } from "../schema";
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
  deploy: (config, block) => {
    const canary = new LinkerdCanary(config.service, {
      service: config.service,
      namespace: block.namespace,
      stableVersion: config.stable.version,
      stableImage: config.stable.image,
      canaryVersion: config.canary?.version,
      canaryImage: config.canary?.image,
      traffic: config.traffic,
      port: block.port,
      targetPort: block.targetPort,
      replicas: block.replicas,
      healthPath: block.healthPath,
      resources: block.resources,
    });
    return {
      namespace: block.namespace,
      apexService: canary.apexService.metadata.name,
      stableService: canary.stableService.metadata.name,
      canaryService: canary.canaryService?.metadata.name ?? null,
      trafficSplit: canary.trafficSplitName,
      appliedCanaryWeight: canary.appliedCanaryWeight,
    };
  },
});
