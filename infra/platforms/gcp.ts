/** The GCP Cloud Run platform: `canary:gcp` block and the CloudRunCanary component. */
import { z } from "zod";
import { CLOUD_RUN_DEFAULTS as D, CLOUD_RUN_INSTANCE_RULES, CloudRunCanary, CloudRunCanaryArgs, cloudRunCanaryProblems, cloudRunCpu, cloudRunMemory } from "../../components/gcp";
import { port } from "../../components/validation";
import { zBoolean, zEnum, zNumber, zString } from "../zod";
import { blockKeys, versionArgs } from "./args";
import { definePlatform } from "./types";

const projectMessage = "must be a GCP project id: 6–30 lowercase letters, digits or '-', starting with a letter and not ending with '-'";
const regionMessage = "must be a GCP region such as europe-west1";

/** `canary:gcp`. Required: the project and region have no default. */
export const gcpBlockSchema = z.strictObject({
  /** GCP project of the service. */
  project: z.string({ error: projectMessage }).regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { error: projectMessage }),
  /** Cloud Run region. */
  region: z.string({ error: regionMessage }).regex(/^[a-z]+-[a-z]+[0-9]+$/, { error: regionMessage }),
  /** Container port requests are sent to. Defaults to 8080. */
  port: zNumber(port).default(D.port),
  /** CPU limit per instance. Defaults to 1. */
  cpu: zString(cloudRunCpu).default(D.cpu),
  /** Memory limit per instance. Defaults to 512Mi. */
  memory: zString(cloudRunMemory).default(D.memory),
  /** Minimum instances of the service, shared by the revisions taking traffic. Defaults to 0. */
  minInstances: zNumber(CLOUD_RUN_INSTANCE_RULES.minInstances).default(D.minInstances),
  /** Maximum instances of the service, shared by the revisions taking traffic. Defaults to 100. */
  maxInstances: zNumber(CLOUD_RUN_INSTANCE_RULES.maxInstances).default(D.maxInstances),
  /** Who may reach the service. Defaults to all. */
  ingress: zEnum(["all", "internal", "internal-and-cloud-load-balancing"]).default(D.ingress),
  /** Let anyone invoke the service (roles/run.invoker for allUsers). Defaults to false. */
  allowUnauthenticated: zBoolean.default(D.allowUnauthenticated),
  /** Refuse to delete the service on destroy. Defaults to true. */
  deletionProtection: zBoolean.default(D.deletionProtection),
});

/** The validated `canary:gcp` block. */
export type GcpBlock = z.output<typeof gcpBlockSchema>;

/** Fields of `canary:gcp` that are CloudRunCanary arguments of the same name. */
const GCP_FIELDS = ["project", "region", "port", "cpu", "memory", "minInstances", "maxInstances", "ingress", "allowUnauthenticated", "deletionProtection"] as const;

/** The GCP Cloud Run platform module. */
export const gcp = definePlatform({
  platform: "gcp",
  blockKey: "gcp",
  blockSchema: gcpBlockSchema,
  args: (config, block): CloudRunCanaryArgs => ({
    ...versionArgs(config),
    project: block.project,
    region: block.region,
    port: block.port,
    cpu: block.cpu,
    memory: block.memory,
    minInstances: block.minInstances,
    maxInstances: block.maxInstances,
    ingress: block.ingress,
    allowUnauthenticated: block.allowUnauthenticated,
    deletionProtection: block.deletionProtection,
  }),
  check: cloudRunCanaryProblems,
  keyOf: blockKeys("gcp", {}, GCP_FIELDS),
  deploy: (args, config, block) => {
    const canary = new CloudRunCanary(config.service, args);
    return {
      project: block.project,
      region: block.region,
      serviceName: canary.service.name,
      stableRevisionName: canary.revisions.stable,
      canaryRevisionName: canary.revisions.canary ?? null,
      url: canary.url,
      canaryUrl: canary.canaryUrl,
      appliedCanaryWeight: canary.appliedCanaryWeight,
    };
  },
  deprecatedOutputs: { cloudRunService: "serviceName", stableRevision: "stableRevisionName", canaryRevision: "canaryRevisionName" },
});
