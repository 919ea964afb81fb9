/**
 * Email channel: nodemailer over SMTP. The SMTP URL (`smtps://user:password@smtp.example.com`,
 * or `smtp://…:587` with STARTTLS) is the secret. The message is built by the pure
 * {@link emailMessage}: a subject that says what happened to which version where (what a phone's
 * inbox shows), and a plain-text body with the rollout's fields and the judge's numbers.
 */
import type * as Nodemailer from "nodemailer";
import { EVENT_TITLES, fmt, pct } from "./format";
import { Redactor } from "./redact";
import { NotificationEvent, NotificationType, Notifier, NotifyError, severityOf } from "./types";

/** The notification types an email channel sends unless the plan lists others: the ends of a rollout. */
export const EMAIL_DEFAULT_EVENTS: readonly NotificationType[] = ["complete", "rollback", "rolledBack", "rollbackFailed"];

/** An email's subject and body. */
export interface EmailMessage {
  readonly subject: string;
  readonly text: string;
}

/** The email for a notification (pure). */
export function emailMessage(e: NotificationEvent): EmailMessage {
  const severity = severityOf(e.type);
  const title = e.type === "advance" && e.step !== null ? `${EVENT_TITLES.advance} ${e.step + 1} of ${e.judgedSteps} (weight ${e.weight ?? 0}%)` : EVENT_TITLES[e.type];
  const subject = `[canary]${severity === "critical" ? " CRITICAL:" : ""} ${title}: ${e.service} ${e.canaryVersion} on ${e.stack}`;
  const lines = [
    `${title}: ${e.reason}`,
    "",
    `Service:  ${e.service}`,
    `Stack:    ${e.stack} (${e.target})`,
    `Canary:   ${e.canaryVersion}`,
    `Stable:   ${e.stableVersion ?? "unknown"}`,
    `Phase:    ${e.previousPhase ? `${e.previousPhase} -> ` : ""}${e.phase}`,
    `Step:     ${e.step === null ? "not started" : `${e.step + 1} of ${e.judgedSteps} (weight ${e.weight ?? 0}%)`}`,
    ...(e.trigger ? [`Trigger:  ${e.trigger}`] : []),
    ...(e.gate ? [`Gate:     ${e.gate}`] : []),
    ...(e.retryOf ? [`Retry of: ${e.retryOf}`] : []),
    `Rollout:  ${e.rollout}`,
    `At:       ${e.at}`,
  ];
  const d = e.decision;
  if (d) {
    lines.push("", `Judge: ${d.decision}${d.stepObservedSeconds !== null ? ` after ${fmt(d.stepObservedSeconds)}s observed` : ""}`, ...d.reasons.map((r) => `  - ${r}`));
    for (const m of d.metrics) {
      lines.push(
        `  ${m.name} ${m.status}: canary ${pct(m.canaryRate)} vs baseline ${pct(m.baselineRate)} over ${fmt(m.canaryRequests)} canary requests; ` +
          `ratio ${fmt(m.ratio)} [${fmt(m.ratioLower)}, ${fmt(m.ratioUpper, "inf")}], e-value ${fmt(m.eValue)} (rollback at ${fmt(m.rollbackThreshold)})`,
      );
    }
    for (const g of d.guardrails) lines.push(`  ${g.name} guardrail ${g.status}: ${pct(g.observed)} (lower bound ${pct(g.lowerBound)}, limit ${pct(g.limit)}) over ${fmt(g.requests)} requests`);
  }
  if (severity === "critical") lines.push("", "The stack may still route traffic to the canary: a person must look.");
  return { subject, text: `${lines.join("\n")}\n` };
}

/** Settings of an email channel. */
export interface EmailOptions {
  /** Name for logs, such as `email[1]`. */
  readonly name: string;
  /** The SMTP URL (a secret: it holds the credentials). */
  readonly url: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly events: readonly NotificationType[];
  /** Time one attempt may take, milliseconds (connection, greeting and each command). */
  readonly timeoutMs: number;
}

/** The nodemailer error fields that say what went wrong. */
interface SmtpError {
  readonly message?: string;
  readonly code?: string;
  readonly responseCode?: number;
}

/** Sends notifications as email over SMTP. */
export class EmailNotifier implements Notifier {
  readonly type = "email";
  readonly name: string;
  readonly events: readonly NotificationType[];
  private readonly redactor: Redactor;

  constructor(private readonly o: EmailOptions) {
    this.name = o.name;
    this.events = o.events;
    this.redactor = new Redactor([o.url]);
  }

  scrub(text: string): string {
    return this.redactor.scrub(text);
  }

  async send(event: NotificationEvent, signal: AbortSignal): Promise<void> {
    const { subject, text } = emailMessage(event);
    // A transport per attempt: nothing stays open between notifications, and an abandoned
    // attempt's connection is closed with it.
    // Loaded on the first email, not with the command line: most rollouts never send one.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodemailer = require("nodemailer") as typeof Nodemailer;
    const transport = nodemailer.createTransport({ url: this.o.url, connectionTimeout: this.o.timeoutMs, greetingTimeout: this.o.timeoutMs, socketTimeout: this.o.timeoutMs });
    try {
      await transport.sendMail({ from: this.o.from, to: [...this.o.to], subject, text, signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]) });
    } catch (e) {
      const err = (e ?? {}) as SmtpError;
      if (signal.aborted) throw new NotifyError(`${this.name}: aborted`, false);
      const code = err.responseCode;
      const what = this.redactor.scrub(`${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}`).replace(/\s+/g, " ");
      // The server's reply decides (RFC 5321): 4yz is transient, 5yz permanent, except 503 (a bad
      // command sequence, not a verdict on the message). Without a reply: missing credentials
      // and a bad configuration will not change on a retry; connection problems may.
      const permanent = code !== undefined ? code >= 500 && code < 600 && code !== 503 : err.code === "ENOAUTH" || err.code === "ECONFIG";
      throw new NotifyError(`${this.name}: ${code !== undefined ? `SMTP ${code}: ` : ""}${what}`, !permanent);
    } finally {
      transport.close();
    }
  }
}
