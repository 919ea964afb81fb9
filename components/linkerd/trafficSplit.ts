/**
 * Renders the traffic model as an SMI TrafficSplit (split.smi-spec.io/v1alpha2), the resource
 * Linkerd's SMI extension turns into a weighted split of the apex Service.
 */
import { buildRoutes, capabilityProblems, RoutingError, scaleSplit, SCALES, TrafficSpec } from "../routing";
import { formatProblems } from "../validation";

/** The TrafficSplit API version Linkerd's SMI extension serves with integer weights. */
export const TRAFFIC_SPLIT_API_VERSION = "split.smi-spec.io/v1alpha2";

/** One backend of a TrafficSplit. */
export interface TrafficSplitBackend {
  readonly service: string;
  readonly weight: number;
}

/** The spec of a TrafficSplit. */
export interface TrafficSplitSpec {
  /** The apex Service clients call. */
  readonly service: string;
  readonly backends: readonly TrafficSplitBackend[];
}

/** Names of the Services the split refers to. */
export interface SplitServices {
  readonly apex: string;
  readonly stable: string;
  readonly canary: string;
}

/**
 * The TrafficSplit spec for `spec`: stable and canary backends weighted on the SMI 1000 scale
 * (5% → 950/50). Without a canary the only backend is stable at 1000.
 * @throws RoutingError when the spec uses a feature a TrafficSplit cannot express (capabilities.ts).
 */
export function renderTrafficSplit(spec: TrafficSpec, services: SplitServices): TrafficSplitSpec {
  const unsupported = capabilityProblems("linkerd", spec);
  if (unsupported.length > 0) throw new RoutingError(formatProblems(unsupported));
  const routes = buildRoutes(spec);
  const units = scaleSplit(routes[0]!.split, SCALES.smi);
  if (!spec.hasCanary) return { service: services.apex, backends: [{ service: services.stable, weight: units.stable }] };
  return {
    service: services.apex,
    backends: [
      { service: services.stable, weight: units.stable },
      { service: services.canary, weight: units.canary },
    ],
  };
}

/**
 * The canary percent a rendered TrafficSplit sends, read from its backends (0 when the canary
 * backend is absent or every weight is 0).
 */
export function appliedCanaryPercent(spec: TrafficSplitSpec | undefined, canaryService: string): number {
  const backends = spec?.backends ?? [];
  const total = backends.reduce((sum, b) => sum + Number(b.weight), 0);
  const canary = backends.filter((b) => b.service === canaryService).reduce((sum, b) => sum + Number(b.weight), 0);
  return total === 0 ? 0 : Math.round((canary * 100) / total);
}
