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
import { canaryVersionProblems, capabilityProblems, TrafficSpec, trafficProblems } from "../routing";
import { assertNoProblems, Checks, imageRef, intRange, pattern, port, Problem, quantityAmount, Rule } from "../validation";
import { cloudRunNameProblems, revisionNames } from "./revisionName";
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
  /** CPU limit per instance: 1, 2, 4, 6 or 8 (or 1000m…). Defaults to "1". */
  readonly cpu?: string;
  /** Memory limit per instance, 128Mi–32Gi within the CPU's range, e.g. "512Mi". Defaults to "512Mi". */
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

/** The resource type token of {@link CloudRunCanary}. */
export const CLOUD_RUN_CANARY_TYPE = "canary:gcp:CloudRunCanary";

/**
 * Every default of {@link CloudRunCanaryArgs}, in one place: the component applies them and the
 * stack config's `canary:gcp` schema declares them (a test keeps the two equal).
 */
export const CLOUD_RUN_DEFAULTS = {
  port: 8080,
  cpu: "1",
  memory: "512Mi",
  minInstances: 0,
  maxInstances: 100,
  ingress: "all",
  allowUnauthenticated: false,
  deletionProtection: true,
} as const;

/** CPU limits of a Cloud Run service instance that this component can deploy. */
export const cloudRunCpu = pattern(/^([1-9][0-9]*|[1-9][0-9]*000m)$/, "must be a CPU limit of 1, 2, 4, 6 or 8 (or 1000m, 2000m, …)");

/** Memory limits in Mi or Gi. */
export const cloudRunMemory = pattern(/^[1-9][0-9]*(Mi|Gi)$/, "must be a memory limit such as 512Mi or 2Gi");

/**
 * Cloud Run's memory range for each whole CPU count, MiB. Source:
 * https://cloud.google.com/run/docs/configuring/services/cpu ("CPU and memory table": 1 vCPU up to
 * 4 GiB, 2 up to 8, 4 from 2 to 16, 6 from 4 to 24, 8 from 4 to 32; values above 1 are integers,
 * at most 8) and https://cloud.google.com/run/docs/configuring/services/memory-limits (at least
 * 128 MiB, at most 32 GiB). CPU below 1 also needs concurrency 1 and request-based billing,
 * which this component does not set, so it is refused rather than deployed and rejected.
 */
export const CLOUD_RUN_MEMORY_BY_CPU: Readonly<Record<number, { readonly minMi: number; readonly maxMi: number }>> = {
  1: { minMi: 128, maxMi: 4096 },
  2: { minMi: 128, maxMi: 8192 },
  4: { minMi: 2048, maxMi: 16384 },
  6: { minMi: 4096, maxMi: 24576 },
  8: { minMi: 4096, maxMi: 32768 },
};

/** Instance counts the component accepts (Cloud Run's default maximum instances quota is 1000 per revision at most). */
export const CLOUD_RUN_INSTANCE_RULES = { minInstances: intRange(0, 1000), maxInstances: intRange(1, 1000) } as const satisfies Record<string, Rule<number>>;

const INGRESS_VALUES = Object.keys(INGRESS);

/**
 * Every problem with {@link CloudRunCanaryArgs}, by argument path, without registering anything:
 * the service and revision names, the canary's version and image against the traffic model, the
 * features Cloud Run cannot route (segments, stickiness, mirroring), the port, CPU and memory
 * limits, and the instance counts.
 */
export function cloudRunCanaryProblems(args: CloudRunCanaryArgs): Problem[] {
  const c = new Checks();
  c.addAll(cloudRunNameProblems(args.service, args.stableVersion, args.canaryVersion));
  c.addAll(canaryVersionProblems(args));
  c.rule(["stableImage"], args.stableImage, imageRef);
  c.rule(["canaryImage"], args.canaryImage, imageRef);
  c.addAll(trafficProblems(args.traffic));
  c.addAll(capabilityProblems("gcp", args.traffic));
  c.rule(["port"], args.port, port);
  c.rule(["cpu"], args.cpu, cloudRunCpu);
  c.rule(["memory"], args.memory, cloudRunMemory);
  const cpu = args.cpu ?? CLOUD_RUN_DEFAULTS.cpu;
  const memory = args.memory ?? CLOUD_RUN_DEFAULTS.memory;
  if (cloudRunCpu.check(cpu) === undefined && cloudRunMemory.check(memory) === undefined) {
    const cpus = quantityAmount(cpu);
    const range = CLOUD_RUN_MEMORY_BY_CPU[cpus];
    const mi = quantityAmount(memory) / 2 ** 20;
    if (!range) c.add(["cpu"], "must be 1, 2, 4, 6 or 8 CPUs (Cloud Run's choices)", cpu);
    else if (mi < range.minMi || mi > range.maxMi) c.add(["memory"], `must be from ${range.minMi}Mi to ${range.maxMi}Mi with ${cpus} CPU (Cloud Run's range)`, memory);
  }
  c.rule(["minInstances"], args.minInstances, CLOUD_RUN_INSTANCE_RULES.minInstances);
  c.rule(["maxInstances"], args.maxInstances, CLOUD_RUN_INSTANCE_RULES.maxInstances);
  const min = args.minInstances ?? CLOUD_RUN_DEFAULTS.minInstances;
  const max = args.maxInstances ?? CLOUD_RUN_DEFAULTS.maxInstances;
  if (c.ok && min > max) c.add(["minInstances"], `must be at most maxInstances (${max})`, min);
  if (args.ingress !== undefined && !INGRESS_VALUES.includes(args.ingress)) c.add(["ingress"], `must be ${INGRESS_VALUES.join(", ")}`, args.ingress);
  return c.problems;
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
    // Validate and derive before registering anything, so a bad argument leaves no half-made component.
    assertNoProblems(CLOUD_RUN_CANARY_TYPE, cloudRunCanaryProblems(args));
    const d = CLOUD_RUN_DEFAULTS;
    const revisions = revisionNames(args.service, args.stableVersion, args.canaryVersion);
    const traffics = renderTraffic(args.traffic, revisions);
    super(CLOUD_RUN_CANARY_TYPE, name, {}, opts);

    const image = args.canaryImage ?? args.stableImage;
    this.service = new gcp.cloudrunv2.Service(
      `${name}-service`,
      {
        name: args.service,
        project: args.project,
        location: args.region,
        ingress: INGRESS[args.ingress ?? d.ingress],
        deletionProtection: args.deletionProtection ?? d.deletionProtection,
        scaling: { minInstanceCount: args.minInstances ?? d.minInstances, maxInstanceCount: args.maxInstances ?? d.maxInstances },
        template: {
          revision: templateRevision(revisions),
          containers: [{ image, ports: { containerPort: args.port ?? d.port }, resources: { limits: { cpu: args.cpu ?? d.cpu, memory: args.memory ?? d.memory } } }],
        },
        traffics,
      },
      { parent: this },
    );
    if (args.allowUnauthenticated ?? d.allowUnauthenticated) {
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
