/**
 * What the component provider serves: the package name and the component classes. Kept apart
 * from the entry point (provider/index.ts), which starts the provider's gRPC server as soon as it
 * is loaded, so tests and the schema generator can use the same definition.
 *
 * Each component is served as `canary:index:<Class>` (the provider SDK serves the `index` module
 * only). The component it constructs still registers under its own token,
 * `canary:<module>:<Class>`, so a stack keeps the same URNs whether its program uses the
 * components from TypeScript directly or through an SDK generated from the schema.
 */
import * as path from "node:path";
import type { ComponentProviderOptions } from "@pulumi/pulumi/provider/experimental";
import { AlbCanary } from "../components/aws/albCanary";
import { GatewayCanary } from "../components/gateway/gatewayCanary";
import { CloudRunCanary } from "../components/gcp/cloudRunCanary";
import { IstioCanary } from "../components/istio/istioCanary";
import { LinkerdCanary } from "../components/linkerd/linkerdCanary";
import { CanaryMonitoring } from "../components/monitoring/canaryMonitoring";

/** The Pulumi package name: the first part of every type token, and the generated SDKs' name. */
export const PACKAGE_NAME = "canary";

/** The components other languages can use, in the order the docs list them. */
export const COMPONENTS = [AlbCanary, IstioCanary, LinkerdCanary, GatewayCanary, CloudRunCanary, CanaryMonitoring];

/**
 * The options of the provider host. `dirname` is the package root: the analyzer reads its
 * package.json (version, description, entry point) and its tsconfig.json.
 */
export const PROVIDER_OPTIONS: ComponentProviderOptions = {
  name: PACKAGE_NAME,
  components: COMPONENTS,
  dirname: path.join(__dirname, ".."),
};
