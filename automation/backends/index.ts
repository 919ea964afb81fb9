/**
 * The backend factory: `--target` selects one backend. An unknown type throws, naming the known
 * ones; there is no default to fall back to.
 */
import { TargetSpec, UnknownTargetError } from "../targets";
import { HaproxyBackend } from "./haproxy";
import { PulumiBackend } from "./pulumi";
import { Backend, BackendFlags } from "./types";

export type { Backend, BackendFlags } from "./types";

/** One backend per target type: the keys are exactly the target factory's. */
const BACKENDS: Readonly<Record<TargetSpec["type"], (flags: BackendFlags) => Backend>> = {
  pulumi: (flags) => new PulumiBackend(flags),
  haproxy: (flags) => new HaproxyBackend(flags),
};

/**
 * The backend `flags.target` names. Nothing is contacted.
 * @throws UnknownTargetError naming the known types; InputError when a flag the backend needs is missing.
 */
export function openBackend(flags: BackendFlags): Backend {
  if (!Object.hasOwn(BACKENDS, flags.target)) throw new UnknownTargetError(flags.target);
  return BACKENDS[flags.target as TargetSpec["type"]](flags);
}
