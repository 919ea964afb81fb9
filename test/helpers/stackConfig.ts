/**
 * Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the CLI merges them into the stack's
 * config: project-level `value`s first, the stack file's values over them, every value stored
 * as a string (objects as JSON).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/** The project root. */
export const ROOT = path.resolve(__dirname, "../..");

/** The merged raw config of a stack, keyed `namespace:key`. */
export function stackConfig(stack: string): Record<string, string> {
  const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { value: unknown }> };
  const stackFile = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
  const raw: Record<string, string> = {};
  const put = (k: string, v: unknown) => (raw[k] = typeof v === "string" ? v : JSON.stringify(v));
  for (const [k, decl] of Object.entries(project.config ?? {})) put(k, decl.value);
  for (const [k, v] of Object.entries(stackFile.config ?? {})) put(k, v);
  return raw;
}
