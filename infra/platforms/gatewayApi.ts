/** The Gateway API platform: `canary:gateway` block and the GatewayCanary component. */
import { z } from "zod";
import { GatewayCanary } from "../../components/gateway";
import { dnsLabel, workloadShape } from "../schema";
import { definePlatform } from "./types";

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const subdomainMessage = "must be a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253 characters";
const subdomain = z.string({ error: subdomainMessage }).max(253, { error: subdomainMessage }).regex(SUBDOMAIN, { error: subdomainMessage });
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const hostnameMessage = "must be a host name such as shop.example.com or *.example.com (no IP address, no port)";
const hostname = z.string({ error: hostnameMessage }).max(253, { error: hostnameMessage }).regex(HOSTNAME, { error: hostnameMessage });

/** `canary:gateway`. Required: the Gateway to attach to has no sensible default. */
export const gatewayBlockSchema = z.strictObject({
  /** The existing Gateway the HTTPRoute attaches to; its listener must allow routes from `namespace`. */
  gateway: z.strictObject(
    {
      /** The Gateway's name. */
      name: subdomain,
      /** The Gateway's namespace. */
      namespace: dnsLabel,
      /** One listener of the Gateway. Defaults to every listener that allows the route. */
      sectionName: subdomain.optional(),
    },
    { error: "must be an object with name, namespace and optionally sectionName" },
  ),
  /** Host names the route serves. Defaults to every host name the listener accepts. */
  hostnames: z.array(hostname, { error: "must be a list of host names" }).min(1, { error: "must list at least one host name" }).max(16, { error: "must list at most 16 host names" }).optional(),
  /** Namespace of the HTTPRoute, Services and Deployments, and the other workload settings. */
  ...workloadShape,
});

/** The validated `canary:gateway` block. */
export type GatewayBlock = z.output<typeof gatewayBlockSchema>;

/** The Gateway API platform module. */
export const gatewayApi = definePlatform({
  platform: "gateway-api",
  blockKey: "gateway",
  blockSchema: gatewayBlockSchema,
  deploy: (config, block) => {
    const canary = new GatewayCanary(config.service, {
      service: config.service,
      namespace: block.namespace,
      gateway: block.gateway,
      hostnames: block.hostnames,
      stableVersion: config.stable.version,
      stableImage: config.stable.image,
      canaryVersion: config.canary?.version,
      canaryImage: config.canary?.image,
      traffic: config.traffic,
      port: block.port,
      targetPort: block.targetPort,
      replicas: block.replicas,
      healthPath: block.healthPath,
      resources: block.resources,
    });
    return {
      namespace: block.namespace,
      gateway: `${block.gateway.namespace}/${block.gateway.name}`,
      httpRoute: canary.httpRouteName,
      stableService: canary.stableService.metadata.name,
      canaryService: canary.canaryService?.metadata.name ?? null,
      appliedCanaryWeight: canary.appliedCanaryWeight,
    };
  },
});
