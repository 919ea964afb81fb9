/**
 * The Linkerd platform: stable and canary Deployments and Services behind an apex Service, split
 * by an SMI TrafficSplit that Linkerd's SMI extension applies in the client-side proxies.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createTrackWorkloads, WorkloadArgs, workloadProblems, workloadSettings } from "../kubernetes/trackWorkloads";
import { MAX_TRACKED_SERVICE_NAME, renderService, trackName } from "../kubernetes/workloads";
import { capabilityProblems } from "../routing";
import { assertNoProblems, Problem } from "../validation";
import { appliedCanaryPercent, renderTrafficSplit, SplitServices, TRAFFIC_SPLIT_API_VERSION, TrafficSplitSpec } from "./trafficSplit";

/**
 * Arguments of {@link LinkerdCanary}: the shared workload arguments. `service` also names the
 * apex Service clients call; `traffic` must use neither an override nor segments (a
 * TrafficSplit cannot match requests); the namespace must have Linkerd injection available.
 */
export type LinkerdCanaryArgs = WorkloadArgs;

/** The resource type token of {@link LinkerdCanary}. */
export const LINKERD_CANARY_TYPE = "canary:linkerd:LinkerdCanary";

/** The canary of one service on Linkerd (token `canary:linkerd:LinkerdCanary`). */
export class LinkerdCanary extends pulumi.ComponentResource {
  /** The Service clients call; the TrafficSplit splits its traffic. */
  public readonly apexService: k8s.core.v1.Service;
  /** The stable version's Service, `<service>-stable`. */
  public readonly stableService: k8s.core.v1.Service;
  /** The stable version's Deployment, `<service>-stable`. */
  public readonly stableDeployment: k8s.apps.v1.Deployment;
  /** Absent when no canary is deployed. */
  public readonly canaryService?: k8s.core.v1.Service;
  /** Absent when no canary is deployed. */
  public readonly canaryDeployment?: k8s.apps.v1.Deployment;
  /**
   * Name of the TrafficSplit. (A name, not the custom resource: a generic custom resource has no
   * type a Pulumi package schema can refer to, and the component is also served to other languages.)
   */
  public readonly trafficSplitName: pulumi.Output<string>;
  /** The canary percent read back from the TrafficSplit's backends. */
  public readonly appliedCanaryWeight: pulumi.Output<number>;

  constructor(name: string, args: LinkerdCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything, so bad arguments leave no half-made component.
    assertNoProblems(LINKERD_CANARY_TYPE, linkerdCanaryProblems(args));
    const services: SplitServices = { apex: args.service, stable: trackName(args.service, "stable"), canary: trackName(args.service, "canary") };
    const split = renderTrafficSplit(args.traffic, services);
    super(LINKERD_CANARY_TYPE, name, {}, opts);

    // The proxy records the per-version metrics the judge reads; the client-side proxies apply the split.
    const settings = workloadSettings(args, { "linkerd.io/inject": "enabled" });

    this.apexService = new k8s.core.v1.Service(`${name}-svc`, renderService(settings), { parent: this });
    const workloads = createTrackWorkloads(name, this, settings, args);
    this.stableDeployment = workloads.stableDeployment;
    this.stableService = workloads.stableService;
    this.canaryDeployment = workloads.canaryDeployment;
    this.canaryService = workloads.canaryService;
    const trafficSplit = new k8s.apiextensions.CustomResource(
      `${name}-split`,
      { apiVersion: TRAFFIC_SPLIT_API_VERSION, kind: "TrafficSplit", metadata: { name: args.service, namespace: settings.namespace }, spec: split },
      // A split that names a missing backend Service blackholes its share, so the Services come first.
      { parent: this, dependsOn: [this.apexService, ...workloads.backends] },
    );
    this.trafficSplitName = trafficSplit.metadata.name;
    const renderedSpec = (trafficSplit as unknown as { spec: pulumi.Output<TrafficSplitSpec | undefined> }).spec;
    this.appliedCanaryWeight = renderedSpec.apply((s) => appliedCanaryPercent(s, services.canary));

    this.registerOutputs({
      apexService: this.apexService,
      stableService: this.stableService,
      stableDeployment: this.stableDeployment,
      canaryService: this.canaryService,
      canaryDeployment: this.canaryDeployment,
      trafficSplitName: this.trafficSplitName,
      appliedCanaryWeight: this.appliedCanaryWeight,
    });
  }
}

/**
 * Every problem with {@link LinkerdCanaryArgs}, by argument path, without registering anything:
 * the shared workload checks, a service name that leaves room for `<service>-canary`, and the
 * traffic features a TrafficSplit cannot express.
 */
export function linkerdCanaryProblems(args: LinkerdCanaryArgs): Problem[] {
  return [...workloadProblems(args, MAX_TRACKED_SERVICE_NAME), ...capabilityProblems("linkerd", args.traffic)];
}
