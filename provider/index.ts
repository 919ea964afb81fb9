/**
 * The component provider: `pulumi package add <this repository>` runs this file (package.json
 * `main`, declared a Node.js plugin by PulumiPlugin.yaml) to serve the components to Python, Go,
 * .NET, Java and YAML programs. It generates the package schema from the TypeScript types with
 * the Pulumi SDK's analyzer; schema.json is a committed copy, kept current by a test.
 */
import { componentProviderHost } from "@pulumi/pulumi/provider/experimental";
import { PROVIDER_OPTIONS } from "./components";

void componentProviderHost(PROVIDER_OPTIONS);
