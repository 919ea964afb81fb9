/**
 * The package's main entry (`pulumi-canary`): the six components with their argument types and
 * errors, and the provider-neutral traffic model they all render. Each platform's full module
 * (its pure renderers too) is its own entry: `pulumi-canary/aws`, `/istio`, `/linkerd`,
 * `/gateway`, `/gcp`, `/monitoring`, `/kubernetes`, `/routing`, `/validation`; the rollout
 * driver is `pulumi-canary/automation` and the judge `pulumi-canary/judge`.
 */
export * from "./routing";
export { AlbCanary, AlbCanaryArgs, AlbCanaryError } from "./aws";
export { IstioCanary, IstioCanaryArgs, OutlierDetection } from "./istio";
export { LinkerdCanary, LinkerdCanaryArgs } from "./linkerd";
export { GatewayCanary, GatewayCanaryArgs, GatewayRef } from "./gateway";
export { CloudRunCanary, CloudRunCanaryArgs, CloudRunIngress, RevisionNameError } from "./gcp";
export { CanaryMonitoring, CanaryMonitoringArgs, LabelRequirement, MonitoringError, MonitoringQueries } from "./monitoring";
export { ContainerResources, WorkloadArgs } from "./kubernetes";
export { ComponentArgsError } from "./validation";
