/**
 * The target factory: `type` selects one implementation. An unknown type throws, naming the
 * known ones; there is no default target to fall back to.
 */
import { HaproxyRuntime, HaproxyTarget } from "./haproxy";
import { PulumiStackTarget, selectStack, StackLike } from "./pulumiStack";
import { Target, TargetError } from "./types";

export * from "./types";
export { HaproxyTarget } from "./haproxy";
export type { HaproxyRuntime, HaproxySnapshot, HaproxyTargetOptions } from "./haproxy";
export { PulumiStackTarget, selectStack, KEYS } from "./pulumiStack";
export type { PulumiSnapshot, PulumiStackTargetOptions, StackLike } from "./pulumiStack";

/** A Pulumi stack: selected by name in a project directory, or given (tests, embedding programs). */
export interface PulumiTargetSpec {
  readonly type: "pulumi";
  readonly stackName?: string;
  readonly workDir?: string;
  readonly stack?: StackLike;
  readonly log?: (line: string) => void;
}

/** The sandbox's HAProxy through its runtime API. */
export interface HaproxyTargetSpec {
  readonly type: "haproxy";
  readonly runtime: HaproxyRuntime;
  readonly backend?: string;
  readonly canaryVersion?: string;
  readonly log?: (line: string) => void;
}

/** What {@link createTarget} accepts. */
export type TargetSpec = PulumiTargetSpec | HaproxyTargetSpec;

const FACTORIES: Readonly<Record<TargetSpec["type"], (spec: never) => Promise<Target>>> = {
  pulumi: async (spec: PulumiTargetSpec) => {
    let stack = spec.stack;
    if (!stack) {
      if (!spec.stackName || !spec.workDir) throw new TargetError("the pulumi target needs a stack name and the project directory (--stack, --cwd)");
      stack = await selectStack({ stackName: spec.stackName, workDir: spec.workDir });
    }
    return new PulumiStackTarget(stack, { log: spec.log });
  },
  haproxy: async (spec: HaproxyTargetSpec) => new HaproxyTarget(spec.runtime, { backend: spec.backend, canaryVersion: spec.canaryVersion, log: spec.log }),
};

/** The known target types. */
export const TARGET_TYPES: readonly string[] = Object.keys(FACTORIES);

/** Thrown for an unknown target type. */
export class UnknownTargetError extends TargetError {
  constructor(type: string) {
    super(`unknown target type ${JSON.stringify(type)}; known types: ${TARGET_TYPES.join(", ")}`);
    this.name = "UnknownTargetError";
  }
}

/**
 * Creates the target `spec.type` names.
 * @throws UnknownTargetError naming the known types.
 */
export async function createTarget(spec: TargetSpec | { readonly type: string }): Promise<Target> {
  if (!Object.hasOwn(FACTORIES, spec.type)) throw new UnknownTargetError(spec.type);
  const factory = (FACTORIES as unknown as Record<string, (s: unknown) => Promise<Target>>)[spec.type];
  return factory(spec);
}
