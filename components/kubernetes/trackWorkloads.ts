/**
 * The stable and canary workloads of the platforms that split traffic between per-track
 * Services (Linkerd, Gateway API): their shared arguments, validation, and the Deployments and
 * Services themselves. Each platform adds only its traffic resource.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TrafficSpec } from "../routing";
import { assertReplicas, assertWorkloadNames, canaryReplicas, ComponentArgsError, ContainerResources, DEFAULT_RESOURCES, renderDeployment, renderService, WorkloadSettings } from "./workloads";

/** Arguments every per-track-Services component takes. */
export interface TrackedWorkloadArgs {
  /** The service name: the `app` label and the prefix of every object name (at most 56 characters). */
  readonly service: string;
  /** Namespace of every object. Defaults to default. */
  readonly namespace?: pulumi.Input<string>;
  /** The stable version's label value. */
  readonly stableVersion: string;
  /** The stable version's container image. */
  readonly stableImage: pulumi.Input<string>;
  /** The canary version's label value; required exactly when `traffic.hasCanary`. */
  readonly canaryVersion?: string;
  /** The canary version's container image; required exactly when `traffic.hasCanary`. */
  readonly canaryImage?: pulumi.Input<string>;
  /** The traffic model. */
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

/** Checks the shared arguments without registering anything; throws naming the argument. */
export function validateTrackedWorkloadArgs(args: TrackedWorkloadArgs): void {
  assertWorkloadNames(args.service);
  if (args.replicas !== undefined) assertReplicas(args.replicas);
  if (args.traffic.hasCanary !== (args.canaryVersion !== undefined && args.canaryImage !== undefined)) {
    throw new ComponentArgsError(`canaryVersion and canaryImage must be given exactly when traffic.hasCanary is true (hasCanary is ${args.traffic.hasCanary})`);
  }
}

/** The workload settings of the arguments, with the documented defaults applied. */
export function trackedWorkloadSettings(args: TrackedWorkloadArgs, podAnnotations?: Readonly<Record<string, string>>): WorkloadSettings {
  return {
    app: args.service,
    namespace: args.namespace ?? "default",
    port: args.port ?? 80,
    targetPort: args.targetPort ?? 8080,
    healthPath: args.healthPath ?? "/health",
    resources: args.resources ?? DEFAULT_RESOURCES,
    ...(podAnnotations ? { podAnnotations } : {}),
  };
}

/** The per-track Deployments and Services; the canary's are absent without a canary. */
export interface TrackWorkloads {
  readonly stableDeployment: k8s.apps.v1.Deployment;
  readonly stableService: k8s.core.v1.Service;
  readonly canaryDeployment?: k8s.apps.v1.Deployment;
  readonly canaryService?: k8s.core.v1.Service;
  /** The Services a traffic resource routes to, for its `dependsOn`. */
  readonly backends: readonly pulumi.Resource[];
}

/**
 * Creates each track's Deployment and Service as children of `parent`, named by the convention
 * in workloads.ts (`${name}-stable-deploy`, `${name}-stable-svc`, …).
 */
export function createTrackWorkloads(name: string, parent: pulumi.Resource, settings: WorkloadSettings, args: TrackedWorkloadArgs): TrackWorkloads {
  const replicas = args.replicas ?? 3;
  const stableDeployment = new k8s.apps.v1.Deployment(`${name}-stable-deploy`, renderDeployment(settings, "stable", { version: args.stableVersion, image: args.stableImage, replicas }), { parent });
  const stableService = new k8s.core.v1.Service(`${name}-stable-svc`, renderService(settings, "stable"), { parent });
  if (!args.traffic.hasCanary) return { stableDeployment, stableService, backends: [stableService] };
  const canaryVersion = { version: args.canaryVersion!, image: args.canaryImage!, replicas: canaryReplicas(replicas, args.traffic.canaryWeight) };
  const canaryDeployment = new k8s.apps.v1.Deployment(`${name}-canary-deploy`, renderDeployment(settings, "canary", canaryVersion), { parent });
  const canaryService = new k8s.core.v1.Service(`${name}-canary-svc`, renderService(settings, "canary"), { parent });
  return { stableDeployment, stableService, canaryDeployment, canaryService, backends: [stableService, canaryService] };
}
