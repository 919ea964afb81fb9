/**
 * The Linkerd platform: stable and canary Deployments and Services behind an apex Service, split
 * by an SMI TrafficSplit that Linkerd's SMI extension applies in the client-side proxies.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { assertReplicas, assertWorkloadNames, canaryReplicas, ComponentArgsError, ContainerResources, DEFAULT_RESOURCES, renderDeployment, renderService, trackName, WorkloadSettings } from "../kubernetes/workloads";
import { RoutingError, TrafficSpec } from "../routing";
import { appliedCanaryPercent, renderTrafficSplit, SplitServices, TRAFFIC_SPLIT_API_VERSION, TrafficSplitSpec } from "./trafficSplit";

/** Arguments of {@link LinkerdCanary}. */
export interface LinkerdCanaryArgs {
  /** The service name: the apex Service, the `app` label and the prefix of every object name (at most 56 characters). */
  readonly service: string;
  /** Namespace of every object; it must have Linkerd injection available. Defaults to default. */
  readonly namespace?: pulumi.Input<string>;
  /** The stable version's label value. */
  readonly stableVersion: string;
  /** The stable version's container image. */
  readonly stableImage: pulumi.Input<string>;
  /** The canary version's label value; required exactly when `traffic.hasCanary`. */
  readonly canaryVersion?: string;
  /** The canary version's container image; required exactly when `traffic.hasCanary`. */
  readonly canaryImage?: pulumi.Input<string>;
  /** The traffic model; it must use neither an override nor segments (a TrafficSplit cannot match requests). */
  readonly traffic: TrafficSpec;
  /** Service port. Defaults to 80. */
  readonly port?: number;
  /** Container port, named `http`; the probes and the Services target it by that name. Defaults to 8080. */
  readonly targetPort?: number;
  /** Stable replicas; the canary gets ceil(replicas × weight / 100), at least 1. Defaults to 3. */
  readonly replicas?: number;
  /** Path of the readiness and liveness probes. Defaults to /health. */
  readonly healthPath?: string;
  /** Container resources of both versions. Defaults to requests 100m/128Mi, limits 500m/256Mi. */
  readonly resources?: ContainerResources;
}

/** The canary of one service on Linkerd (token `canary:linkerd:LinkerdCanary`). */
export class LinkerdCanary extends pulumi.ComponentResource {
  /** The Service clients call; the TrafficSplit splits its traffic. */
  public readonly apexService: k8s.core.v1.Service;
  public readonly stableService: k8s.core.v1.Service;
  public readonly stableDeployment: k8s.apps.v1.Deployment;
  /** Absent when no canary is deployed. */
  public readonly canaryService?: k8s.core.v1.Service;
  /** Absent when no canary is deployed. */
  public readonly canaryDeployment?: k8s.apps.v1.Deployment;
  public readonly trafficSplit: k8s.apiextensions.CustomResource;
  /** The canary percent read back from the TrafficSplit's backends. */
  public readonly appliedCanaryWeight: pulumi.Output<number>;

  constructor(name: string, args: LinkerdCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything, so bad arguments leave no half-made component.
    validateLinkerdCanaryArgs(args);
    const services: SplitServices = { apex: args.service, stable: trackName(args.service, "stable"), canary: trackName(args.service, "canary") };
    const split = renderTrafficSplit(args.traffic, services);
    super("canary:linkerd:LinkerdCanary", name, {}, opts);

    const settings: WorkloadSettings = {
      app: args.service,
      namespace: args.namespace ?? "default",
      port: args.port ?? 80,
      targetPort: args.targetPort ?? 8080,
      healthPath: args.healthPath ?? "/health",
      resources: args.resources ?? DEFAULT_RESOURCES,
      // The proxy records the per-version metrics the judge reads; the client-side proxies apply the split.
      podAnnotations: { "linkerd.io/inject": "enabled" },
    };
    const replicas = args.replicas ?? 3;

    this.apexService = new k8s.core.v1.Service(`${name}-svc`, renderService(settings), { parent: this });
    this.stableDeployment = new k8s.apps.v1.Deployment(`${name}-stable-deploy`, renderDeployment(settings, "stable", { version: args.stableVersion, image: args.stableImage, replicas }), { parent: this });
    this.stableService = new k8s.core.v1.Service(`${name}-stable-svc`, renderService(settings, "stable"), { parent: this });
    const backends: pulumi.Resource[] = [this.apexService, this.stableService];
    if (args.traffic.hasCanary) {
      const canaryVersion = { version: args.canaryVersion!, image: args.canaryImage!, replicas: canaryReplicas(replicas, args.traffic.canaryWeight) };
      this.canaryDeployment = new k8s.apps.v1.Deployment(`${name}-canary-deploy`, renderDeployment(settings, "canary", canaryVersion), { parent: this });
      this.canaryService = new k8s.core.v1.Service(`${name}-canary-svc`, renderService(settings, "canary"), { parent: this });
      backends.push(this.canaryService);
    }
    this.trafficSplit = new k8s.apiextensions.CustomResource(
      `${name}-split`,
      { apiVersion: TRAFFIC_SPLIT_API_VERSION, kind: "TrafficSplit", metadata: { name: args.service, namespace: settings.namespace }, spec: split },
      // A split that names a missing backend Service blackholes its share, so the Services come first.
      { parent: this, dependsOn: backends },
    );
    const renderedSpec = (this.trafficSplit as unknown as { spec: pulumi.Output<TrafficSplitSpec | undefined> }).spec;
    this.appliedCanaryWeight = renderedSpec.apply((s) => appliedCanaryPercent(s, services.canary));

    this.registerOutputs({
      apexService: this.apexService,
      stableService: this.stableService,
      stableDeployment: this.stableDeployment,
      canaryService: this.canaryService,
      canaryDeployment: this.canaryDeployment,
      trafficSplit: this.trafficSplit,
      appliedCanaryWeight: this.appliedCanaryWeight,
    });
  }
}

/** Checks {@link LinkerdCanaryArgs} without registering anything; throws naming the argument. */
export function validateLinkerdCanaryArgs(args: LinkerdCanaryArgs): void {
  assertWorkloadNames(args.service);
  if (args.replicas !== undefined) assertReplicas(args.replicas);
  if (args.traffic.hasCanary !== (args.canaryVersion !== undefined && args.canaryImage !== undefined)) {
    throw new ComponentArgsError(`canaryVersion and canaryImage must be given exactly when traffic.hasCanary is true (hasCanary is ${args.traffic.hasCanary})`);
  }
  if (args.traffic.override || args.traffic.segments.length > 0) {
    throw new RoutingError("Linkerd's TrafficSplit cannot route on headers or cookies: traffic must have no override and no segments");
  }
  if (args.traffic.stickiness.enabled || (args.traffic.mirrorPercent ?? 0) > 0) {
    throw new RoutingError("Linkerd's TrafficSplit has no stickiness or mirroring: traffic must have neither");
  }
}
