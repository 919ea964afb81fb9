/**
 * The Kubernetes workload of one service version (Deployment + Service), rendered by pure
 * functions. Istio, Linkerd and Gateway API all run the stable and canary versions the same way,
 * so they render them here; only the traffic resource differs per platform.
 *
 * Pods carry `app`, `version` and `track` labels. Selectors use `app` and `track` only, never
 * `version`: a Deployment's selector is immutable, and promotion (stable := canary) must roll
 * the stable Deployment to the new version in place rather than replace it.
 *
 * Names. Kubernetes objects are `<app>` (the apex Service), `<app>-stable` and `<app>-canary`
 * (each track's Deployment and, where the platform splits between Services, its Service; a
 * Deployment name too long for a DNS label is shortened, see {@link deploymentName}).
 * Pulumi (logical) names of a component called `name` follow one convention on every platform:
 *
 * | resource | Pulumi name |
 * |---|---|
 * | stable / canary Deployment | `${name}-stable-deploy`, `${name}-canary-deploy` |
 * | apex Service (one Service selecting both tracks) | `${name}-svc` |
 * | stable / canary Service | `${name}-stable-svc`, `${name}-canary-svc` |
 * | Istio VirtualService / DestinationRule | `${name}-vs`, `${name}-dr` |
 * | Linkerd TrafficSplit | `${name}-split` |
 * | Gateway API HTTPRoute | `${name}-route` |
 */
import { createHash } from "node:crypto";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { assertPercent } from "../routing";
import { intRange, MAX_DNS_LABEL } from "../validation";

/** Which side of the split a workload serves; the value of the `track` label. */
export type Track = "stable" | "canary";

/** CPU and memory quantities of a container, in Kubernetes notation. */
export interface ResourceQuantities {
  /** CPU, e.g. "100m" or "1". */
  readonly cpu: string;
  /** Memory, e.g. "128Mi". */
  readonly memory: string;
}

/** Container resources, identical for both versions so their metrics compare like for like. */
export interface ContainerResources {
  /** What the scheduler reserves: `cpu` (e.g. 100m) and `memory` (e.g. 128Mi). */
  readonly requests: ResourceQuantities;
  /** The most the container may use; each at least its request. */
  readonly limits: ResourceQuantities;
}

/** The resources used when none are given: requests 100m/128Mi, limits 500m/256Mi. */
export const DEFAULT_RESOURCES: ContainerResources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } };

/**
 * Every default of the workload arguments, in one place: the components apply them and the
 * stack config's schema declares them (a test keeps the two equal).
 */
export const WORKLOAD_DEFAULTS = {
  namespace: "default",
  port: 80,
  targetPort: 8080,
  replicas: 3,
  healthPath: "/health",
  resources: DEFAULT_RESOURCES,
} as const;

/** Most stable replicas the components accept. */
export const MAX_REPLICAS = 1000;

/** Settings shared by both tracks' workloads. */
export interface WorkloadSettings {
  /** The service name: the `app` label and the prefix of every Kubernetes object name. */
  readonly app: string;
  readonly namespace: pulumi.Input<string>;
  /** Service port. */
  readonly port: number;
  /** Container port, named `http`; the probes and the Services' targetPort refer to it by that name. */
  readonly targetPort: number;
  /** Readiness and liveness probe path. */
  readonly healthPath: string;
  readonly resources: ContainerResources;
  /** Extra pod-template annotations (Linkerd's proxy injection). Defaults to none. */
  readonly podAnnotations?: Readonly<Record<string, string>>;
}

/** One track's version, image and replica count. */
export interface TrackVersion {
  readonly version: string;
  readonly image: pulumi.Input<string>;
  readonly replicas: number;
}

/** Longest Kubernetes Service name (an RFC 1035 label). */
export const MAX_SERVICE_NAME = MAX_DNS_LABEL;

/** The Kubernetes name of a track's Service: `<app>-<track>`, exactly (clients may call it by name). */
export function trackName(app: string, track: Track): string {
  return `${app}-${track}`;
}

/** Longest service name whose per-track Services (`<app>-canary`) are still DNS labels. */
export const MAX_TRACKED_SERVICE_NAME = MAX_SERVICE_NAME - "-canary".length;

/**
 * The Kubernetes name of a track's Deployment: `<app>-<track>` when that is a DNS label (63
 * characters), else the app name cut short with a hash of the whole name before the track, so
 * a 63-character service still gets distinct, stable Deployment names of at most 63 characters.
 * A Deployment name may be a DNS subdomain, but its pods' host names are DNS labels, so
 * Kubernetes recommends keeping it a label.
 * Source: https://kubernetes.io/docs/concepts/workloads/controllers/deployment/ ("For best
 * compatibility, the name should follow the more restrictive rules for a DNS label").
 */
export function deploymentName(app: string, track: Track): string {
  const full = `${app}-${track}`;
  if (full.length <= MAX_DNS_LABEL) return full;
  const hash = createHash("sha256").update(app).digest("hex").slice(0, 8);
  const room = MAX_DNS_LABEL - track.length - hash.length - 2;
  return `${app.slice(0, room).replace(/-+$/, "")}-${hash}-${track}`;
}

const replicasRule = intRange(1, MAX_REPLICAS);

/**
 * Canary replicas for a canary weight: the canary's share of the stable replica count, rounded
 * up so it is never under-provisioned for its share, and at least 1 so the override header and
 * the segments (or, on Linkerd, direct calls to the canary Service) have a pod to reach at
 * weight 0.
 * @param stableReplicas the stable Deployment's replicas, an integer from 1 to {@link MAX_REPLICAS}.
 * @param canaryWeight the default route's canary percent, an integer 0–100.
 */
export function canaryReplicas(stableReplicas: number, canaryWeight: number): number {
  const bad = replicasRule.check(stableReplicas);
  if (bad) throw new RangeError(`replicas ${bad}, got ${String(stableReplicas)}`);
  assertPercent(canaryWeight);
  // ceil(a / 100) in integer arithmetic, for the non-negative integer a = replicas × weight.
  return Math.max(1, Math.floor((stableReplicas * canaryWeight + 99) / 100));
}

/** The labels a track's Deployment and Service select on. */
export function selectorLabels(app: string, track: Track): Record<string, string> {
  return { app, track };
}

/** The labels of a track's pods. `version` is what metrics, dashboards and Istio's subsets group by. */
export function podLabels(app: string, track: Track, version: string): Record<string, string> {
  return { app, version, track };
}

/**
 * The args of a track's Deployment ({@link deploymentName}). Both versions get the same container shape,
 * resources and probes, so they differ only in image and labels. The probes target the port by
 * its name `http`, so changing `targetPort` cannot leave them probing the old port. The
 * liveness probe waits 10 s before its first check so a slow start is not killed before it
 * could become ready.
 */
export function renderDeployment(settings: WorkloadSettings, track: Track, v: TrackVersion): k8s.apps.v1.DeploymentArgs {
  const labels = podLabels(settings.app, track, v.version);
  const probe = { httpGet: { path: settings.healthPath, port: "http" } };
  return {
    metadata: { name: deploymentName(settings.app, track), namespace: settings.namespace, labels },
    spec: {
      replicas: v.replicas,
      selector: { matchLabels: selectorLabels(settings.app, track) },
      template: {
        metadata: { labels, ...(settings.podAnnotations ? { annotations: { ...settings.podAnnotations } } : {}) },
        spec: {
          containers: [
            {
              name: settings.app,
              image: v.image,
              ports: [{ name: "http", containerPort: settings.targetPort }],
              resources: { requests: { ...settings.resources.requests }, limits: { ...settings.resources.limits } },
              readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
            },
          ],
        },
      },
    },
  };
}

/**
 * The args of a Service: with a track, `<app>-<track>` selecting that track's pods; without, the
 * apex `<app>` selecting both (Linkerd's split target, Istio's only Service). The port is named
 * `http`, which tells Istio the traffic is HTTP (its weighted and header routes need HTTP
 * routing), and targets the container port by that name.
 */
export function renderService(settings: WorkloadSettings, track?: Track): k8s.core.v1.ServiceArgs {
  const name = track ? trackName(settings.app, track) : settings.app;
  const selector = track ? selectorLabels(settings.app, track) : { app: settings.app };
  return {
    metadata: { name, namespace: settings.namespace, labels: { ...selector } },
    spec: {
      type: "ClusterIP",
      selector,
      ports: [{ name: "http", port: settings.port, targetPort: "http", protocol: "TCP" }],
    },
  };
}
