/**
 * Generic JSON webhook channel: POSTs the {@link NotificationEvent} verbatim (schema version 1,
 * documented in docs/operations.md) with the global fetch. Any 2xx is a delivery.
 */
import { bodySnippet, Redactor, requestFailure } from "./redact";
import { NotificationEvent, NotificationType, Notifier, NotifyError, retryableStatus } from "./types";

/** The User-Agent of every notification request. */
export const USER_AGENT = "pulumi-canary-notify/1";

/** Settings of a webhook channel. */
export interface WebhookOptions {
  /** Name for logs, such as `webhook[1]`. */
  readonly name: string;
  /** The receiver's URL (a secret). */
  readonly url: string;
  readonly events: readonly NotificationType[];
  /** Time one attempt may take, milliseconds. */
  readonly timeoutMs: number;
}

/** Posts notifications as JSON to a URL. */
export class WebhookNotifier implements Notifier {
  readonly type = "webhook";
  readonly name: string;
  readonly events: readonly NotificationType[];
  private readonly redactor: Redactor;

  constructor(private readonly o: WebhookOptions) {
    this.name = o.name;
    this.events = o.events;
    this.redactor = new Redactor([o.url]);
  }

  scrub(text: string): string {
    return this.redactor.scrub(text);
  }

  async send(event: NotificationEvent, signal: AbortSignal): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.o.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": USER_AGENT },
        body: JSON.stringify(event),
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
