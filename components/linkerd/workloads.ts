/**
 * The Kubernetes workload of one service version (Deployment + Service), rendered by pure
 * functions. Linkerd and Gateway API share it: both split traffic between a stable and a canary
 * Service that each select one track's pods.
 *
 * Pods carry `app`, `version` and `track` labels. Selectors use `app` and `track` only, never
 * `version`: a Deployment's selector is immutable, and promotion (stable := canary) must roll
 * the stable Deployment to the new version in place rather than replace it.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Which side of the split a workload serves. */
export type Track = "stable" | "canary";

/** Thrown when component arguments cannot be rendered (a name too long, too many rules). */
export class ComponentArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ComponentArgsError";
  }
}

/** Container resources, identical for both versions so they are compared like for like. */
export interface ContainerResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/** Settings shared by both tracks' workloads. */
export interface WorkloadSettings {
  /** The service name: the `app` label and the prefix of every Kubernetes object name. */
  readonly app: string;
  readonly namespace: pulumi.Input<string>;
  /** Service port. */
  readonly port: number;
  /** Container port. */
  readonly targetPort: number;
  /** Readiness and liveness probe path. */
  readonly healthPath: string;
  readonly resources: ContainerResources;
  /** Extra pod-template annotations (Linkerd's proxy injection). */
  readonly podAnnotations?: Readonly<Record<string, string>>;
}

/** One track's version, image and replica count. */
export interface TrackVersion {
  readonly version: string;
  readonly image: pulumi.Input<string>;
  readonly replicas: number;
}

/** Longest Kubernetes Service name (an RFC 1035 label). */
export const MAX_SERVICE_NAME = 63;

/** The Kubernetes name of a track's Deployment and Service: `<app>-<track>`. */
export function trackName(app: string, track: Track): string {
  return `${app}-${track}`;
}

/**
 * Checks that every object name derived from `app` is a valid Service name; the longest is
 * `<app>-canary`.
 */
export function assertWorkloadNames(app: string): void {
  const longest = trackName(app, "canary");
  if (longest.length > MAX_SERVICE_NAME) {
    throw new ComponentArgsError(
      `service name ${JSON.stringify(app)} is too long for Kubernetes: the canary Service ${JSON.stringify(longest)} has ${longest.length} characters, at most ${MAX_SERVICE_NAME} are allowed (so the service name may have at most ${MAX_SERVICE_NAME - "-canary".length})`,
    );
  }
}

/**
 * Canary replicas for a canary weight: the stable count scaled by the weight, rounded up, and at
 * least 1 so the canary can serve override traffic at weight 0.
 */
export function canaryReplicas(stableReplicas: number, canaryWeight: number): number {
  return Math.max(1, Math.ceil((stableReplicas * canaryWeight) / 100));
}

/** The labels a track's Service and Deployment select on. */
export function selectorLabels(app: string, track: Track): Record<string, string> {
  return { app, track };
}

/** The labels of a track's pods. `version` is what metrics and dashboards group by. */
export function podLabels(app: string, track: Track, version: string): Record<string, string> {
  return { app, version, track };
}

/** The args of a track's Deployment. */
export function renderDeployment(settings: WorkloadSettings, track: Track, v: TrackVersion): k8s.apps.v1.DeploymentArgs {
  const name = trackName(settings.app, track);
  const labels = podLabels(settings.app, track, v.version);
  const probe = { httpGet: { path: settings.healthPath, port: "http" } };
  return {
    metadata: { name, namespace: settings.namespace, labels },
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
              readinessProbe: { ...probe, periodSeconds: 5 },
              livenessProbe: { ...probe, periodSeconds: 10, failureThreshold: 3 },
              resources: { requests: { ...settings.resources.requests }, limits: { ...settings.resources.limits } },
            },
          ],
        },
      },
    },
  };
}

/** The args of a Service: a track's (selecting that track's pods) or, without a track, the apex (both). */
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
