/**
 * The package schema exactly as the provider serves it: the provider's own `getSchema()`, which
 * runs the Pulumi SDK's analyzer over the component classes and their argument types.
 * `npm run schema` writes it to schema.json; a test keeps that copy current.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import type { PackageSpec } from "@pulumi/pulumi/provider/experimental/schema";
import { PROVIDER_OPTIONS } from "./components";

/** Where the committed copy of the schema lives. */
export const SCHEMA_FILE = path.join(__dirname, "..", "schema.json");

/** Generates the schema (takes a while: the analyzer type-checks the whole project). */
export async function generateSchema(): Promise<PackageSpec> {
  return JSON.parse(await new ComponentProvider(PROVIDER_OPTIONS).getSchema()) as PackageSpec;
}

/** The schema as committed: two-space JSON and a final newline. */
export function formatSchema(schema: PackageSpec): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (require.main === module) {
  generateSchema().then(
    (schema) => {
      fs.writeFileSync(SCHEMA_FILE, formatSchema(schema));
      process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}: ${Object.keys(schema.resources).length} components, ${Object.keys(schema.types).length} types\n`);
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
