/**
 * The tags of the Grafana annotations the rollout driver posts (automation/notify/grafana.ts),
 * which the generated dashboard's annotation query selects (./dashboard.ts). A module of its own,
 * without the Grafana SDK, so the driver's command line does not load the SDK to tag an event.
 */

/** The tag on every Grafana annotation the rollout driver posts. */
export const ROLLOUT_ANNOTATION_TAG = "canary-rollout";

/**
 * The tags of a rollout event's Grafana annotation. The dashboard's annotation query selects the
 * first two, so it shows every rollout of its service whatever the version.
 */
export function rolloutAnnotationTags(e: { readonly service: string; readonly version: string; readonly stack: string; readonly event: string }): string[] {
  return [ROLLOUT_ANNOTATION_TAG, `service:${e.service}`, `version:${e.version}`, `stack:${e.stack}`, `event:${e.event}`];
}
