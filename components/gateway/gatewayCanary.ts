/**
 * The Gateway API platform: stable and canary Deployments and Services, and an HTTPRoute attached
 * to an existing Gateway that splits, overrides, segments and mirrors between them.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { assertReplicas, assertWorkloadNames, canaryReplicas, ComponentArgsError, ContainerResources, DEFAULT_RESOURCES, renderDeployment, renderService, trackName, WorkloadSettings } from "../kubernetes/workloads";
import { RoutingError, TrafficSpec } from "../routing";
import { appliedCanaryPercent, GatewayRef, HTTP_ROUTE_API_VERSION, HttpRouteSpec, renderHttpRoute } from "./httpRoute";

/** Arguments of {@link GatewayCanary}. */
export interface GatewayCanaryArgs {
  /** The service name: the HTTPRoute's name, the `app` label and the prefix of every object name (at most 56 characters). */
  readonly service: string;
  /** Namespace of the route, Services and Deployments. Defaults to default. */
  readonly namespace?: pulumi.Input<string>;
  /** The Gateway the route attaches to; its listener must allow routes from `namespace`. */
  readonly gateway: GatewayRef;
  /** Host names the route serves. Defaults to every host name the listener accepts. */
  readonly hostnames?: readonly string[];
  /** The stable version's label value. */
  readonly stableVersion: string;
  /** The stable version's container image. */
  readonly stableImage: pulumi.Input<string>;
  /** The canary version's label value; required exactly when `traffic.hasCanary`. */
  readonly canaryVersion?: string;
  /** The canary version's container image; required exactly when `traffic.hasCanary`. */
  readonly canaryImage?: pulumi.Input<string>;
  /** The traffic model; stickiness is refused (not in the Gateway API standard channel). */
  readonly traffic: TrafficSpec;
  /** Service port, the port of every backendRef. Defaults to 80. */
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

/** The canary of one service behind a Gateway API Gateway (token `canary:gateway:GatewayCanary`). */
export class GatewayCanary extends pulumi.ComponentResource {
  public readonly stableService: k8s.core.v1.Service;
  public readonly stableDeployment: k8s.apps.v1.Deployment;
  /** Absent when no canary is deployed. */
  public readonly canaryService?: k8s.core.v1.Service;
  /** Absent when no canary is deployed. */
  public readonly canaryDeployment?: k8s.apps.v1.Deployment;
  public readonly httpRoute: k8s.apiextensions.CustomResource;
  /** The canary percent of the default rule, read back from the HTTPRoute. */
  public readonly appliedCanaryWeight: pulumi.Output<number>;

  constructor(name: string, args: GatewayCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate and render before registering anything, so bad arguments leave no half-made component.
    validateGatewayCanaryArgs(args);
    const namespace = args.namespace ?? "default";
    const port = args.port ?? 80;
    const stableName = trackName(args.service, "stable");
    const canaryName = trackName(args.service, "canary");
    const route = renderHttpRoute(args.traffic, { gateway: args.gateway, hostnames: args.hostnames, stableService: stableName, canaryService: canaryName, port });
    super("canary:gateway:GatewayCanary", name, {}, opts);

    const settings: WorkloadSettings = {
      app: args.service,
      namespace,
      port,
      targetPort: args.targetPort ?? 8080,
      healthPath: args.healthPath ?? "/health",
      resources: args.resources ?? DEFAULT_RESOURCES,
    };
    const replicas = args.replicas ?? 3;

    this.stableDeployment = new k8s.apps.v1.Deployment(`${name}-stable-deploy`, renderDeployment(settings, "stable", { version: args.stableVersion, image: args.stableImage, replicas }), { parent: this });
    this.stableService = new k8s.core.v1.Service(`${name}-stable-svc`, renderService(settings, "stable"), { parent: this });
    const backends: pulumi.Resource[] = [this.stableService];
    if (args.traffic.hasCanary) {
      const canaryVersion = { version: args.canaryVersion!, image: args.canaryImage!, replicas: canaryReplicas(replicas, args.traffic.canaryWeight) };
      this.canaryDeployment = new k8s.apps.v1.Deployment(`${name}-canary-deploy`, renderDeployment(settings, "canary", canaryVersion), { parent: this });
      this.canaryService = new k8s.core.v1.Service(`${name}-canary-svc`, renderService(settings, "canary"), { parent: this });
      backends.push(this.canaryService);
    }
    this.httpRoute = new k8s.apiextensions.CustomResource(
      `${name}-route`,
      { apiVersion: HTTP_ROUTE_API_VERSION, kind: "HTTPRoute", metadata: { name: args.service, namespace }, spec: route },
      // A backendRef to a missing Service answers 500 for its share, so the Services come first.
      { parent: this, dependsOn: backends },
    );
    const renderedSpec = (this.httpRoute as unknown as { spec: pulumi.Output<HttpRouteSpec | undefined> }).spec;
    this.appliedCanaryWeight = renderedSpec.apply((s) => appliedCanaryPercent(s, canaryName));

    this.registerOutputs({
      stableService: this.stableService,
      stableDeployment: this.stableDeployment,
      canaryService: this.canaryService,
      canaryDeployment: this.canaryDeployment,
      httpRoute: this.httpRoute,
      appliedCanaryWeight: this.appliedCanaryWeight,
    });
  }
}

/** Checks {@link GatewayCanaryArgs} without registering anything; throws naming the argument. */
export function validateGatewayCanaryArgs(args: GatewayCanaryArgs): void {
  assertWorkloadNames(args.service);
  if (args.replicas !== undefined) assertReplicas(args.replicas);
  if (args.traffic.hasCanary !== (args.canaryVersion !== undefined && args.canaryImage !== undefined)) {
    throw new ComponentArgsError(`canaryVersion and canaryImage must be given exactly when traffic.hasCanary is true (hasCanary is ${args.traffic.hasCanary})`);
  }
  if (args.traffic.stickiness.enabled) {
    throw new RoutingError("the Gateway API standard channel has no session persistence: traffic must not use stickiness");
  }
}
