/** The Istio platform: `canary:istio` block and the IstioCanary component. */
import { z } from "zod";
import { IstioCanary } from "../../components/istio";
import { dnsLabel } from "../schema";
import { definePlatform } from "./types";

const int = (min: number, max: number) => {
  const message = `must be an integer from ${min} to ${max}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
};
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const quantity = z.string({ error: "must be a Kubernetes quantity such as 100m or 128Mi" }).regex(QUANTITY, { error: "must be a Kubernetes quantity such as 100m or 128Mi" });
const DURATION = /^[0-9]+(ms|s|m|h)$/;
// Istio's CRD refuses durations under 1ms (a CEL rule the schema check alone would not catch).
const duration = z
  .string({ error: "must be a duration such as 30s or 1m" })
  .regex(DURATION, { error: "must be a duration such as 30s or 1m" })
  .refine((d) => !/^0+[a-z]+$/.test(d), { error: "must be a duration of at least 1ms" });
const hostName = z.string({ error: "must be a host name" }).regex(/^(\*\.)?[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, { error: "must be a host name" });

const defaultResources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } };

/** `canary:istio`. Every field has a default, so the block may be omitted. */
export const istioBlockSchema = z
  .strictObject({
    /** Namespace of every resource. Defaults to default. */
    namespace: dnsLabel.default("default"),
    /** VirtualService hosts. Defaults to the service name. */
    hosts: z.array(hostName, { error: "must be a list of host names" }).min(1, { error: "must list at least one host" }).optional(),
    /** Gateways the VirtualService binds to (namespace/name). Defaults to the mesh only. */
    gateways: z.array(z.string({ error: "must be a gateway name" }).regex(/^([a-z0-9-]+\/)?[a-z0-9-]+$/, { error: "must be a gateway name such as istio-system/public" }), { error: "must be a list of gateway names" }).optional(),
    /** Service port. Defaults to 80. */
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
    /** DestinationRule outlier detection. Defaults: 5 consecutive 5xx, every 30s, eject 30s, at most 50%. */
    outlierDetection: z
      .strictObject({
        consecutive5xxErrors: int(1, 1000).default(5),
        interval: duration.default("30s"),
        baseEjectionTime: duration.default("30s"),
        maxEjectionPercent: int(0, 100).default(50),
      })
      .default({ consecutive5xxErrors: 5, interval: "30s", baseEjectionTime: "30s", maxEjectionPercent: 50 }),
  })
  .default({ namespace: "default", port: 80, targetPort: 8080, replicas: 3, healthPath: "/health", resources: defaultResources, outlierDetection: { consecutive5xxErrors: 5, interval: "30s", baseEjectionTime: "30s", maxEjectionPercent: 50 } });

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
      virtualServiceName: canary.virtualService.metadata.name,
      destinationRuleName: canary.destinationRule.metadata.name,
      serviceName: canary.service.metadata.name,
      stableDeploymentName: canary.stableDeployment.metadata.name,
      canaryDeploymentName: canary.canaryDeployment ? canary.canaryDeployment.metadata.name : null,
      appliedCanaryWeight: canary.appliedCanaryWeight,
    };
  },
});
