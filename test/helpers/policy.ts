/**
 * Runs policy-pack validations on the resources the components registered under the runtime
 * mocks (test/helpers/pulumi.ts), shaped as the policy engine presents them: type, URN, name and
 * the properties the mock provider returned (inputs plus computed attributes such as ARNs).
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { PolicyTarget } from "../../policy/rules";
import { registrations } from "./pulumi";

// The mock monitor keeps every registration with the URN the runtime computed for it (parent
// types included); not in the typings, but it is the same object the runtime talks to.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): { getRegisteredResources(): Map<string, { urn: string; state: Record<string, unknown> }> } };

/**
 * Every resource registered so far whose name starts with `prefix` (one test's "stack": other
 * test files share the process), as the policy engine would present it. `stack` replaces the
 * mocks' stack name in the URNs, to present the same resources as another stack's. Sorted by
 * name, so reports come in a stable order whatever order the registrations completed in.
 */
export async function renderedStack(prefix: string, stack?: string): Promise<PolicyTarget[]> {
  await registrations();
  return [...settings.getMonitor().getRegisteredResources().values()]
    .map(({ urn, state }) => {
      const parts = urn.split("::");
      const type = parts[2]!.split("$").pop()!;
      const name = parts.slice(3).join("::");
      const renamed = stack === undefined ? urn : urn.replace(/^urn:pulumi:[^:]*::/, `urn:pulumi:${stack}::`);
      return { type, urn: renamed, name, props: JSON.parse(JSON.stringify(state)) as Record<string, unknown> };
    })
    .filter((r) => r.name.startsWith(prefix))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function common(config: object) {
  return {
    stackTags: new Map<string, string>(),
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`notApplicable is not expected here: ${reason}`);
    },
  };
}

function collect(): { messages: string[]; report: ReportViolation } {
  const messages: string[] = [];
  return { messages, report: (message: string) => void messages.push(message) };
}

function unsupported(what: string): never {
  throw new Error(`the canary policies do not use ${what}`);
}

/** The violations a resource policy reports for each resource, flattened, in stack order. */
export async function validateResources(policy: ResourceValidationPolicy, stack: readonly PolicyTarget[], config: object = {}): Promise<string[]> {
  const { messages, report } = collect();
  const validations = [policy.validateResource ?? []].flat();
  for (const r of stack) {
    const args: ResourceValidationArgs = {
      ...r,
      ...common(config),
      opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
      isType: () => unsupported("isType"),
      asType: () => unsupported("asType"),
    };
    for (const validate of validations) await validate(args, report);
  }
  return messages;
}

/** The violations a stack policy reports for the stack. */
export async function validateStack(policy: StackValidationPolicy, stack: readonly PolicyTarget[], config: object = {}): Promise<string[]> {
  const { messages, report } = collect();
  const resources: PolicyResource[] = stack.map((r) => ({
    ...r,
    opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
    dependencies: [],
    propertyDependencies: {},
    isType: () => unsupported("isType"),
    asType: () => unsupported("asType"),
  }));
  await policy.validateStack({ resources, ...common(config) }, report);
  return messages;
}
