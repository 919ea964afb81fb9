/**
 * The zod schema of the `canary:*` stack config keys shared by every platform. Platform blocks
 * (`canary:aws`, `canary:istio`, …) are defined by their platform modules in infra/platforms/.
 *
 * Every primitive comes from components/validation and every default from the component that
 * applies it, so the schema cannot disagree with the components. Messages are completed by the
 * one formatter (components/validation/problems.ts) as `<key path>: <message>, got <value>`.
 */
import { z } from "zod";
import { MAX_REPLICAS, WORKLOAD_DEFAULTS } from "../components/kubernetes";
import { MAX_SEGMENTS, stickinessDuration } from "../components/routing";
import { dnsLabel, headerName, headerValue, httpPath, imageRef, intRange, labelValue, port, quantity } from "../components/validation";
import { monitoringSchema } from "./monitoringSchema";
import { zBoolean, zEnum, zNumber, zString } from "./zod";

/** An integer percent, 0–100. */
export const percent = zNumber(intRange(0, 100));

/** A version of the service: its version label and container image. */
export const versionSchema = z.strictObject({
  version: zString(labelValue),
  image: zString(imageRef),
});

/**
 * The canary's version with how it is rolled out: `strategy: blueGreen` deploys it as green,
 * beside the stable version at its full size (the rollout driver sets it for a blue/green plan).
 */
export const canarySchema = versionSchema.extend({
  strategy: zEnum(["canary", "blueGreen"]).optional(),
});

/** The defaults of `canary:override`, `canary:stickiness` (what the config means when a key is absent). */
export const TRAFFIC_DEFAULTS = {
  override: { enabled: true, header: "x-canary", value: "true" },
  stickiness: { enabled: false, duration: 3600, hashKey: { type: "header" as "header" | "cookie", name: "x-user-id" } },
} as const;

/** An HTTP header name, normalised to lower case (Istio and HTTP/2 require lower case). */
const lowerHeaderName = zString(headerName).transform((s) => s.toLowerCase());

/** `canary:override`: requests carrying this header value always reach the canary. */
export const overrideSchema = z.strictObject({
  enabled: zBoolean.default(TRAFFIC_DEFAULTS.override.enabled),
  header: lowerHeaderName.default(TRAFFIC_DEFAULTS.override.header),
  value: zString(headerValue).default(TRAFFIC_DEFAULTS.override.value),
});

const matchSchema = z.strictObject({
  type: zEnum(["header", "cookie"]),
  name: zString(headerName),
  value: zString(headerValue),
});

/** One entry of `canary:segments`. */
export const segmentSchema = z.strictObject({
  name: zString(dnsLabel),
  match: matchSchema,
  weight: percent,
});

/** `canary:stickiness`. */
export const stickinessSchema = z.strictObject({
  enabled: zBoolean.default(TRAFFIC_DEFAULTS.stickiness.enabled),
  duration: zNumber(stickinessDuration).default(TRAFFIC_DEFAULTS.stickiness.duration),
  hashKey: z
    .strictObject({
      type: zEnum(["header", "cookie"]),
      name: zString(headerName),
    })
    .default(TRAFFIC_DEFAULTS.stickiness.hashKey),
});

/**
 * The shared keys, without `platform` (its allowed values come from the platform registry)
 * and without the platform blocks. Keys are the part after `canary:`.
 */
export const commonShape = {
  service: zString(dnsLabel),
  stable: versionSchema,
  canary: canarySchema.optional(),
  weight: percent.default(0),
  override: overrideSchema.default(TRAFFIC_DEFAULTS.override),
  segments: z.array(segmentSchema, { error: "must be a list of segments" }).max(MAX_SEGMENTS, { error: `must have at most ${MAX_SEGMENTS} segments` }).default([]),
  stickiness: stickinessSchema.default(TRAFFIC_DEFAULTS.stickiness),
  mirror: percent.default(0),
  monitoring: monitoringSchema,
} as const;

/** Keys whose raw config value is a plain string, never JSON. */
export const STRING_KEYS: ReadonlySet<string> = new Set(["platform", "service"]);

/**
 * The workload settings every Kubernetes platform block shares (istio, linkerd, gateway): both
 * versions' Deployments get the same shape, so their metrics compare like for like. Defaults are
 * the components' (WORKLOAD_DEFAULTS).
 */
export const workloadShape = {
  /** Namespace of every resource. Defaults to default. */
  namespace: zString(dnsLabel).default(WORKLOAD_DEFAULTS.namespace),
  /** Service port. Defaults to 80. */
  port: zNumber(port).default(WORKLOAD_DEFAULTS.port),
  /** Container port. Defaults to 8080. */
  targetPort: zNumber(port).default(WORKLOAD_DEFAULTS.targetPort),
  /** Stable replicas; the canary gets ceil(replicas × weight / 100), at least 1. Defaults to 3. */
  replicas: zNumber(intRange(1, MAX_REPLICAS)).default(WORKLOAD_DEFAULTS.replicas),
  /** Path of the readiness and liveness probes. Defaults to /health. */
  healthPath: zString(httpPath).default(WORKLOAD_DEFAULTS.healthPath),
  /** Container resources, identical for both versions; each request at most its limit. Defaults to 100m/128Mi requests, 500m/256Mi limits. */
  resources: z
    .strictObject({
      requests: z.strictObject({ cpu: zString(quantity), memory: zString(quantity) }),
      limits: z.strictObject({ cpu: zString(quantity), memory: zString(quantity) }),
    })
    .default(WORKLOAD_DEFAULTS.resources),
} as const;
