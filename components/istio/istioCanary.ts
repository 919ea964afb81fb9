/**
 * The Istio canary: stable and canary Deployments behind one Service, split by a
 * VirtualService over the subsets of a DestinationRule.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createDeployments, WorkloadArgs, workloadProblems, workloadSettings } from "../kubernetes/trackWorkloads";
import { MAX_SERVICE_NAME, renderService } from "../kubernetes/workloads";
import { capabilityProblems } from "../routing";
import { assertNoProblems, Checks, hostName, intRange, istioDuration, pattern, Problem } from "../validation";
import { canaryWeightOf, DEFAULT_OUTLIER_DETECTION, ISTIO_API_VERSION, OutlierDetection, renderDestinationRule, renderVirtualService, VirtualServiceSpec } from "./render";

/** Arguments of {@link IstioCanary}: the shared workload arguments plus the VirtualService's hosts and gateways and the DestinationRule's outlier detection. */
export interface IstioCanaryArgs extends WorkloadArgs {
  /** VirtualService hosts. Defaults to [service]. */
  readonly hosts?: string[];
  /** Gateways the VirtualService binds to (`namespace/name`). Defaults to none (the mesh only); list `mesh` too to keep in-mesh routing. */
  readonly gateways?: string[];
  /** DestinationRule outlier detection. Defaults to 5 consecutive 5xx, interval 30s, base ejection 30s, at most 50% ejected. */
  readonly outlierDetection?: Partial<OutlierDetection>;
}

/** The resource type token of {@link IstioCanary}. */
export const ISTIO_CANARY_TYPE = "canary:istio:IstioCanary";

/** A gateway reference of a VirtualService: `<namespace>/<name>` or a name in the VirtualService's namespace (`mesh` for the sidecars). */
export const istioGatewayRef = pattern(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a gateway name such as istio-system/public or mesh");

/** The ranges of the outlier-detection settings the components accept. */
export const OUTLIER_RULES = {
  consecutive5xxErrors: intRange(1, 1000),
  interval: istioDuration,
  baseEjectionTime: istioDuration,
  maxEjectionPercent: intRange(0, 100),
} as const;

/**
 * Every problem with {@link IstioCanaryArgs}, by argument path, without registering anything: the
 * shared workload checks (the service names the Service, VirtualService and DestinationRule, so a
 * DNS label), the hosts and gateways, and outlier durations of at least 1ms (the DestinationRule
 * CRD's CEL rule).
 */
export function istioCanaryProblems(args: IstioCanaryArgs): Problem[] {
  const c = new Checks();
  c.addAll(workloadProblems(args, MAX_SERVICE_NAME));
  c.addAll(capabilityProblems("istio", args.traffic));
  if (args.hosts !== undefined && args.hosts.length === 0) c.add(["hosts"], "must list at least one host", args.hosts);
  c.each(["hosts"], args.hosts, hostName);
  c.each(["gateways"], args.gateways, istioGatewayRef);
  for (const [key, rule] of Object.entries(OUTLIER_RULES) as Array<[keyof OutlierDetection, (typeof OUTLIER_RULES)[keyof OutlierDetection]]>) {
    c.rule(["outlierDetection", key], args.outlierDetection?.[key] as never, rule as never);
  }
  return c.problems;
}

/**
 * A canary on Istio. Creates, all in one namespace and named after the service:
 * - Deployments `<service>-stable` and (with a canary) `<service>-canary`;
 * - Service `<service>` selecting both;
 * - DestinationRule `<service>` with subsets `stable` and `canary` by version label, outlier
 *   detection and, with stickiness, consistent hashing;
 * - VirtualService `<service>` with the traffic model's routes, applied after the others.
 */
export class IstioCanary extends pulumi.ComponentResource {
  /** The stable Deployment. */
  public readonly stableDeployment: k8s.apps.v1.Deployment;
  /** The canary Deployment; undefined without a canary. */
  public readonly canaryDeployment: k8s.apps.v1.Deployment | undefined;
  /** The Service selecting both versions. */
  public readonly service: k8s.core.v1.Service;
  /**
   * Name of the DestinationRule with the `stable` and `canary` subsets. (A name, not the custom
   * resource: a generic custom resource has no type a Pulumi package schema can refer to, and the
   * component is also served to other languages.)
   */
  public readonly destinationRuleName: pulumi.Output<string>;
  /** Name of the VirtualService carrying the routes and weights. */
  public readonly virtualServiceName: pulumi.Output<string>;
  /** The default route's canary weight as read back from the VirtualService's outputs. */
  public readonly appliedCanaryWeight: pulumi.Output<number>;

  constructor(name: string, args: IstioCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate and render before registering anything, so bad arguments leave no half-made component.
    assertNoProblems(ISTIO_CANARY_TYPE, istioCanaryProblems(args));
    const { service, traffic } = args;
    const settings = workloadSettings(args);
    const namespace = settings.namespace;
    const outlierDetection: OutlierDetection = { ...DEFAULT_OUTLIER_DETECTION, ...args.outlierDetection };
    const vsSpec = renderVirtualService({ service, hosts: args.hosts, gateways: args.gateways, traffic });
    const drSpec = renderDestinationRule({ service, stableVersion: args.stableVersion, canaryVersion: args.canaryVersion, outlierDetection, stickiness: traffic.stickiness });
    const meta = { name: service, namespace, labels: { app: service } };
    super(ISTIO_CANARY_TYPE, name, {}, opts);

    const { stableDeployment, canaryDeployment } = createDeployments(name, this, settings, args);
    // One Service selecting both tracks: Istio splits by DestinationRule subsets, not by Service.
    const k8sService = new k8s.core.v1.Service(`${name}-svc`, renderService(settings), { parent: this });
    // Applied first on every update: its subsets always exist (see renderDestinationRule), so
    // the old VirtualService keeps working while the new one waits for the Deployments.
    const destinationRule = new k8s.apiextensions.CustomResource(
      `${name}-dr`,
      { apiVersion: ISTIO_API_VERSION, kind: "DestinationRule", metadata: meta, spec: drSpec },
      { parent: this },
    );
    // Routes change last, once the canary's pods are ready (the provider awaits Deployment readiness).
    const virtualService = new k8s.apiextensions.CustomResource(
      `${name}-vs`,
      { apiVersion: ISTIO_API_VERSION, kind: "VirtualService", metadata: meta, spec: vsSpec },
      { parent: this, dependsOn: [destinationRule, k8sService, stableDeployment, ...(canaryDeployment ? [canaryDeployment] : [])] },
    );
    // CustomResource exposes every input field as an output, but its typings only declare metadata.
    const renderedSpec = (virtualService as unknown as { spec: pulumi.Output<VirtualServiceSpec | undefined> }).spec;

    this.stableDeployment = stableDeployment;
    this.canaryDeployment = canaryDeployment;
    this.service = k8sService;
    this.destinationRuleName = destinationRule.metadata.name;
    this.virtualServiceName = virtualService.metadata.name;
    this.appliedCanaryWeight = renderedSpec.apply(canaryWeightOf);
    this.registerOutputs({
      stableDeployment: this.stableDeployment,
      canaryDeployment: this.canaryDeployment,
      service: this.service,
      destinationRuleName: this.destinationRuleName,
      virtualServiceName: this.virtualServiceName,
      appliedCanaryWeight: this.appliedCanaryWeight,
    });
  }
}
