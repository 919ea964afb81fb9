/** The Cloud Run platform: the CloudRunCanary component, revision naming and its traffic renderer. */
export * from "./cloudRunCanary";
export * from "./revisionName";
export * from "./traffic";
