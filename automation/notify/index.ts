/** Rollout notifications (Slack, webhook, email, PagerDuty, Grafana annotations) and incident records; see rollout.ts. */
export * from "./config";
export * from "./dispatcher";
export * from "./events";
export * from "./factory";
export * from "./incident";
export * from "./rollout";
export * from "./types";
export { SlackNotifier, slackMessage } from "./slack";
export { WebhookNotifier } from "./webhook";
export { EmailNotifier, emailMessage } from "./email";
export { PagerDutyNotifier, pagerdutyEvents, dedupKey } from "./pagerduty";
export { GrafanaNotifier, grafanaAnnotation } from "./grafana";
