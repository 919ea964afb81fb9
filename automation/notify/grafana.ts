/**
 * Grafana annotations channel: each rollout event becomes an organization annotation (Grafana's
 * HTTP API, `POST /api/annotations`) tagged with the service, version, stack and event. The
 * dashboard this project generates has an annotation query for the rollout tag and its service
 * (components/monitoring/dashboard.ts), so the events show on every panel, next to the error
 * rate and latency they explain. The token (a service account token with `annotations:write`)
 * is the secret.
 */
import { rolloutAnnotationTags } from "../../components/monitoring/annotations";
import { EVENT_TITLES } from "./format";
import { bodySnippet, Redactor, requestFailure } from "./redact";
import { NotificationEvent, NotificationType, Notifier, NotifyError, retryableStatus } from "./types";
import { USER_AGENT } from "./webhook";

/** The notification types a Grafana channel posts unless the plan lists others: the moments that change traffic. */
export const GRAFANA_DEFAULT_EVENTS: readonly NotificationType[] = ["start", "advance", "promote", "promoteFull", "complete", "rollback", "rolledBack", "rollbackFailed"];

/** The body of `POST /api/annotations` (Grafana's HTTP API): an organization annotation, found by its tags. */
export interface GrafanaAnnotation {
  /** Epoch milliseconds. */
  readonly time: number;
  readonly tags: readonly string[];
  readonly text: string;
}

/** The annotation for a notification (pure). */
export function grafanaAnnotation(e: NotificationEvent): GrafanaAnnotation {
  const title = e.type === "advance" && e.step !== null ? `${EVENT_TITLES.advance} ${e.step + 1} of ${e.judgedSteps}: canary weight ${e.weight ?? 0}%` : EVENT_TITLES[e.type];
  return {
    time: Date.parse(e.at),
    tags: rolloutAnnotationTags({ service: e.service, version: e.canaryVersion, stack: e.stack, event: e.type }),
    text: `${title}: ${e.service} ${e.canaryVersion} on ${e.stack}: ${e.reason}${e.trigger ? ` (trigger: ${e.trigger})` : ""} [rollout ${e.rollout}]`,
  };
}

/** Settings of a Grafana channel. */
export interface GrafanaOptions {
  /** Name for logs, such as `grafana[3]`. */
  readonly name: string;
  /** Grafana's base URL. */
  readonly url: string;
  /** The service account token (a secret). */
  readonly token: string;
  readonly events: readonly NotificationType[];
  /** Time one attempt may take, milliseconds. */
  readonly timeoutMs: number;
}

/** Posts rollout events to Grafana as annotations. */
export class GrafanaNotifier implements Notifier {
  readonly type = "grafana";
  readonly name: string;
  readonly events: readonly NotificationType[];
  private readonly redactor: Redactor;
  private readonly endpoint: string;

  constructor(private readonly o: GrafanaOptions) {
    this.name = o.name;
    this.events = o.events;
    this.redactor = new Redactor([o.token]);
    this.endpoint = `${o.url.replace(/\/+$/, "")}/api/annotations`;
  }

  scrub(text: string): string {
    return this.redactor.scrub(text);
  }

  async send(event: NotificationEvent, signal: AbortSignal): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${this.o.token}`, "user-agent": USER_AGENT },
        body: JSON.stringify(grafanaAnnotation(event)),
        redirect: "error",
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]),
      });
    } catch (e) {
      throw requestFailure(this.name, e, this.redactor, this.o.timeoutMs, signal.aborted);
    }
    const body = await response.text().catch(() => "");
    if (!response.ok) {
      const snippet = bodySnippet(body, this.redactor);
      throw new NotifyError(`${this.name}: HTTP ${response.status}${snippet ? `: ${snippet}` : ""}`, retryableStatus(response.status), response.status);
    }
  }
}
