/** The AWS ALB platform: the AlbCanary component and its pure rendering helpers. */
export * from "./albCanary";
export * from "./albRules";
export * from "./errors";
export * from "./names";
