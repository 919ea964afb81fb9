/**
 * What each platform's traffic plane can express. Config that asks for a feature a platform
 * lacks is refused up front (with the reason and the platforms that can), instead of being
 * rendered partially and silently ignored.
 */
import { assertNoProblems, note, Path, Problem } from "../validation";
import { TrafficSpec } from "./model";

/** A feature of the traffic model that not every platform can render. */
export type Feature = "weights" | "override" | "segments" | "stickiness" | "mirror" | "readBack" | "blueGreen";

/** Either how the platform supports a feature, or why it cannot. */
export type Support = { readonly supported: true; readonly how: string } | { readonly supported: false; readonly why: string };

/** The capabilities of one platform. */
export interface PlatformCapabilities {
  /** The value of `canary:platform`. */
  readonly platform: Platform;
  readonly features: Readonly<Record<Feature, Support>>;
}

/** Human names of the features, in matrix column order. */
export const FEATURE_NAMES: Readonly<Record<Feature, string>> = {
  weights: "weights",
  override: "header override",
  segments: "segments",
  stickiness: "stickiness",
  mirror: "mirroring",
  readBack: "weight read-back",
  blueGreen: "blue/green",
};

/** The field of {@link TrafficSpec} that turns each optional feature on: where a refusal points. */
const FEATURE_FIELDS: Readonly<Record<Exclude<Feature, "weights" | "readBack">, keyof TrafficSpec>> = {
  override: "override",
  segments: "segments",
  stickiness: "stickiness",
  mirror: "mirrorPercent",
  blueGreen: "blueGreen",
};

/** The platforms the traffic model renders to; the values of `canary:platform`. */
export const PLATFORMS = ["aws", "istio", "linkerd", "gateway-api", "gcp"] as const;

/** A value of `canary:platform`. */
export type Platform = (typeof PLATFORMS)[number];

/** Per platform, how each feature is rendered or why it cannot be. */
export const CAPABILITIES: Readonly<Record<Platform, PlatformCapabilities>> = {
  aws: {
    platform: "aws",
    features: {
      weights: { supported: true, how: "weighted forward action, target-group weights 0–999" },
      override: { supported: true, how: "listener rule with an http-header condition" },
      segments: { supported: true, how: "listener rule per segment (header, or cookie via a Cookie header wildcard)" },
      stickiness: { supported: true, how: "target-group stickiness on the forward action (ALB cookie, 1–604800 s)" },
      mirror: { supported: false, why: "ALB listener rules cannot copy requests" },
      readBack: { supported: true, how: "forward weights in the stack outputs" },
      blueGreen: { supported: true, how: "all forward weight to the green target group in one rule update, the header rule reaching green first (green's targets are registered at full size by their service)" },
    },
  },
  istio: {
    platform: "istio",
    features: {
      weights: { supported: true, how: "VirtualService route weights (percent)" },
      override: { supported: true, how: "VirtualService route with an exact header match" },
      segments: { supported: true, how: "VirtualService route per segment (header, or Cookie header regex)" },
      stickiness: { supported: true, how: "DestinationRule consistent hash on a header or cookie (pins a user to a pod; the version is chosen per request)" },
      mirror: { supported: true, how: "VirtualService mirror with mirrorPercentage" },
      readBack: { supported: true, how: "VirtualService weights in the stack outputs" },
      blueGreen: { supported: true, how: "green Deployment at blue's replicas, VirtualService weights 0/100 in one update, the header route reaching green first" },
    },
  },
  linkerd: {
    platform: "linkerd",
    features: {
      weights: { supported: true, how: "SMI TrafficSplit backend weights (1000 scale)" },
      override: { supported: false, why: "SMI TrafficSplit cannot route on headers" },
      segments: { supported: false, why: "SMI TrafficSplit cannot route on headers or cookies" },
      stickiness: { supported: false, why: "SMI TrafficSplit has no session affinity" },
      mirror: { supported: false, why: "SMI TrafficSplit cannot copy requests" },
      readBack: { supported: true, how: "TrafficSplit weights in the stack outputs" },
      blueGreen: { supported: false, why: "SMI TrafficSplit cannot route on headers, so green cannot be checked through an override route before it takes all traffic" },
    },
  },
  "gateway-api": {
    platform: "gateway-api",
    features: {
      weights: { supported: true, how: "HTTPRoute backendRefs weights" },
      override: { supported: true, how: "HTTPRoute rule with an exact header match" },
      segments: { supported: true, how: "HTTPRoute rule per segment (header, or Cookie header regex)" },
      stickiness: { supported: false, why: "session persistence is not in the Gateway API standard channel" },
      mirror: { supported: true, how: "RequestMirror filter with percent" },
      readBack: { supported: true, how: "HTTPRoute weights in the stack outputs" },
      blueGreen: { supported: true, how: "green Deployment at blue's replicas, HTTPRoute weights 0/100 in one update, the header rule reaching green first" },
    },
  },
  gcp: {
    platform: "gcp",
    features: {
      weights: { supported: true, how: "Cloud Run revision traffic percent" },
      override: { supported: true, how: "the canary revision's tag URL instead of a header" },
      segments: { supported: false, why: "Cloud Run cannot route on headers or cookies" },
      stickiness: { supported: false, why: "Cloud Run session affinity pins a client to an instance, not to a revision" },
      mirror: { supported: false, why: "Cloud Run cannot copy requests" },
      readBack: { supported: true, how: "revision traffic in the stack outputs" },
      blueGreen: { supported: true, how: "all traffic to the green revision in one update (blue's revision is kept), its tag URL reaching green first" },
    },
  },
};

/** The capabilities of `platform`; throws naming the known platforms when it is unknown. */
export function capabilitiesOf(platform: string): PlatformCapabilities {
  if (!(PLATFORMS as readonly string[]).includes(platform)) {
    throw new Error(`unknown platform ${JSON.stringify(platform)}; known platforms: ${PLATFORMS.join(", ")}`);
  }
  return CAPABILITIES[platform as Platform];
}

/** Every platform's capabilities, in matrix row order. */
export function allCapabilities(): PlatformCapabilities[] {
  return PLATFORMS.map((p) => CAPABILITIES[p]);
}

/**
 * The features `spec` uses that `platform` cannot render, each at the spec field that asks for
 * it (under `root`), saying why and which platforms can. Empty when the spec fits the platform.
 */
export function capabilityProblems(platform: string, spec: TrafficSpec, root: Path = ["traffic"]): Problem[] {
  const caps = capabilitiesOf(platform);
  const used: Array<Exclude<Feature, "weights" | "readBack">> = [];
  if (spec.override) used.push("override");
  if (spec.segments.length > 0) used.push("segments");
  if (spec.stickiness.enabled) used.push("stickiness");
  if ((spec.mirrorPercent ?? 0) > 0) used.push("mirror");
  if (spec.blueGreen) used.push("blueGreen");
  const problems: Problem[] = [];
  for (const feature of used) {
    const support = caps.features[feature];
    if (support.supported) continue;
    const others = allCapabilities()
      .filter((c) => c.features[feature].supported)
      .map((c) => c.platform);
    problems.push(note([...root, FEATURE_FIELDS[feature]], `${platform} does not support ${FEATURE_NAMES[feature]}: ${support.why}; platforms that do: ${others.join(", ") || "none"}`));
  }
  return problems;
}

/**
 * The one enforcement of this matrix: every platform component calls it before registering
 * anything, so a component used directly refuses what its platform cannot do instead of
 * silently dropping it. Throws ComponentArgsError for `component` (its type token).
 */
export function assertSupported(component: string, platform: Platform, spec: TrafficSpec): void {
  assertNoProblems(component, capabilityProblems(platform, spec));
}

/** The capability matrix as a Markdown table (the README embeds this exact text). */
export function renderCapabilityMatrix(): string {
  const features = Object.keys(FEATURE_NAMES) as Feature[];
  const cell = (s: Support): string => (s.supported ? `yes: ${s.how}` : `no: ${s.why}`);
  const lines = [
    `| platform | ${features.map((f) => FEATURE_NAMES[f]).join(" | ")} |`,
    `|---|${features.map(() => "---").join("|")}|`,
    ...allCapabilities().map((c) => `| ${c.platform} | ${features.map((f) => cell(c.features[f])).join(" | ")} |`),
  ];
  return lines.join("\n");
}
