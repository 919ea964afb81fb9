/** The Linkerd platform: the LinkerdCanary component and its pure SMI TrafficSplit renderer. */
export * from "./linkerdCanary";
export * from "./trafficSplit";
