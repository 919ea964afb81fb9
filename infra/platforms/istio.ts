/** The Istio platform: `canary:istio` block and the IstioCanary component. */
import { z } from "zod";
import { IstioCanary } from "../../components/istio";
import { intRange, workloadShape } from "../schema";
import { definePlatform } from "./types";

const DURATION = /^[0-9]+(ms|s|m|h)$/;
// Istio's CRD refuses durations under 1ms (a CEL rule the schema check alone would not catch).
const duration = z
  .string({ error: "must be a duration such as 30s or 1m" })
  .regex(DURATION, { error: "must be a duration such as 30s or 1m" })
  .refine((d) => !/^0+[a-z]+$/.test(d), { error: "must be a duration of at least 1ms" });
const hostName = z.string({ error: "must be a host name" }).regex(/^(\*\.)?[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, { error: "must be a host name" });

/** `canary:istio`. Every field has a default, so the block may be omitted. */
export const istioBlockSchema = z
  .strictObject({
    /** Namespace, ports, replicas, probes and resources. */
    ...workloadShape,
    /** VirtualService hosts. Defaults to the service name. */
    hosts: z.array(hostName, { error: "must be a list of host names" }).min(1, { error: "must list at least one host" }).optional(),
    /** Gateways the VirtualService binds to (namespace/name). Defaults to the mesh only. */
    gateways: z.array(z.string({ error: "must be a gateway name" }).regex(/^([a-z0-9-]+\/)?[a-z0-9-]+$/, { error: "must be a gateway name such as istio-system/public" }), { error: "must be a list of gateway names" }).optional(),
    /** DestinationRule outlier detection. Defaults: 5 consecutive 5xx, every 30s, eject 30s, at most 50%. */
    outlierDetection: z
      .strictObject({
        consecutive5xxErrors: intRange(1, 1000).default(5),
        interval: duration.default("30s"),
        baseEjectionTime: duration.default("30s"),
        maxEjectionPercent: intRange(0, 100).default(50),
      })
      .prefault({}),
  })
  .prefault({});

/** The validated `canary:istio` block. */
export type IstioBlock = z.output<typeof istioBlockSchema>;

/**
 * The Istio platform module: one IstioCanary named after the service. Its outputs name every
 * Kubernetes object it manages, and `appliedCanaryWeight` is read back from the VirtualService.
 */
export const istio = definePlatform({
  platform: "istio",
  blockKey: "istio",
  blockSchema: istioBlockSchema,
  deploy: (config, block) => {
    const canary = new IstioCanary(config.service, {
      service: config.service,
      namespace: block.namespace,
      stableVersion: config.stable.version,
      stableImage: config.stable.image,
      canaryVersion: config.canary?.version,
      canaryImage: config.canary?.image,
      traffic: config.traffic,
      hosts: block.hosts,
      gateways: block.gateways,
      port: block.port,
      targetPort: block.targetPort,
      replicas: block.replicas,
      healthPath: block.healthPath,
      resources: block.resources,
      outlierDetection: block.outlierDetection,
    });
    return {
      namespace: block.namespace,
      virtualServiceName: canary.virtualServiceName,
      destinationRuleName: canary.destinationRuleName,
      serviceName: canary.service.metadata.name,
      stableDeploymentName: canary.stableDeployment.metadata.name,
      canaryDeploymentName: canary.canaryDeployment ? canary.canaryDeployment.metadata.name : null,
      appliedCanaryWeight: canary.appliedCanaryWeight,
    };
  },
});
