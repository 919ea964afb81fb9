/**
 * The stable and canary workloads of the Kubernetes platforms (Istio, Linkerd, Gateway API):
 * their shared arguments, the one check of those arguments, and the Deployments (and, for the
 * platforms that split between per-track Services, the Services) themselves. Each platform adds
 * only its traffic resources.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { canaryVersionProblems, TrafficSpec, trafficProblems } from "../routing";
import { Checks, dnsLabel, httpPath, imageRef, intRange, labelValue, port, Problem, quantity, quantityAmount } from "../validation";
import { canaryReplicas, ContainerResources, MAX_REPLICAS, renderDeployment, renderService, WORKLOAD_DEFAULTS, WorkloadSettings } from "./workloads";

/** Arguments every Kubernetes platform component takes. */
export interface WorkloadArgs {
  /** The service name: the `app` label and the prefix of every object name (a DNS label; at most 56 characters where per-track Services are created). */
  readonly service: string;
  /** Namespace of every object. Defaults to default. */
  readonly namespace?: pulumi.Input<string>;
  /** The stable version's label value. */
  readonly stableVersion: string;
  /** The stable version's container image. */
  readonly stableImage: pulumi.Input<string>;
  /** The canary version's label value; required exactly when `traffic.hasCanary`; differs from stableVersion. */
  readonly canaryVersion?: string;
  /** The canary version's container image; required exactly when `traffic.hasCanary`. */
  readonly canaryImage?: pulumi.Input<string>;
  /** The traffic model. */
  readonly traffic: TrafficSpec;
  /** Service port. Defaults to 80. */
  readonly port?: number;
  /** Container port, named `http`; the probes and the Services target it by that name. Defaults to 8080. */
  readonly targetPort?: number;
  /** Stable replicas, 1–1000; the canary gets ceil(replicas × weight / 100), at least 1 (with traffic.blueGreen, as many as the stable). Defaults to 3. */
  readonly replicas?: number;
  /** Path of the readiness and liveness probes. Defaults to /health. */
  readonly healthPath?: string;
  /** Container resources of both versions; each request at most its limit. Defaults to requests 100m/128Mi, limits 500m/256Mi. */
  readonly resources?: ContainerResources;
}

const replicasRule = intRange(1, MAX_REPLICAS);

/**
 * Checks the resources: every amount a Kubernetes quantity, and each request at most its limit,
 * as the API server requires (it refuses the Deployment's pods otherwise: "must be less than or
 * equal to cpu limit"; kubernetes/kubernetes pkg/apis/core/validation, ValidateResourceRequirements).
 */
export function resourceProblems(c: Checks, resources: ContainerResources | undefined, root: readonly PropertyKey[] = ["resources"]): void {
  if (resources === undefined) return;
  for (const kind of ["cpu", "memory"] as const) {
    const request = resources.requests?.[kind];
    const limit = resources.limits?.[kind];
    c.rule([...root, "requests", kind], request, quantity);
    c.rule([...root, "limits", kind], limit, quantity);
    if (quantity.check(request) === undefined && quantity.check(limit) === undefined && quantityAmount(request) > quantityAmount(limit)) {
      c.add([...root, "requests", kind], `must be at most the ${kind} limit (${limit})`, request);
    }
  }
}

/**
 * Every problem with the shared arguments, by argument path, without registering anything.
 * @param maxServiceName the longest service name the platform's object names allow.
 */
export function workloadProblems(args: WorkloadArgs, maxServiceName: number): Problem[] {
  const c = new Checks();
  c.rule(["service"], args.service, dnsLabel);
  if (dnsLabel.check(args.service) === undefined && args.service.length > maxServiceName) {
    c.add(["service"], `must have at most ${maxServiceName} characters, so that <service>-canary is a Kubernetes Service name (a DNS label of at most 63)`, args.service);
  }
  c.rule(["namespace"], args.namespace, dnsLabel);
  c.rule(["stableVersion"], args.stableVersion, labelValue);
  c.rule(["stableImage"], args.stableImage, imageRef);
  if (args.canaryVersion !== undefined) c.rule(["canaryVersion"], args.canaryVersion, labelValue);
  c.rule(["canaryImage"], args.canaryImage, imageRef);
  c.addAll(canaryVersionProblems(args));
  c.addAll(trafficProblems(args.traffic));
  c.rule(["port"], args.port, port);
  c.rule(["targetPort"], args.targetPort, port);
  c.rule(["replicas"], args.replicas, replicasRule);
  c.rule(["healthPath"], args.healthPath, httpPath);
  resourceProblems(c, args.resources);
  return c.problems;
}

/** The workload settings of the arguments, with the documented defaults applied. */
export function workloadSettings(args: WorkloadArgs, podAnnotations?: Readonly<Record<string, string>>): WorkloadSettings {
  return {
    app: args.service,
    namespace: args.namespace ?? WORKLOAD_DEFAULTS.namespace,
    port: args.port ?? WORKLOAD_DEFAULTS.port,
    targetPort: args.targetPort ?? WORKLOAD_DEFAULTS.targetPort,
    healthPath: args.healthPath ?? WORKLOAD_DEFAULTS.healthPath,
    resources: args.resources ?? WORKLOAD_DEFAULTS.resources,
    ...(podAnnotations ? { podAnnotations } : {}),
  };
}

/** The Deployments of both tracks; the canary's is absent without a canary. */
export interface TrackDeployments {
  readonly stableDeployment: k8s.apps.v1.Deployment;
  readonly canaryDeployment?: k8s.apps.v1.Deployment;
}

/** Creates each track's Deployment as a child of `parent`: `${name}-stable-deploy`, `${name}-canary-deploy`. */
export function createDeployments(name: string, parent: pulumi.Resource, settings: WorkloadSettings, args: WorkloadArgs): TrackDeployments {
  const replicas = args.replicas ?? WORKLOAD_DEFAULTS.replicas;
  const stableDeployment = new k8s.apps.v1.Deployment(`${name}-stable-deploy`, renderDeployment(settings, "stable", { version: args.stableVersion, image: args.stableImage, replicas }), { parent });
  if (!args.traffic.hasCanary) return { stableDeployment };
  // Green (blue/green) runs at the stable's full size from the start, so all traffic can move to it at once.
  const canaryVersion = { version: args.canaryVersion!, image: args.canaryImage!, replicas: args.traffic.blueGreen ? replicas : canaryReplicas(replicas, args.traffic.canaryWeight) };
  return { stableDeployment, canaryDeployment: new k8s.apps.v1.Deployment(`${name}-canary-deploy`, renderDeployment(settings, "canary", canaryVersion), { parent }) };
}

/** The per-track Deployments and Services; the canary's are absent without a canary. */
export interface TrackWorkloads extends TrackDeployments {
  readonly stableService: k8s.core.v1.Service;
  readonly canaryService?: k8s.core.v1.Service;
  /** The Services a traffic resource routes to, for its `dependsOn`. */
  readonly backends: readonly pulumi.Resource[];
}

/**
 * Creates each track's Deployment and Service as children of `parent`, named by the convention
 * in workloads.ts (`${name}-stable-deploy`, `${name}-stable-svc`, …).
 */
export function createTrackWorkloads(name: string, parent: pulumi.Resource, settings: WorkloadSettings, args: WorkloadArgs): TrackWorkloads {
  const deployments = createDeployments(name, parent, settings, args);
  const stableService = new k8s.core.v1.Service(`${name}-stable-svc`, renderService(settings, "stable"), { parent });
  if (!args.traffic.hasCanary) return { ...deployments, stableService, backends: [stableService] };
  const canaryService = new k8s.core.v1.Service(`${name}-canary-svc`, renderService(settings, "canary"), { parent });
  return { ...deployments, stableService, canaryService, backends: [stableService, canaryService] };
}
