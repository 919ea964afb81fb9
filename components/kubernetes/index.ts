/** The Deployments and Services the Kubernetes platforms (Istio, Linkerd, Gateway API) share. */
export * from "./workloads";
export * from "./trackWorkloads";
