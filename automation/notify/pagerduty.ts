/**
 * PagerDuty channel (Events API v2). A rollback opens an alert with the judge's evidence; a failed
 * rollback opens a second, critical one; a retry that promotes resolves both.
 *
 * Severity routing: the rollback's alert has severity `warning` and the failed rollback's
 * `critical`, so a PagerDuty service that takes urgency from severity notifies for a rollback
 * and pages for a failed one. The failed rollback gets its own dedup key because a trigger on an
 * alert that is already open only adds to its log: it would never page. `minSeverity: critical`
 * leaves rollbacks to the other channels and pages only when a rollback fails.
 *
 * Dedup keys are per rollout, and a retry (`canary retry`) belongs to the rollout it retries:
 * `pulumi-canary/<stack>/<rollout>` and `…/rollback-failed`.
 *
 * Sent with the global fetch rather than @pagerduty/pdjs: that client only speaks https to a fixed
 * host name, retries 429 answers itself with 20 s sleeps that nothing can abort (the dispatcher
 * owns retries and a flush must be able to abandon a request), and fails on a non-JSON error body.
 */
import { PAGERDUTY_EVENTS_URL } from "./config";
import { EVENT_TITLES, fmt, pct } from "./format";
import { bodySnippet, Redactor, requestFailure } from "./redact";
import { atLeast, NotificationEvent, NotificationType, Notifier, NotifyError, retryableStatus, Severity, severityOf } from "./types";
import { USER_AGENT } from "./webhook";

/** The notification types a PagerDuty channel acts on; which of them send anything is {@link pagerdutyEvents}' business. */
export const PAGERDUTY_EVENT_TYPES: readonly NotificationType[] = ["rollback", "rolledBack", "rollbackFailed", "complete"];

/** PagerDuty caps an alert's summary at 1024 characters and a dedup key at 255. */
export const MAX_SUMMARY = 1024;
export const MAX_DEDUP_KEY = 255;

/** One Events API v2 request body. */
export interface PagerDutyEvent {
  readonly routing_key: string;
  readonly event_action: "trigger" | "resolve";
  readonly dedup_key: string;
  readonly client?: string;
  readonly payload?: {
    readonly summary: string;
    readonly source: string;
    readonly severity: "critical" | "error" | "warning" | "info";
    readonly timestamp: string;
    readonly component: string;
    readonly group: string;
    readonly class: string;
    readonly custom_details: Readonly<Record<string, unknown>>;
  };
}

/** The dedup key of a rollout's alert (`failed`: of its failed-rollback alert). */
export function dedupKey(stack: string, rollout: string, failed = false): string {
  return `pulumi-canary/${stack}/${rollout}${failed ? "/rollback-failed" : ""}`.slice(0, MAX_DEDUP_KEY);
}

/** The evidence in the alert: what an on-call engineer reads first, flat so PagerDuty shows it as a table. */
function details(e: NotificationEvent): Record<string, unknown> {
  const d = e.decision;
  return {
    rollout: e.rollout,
    service: e.service,
    stack: e.stack,
    target: e.target,
    canary_version: e.canaryVersion,
    stable_version: e.stableVersion,
    phase: e.phase,
    step: e.step === null ? "not started" : `${e.step + 1} of ${e.judgedSteps}`,
    weight: e.weight,
    trigger: e.trigger,
    reason: e.reason,
    ...(e.retryOf !== null ? { retry_of: e.retryOf } : {}),
    ...(d
      ? {
          judge: d.decision,
          judge_reasons: d.reasons,
          metrics: d.metrics.map(
            (m) => `${m.name} ${m.status}: canary ${pct(m.canaryRate)} vs baseline ${pct(m.baselineRate)}, ratio ${fmt(m.ratio)} [${fmt(m.ratioLower)}, ${fmt(m.ratioUpper, "∞")}], e-value ${fmt(m.eValue)} (rollback at ${fmt(m.rollbackThreshold)})`,
          ),
          guardrails: d.guardrails.map((g) => `${g.name} ${g.status}: ${pct(g.observed)} (lower bound ${pct(g.lowerBound)}, limit ${pct(g.limit)}) over ${fmt(g.requests)} requests`),
        }
      : {}),
  };
}

/**
 * The Events API requests for a notification (pure), in order; empty when there is nothing to
 * send. `minSeverity` is the least severe rollback that opens an alert.
 */
export function pagerdutyEvents(e: NotificationEvent, routingKey: string, minSeverity: Severity): PagerDutyEvent[] {
  const owner = e.retryOf ?? e.rollout;
  const trigger = (failed: boolean): PagerDutyEvent => {
    const severity = severityOf(e.type);
    const summary = `${EVENT_TITLES[e.type]}: ${e.service} ${e.canaryVersion} on ${e.stack}: ${e.reason}`;
    return {
      routing_key: routingKey,
      event_action: "trigger",
      dedup_key: dedupKey(e.stack, owner, failed),
      client: "pulumi-canary",
      payload: {
        summary: summary.length > MAX_SUMMARY ? `${summary.slice(0, MAX_SUMMARY - 3)}...` : summary,
        source: e.stack,
        severity: severity === "critical" ? "critical" : severity === "warning" ? "warning" : "info",
        timestamp: e.at,
        component: e.service,
        group: e.stack,
        class: failed ? "canary rollback failed" : "canary rollback",
        custom_details: details(e),
      },
    };
  };
  const resolve = (failed: boolean): PagerDutyEvent => ({ routing_key: routingKey, event_action: "resolve", dedup_key: dedupKey(e.stack, owner, failed) });
  switch (e.type) {
    case "rollback":
      return atLeast("warning", minSeverity) ? [trigger(false)] : [];
    case "rollbackFailed":
      return [trigger(true)];
    case "rolledBack":
      // The stack is safe again (a later restore worked): the failed rollback's alert is over.
      // The rollback's own alert stays open until a retry promotes.
      return [resolve(true)];
    case "complete":
      return e.retryOf !== null ? [resolve(false), resolve(true)] : [];
    default:
      return [];
  }
}

/** Settings of a PagerDuty channel. */
export interface PagerDutyOptions {
  /** Name for logs, such as `pagerduty[2]`. */
  readonly name: string;
  /** The integration's routing key (a secret). */
  readonly routingKey: string;
  /** The Events API endpoint. Defaults to PagerDuty's. */
  readonly endpoint?: string;
  /** The least severe rollback that opens an alert. Defaults to `warning` (every rollback). */
  readonly minSeverity?: Severity;
  /** Time one attempt may take, milliseconds. */
  readonly timeoutMs: number;
}

/** Sends rollbacks to PagerDuty; see the module comment. */
export class PagerDutyNotifier implements Notifier {
  readonly type = "pagerduty";
  readonly name: string;
  readonly events = PAGERDUTY_EVENT_TYPES;
  private readonly redactor: Redactor;
  private readonly endpoint: string;
  private readonly minSeverity: Severity;

  constructor(private readonly o: PagerDutyOptions) {
    this.name = o.name;
    this.endpoint = o.endpoint ?? PAGERDUTY_EVENTS_URL;
    this.minSeverity = o.minSeverity ?? "warning";
    this.redactor = new Redactor([o.routingKey]);
  }

  scrub(text: string): string {
    return this.redactor.scrub(text);
  }

  wants(event: NotificationEvent): boolean {
    return pagerdutyEvents(event, "", this.minSeverity).length > 0;
  }

  /** Sends the notification's requests in order; a retry sends them all again (triggers and resolves are idempotent per dedup key). */
  async send(event: NotificationEvent, signal: AbortSignal): Promise<void> {
    for (const body of pagerdutyEvents(event, this.o.routingKey, this.minSeverity)) {
      let response: Response;
      try {
        response = await fetch(this.endpoint, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": USER_AGENT },
          body: JSON.stringify(body),
          redirect: "error",
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]),
        });
      } catch (e) {
        throw requestFailure(this.name, e, this.redactor, this.o.timeoutMs, signal.aborted);
      }
      const text = await response.text().catch(() => "");
      // PagerDuty answers 202; 400 is a bad event (not retried), 429 and 5xx are worth another attempt.
      if (!response.ok) {
        const snippet = bodySnippet(text, this.redactor);
        throw new NotifyError(`${this.name}: HTTP ${response.status} for ${body.event_action} ${body.dedup_key}${snippet ? `: ${snippet}` : ""}`, retryableStatus(response.status), response.status);
      }
    }
  }
}
