/**
 * The config-to-arguments maps every platform shares, and their inverse: which `canary:` key set a
 * component argument, so a component's problem is reported at the key the user wrote.
 */
import type { WorkloadArgs } from "../../components/kubernetes";
import type { Path } from "../../components/validation";
import type { CanaryConfig } from "./types";

/** The arguments every platform component takes from the shared keys. */
export function versionArgs(config: CanaryConfig): Pick<WorkloadArgs, "service" | "stableVersion" | "stableImage" | "canaryVersion" | "canaryImage" | "traffic"> {
  return {
    service: config.service,
    stableVersion: config.stable.version,
    stableImage: config.stable.image,
    canaryVersion: config.canary?.version,
    canaryImage: config.canary?.image,
    traffic: config.traffic,
  };
}

/** The workload block every Kubernetes platform shares (schema.ts workloadShape). */
export type WorkloadBlock = Pick<WorkloadArgs, "port" | "targetPort" | "replicas" | "healthPath" | "resources"> & { readonly namespace: string };

/** The shared arguments of the Kubernetes platform components (Istio, Linkerd, Gateway API). */
export function workloadArgs(config: CanaryConfig, block: WorkloadBlock): WorkloadArgs {
  return {
    ...versionArgs(config),
    namespace: block.namespace,
    port: block.port,
    targetPort: block.targetPort,
    replicas: block.replicas,
    healthPath: block.healthPath,
    resources: block.resources,
  };
}

/** Where each field of the traffic model comes from: `traffic.<field>` → `canary:<key>`. */
function trafficKey(rest: Path): Path | undefined {
  const [field, ...tail] = rest;
  switch (field) {
    case "canaryWeight":
      return ["weight"];
    case "mirrorPercent":
      return ["mirror"];
    case "blueGreen":
      return ["canary", "strategy"];
    case "override":
      // The override's header is `name` in the model and `header` in the config; its kind is always header.
      return tail[0] === "name" ? ["override", "header"] : tail[0] === "value" ? ["override", "value"] : ["override"];
    case "segments":
      return ["segments", ...tail.map((p) => (p === "kind" ? "type" : p))];
    case "stickiness":
      if (tail[0] === "durationSeconds") return ["stickiness", "duration"];
      return ["stickiness", ...tail.map((p) => (p === "kind" ? "type" : p))];
    default:
      return undefined;
  }
}

/** The config path (after `canary:`) of an argument set from the shared keys, or undefined. */
export function commonKey(argPath: Path): Path | undefined {
  const [root, ...rest] = argPath;
  switch (root) {
    case "service":
      return ["service"];
    case "stableVersion":
      return ["stable", "version"];
    case "stableImage":
      return ["stable", "image"];
    case "canaryVersion":
      return ["canary", "version"];
    case "canaryImage":
      return ["canary", "image"];
    case "traffic":
      return trafficKey(rest);
    default:
      return undefined;
  }
}

/** The workload arguments' keys in a Kubernetes platform's block: the same names under `canary:<blockKey>`. */
const WORKLOAD_FIELDS: readonly string[] = ["namespace", "port", "targetPort", "replicas", "healthPath", "resources"];

/**
 * The inverse of {@link workloadArgs} plus a platform's own fields (`fields`: argument → path in
 * the block), for {@link definePlatform}'s `keyOf`.
 */
export function blockKeys(blockKey: string, fields: Readonly<Record<string, Path>>, shared: readonly string[] = WORKLOAD_FIELDS): (argPath: Path) => Path | undefined {
  return (argPath) => {
    const common = commonKey(argPath);
    if (common) return common;
    const [root, ...rest] = argPath;
    if (shared.includes(String(root))) return [blockKey, ...argPath];
    const field = fields[String(root)];
    return field === undefined ? undefined : [blockKey, ...field, ...rest];
  };
}
