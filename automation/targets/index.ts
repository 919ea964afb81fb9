/**
 * The target factory: `type` selects one implementation. An unknown type throws, naming the
 * known ones; there is no default target to fall back to.
 */
import { errorMessage, InputError } from "../errors";
import { HaproxyTarget, SandboxLike } from "./haproxy";
import type { StackLike } from "./pulumiStack";
import { Target, TargetError } from "./types";

export * from "./types";
export { HaproxyTarget } from "./haproxy";
export type { HaproxySnapshot, HaproxyTargetOptions, SandboxLike } from "./haproxy";
export type { PulumiSnapshot, PulumiStackTargetOptions, StackLike } from "./pulumiStack";

/** A Pulumi stack: selected by name in a project directory, or given (tests, embedding programs). */
export interface PulumiTargetSpec {
  readonly type: "pulumi";
  readonly stackName?: string;
  readonly workDir?: string;
  readonly stack?: StackLike;
  readonly log?: (line: string) => void;
}

/** The sandbox's HAProxy through its runtime API: a running sandbox, or its state file. */
export interface HaproxyTargetSpec {
  readonly type: "haproxy";
  readonly sandbox?: SandboxLike;
  /** The state file `canary sandbox up` (startSandbox({ stateFile })) wrote. */
  readonly stateFile?: string;
  /** The route the rollout steps. Defaults to `default`. */
  readonly route?: string;
  readonly log?: (line: string) => void;
}

/** What {@link createTarget} accepts. */
export type TargetSpec = PulumiTargetSpec | HaproxyTargetSpec;

/**
 * The Pulumi target's module, loaded on first use: the Automation API takes seconds to load,
 * which a dry run or a sandbox rollout should not pay.
 */
export function loadPulumiStack(): typeof import("./pulumiStack") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("./pulumiStack") as typeof import("./pulumiStack");
}

/**
 * The local sandbox's module, loaded on first use: only the haproxy target needs it, and a
 * production rollout through a Pulumi stack never loads the sandbox's process management.
 */
export function loadSandbox(): typeof import("../../local/sandbox") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("../../local/sandbox") as typeof import("../../local/sandbox");
}

const FACTORIES: Readonly<Record<TargetSpec["type"], (spec: never) => Promise<Target>>> = {
  pulumi: async (spec: PulumiTargetSpec) => {
    const { PulumiStackTarget, selectStack } = loadPulumiStack();
    let stack = spec.stack;
    if (!stack) {
      if (!spec.stackName || !spec.workDir) throw new TargetError("the pulumi target needs a stack name and the project directory (--stack, --cwd)");
      stack = await selectStack({ stackName: spec.stackName, workDir: spec.workDir });
    }
    return new PulumiStackTarget(stack, { log: spec.log });
  },
  haproxy: async (spec: HaproxyTargetSpec) => {
    let sandbox = spec.sandbox;
    if (!sandbox) {
      if (!spec.stateFile) throw new TargetError("the haproxy target needs a running sandbox's state file (--sandbox)");
      try {
        sandbox = loadSandbox().attachSandbox(spec.stateFile);
      } catch (e) {
        throw new TargetError(`cannot attach to the sandbox: ${errorMessage(e)}`, e);
      }
    }
    return new HaproxyTarget(sandbox, { route: spec.route, log: spec.log });
  },
};

/** The known target types. */
export const TARGET_TYPES: readonly string[] = Object.keys(FACTORIES);

/** Thrown for an unknown target type. */
export class UnknownTargetError extends InputError {
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
