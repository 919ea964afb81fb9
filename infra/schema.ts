/**
 * The zod schema of the `canary:*` stack config keys shared by every platform. Platform blocks
 * (`canary:aws`, `canary:istio`, …) are defined by their platform modules in infra/platforms/.
 *
 * Messages are written to be completed by the formatter in config.ts as
 * `<key path>: <message>, got <value>`.
 */
import { z } from "zod";
import { DEFAULT_RESOURCES } from "../components/kubernetes";
import { monitoringSchema } from "./monitoring";

/** Messages reused by several keys. */
export const MESSAGES = {
  percent: "must be an integer from 0 to 100",
  dnsLabel: "must be a DNS label: 1–63 lowercase letters, digits or '-', starting with a letter and not ending with '-'",
  labelValue: "must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit",
  headerName: "must be an HTTP header name: letters, digits and '-'",
  headerValue: "must be 1–256 printable characters without quotes or backslashes",
  image: "must be a container image reference without whitespace",
  boolean: "must be true or false",
} as const;

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const HEADER_NAME = /^[A-Za-z0-9-]{1,64}$/;
const HEADER_VALUE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
const IMAGE = /^[^\s]{1,512}$/;

/** An integer percent, 0–100. */
export const percent = z.number({ error: MESSAGES.percent }).int({ error: MESSAGES.percent }).min(0, { error: MESSAGES.percent }).max(100, { error: MESSAGES.percent });

/** A Kubernetes-style DNS label (service and segment names become resource names). */
export const dnsLabel = z.string({ error: MESSAGES.dnsLabel }).regex(DNS_LABEL, { error: MESSAGES.dnsLabel });

/** A version: it becomes a Kubernetes label value, an Istio subset name and a revision suffix. */
export const labelValue = z.string({ error: MESSAGES.labelValue }).regex(LABEL_VALUE, { error: MESSAGES.labelValue });

/** An HTTP header name, normalised to lower case (Istio and HTTP/2 require lower case). */
export const headerName = z
  .string({ error: MESSAGES.headerName })
  .regex(HEADER_NAME, { error: MESSAGES.headerName })
  .transform((s) => s.toLowerCase());

/** A header or cookie value matched exactly; quotes and backslashes are refused so no renderer has to escape them. */
export const headerValue = z.string({ error: MESSAGES.headerValue }).regex(HEADER_VALUE, { error: MESSAGES.headerValue });

const bool = z.boolean({ error: MESSAGES.boolean });

/** A version of the service: its version label and container image. */
export const versionSchema = z.strictObject({
  version: labelValue,
  image: z.string({ error: MESSAGES.image }).regex(IMAGE, { error: MESSAGES.image }),
});

/** `canary:override`: requests carrying this header value always reach the canary. */
export const overrideSchema = z.strictObject({
  enabled: bool.default(true),
  header: headerName.default("x-canary"),
  value: headerValue.default("true"),
});

const matchSchema = z.strictObject({
  type: z.enum(["header", "cookie"], { error: "must be header or cookie" }),
  name: z.string({ error: MESSAGES.headerName }).regex(HEADER_NAME, { error: MESSAGES.headerName }),
  value: headerValue,
});

/** One entry of `canary:segments`. */
export const segmentSchema = z.strictObject({
  name: dnsLabel,
  match: matchSchema,
  weight: percent,
});

/** ALB's limit for target-group stickiness, which is the strictest platform's. */
export const MAX_STICKINESS_SECONDS = 604800;

const stickinessMessage = `must be an integer number of seconds from 1 to ${MAX_STICKINESS_SECONDS}`;

/** `canary:stickiness`. */
export const stickinessSchema = z.strictObject({
  enabled: bool.default(false),
  duration: z
    .number({ error: stickinessMessage })
    .int({ error: stickinessMessage })
    .min(1, { error: stickinessMessage })
    .max(MAX_STICKINESS_SECONDS, { error: stickinessMessage })
    .default(3600),
  hashKey: z
    .strictObject({
      type: z.enum(["header", "cookie"], { error: "must be header or cookie" }),
      name: z.string({ error: MESSAGES.headerName }).regex(HEADER_NAME, { error: MESSAGES.headerName }),
    })
    .default({ type: "header", name: "x-user-id" }),
});

/**
 * The shared keys, without `platform` (its allowed values come from the platform registry)
 * and without the platform blocks. Keys are the part after `canary:`.
 */
export const commonShape = {
  service: dnsLabel,
  stable: versionSchema,
  canary: versionSchema.optional(),
  weight: percent.default(0),
  override: overrideSchema.default({ enabled: true, header: "x-canary", value: "true" }),
  segments: z.array(segmentSchema, { error: "must be a list of segments" }).max(20, { error: "must have at most 20 segments" }).default([]),
  stickiness: stickinessSchema.default({ enabled: false, duration: 3600, hashKey: { type: "header", name: "x-user-id" } }),
  mirror: percent.default(0),
  monitoring: monitoringSchema,
} as const;

/** Keys whose raw config value is a plain string, never JSON. */
export const STRING_KEYS: ReadonlySet<string> = new Set(["platform", "service"]);

/** An integer in [min, max], with the range in the message. */
export function intRange(min: number, max: number) {
  const message = `must be an integer from ${min} to ${max}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
}

/** A URL path such as /health. */
export const httpPath = z.string({ error: "must be a path starting with /" }).regex(/^\/\S*$/, { error: "must be a path starting with /" });

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const quantityMessage = "must be a Kubernetes quantity such as 100m or 128Mi";

/** A Kubernetes resource quantity such as 100m or 128Mi. */
export const quantity = z.string({ error: quantityMessage }).regex(QUANTITY, { error: quantityMessage });

/**
 * The workload settings every Kubernetes platform block shares (istio, linkerd, gateway): both
 * versions' Deployments get the same shape, so their metrics compare like for like.
 */
export const workloadShape = {
  /** Namespace of every resource. Defaults to default. */
  namespace: dnsLabel.default("default"),
  /** Service port. Defaults to 80. */
  port: intRange(1, 65535).default(80),
  /** Container port. Defaults to 8080. */
  targetPort: intRange(1, 65535).default(8080),
  /** Stable replicas; the canary gets ceil(replicas × weight / 100), at least 1. Defaults to 3. */
  replicas: intRange(1, 1000).default(3),
  /** Path of the readiness and liveness probes. Defaults to /health. */
  healthPath: httpPath.default("/health"),
  /** Container resources, identical for both versions. Defaults to 100m/128Mi requests, 500m/256Mi limits. */
  resources: z
    .strictObject({
      requests: z.strictObject({ cpu: quantity, memory: quantity }),
      limits: z.strictObject({ cpu: quantity, memory: quantity }),
    })
    .default(DEFAULT_RESOURCES),
} as const;
