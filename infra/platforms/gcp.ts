/** The GCP Cloud Run platform: `canary:gcp` block and the CloudRunCanary component. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { intRange } from "../schema";
import { assertServiceName, CloudRunCanary, revisionName, revisionNames, RevisionNameError } from "../../components/gcp";
import { CanaryConfig, definePlatform } from "./types";

const projectMessage = "must be a GCP project id: 6–30 lowercase letters, digits or '-', starting with a letter and not ending with '-'";
const regionMessage = "must be a GCP region such as europe-west1";
const cpuMessage = "must be a CPU limit such as 1, 2, 0.5 or 500m";
const memoryMessage = "must be a memory limit such as 512Mi or 2Gi";
const ingressMessage = "must be all, internal or internal-and-cloud-load-balancing";

/** `canary:gcp`. Required: the project and region have no default. */
export const gcpBlockSchema = z
  .strictObject({
    /** GCP project of the service. */
    project: z.string({ error: projectMessage }).regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { error: projectMessage }),
    /** Cloud Run region. */
    region: z.string({ error: regionMessage }).regex(/^[a-z]+-[a-z]+[0-9]+$/, { error: regionMessage }),
    /** Container port requests are sent to. Defaults to 8080. */
    port: intRange(1, 65535).default(8080),
    /** CPU limit per instance. Defaults to 1. */
    cpu: z.string({ error: cpuMessage }).regex(/^([0-9]+(\.[0-9]+)?|[0-9]+m)$/, { error: cpuMessage }).default("1"),
    /** Memory limit per instance. Defaults to 512Mi. */
    memory: z.string({ error: memoryMessage }).regex(/^[0-9]+(Mi|Gi)$/, { error: memoryMessage }).default("512Mi"),
    /** Minimum instances of the service, shared by the revisions taking traffic. Defaults to 0. */
    minInstances: intRange(0, 1000).default(0),
    /** Maximum instances of the service, shared by the revisions taking traffic. Defaults to 100. */
    maxInstances: intRange(1, 1000).default(100),
    /** Who may reach the service. Defaults to all. */
    ingress: z.enum(["all", "internal", "internal-and-cloud-load-balancing"], { error: ingressMessage }).default("all"),
    /** Let anyone invoke the service (roles/run.invoker for allUsers). Defaults to false. */
    allowUnauthenticated: z.boolean({ error: "must be true or false" }).default(false),
    /** Refuse to delete the service on destroy. Defaults to true. */
    deletionProtection: z.boolean({ error: "must be true or false" }).default(true),
  })
  .superRefine((block, ctx) => {
    if (block.minInstances > block.maxInstances) {
      ctx.addIssue({ code: "custom", path: ["minInstances"], message: `must be at most maxInstances (${block.maxInstances})` });
    }
  });

/** The validated `canary:gcp` block. */
export type GcpBlock = z.output<typeof gcpBlockSchema>;

/** Invalid Cloud Run names derived from `canary:service` and the versions; printed without a stack trace. */
export class CloudRunConfigError extends pulumi.RunError {
  constructor(public readonly problems: ReadonlyArray<{ path: string; message: string }>) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
    this.name = "CloudRunConfigError";
  }
}

/**
 * The problems with the names Cloud Run derives from the config (service name, one revision per
 * version), each under the key that causes it. Empty when the config can be deployed.
 */
export function cloudRunNameProblems(config: Pick<CanaryConfig, "service" | "stable" | "canary">): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const check = (path: string, f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof RevisionNameError)) throw e;
      problems.push({ path, message: e.message });
    }
  };
  check("canary:service", () => assertServiceName(config.service));
  if (problems.length > 0) return problems;
  check("canary:stable.version", () => revisionName(config.service, config.stable.version));
  if (config.canary) check("canary:canary.version", () => revisionName(config.service, config.canary!.version));
  if (problems.length === 0 && config.canary) check("canary:canary.version", () => revisionNames(config.service, config.stable.version, config.canary!.version));
  return problems;
}

/** The GCP Cloud Run platform module. */
export const gcp = definePlatform({
  platform: "gcp",
  blockKey: "gcp",
  blockSchema: gcpBlockSchema,
  deploy: (config, block) => {
    const problems = cloudRunNameProblems(config);
    if (problems.length > 0) throw new CloudRunConfigError(problems);
    const canary = new CloudRunCanary(config.service, {
      service: config.service,
      project: block.project,
      region: block.region,
      stableVersion: config.stable.version,
      stableImage: config.stable.image,
      canaryVersion: config.canary?.version,
      canaryImage: config.canary?.image,
      traffic: config.traffic,
      port: block.port,
      cpu: block.cpu,
      memory: block.memory,
      minInstances: block.minInstances,
      maxInstances: block.maxInstances,
      ingress: block.ingress,
      allowUnauthenticated: block.allowUnauthenticated,
      deletionProtection: block.deletionProtection,
    });
    return {
      project: block.project,
      region: block.region,
      cloudRunService: canary.service.name,
      stableRevision: canary.revisions.stable,
      canaryRevision: canary.revisions.canary ?? null,
      url: canary.url,
      canaryUrl: canary.canaryUrl,
      appliedCanaryWeight: canary.appliedCanaryWeight,
    };
  },
});
