/** The Linkerd platform: `canary:linkerd` block and the LinkerdCanary component. */
import { z } from "zod";
import { LinkerdCanary } from "../../components/linkerd/linkerdCanary";
import { dnsLabel } from "../schema";
import { definePlatform } from "./types";

const int = (min: number, max: number) => {
  const message = `must be an integer from ${min} to ${max}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
};
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const quantity = z.string({ error: "must be a Kubernetes quantity such as 100m or 128Mi" }).regex(QUANTITY, { error: "must be a Kubernetes quantity such as 100m or 128Mi" });

const defaultResources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } };

/** `canary:linkerd`. Every field has a default, so the block may be omitted. */
export const linkerdBlockSchema = z
  .strictObject({
    /** Namespace of every resource; Linkerd's SMI extension must be installed in the cluster. Defaults to default. */
    namespace: dnsLabel.default("default"),
    /** Service port (apex, stable and canary Services). Defaults to 80. */
    port: int(1, 65535).default(80),
    /** Container port. Defaults to 8080. */
    targetPort: int(1, 65535).default(8080),
    /** Stable replicas; the canary gets ceil(replicas × weight / 100), at least 1. Defaults to 3. */
    replicas: int(1, 1000).default(3),
    /** Path of the readiness and liveness probes. Defaults to /health. */
    healthPath: z.string({ error: "must be a path starting with /" }).regex(/^\/\S*$/, { error: "must be a path starting with /" }).default("/health"),
    /** Container resources, identical for both versions. */
    resources: z
      .strictObject({
        requests: z.strictObject({ cpu: quantity, memory: quantity }),
        limits: z.strictObject({ cpu: quantity, memory: quantity }),
      })
      .default(defaultResources),
  })
  .default({ namespace: "default", port: 80, targetPort: 8080, replicas: 3, healthPath: "/health", resources: defaultResources });

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
      trafficSplit: canary.trafficSplit.metadata.name,
      appliedCanaryWeight: canary.appliedCanaryWeight,
    };
  },
});
