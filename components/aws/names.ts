/**
 * Physical names and ARN suffixes for the AWS resources of an AlbCanary. Pure: no Pulumi, no IO.
 */
import { createHash } from "node:crypto";
import { AlbCanaryError } from "./errors";

/** AWS's limit on target group and load balancer names. */
export const ELB_NAME_MAX = 32;

/** AWS's limit on CloudWatch alarm names. */
export const ALARM_NAME_MAX = 255;

/** Length of the hash that makes a physical name unique. 28 bits: collisions need ~16k names. */
const HASH_LENGTH = 7;

/**
 * A physical name `<base>-<role>-<hash>` of at most `maxLength` characters, made only of
 * lower-case letters, digits and single hyphens, never starting or ending with a hyphen (the
 * rules for target group and load balancer names).
 *
 * The base is cut to fit, so the hash carries the uniqueness: it is taken over `seed`, which the
 * caller fills with everything that must give a different name, e.g. the stack (two stacks in
 * one account never collide) and the settings whose change replaces the resource (the
 * replacement is created before the old one is deleted, so it needs a new name).
 */
export function physicalName(base: string, role: string, seed: readonly string[], maxLength: number): string {
  const cleanRole = sanitize(role);
  if (cleanRole === "") throw new AlbCanaryError(`physical name role must contain a letter or digit, got ${JSON.stringify(role)}`);
  const room = maxLength - cleanRole.length - HASH_LENGTH - 2;
  if (room < 1) throw new AlbCanaryError(`physical name role ${JSON.stringify(role)} leaves no room for a base in ${maxLength} characters`);
  const hash = createHash("sha256").update(seed.join("\n")).digest("hex").slice(0, HASH_LENGTH);
  const cut = (sanitize(base) || "canary").slice(0, room).replace(/-+$/, "");
  return `${cut}-${cleanRole}-${hash}`;
}

/**
 * A load balancer name: {@link physicalName} with role `alb`, except that AWS refuses names
 * starting with `internal-` (it prefixes internal load balancers' DNS names with that), so such a
 * base is shortened to `int-`.
 */
export function loadBalancerName(base: string, seed: readonly string[]): string {
  const name = physicalName(base, "alb", seed, ELB_NAME_MAX);
  return name.startsWith("internal-") ? `int-${name.slice("internal-".length)}` : name;
}

/** Lower case; every run of characters other than letters, digits and hyphens becomes one hyphen. */
function sanitize(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** The resource part of an ARN (after the fifth colon), split on `/`; throws on anything else. */
function resourceSegments(arn: string, what: string): string[] {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn" || parts.slice(5).join(":") === "") {
    throw new AlbCanaryError(`${what} must be an ARN like arn:aws:elasticloadbalancing:<region>:<account>:<resource>, got ${JSON.stringify(arn)}`);
  }
  return parts.slice(5).join(":").split("/");
}

/**
 * The `LoadBalancer` dimension of ALB CloudWatch metrics (`app/<name>/<id>`), from a load
 * balancer ARN (`…:loadbalancer/app/<name>/<id>`) or a listener ARN
 * (`…:listener/app/<name>/<id>/<listener id>`). It is what the provider exports as the load
 * balancer's `arnSuffix`; deriving it here gives one code path for a created and a given listener.
 */
export function loadBalancerArnSuffix(arn: string): string {
  const [type, ...rest] = resourceSegments(arn, "load balancer or listener ARN");
  switch (type!.toLowerCase()) {
    case "loadbalancer":
      return rest.join("/");
    case "listener":
      return rest.slice(0, 3).join("/");
    default:
      throw new AlbCanaryError(`expected a load balancer or listener ARN, got ${JSON.stringify(arn)}`);
  }
}

/**
 * The `TargetGroup` dimension of ALB CloudWatch metrics (`targetgroup/<name>/<id>`) from a target
 * group ARN (`…:targetgroup/<name>/<id>`): the provider's `arnSuffix` of the target group.
 */
export function targetGroupArnSuffix(arn: string): string {
  const [type, ...rest] = resourceSegments(arn, "target group ARN");
  if (type!.toLowerCase() !== "targetgroup" || rest.length === 0) {
    throw new AlbCanaryError(`expected a target group ARN, got ${JSON.stringify(arn)}`);
  }
  return ["targetgroup", ...rest].join("/");
}
