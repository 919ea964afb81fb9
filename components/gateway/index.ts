/** The Gateway API platform: the GatewayCanary component and its pure HTTPRoute renderer. */
export * from "./gatewayCanary";
export * from "./httpRoute";
