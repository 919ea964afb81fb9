/**
 * The Istio canary: stable and canary Deployments behind one Service, split by a
 * VirtualService over the subsets of a DestinationRule.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { canaryReplicas, ContainerResources, DEFAULT_RESOURCES, renderDeployment, renderService, WorkloadSettings } from "../kubernetes/workloads";
import { TrafficSpec } from "../routing";
import {
  canaryWeightOf,
  DEFAULT_OUTLIER_DETECTION,
  ISTIO_API_VERSION,
  IstioCanaryError,
  OutlierDetection,
  renderDestinationRule,
  renderVirtualService,
  VirtualServiceSpec,
} from "./render";

/** Arguments of {@link IstioCanary}. */
export interface IstioCanaryArgs {
  /** Service name: the `app` label, the Kubernetes Service, VirtualService and DestinationRule name. A DNS label. */
  readonly service: string;
  /** Namespace of every resource; it must exist and have sidecar injection on. Defaults to "default". */
  readonly namespace?: pulumi.Input<string>;
  /** The stable version: its `version` label and DestinationRule subset selector. */
  readonly stableVersion: string;
  /** The stable container image. */
  readonly stableImage: pulumi.Input<string>;
  /** The canary version; without it no canary Deployment is created. Must differ from stableVersion. */
  readonly canaryVersion?: string;
  /** The canary container image; required exactly when canaryVersion is given. */
  readonly canaryImage?: pulumi.Input<string>;
  /** The traffic model: canary weight, override, segments, stickiness, mirror. `hasCanary` must match canaryVersion. */
  readonly traffic: TrafficSpec;
  /** VirtualService hosts. Defaults to [service]. */
  readonly hosts?: string[];
  /** Gateways the VirtualService binds to. Defaults to none (the mesh only); list `mesh` too to keep in-mesh routing. */
  readonly gateways?: string[];
  /** Service port. Defaults to 80. */
  readonly port?: number;
  /** Container port, named `http`; the probes and the Service's targetPort refer to it. Defaults to 8080. */
  readonly targetPort?: number;
  /** Stable replicas; the canary runs ceil(replicas × weight / 100), at least 1. Defaults to 3. */
  readonly replicas?: number;
  /** Path of the readiness and liveness probes. Defaults to "/health". */
  readonly healthPath?: string;
  /** Container resources of both versions. Defaults to requests 100m/128Mi, limits 500m/256Mi. */
  readonly resources?: ContainerResources;
  /** DestinationRule outlier detection. Defaults to 5 consecutive 5xx, interval 30s, base ejection 30s, at most 50% ejected. */
  readonly outlierDetection?: Partial<OutlierDetection>;
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** Checks the arguments that the renderers cannot check themselves; throws naming the argument. */
export function validateIstioCanaryArgs(name: string, args: IstioCanaryArgs): void {
  const fail = (message: string): never => {
    throw new IstioCanaryError(`IstioCanary ${name}: ${message}`);
  };
  if (!DNS_LABEL.test(args.service)) fail(`service must be a DNS label, got ${JSON.stringify(args.service)}`);
  if (!LABEL_VALUE.test(args.stableVersion)) fail(`stableVersion must be a label value, got ${JSON.stringify(args.stableVersion)}`);
  if (args.canaryVersion !== undefined) {
    if (!LABEL_VALUE.test(args.canaryVersion)) fail(`canaryVersion must be a label value, got ${JSON.stringify(args.canaryVersion)}`);
    if (args.canaryVersion === args.stableVersion) fail(`canaryVersion must differ from stableVersion, got ${JSON.stringify(args.canaryVersion)}`);
  }
  if ((args.canaryVersion === undefined) !== (args.canaryImage === undefined)) fail("canaryVersion and canaryImage must be given together");
  if (args.traffic.hasCanary !== (args.canaryVersion !== undefined)) {
    fail(`traffic.hasCanary is ${args.traffic.hasCanary} but canaryVersion is ${args.canaryVersion === undefined ? "not given" : "given"}`);
  }
  for (const [key, value] of [["port", args.port], ["targetPort", args.targetPort]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 65535)) fail(`${key} must be an integer from 1 to 65535, got ${value}`);
  }
  if (args.replicas !== undefined && (!Number.isInteger(args.replicas) || args.replicas < 1)) fail(`replicas must be a positive integer, got ${args.replicas}`);
  if (args.healthPath !== undefined && !args.healthPath.startsWith("/")) fail(`healthPath must start with /, got ${JSON.stringify(args.healthPath)}`);
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
    super("canary:istio:IstioCanary", name, {}, opts);

    validateIstioCanaryArgs(name, args);

    const { service, traffic } = args;
    const namespace = args.namespace ?? "default";
    const replicas = args.replicas ?? 3;
    const settings: WorkloadSettings = {
      app: service,
      namespace,
      port: args.port ?? 80,
      targetPort: args.targetPort ?? 8080,
      healthPath: args.healthPath ?? "/health",
      resources: args.resources ?? DEFAULT_RESOURCES,
    };
    const outlierDetection: OutlierDetection = { ...DEFAULT_OUTLIER_DETECTION, ...args.outlierDetection };
    const vsSpec = renderVirtualService({ service, hosts: args.hosts, gateways: args.gateways, traffic });
    const drSpec = renderDestinationRule({ service, stableVersion: args.stableVersion, canaryVersion: args.canaryVersion, outlierDetection, stickiness: traffic.stickiness });
    const meta = { name: service, namespace, labels: { app: service } };

    const stableDeployment = new k8s.apps.v1.Deployment(`${name}-stable-deploy`, renderDeployment(settings, "stable", { version: args.stableVersion, image: args.stableImage, replicas }), { parent: this });
    let canaryDeployment: k8s.apps.v1.Deployment | undefined;
    if (args.canaryVersion !== undefined && args.canaryImage !== undefined) {
      const canaryVersion = { version: args.canaryVersion, image: args.canaryImage, replicas: canaryReplicas(replicas, traffic.canaryWeight) };
      canaryDeployment = new k8s.apps.v1.Deployment(`${name}-canary-deploy`, renderDeployment(settings, "canary", canaryVersion), { parent: this });
    }
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
