/**
 * Rollout notifications: the event every channel receives and the one interface a channel
 * implements. A notification is plain JSON (the generic webhook posts it verbatim), built from
 * the rollout record by the pure functions in events.ts.
 */
import { EventType, Phase, RollbackTrigger, TRANSITIONS } from "../state";

/** What a notification is about: every transition of the rollout, plus waiting at a manual gate. */
export type NotificationType = EventType | "gateWaiting";

/** Every notification type, in transition-table order then `gateWaiting`. */
export const NOTIFICATION_TYPES: readonly NotificationType[] = [...(Object.keys(TRANSITIONS) as EventType[]), "gateWaiting"];

/** How much a notification matters to the people on call, least first. */
export const SEVERITIES = ["info", "warning", "critical"] as const;
/** A notification's severity. */
export type Severity = (typeof SEVERITIES)[number];

/**
 * The one severity rule: a failed rollback is `critical` (the stack may still send users to a
 * broken canary: page someone), a rollback is `warning` (users were protected; tell the team),
 * everything else is `info`.
 */
export function severityOf(type: NotificationType): Severity {
  if (type === "rollbackFailed") return "critical";
  if (type === "rollback" || type === "rolledBack") return "warning";
  return "info";
}

/** Whether `severity` is at least `min`. */
export function atLeast(severity: Severity, min: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(min);
}

/** The numbers the judge reported for one canary-versus-baseline metric. */
export interface MetricNumbers {
  readonly name: string;
  readonly status: string;
  readonly canaryRate: number | null;
  readonly baselineRate: number | null;
  readonly canaryRequests: number | null;
  /** Estimated canary/baseline ratio and its always-valid confidence bounds (`null` upper: unbounded). */
  readonly ratio: number | null;
  readonly ratioLower: number | null;
  readonly ratioUpper: number | null;
  /** Evidence against the canary; the rollback fires when it reaches `rollbackThreshold`. */
  readonly eValue: number | null;
  readonly rollbackThreshold: number | null;
}

/** The numbers the judge reported for one absolute guardrail. */
export interface GuardrailNumbers {
  readonly name: string;
  readonly status: string;
  readonly observed: number | null;
  readonly lowerBound: number | null;
  readonly limit: number | null;
  readonly requests: number | null;
}

/** The judge decision behind a transition, with its reasons and numbers. */
export interface DecisionNumbers {
  readonly decision: string;
  readonly reasons: readonly string[];
  readonly stepElapsedSeconds: number | null;
  readonly stepObservedSeconds: number | null;
  readonly metrics: readonly MetricNumbers[];
  readonly guardrails: readonly GuardrailNumbers[];
}

/**
 * One notification: the body the generic webhook posts (schema version 1, documented in
 * docs/operations.md). Every field is always present; unknown values are `null`, so a receiver
 * can rely on the keys.
 */
export interface NotificationEvent {
  /** Schema version of this body. */
  readonly version: 1;
  readonly type: NotificationType;
  /** When it happened, ISO 8601. */
  readonly at: string;
  /** The rollout id (the record's). */
  readonly rollout: string;
  readonly service: string;
  readonly stack: string;
  /** The target type, such as `pulumi` or `haproxy`. */
  readonly target: string;
  /** The phase after the event. */
  readonly phase: Phase;
  /** The phase before the event (`null` for `gateWaiting`, which changes no phase). */
  readonly previousPhase: Phase | null;
  /** The judged step in force, 0-based, or `null` before the first step. */
  readonly step: number | null;
  /** How many steps the plan judges (every step but the final 100). */
  readonly judgedSteps: number;
  /** The canary weight of the step in force, percent, or `null` before the first step. */
  readonly weight: number | null;
  readonly canaryVersion: string;
  /** The stable version, when the target knows it. */
  readonly stableVersion: string | null;
  /** Why, in one sentence (the transition's reason). */
  readonly reason: string;
  /** Who asked for a rollback (`analysis`, `operator`, `error`); `null` for other events. */
  readonly trigger: RollbackTrigger | null;
  /** The gate waited at (`gateWaiting` only). */
  readonly gate: string | null;
  /** The judge decision behind the event, when one was. */
  readonly decision: DecisionNumbers | null;
  /**
   * The rolled-back rollout this one retries (`canary retry`), the first of the chain when the
   * record names it; `null` for a rollout that is not a retry.
   */
  readonly retryOf: string | null;
}

/**
 * One notification channel. `send` makes exactly one delivery attempt (the dispatcher owns
 * retries) and rejects with a {@link NotifyError} whose message is already free of the channel's
 * secrets. It must settle within its own timeout and stop when `signal` aborts: a channel's
 * notifications are delivered one at a time, so a `send` that never settles stalls its channel.
 */
export interface Notifier {
  /** The channel type, such as `slack`. */
  readonly type: string;
  /** A name for logs and errors (`slack[0]`); never the URL. */
  readonly name: string;
  /** The notification types this channel wants. */
  readonly events: readonly NotificationType[];
  /**
   * Whether this channel has anything to send for a notification of one of its `events` (such
   * as PagerDuty, which resolves only for a retry). Absent: every one of them.
   */
  wants?(event: NotificationEvent): boolean;
  send(event: NotificationEvent, signal: AbortSignal): Promise<void>;
  /** Removes this channel's secrets (its URL and the URL's token parts) from a text. */
  scrub(text: string): string;
}

/** A failed delivery attempt. Its message never contains a webhook URL or its parts. */
export class NotifyError extends Error {
  constructor(
    message: string,
    /** Whether another attempt may succeed (5xx, 408, 429, network errors, timeouts). */
    public readonly retryable: boolean,
    /** The HTTP status, when the receiver answered. */
    public readonly status?: number,
  ) {
    super(message);
    this.name = "NotifyError";
  }
}

/** Whether an HTTP status is worth another attempt. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
