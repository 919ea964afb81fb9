/** The Istio platform: `canary:istio` block and the IstioCanary component. */
import { z } from "zod";
import { IstioCanary, IstioCanaryArgs, istioCanaryProblems, istioGatewayRef, OUTLIER_RULES } from "../../components/istio";
import { DEFAULT_OUTLIER_DETECTION } from "../../components/istio";
import { hostName } from "../../components/validation";
import { workloadShape } from "../schema";
import { zNumber, zString } from "../zod";
import { blockKeys, workloadArgs } from "./args";
import { definePlatform } from "./types";

/** `canary:istio`. Every field has a default, so the block may be omitted. */
export const istioBlockSchema = z
  .strictObject({
    /** Namespace, ports, replicas, probes and resources. */
    ...workloadShape,
    /** VirtualService hosts. Defaults to the service name. */
    hosts: z.array(zString(hostName), { error: "must be a list of host names" }).min(1, { error: "must list at least one host" }).optional(),
    /** Gateways the VirtualService binds to (namespace/name). Defaults to the mesh only. */
    gateways: z.array(zString(istioGatewayRef), { error: "must be a list of gateway names" }).optional(),
    /** DestinationRule outlier detection. Defaults: 5 consecutive 5xx, every 30s, eject 30s, at most 50%. */
    outlierDetection: z
      .strictObject({
        consecutive5xxErrors: zNumber(OUTLIER_RULES.consecutive5xxErrors).default(DEFAULT_OUTLIER_DETECTION.consecutive5xxErrors),
        interval: zString(OUTLIER_RULES.interval).default(DEFAULT_OUTLIER_DETECTION.interval),
        baseEjectionTime: zString(OUTLIER_RULES.baseEjectionTime).default(DEFAULT_OUTLIER_DETECTION.baseEjectionTime),
        maxEjectionPercent: zNumber(OUTLIER_RULES.maxEjectionPercent).default(DEFAULT_OUTLIER_DETECTION.maxEjectionPercent),
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
  args: (config, block): IstioCanaryArgs => ({ ...workloadArgs(config, block), hosts: block.hosts, gateways: block.gateways, outlierDetection: block.outlierDetection }),
  check: istioCanaryProblems,
  keyOf: blockKeys("istio", { hosts: ["hosts"], gateways: ["gateways"], outlierDetection: ["outlierDetection"] }),
  deploy: (args, config, block) => {
    const canary = new IstioCanary(config.service, args);
    return {
      namespace: block.namespace,
      serviceName: canary.service.metadata.name,
      virtualServiceName: canary.virtualServiceName,
      destinationRuleName: canary.destinationRuleName,
      stableDeploymentName: canary.stableDeployment.metadata.name,
      canaryDeploymentName: canary.canaryDeployment ? canary.canaryDeployment.metadata.name : null,
      appliedCanaryWeight: canary.appliedCanaryWeight,
    };
  },
});
