/**
 * Cloud Run revision names derived from versions. A revision name must be the service name, a
 * '-', and a suffix; the whole name an RFC 1035 label of at most 63 characters (lowercase
 * letters, digits and '-', starting with a letter, not ending with '-'). Naming revisions after
 * versions is what lets traffic be pinned to "the stable version" and "the canary version".
 *
 * Sources: service names "must use only letters, numbers and '-', must begin with a letter and
 * cannot end with a '-', maximum length is 63" and revision names "must be prefixed by the name
 * of the enclosing Service", https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.services
 * (Service.name, RevisionTemplate.revision); "combined traffic tag and service name cannot exceed
 * 46 characters" (the tag URL's DNS label), Cloud Run Admin API's refusal of a longer tag.
 */
import { note, Path, Problem } from "../validation";
import { CANARY_TAG } from "./traffic";

/** Thrown when a service or version cannot name a Cloud Run service or revision; says which rule it breaks. */
export class RevisionNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RevisionNameError";
  }
}

/** Cloud Run's limit on a traffic tag and the service name together (they form the tag URL's DNS label). */
export const MAX_TAG_AND_SERVICE = 46;

/**
 * Longest service name: Cloud Run allows 49, but the canary tag must fit beside it. Checked with or
 * without a canary, so a name that could never take a canary fails on the first deploy rather
 * than in the middle of a rollout.
 */
export const MAX_SERVICE_NAME = MAX_TAG_AND_SERVICE - CANARY_TAG.length;

/** Longest Cloud Run revision name. */
export const MAX_REVISION_NAME = 63;

const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Checks a Cloud Run service name: lowercase letters, digits and '-', starting with a letter, at most {@link MAX_SERVICE_NAME} characters. */
export function assertServiceName(service: string): void {
  if (!SERVICE_NAME.test(service)) {
    throw new RevisionNameError(`service name ${JSON.stringify(service)} is not a Cloud Run service name: use lowercase letters, digits and '-', starting with a letter and not ending with '-'`);
  }
  if (service.length > MAX_SERVICE_NAME) {
    throw new RevisionNameError(
      `service name ${JSON.stringify(service)} has ${service.length} characters; Cloud Run allows at most ${MAX_TAG_AND_SERVICE} for a traffic tag and the service name together, so beside the tag ${JSON.stringify(CANARY_TAG)} the service name may have at most ${MAX_SERVICE_NAME}`,
    );
  }
}

/**
 * The revision-name suffix for a version: lower-cased, every run of characters other than letters
 * and digits replaced by one '-', leading and trailing '-' removed (`V2.5.0_rc1` → `v2-5-0-rc1`).
 * May be empty; {@link revisionName} refuses that.
 */
export function sanitiseVersion(version: string): string {
  return version
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/**
 * The revision name of `version` of `service`: `<service>-<sanitised version>`.
 * @throws RevisionNameError when the service name is invalid, the version has no letter or digit,
 *   or the name would be longer than 63 characters (never truncated: two versions could collide).
 */
export function revisionName(service: string, version: string): string {
  assertServiceName(service);
  const suffix = sanitiseVersion(version);
  if (suffix === "") {
    throw new RevisionNameError(`version ${JSON.stringify(version)} has no letters or digits, so it cannot name a Cloud Run revision (<service>-<version> in lowercase letters, digits and '-')`);
  }
  const name = `${service}-${suffix}`;
  if (name.length > MAX_REVISION_NAME) {
    throw new RevisionNameError(
      `version ${JSON.stringify(version)} makes the Cloud Run revision name ${JSON.stringify(name)} with ${name.length} characters; revision names have at most ${MAX_REVISION_NAME}, so with service ${JSON.stringify(service)} the version may have at most ${MAX_REVISION_NAME - service.length - 1} (after lower-casing and replacing other characters with '-')`,
    );
  }
  return name;
}

/** The revision names of both versions; refuses two versions that make the same name. */
export function revisionNames(service: string, stableVersion: string, canaryVersion?: string): { stable: string; canary?: string } {
  const stable = revisionName(service, stableVersion);
  if (canaryVersion === undefined) return { stable };
  const canary = revisionName(service, canaryVersion);
  if (canary === stable) {
    throw new RevisionNameError(
      `stable version ${JSON.stringify(stableVersion)} and canary version ${JSON.stringify(canaryVersion)} both make the Cloud Run revision name ${JSON.stringify(stable)}; versions must still differ after lower-casing and replacing characters other than letters and digits with '-'`,
    );
  }
  return { stable, canary };
}

/**
 * The problems with the names Cloud Run derives from a service and its versions (service name,
 * one revision per version, distinct revisions), each at the argument that causes it.
 */
export function cloudRunNameProblems(service: string, stableVersion: string, canaryVersion: string | undefined, paths: { service: Path; stableVersion: Path; canaryVersion: Path } = { service: ["service"], stableVersion: ["stableVersion"], canaryVersion: ["canaryVersion"] }): Problem[] {
  const problems: Problem[] = [];
  const check = (path: Path, f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof RevisionNameError)) throw e;
      problems.push(note(path, e.message));
    }
  };
  check(paths.service, () => assertServiceName(service));
  if (problems.length > 0) return problems;
  check(paths.stableVersion, () => revisionName(service, stableVersion));
  if (canaryVersion !== undefined) check(paths.canaryVersion, () => revisionName(service, canaryVersion));
  if (problems.length === 0 && canaryVersion !== undefined) check(paths.canaryVersion, () => revisionNames(service, stableVersion, canaryVersion));
  return problems;
}
