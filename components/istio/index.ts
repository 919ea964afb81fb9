/** The Istio platform's component and its pure renderers. */
export * from "./istioCanary";
export * from "./render";
