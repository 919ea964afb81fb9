/** Rollout notifications (Slack, generic webhook) and incident records; see rollout.ts. */
export * from "./config";
export * from "./dispatcher";
export * from "./events";
export * from "./factory";
export * from "./incident";
export * from "./rollout";
export * from "./types";
export { SlackNotifier, slackMessage } from "./slack";
export { WebhookNotifier } from "./webhook";
