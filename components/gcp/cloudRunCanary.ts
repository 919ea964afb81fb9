/**
 * The Cloud Run platform: one Cloud Run service whose revisions are named after versions, with
 * traffic pinned to the stable and canary revisions.
 *
 * A service has a single template, and every template change creates a revision; earlier
 * revisions are kept. So the template names the canary's revision while a canary is deployed and
 * the stable one's otherwise, and the stable revision that takes 100 − w is the one created when
 * the template last named the stable version (a rollout always starts from a deployed stable).
 * On promotion or rollback the template names a revision that already exists; Cloud Run accepts
 * that only if the template is identical to that revision's, which is why nothing in the template
 * depends on the role (stable or canary), and scaling lives at the service level.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { RoutingError, TrafficSpec } from "../routing";
import { revisionNames } from "./revisionName";
import { appliedCanaryPercent, CANARY_TAG, renderTraffic, Revisions, tagUri, templateRevision } from "./traffic";

/** Who may reach the service, as `canary:gcp.ingress` spells it. */
export const CloudRunIngress = {
  /** Anyone on the internet. */
  All: "all",
  /** Only the project's VPC networks and Shared VPC. */
  Internal: "internal",
  /** The VPC, and external Application Load Balancers. */
  InternalAndCloudLoadBalancing: "internal-and-cloud-load-balancing",
} as const;
/** A value of {@link CloudRunIngress}. */
export type CloudRunIngress = (typeof CloudRunIngress)[keyof typeof CloudRunIngress];

/** The API values of {@link CloudRunIngress}. */
export const INGRESS: Readonly<Record<CloudRunIngress, string>> = {
  all: "INGRESS_TRAFFIC_ALL",
  internal: "INGRESS_TRAFFIC_INTERNAL_ONLY",
  "internal-and-cloud-load-balancing": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
};

/** Arguments of {@link CloudRunCanary}. */
export interface CloudRunCanaryArgs {
  /** The Cloud Run service name and the prefix of every revision name (at most 40 characters, so the canary tag fits beside it). */
  readonly service: string;
  /** GCP project. */
  readonly project: pulumi.Input<string>;
  /** Cloud Run region, e.g. europe-west1. */
  readonly region: pulumi.Input<string>;
  /** The stable version; its revision is `<service>-<sanitised version>`. */
  readonly stableVersion: string;
  /** The stable version's image; used while no canary is deployed (the template is then the stable one). */
  readonly stableImage: pulumi.Input<string>;
  /** The canary version; required exactly when `traffic.hasCanary`. */
  readonly canaryVersion?: string;
  /** The canary version's image; required exactly when `traffic.hasCanary`. */
  readonly canaryImage?: pulumi.Input<string>;
  /** The traffic model; segments are refused (Cloud Run cannot match requests), the override is the canary tag URL. */
  readonly traffic: TrafficSpec;
  /** Container port requests are sent to. Defaults to 8080. */
  readonly port?: number;
  /** CPU limit per instance, e.g. "1" or "500m". Defaults to "1". */
  readonly cpu?: string;
  /** Memory limit per instance, e.g. "512Mi". Defaults to "512Mi". */
  readonly memory?: string;
  /** Minimum instances of the service, shared by the revisions that take traffic. Defaults to 0. */
  readonly minInstances?: number;
  /** Maximum instances of the service, shared by the revisions that take traffic. Defaults to 100. */
  readonly maxInstances?: number;
  /** Who may reach the service. Defaults to all. */
  readonly ingress?: CloudRunIngress;
  /** Grant roles/run.invoker to allUsers (a public service). Defaults to false. */
  readonly allowUnauthenticated?: boolean;
  /** Refuse to delete the service on `pulumi destroy`. Defaults to true (the provider's default). */
  readonly deletionProtection?: boolean;
}

/** The canary of one service on Cloud Run (token `canary:gcp:CloudRunCanary`). */
export class CloudRunCanary extends pulumi.ComponentResource {
  /** The Cloud Run service. */
  public readonly service: gcp.cloudrunv2.Service;
  /** Present when `allowUnauthenticated`. */
  public readonly invoker?: gcp.cloudrunv2.ServiceIamMember;
  /** The revision names derived from the versions. */
  public readonly revisions: Revisions;
  /** The service URL (the weighted split). */
  public readonly url: pulumi.Output<string | undefined>;
  /** The canary revision's tag URL (the canary alone, whatever the weight); undefined without a canary. */
  public readonly canaryUrl: pulumi.Output<string | undefined>;
  /** The canary percent read back from the service's traffic. */
  public readonly appliedCanaryWeight: pulumi.Output<number>;

  constructor(name: string, args: CloudRunCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate and derive before registering anything, so a bad version leaves no half-made component.
    const revisions = revisionNames(args.service, args.stableVersion, args.canaryVersion);
    if (args.traffic.hasCanary !== (args.canaryImage !== undefined)) {
      throw new RoutingError(`canaryVersion and canaryImage must be given exactly when traffic.hasCanary is true (hasCanary is ${args.traffic.hasCanary})`);
    }
    const traffics = renderTraffic(args.traffic, revisions);
    super("canary:gcp:CloudRunCanary", name, {}, opts);

    const image = args.canaryImage ?? args.stableImage;
    this.service = new gcp.cloudrunv2.Service(
      `${name}-service`,
      {
        name: args.service,
        project: args.project,
        location: args.region,
        ingress: INGRESS[args.ingress ?? "all"],
        deletionProtection: args.deletionProtection ?? true,
        scaling: { minInstanceCount: args.minInstances ?? 0, maxInstanceCount: args.maxInstances ?? 100 },
        template: {
          revision: templateRevision(revisions),
          containers: [{ image, ports: { containerPort: args.port ?? 8080 }, resources: { limits: { cpu: args.cpu ?? "1", memory: args.memory ?? "512Mi" } } }],
        },
        traffics,
      },
      { parent: this },
    );
    if (args.allowUnauthenticated) {
      this.invoker = new gcp.cloudrunv2.ServiceIamMember(
        `${name}-invoker`,
        { project: args.project, location: args.region, name: this.service.name, role: "roles/run.invoker", member: "allUsers" },
        { parent: this },
      );
    }
    this.revisions = revisions;
    this.url = this.service.uri.apply((u) => (u ? u : undefined));
    this.canaryUrl = this.service.trafficStatuses.apply((s) => (revisions.canary ? tagUri(s, CANARY_TAG) : undefined));
    this.appliedCanaryWeight = this.service.traffics.apply((t) => appliedCanaryPercent(t, revisions.canary));

    this.registerOutputs({
      service: this.service,
      invoker: this.invoker,
      revisions: this.revisions,
      url: this.url,
      canaryUrl: this.canaryUrl,
      appliedCanaryWeight: this.appliedCanaryWeight,
    });
  }
}
