/**
 * Builds notifiers: one per channel of the plan, by type. An unknown type throws, naming the
 * known ones (never a silent fallback to another channel).
 */
import { ChannelConfig, CHANNEL_TYPES, channelSecret, NotificationsConfig, NotifyConfigError, SecretSources } from "./config";
import { EMAIL_DEFAULT_EVENTS, EmailNotifier } from "./email";
import { GRAFANA_DEFAULT_EVENTS, GrafanaNotifier } from "./grafana";
import { PagerDutyNotifier } from "./pagerduty";
import { SlackNotifier } from "./slack";
import { atLeast, NOTIFICATION_TYPES, NotificationType, Notifier, Severity, severityOf } from "./types";
import { WebhookNotifier } from "./webhook";

/** Whether a secret parses as a URL with one of the protocols. */
function hasProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** The channel's event types: its list (or its type's defaults), less those under its `minSeverity`. */
function eventsOf(listed: readonly NotificationType[] | undefined, defaults: readonly NotificationType[], minSeverity: Severity | undefined): NotificationType[] {
  return (listed ?? defaults).filter((t) => minSeverity === undefined || atLeast(severityOf(t), minSeverity));
}

/**
 * One notifier for a channel whose secret (URL, routing key or token) is already resolved.
 * @throws NotifyConfigError for an unknown type or a URL of the wrong kind (without echoing it).
 */
export function createNotifier(channel: ChannelConfig, secret: string, name: string): Notifier {
  const timeoutMs = channel.timeout * 1000;
  const type = (channel as { type: string }).type;
  const url = (protocols: readonly string[], what: string): string => {
    if (!hasProtocol(secret, protocols)) throw new NotifyConfigError(`${name}: ${what} is not an ${protocols[0] === "https:" ? "http(s)" : "smtp(s)"} URL (value not shown: it is a secret)`);
    return secret;
  };
  switch (channel.type) {
    case "slack":
    case "webhook": {
      const common = { name, url: url(["https:", "http:"], "the webhook URL"), events: eventsOf(channel.events, NOTIFICATION_TYPES, channel.minSeverity), timeoutMs };
      if (channel.type === "webhook") return new WebhookNotifier(common);
      return new SlackNotifier({ ...common, ...(channel.username !== undefined ? { username: channel.username } : {}), ...(channel.iconEmoji !== undefined ? { iconEmoji: channel.iconEmoji } : {}) });
    }
    case "email":
      return new EmailNotifier({ name, url: url(["smtps:", "smtp:"], "the SMTP URL"), from: channel.from, to: channel.to, events: eventsOf(channel.events, EMAIL_DEFAULT_EVENTS, channel.minSeverity), timeoutMs });
    case "pagerduty":
      return new PagerDutyNotifier({ name, routingKey: secret, endpoint: channel.endpoint, ...(channel.minSeverity !== undefined ? { minSeverity: channel.minSeverity } : {}), timeoutMs });
    case "grafana":
      return new GrafanaNotifier({ name, url: channel.url, token: secret, events: eventsOf(channel.events, GRAFANA_DEFAULT_EVENTS, channel.minSeverity), timeoutMs });
    default:
      throw new NotifyConfigError(`${name}: unknown notification channel type ${JSON.stringify(type)}; known types: ${CHANNEL_TYPES.join(", ")}`);
  }
}

/**
 * The notifiers of a `notifications` section, their secrets read from the environment or the
 * secret config values passed in.
 * @throws NotifyConfigError naming the first channel whose secret is missing or invalid.
 */
export function createNotifiers(config: NotificationsConfig, sources: SecretSources = {}): Notifier[] {
  return config.channels.map((c, i) => createNotifier(c, channelSecret(c, i, sources), `${c.type}[${i}]`));
}
