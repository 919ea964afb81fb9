/**
 * Slack incoming webhook channel (`@slack/webhook`). The message is built by the pure
 * {@link slackMessage}: a one-line text (what phones and the channel list show) and blocks with
 * the rollout's fields, the judge's reasons and the numbers behind them.
 */
import { IncomingWebhook, IncomingWebhookHTTPError, IncomingWebhookRequestError, IncomingWebhookSendArguments } from "@slack/webhook";
import { EVENT_TITLES, fmt, pct } from "./format";
import { bodySnippet, Redactor, requestFailure } from "./redact";
import { DecisionNumbers, NotificationEvent, NotificationType, Notifier, NotifyError, retryableStatus } from "./types";

/** One Slack block, as the webhook client types it. */
type SlackBlock = NonNullable<IncomingWebhookSendArguments["blocks"]>[number];

/** The emoji before each notification type's title. */
const EMOJI: Readonly<Record<NotificationType, string>> = {
  start: ":rocket:",
  advance: ":arrow_forward:",
  switch: ":twisted_rightwards_arrows:",
  promote: ":white_check_mark:",
  complete: ":tada:",
  rollback: ":rotating_light:",
  rolledBack: ":leftwards_arrow_with_hook:",
  rollbackFailed: ":x:",
  pause: ":double_vertical_bar:",
  resume: ":arrow_forward:",
  freeze: ":ice_cube:",
  unfreeze: ":arrow_forward:",
  skip: ":fast_forward:",
  promoteFull: ":fast_forward:",
  approve: ":ok_hand:",
  takeOver: ":handshake:",
  gateWaiting: ":raised_hand:",
};

/** The title of each notification type. */
const TITLES = Object.fromEntries(Object.entries(EVENT_TITLES).map(([type, title]) => [type, `${EMOJI[type as NotificationType]} ${title}`])) as Readonly<Record<NotificationType, string>>;

/** The step in force, 1-based for people: `2 of 3 (weight 25%)`. */
function stepText(e: NotificationEvent): string {
  return e.step === null ? "not started" : `${e.step + 1} of ${e.judgedSteps} (weight ${e.weight ?? 0}%)`;
}

/** The judge's reasons and numbers, one line each, in Slack mrkdwn. */
export function decisionLines(d: DecisionNumbers): string[] {
  return [
    `*Judge: ${d.decision}*${d.stepObservedSeconds !== null ? ` after ${fmt(d.stepObservedSeconds)}s observed` : ""}`,
    ...d.reasons.map((r) => `• ${r}`),
    ...d.metrics.map(
      (m) =>
        `\`${m.name}\` ${m.status}: canary ${pct(m.canaryRate)} vs baseline ${pct(m.baselineRate)} over ${fmt(m.canaryRequests)} canary requests; ` +
        `ratio ${fmt(m.ratio)} [${fmt(m.ratioLower)}, ${fmt(m.ratioUpper, "∞")}], e-value ${fmt(m.eValue)} (rollback at ${fmt(m.rollbackThreshold)})`,
    ),
    ...d.guardrails.map((g) => `\`${g.name}\` guardrail ${g.status}: ${pct(g.observed)} (lower bound ${pct(g.lowerBound)}, limit ${pct(g.limit)}) over ${fmt(g.requests)} requests`),
  ];
}

/** Settings of a Slack channel. */
export interface SlackOptions {
  /** Name for logs, such as `slack[0]`. */
  readonly name: string;
  /** The incoming webhook URL (a secret). */
  readonly url: string;
  readonly events: readonly NotificationType[];
  /** Time one attempt may take, milliseconds. */
  readonly timeoutMs: number;
  readonly username?: string;
  readonly iconEmoji?: string;
}

/** The Slack message for a notification (pure). */
export function slackMessage(e: NotificationEvent): IncomingWebhookSendArguments {
  const title = e.type === "advance" ? `${TITLES.advance} ${stepText(e)}` : e.type === "gateWaiting" ? `${TITLES.gateWaiting}: ${e.gate ?? ""}` : TITLES[e.type];
  const text = `${title}: ${e.service} ${e.canaryVersion} on ${e.stack}: ${e.reason}`;
  const fields = [
    `*Service*\n${e.service}`,
    `*Stack*\n${e.stack}`,
    `*Phase*\n${e.phase}`,
    `*Step*\n${stepText(e)}`,
    `*Canary*\n${e.canaryVersion}`,
    `*Stable*\n${e.stableVersion ?? "unknown"}`,
  ];
  const mrkdwn = (t: string) => ({ type: "mrkdwn" as const, text: t });
  const blocks: SlackBlock[] = [
    { type: "section", text: mrkdwn(`*${title}*\n${e.reason}`) },
    { type: "section", fields: fields.map(mrkdwn) },
    ...(e.decision ? [{ type: "section" as const, text: mrkdwn(decisionLines(e.decision).join("\n")) }] : []),
    { type: "context", elements: [mrkdwn(`rollout ${e.rollout} · ${e.at}${e.trigger ? ` · trigger: ${e.trigger}` : ""}`)] },
  ];
  return { text, blocks };
}

/** Posts notifications to a Slack incoming webhook. */
export class SlackNotifier implements Notifier {
  readonly type = "slack";
  readonly name: string;
  readonly events: readonly NotificationType[];
  private readonly redactor: Redactor;

  constructor(private readonly o: SlackOptions) {
    this.name = o.name;
    this.events = o.events;
    this.redactor = new Redactor([o.url]);
  }

  scrub(text: string): string {
    return this.redactor.scrub(text);
  }

  async send(event: NotificationEvent, signal: AbortSignal): Promise<void> {
    const attempt = AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]);
    // One attempt (retries: 0): the dispatcher owns retries and backoff. The fetch wrapper adds
    // the signal, so a flush that gives up can abort the request.
    const hook = new IncomingWebhook(this.o.url, {
      retryConfig: { retries: 0 },
      fetch: (url, init) => fetch(url, { ...init, signal: attempt }),
      ...(this.o.username !== undefined ? { username: this.o.username } : {}),
      ...(this.o.iconEmoji !== undefined ? { icon_emoji: this.o.iconEmoji } : {}),
    });
    try {
      await hook.send(slackMessage(event));
    } catch (e) {
      if (e instanceof IncomingWebhookHTTPError) {
        const body = bodySnippet(String(e.body ?? ""), this.redactor);
        throw new NotifyError(`${this.name}: HTTP ${e.statusCode}${body ? `: ${body}` : ""}`, retryableStatus(e.statusCode), e.statusCode);
      }
      throw requestFailure(this.name, e instanceof IncomingWebhookRequestError ? e.original : e, this.redactor, this.o.timeoutMs, signal.aborted);
    }
  }
}
