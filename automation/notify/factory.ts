/**
 * Builds notifiers: one per channel of the plan, by type. An unknown type throws, naming the
 * known ones (never a silent fallback to another channel).
 */
import { ChannelConfig, CHANNEL_TYPES, channelUrl, NotificationsConfig, NotifyConfigError, SecretSources } from "./config";
import { SlackNotifier } from "./slack";
import { NOTIFICATION_TYPES, Notifier } from "./types";
import { WebhookNotifier } from "./webhook";

/**
 * One notifier for a channel whose URL is already resolved.
 * @throws NotifyConfigError for an unknown type or a URL that is not http(s) (without echoing it).
 */
export function createNotifier(channel: ChannelConfig, url: string, name: string): Notifier {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = "";
  }
  if (protocol !== "https:" && protocol !== "http:") throw new NotifyConfigError(`${name}: the webhook URL is not an http(s) URL (value not shown: it is a secret)`);
  const common = { name, url, events: channel.events ?? NOTIFICATION_TYPES, timeoutMs: channel.timeout * 1000 };
  const type = (channel as { type: string }).type;
  switch (channel.type) {
    case "slack":
      return new SlackNotifier({ ...common, ...(channel.username !== undefined ? { username: channel.username } : {}), ...(channel.iconEmoji !== undefined ? { iconEmoji: channel.iconEmoji } : {}) });
    case "webhook":
      return new WebhookNotifier(common);
    default:
      throw new NotifyConfigError(`${name}: unknown notification channel type ${JSON.stringify(type)}; known types: ${CHANNEL_TYPES.join(", ")}`);
  }
}

/**
 * The notifiers of a `notifications` section, their URLs read from the environment or the
 * secret config values passed in.
 * @throws NotifyConfigError naming the first channel whose URL is missing or invalid.
 */
export function createNotifiers(config: NotificationsConfig, sources: SecretSources = {}): Notifier[] {
  return config.channels.map((c, i) => createNotifier(c, channelUrl(c, i, sources), `${c.type}[${i}]`));
}
