/**
 * The Gateway API platform: stable and canary Deployments and Services, and an HTTPRoute attached
 * to an existing Gateway that splits, overrides, segments and mirrors between them.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createTrackWorkloads, WorkloadArgs, workloadProblems, workloadSettings } from "../kubernetes/trackWorkloads";
import { MAX_TRACKED_SERVICE_NAME, trackName } from "../kubernetes/workloads";
import { capabilityProblems } from "../routing";
import { assertNoProblems, Checks, dnsLabel, dnsSubdomain, hostName, Problem } from "../validation";
import { appliedCanaryPercent, GatewayRef, HTTP_ROUTE_API_VERSION, HttpRouteSpec, MAX_HOSTNAMES, renderHttpRoute, ruleCountProblems } from "./httpRoute";

/**
 * Arguments of {@link GatewayCanary}: the shared workload arguments plus the Gateway to attach
 * to. `service` also names the HTTPRoute; `port` is the port of every backendRef; `traffic` must
 * not use stickiness (not in the Gateway API standard channel).
 */
export interface GatewayCanaryArgs extends WorkloadArgs {
  /** The Gateway the route attaches to; its listener must allow routes from `namespace`. */
  readonly gateway: GatewayRef;
  /** Host names the route serves, 1–16. Defaults to every host name the listener accepts. */
  readonly hostnames?: string[];
}

/** The resource type token of {@link GatewayCanary}. */
export const GATEWAY_CANARY_TYPE = "canary:gateway:GatewayCanary";

/** The canary of one service behind a Gateway API Gateway (token `canary:gateway:GatewayCanary`). */
export class GatewayCanary extends pulumi.ComponentResource {
  /** The stable version's Service, `<service>-stable`. */
  public readonly stableService: k8s.core.v1.Service;
  /** The stable version's Deployment, `<service>-stable`. */
  public readonly stableDeployment: k8s.apps.v1.Deployment;
  /** Absent when no canary is deployed. */
  public readonly canaryService?: k8s.core.v1.Service;
  /** Absent when no canary is deployed. */
  public readonly canaryDeployment?: k8s.apps.v1.Deployment;
  /**
   * Name of the HTTPRoute. (A name, not the custom resource: a generic custom resource has no type
   * a Pulumi package schema can refer to, and the component is also served to other languages.)
   */
  public readonly httpRouteName: pulumi.Output<string>;
  /** The canary percent of the default rule, read back from the HTTPRoute. */
  public readonly appliedCanaryWeight: pulumi.Output<number>;

  constructor(name: string, args: GatewayCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate and render before registering anything, so bad arguments leave no half-made component.
    assertNoProblems(GATEWAY_CANARY_TYPE, gatewayCanaryProblems(args));
    const settings = workloadSettings(args);
    const canaryName = trackName(args.service, "canary");
    const route = renderHttpRoute(args.traffic, { gateway: args.gateway, hostnames: args.hostnames, stableService: trackName(args.service, "stable"), canaryService: canaryName, port: settings.port });
    super(GATEWAY_CANARY_TYPE, name, {}, opts);

    const workloads = createTrackWorkloads(name, this, settings, args);
    this.stableDeployment = workloads.stableDeployment;
    this.stableService = workloads.stableService;
    this.canaryDeployment = workloads.canaryDeployment;
    this.canaryService = workloads.canaryService;
    const httpRoute = new k8s.apiextensions.CustomResource(
      `${name}-route`,
      { apiVersion: HTTP_ROUTE_API_VERSION, kind: "HTTPRoute", metadata: { name: args.service, namespace: settings.namespace }, spec: route },
      // A backendRef to a missing Service answers 500 for its share, so the Services come first.
      { parent: this, dependsOn: [...workloads.backends] },
    );
    this.httpRouteName = httpRoute.metadata.name;
    const renderedSpec = (httpRoute as unknown as { spec: pulumi.Output<HttpRouteSpec | undefined> }).spec;
    this.appliedCanaryWeight = renderedSpec.apply((s) => appliedCanaryPercent(s, canaryName));

    this.registerOutputs({
      stableService: this.stableService,
      stableDeployment: this.stableDeployment,
      canaryService: this.canaryService,
      canaryDeployment: this.canaryDeployment,
      httpRouteName: this.httpRouteName,
      appliedCanaryWeight: this.appliedCanaryWeight,
    });
  }
}

/**
 * Every problem with {@link GatewayCanaryArgs}, by argument path, without registering anything:
 * the shared workload checks, a service name that leaves room for `<service>-canary`, the
 * traffic features the standard channel lacks, the Gateway reference, the host names and the
 * HTTPRoute's rule limit (counted as with a canary, so adding one later cannot exceed it).
 */
export function gatewayCanaryProblems(args: GatewayCanaryArgs): Problem[] {
  const c = new Checks();
  c.addAll(workloadProblems(args, MAX_TRACKED_SERVICE_NAME));
  c.addAll(capabilityProblems("gateway-api", args.traffic));
  c.rule(["gateway", "name"], args.gateway?.name, dnsSubdomain);
  c.rule(["gateway", "namespace"], args.gateway?.namespace, dnsLabel);
  c.rule(["gateway", "sectionName"], args.gateway?.sectionName, dnsSubdomain);
  if (args.hostnames !== undefined) {
    if (args.hostnames.length === 0 || args.hostnames.length > MAX_HOSTNAMES) c.add(["hostnames"], `must list 1 to ${MAX_HOSTNAMES} host names`, args.hostnames);
    c.each(["hostnames"], args.hostnames, hostName);
  }
  c.addAll(ruleCountProblems(args.traffic));
  return c.problems;
}
