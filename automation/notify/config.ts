/**
 * The plan's `notifications` section (zod), and turning it into notifiers. Webhook URLs are
 * secrets, so the plan never holds one: each channel names where its URL comes from, an
 * environment variable (`urlEnv`) or a secret stack config key (`urlConfig`) whose value the
 * caller reads from Pulumi and passes in. A `url` key is rejected as unknown.
 *
 * ```yaml
 * notifications:
 *   channels:
 *     - type: slack
 *       urlEnv: SLACK_WEBHOOK_URL
 *       events: [start, promote, complete, rollback, rolledBack, rollbackFailed, gateWaiting]
 *     - type: webhook
 *       urlConfig: canary:deployHookUrl
 *       timeout: 5s
 *   retry: { attempts: 5, initialDelay: 1s, maxDelay: 30s, maxTotal: 2m }
 *   queueSize: 100
 *   incidents: { dir: ./incidents }
 * ```
 */
import { z } from "zod";
import { durationSchema } from "../duration";
import { InputError } from "../errors";
import { NOTIFICATION_TYPES, NotificationType } from "./types";

/** A positive duration in seconds: the plan's one duration syntax. */
const duration = durationSchema();

/** Default time one delivery attempt may take. */
export const DEFAULT_TIMEOUT_SECONDS = 10;

const eventList = z
  .array(z.enum(NOTIFICATION_TYPES as [NotificationType, ...NotificationType[]], { error: `must be one of ${NOTIFICATION_TYPES.join(", ")}` }), { error: "must be a list of event types" })
  .min(1, { error: "must list at least one event type (remove the channel to silence it)" });

/** Fields every channel has. */
const channelFields = {
  /**
   * The environment variable holding the webhook URL. The name is checked when the notifiers
   * are built (not here), so a URL pasted into this field is never echoed in a plan error.
   */
  urlEnv: z.string({ error: "must be the name of an environment variable" }).optional(),
  /** The secret stack config key (such as `canary:slackWebhookUrl`) whose value the caller passes in. */
  urlConfig: z.string({ error: "must be a stack config key" }).optional(),
  /** The notification types to send. Defaults to all of them. */
  events: eventList.optional(),
  /** Time one delivery attempt may take. Defaults to 10s. */
  timeout: duration.default(DEFAULT_TIMEOUT_SECONDS),
};

const slackChannel = z.strictObject({
  type: z.literal("slack"),
  ...channelFields,
  /** Display name override (legacy webhooks only; app webhooks ignore it). */
  username: z.string().optional(),
  /** Emoji override such as `:rocket:` (legacy webhooks only). */
  iconEmoji: z.string().optional(),
});

const webhookChannel = z.strictObject({ type: z.literal("webhook"), ...channelFields });

/** The channel types the plan accepts (and {@link createNotifier} builds). */
export const CHANNEL_TYPES = ["slack", "webhook"] as const;

const channel = z
  .discriminatedUnion("type", [slackChannel, webhookChannel], { error: `must be one of ${CHANNEL_TYPES.join(", ")}` })
  .superRefine((c, ctx) => {
    // Issues go on a field, never on the channel: a plan error quotes the value at the issue's
    // path, and the channel may hold a pasted URL (rejected as an unknown key).
    if (c.urlEnv === undefined && c.urlConfig === undefined) {
      ctx.addIssue({ code: "custom", path: ["urlEnv"], message: "is required (or urlConfig): the environment variable holding the webhook URL" });
    } else if (c.urlEnv !== undefined && c.urlConfig !== undefined) {
      ctx.addIssue({ code: "custom", path: ["urlConfig"], message: "must not be set together with urlEnv: the URL comes from one place" });
    }
  });

/** Default number of delivery attempts per notification and channel. */
export const DEFAULT_ATTEMPTS = 5;
/** Default number of notifications waiting per channel before the oldest is dropped. */
export const DEFAULT_QUEUE_SIZE = 100;

/** Retry policy: exponential backoff with jitter, bounded in attempts and in total time. */
const retrySchema = z.strictObject({
  /** Attempts per notification, the first included. Defaults to 5. */
  attempts: z.number({ error: "must be an integer ≥ 1" }).int({ error: "must be an integer ≥ 1" }).min(1, { error: "must be ≥ 1" }).max(20, { error: "must be ≤ 20" }).default(DEFAULT_ATTEMPTS),
  /** Backoff before the second attempt; doubles per attempt. Defaults to 1s. */
  initialDelay: duration.default(1),
  /** Longest backoff. Defaults to 30s. */
  maxDelay: duration.default(30),
  /** Longest time spent on one notification, attempts and backoff included. Defaults to 2m. */
  maxTotal: duration.default(120),
});

/** The zod schema of the plan's `notifications` section; every field has a default. */
export const notificationsSchema = z.strictObject({
  /** Where notifications go. Defaults to none. */
  channels: z.array(channel, { error: "must be a list of channels" }).default([]),
  retry: retrySchema.default({ attempts: DEFAULT_ATTEMPTS, initialDelay: 1, maxDelay: 30, maxTotal: 120 }),
  /** Notifications waiting per channel; when full the oldest is dropped (and counted). Defaults to 100. */
  queueSize: z.number({ error: "must be an integer ≥ 1" }).int({ error: "must be an integer ≥ 1" }).min(1, { error: "must be ≥ 1" }).default(DEFAULT_QUEUE_SIZE),
  /** The incident record written on rollback. */
  incidents: z
    .strictObject({
      /** Write it. Defaults to true. */
      enabled: z.boolean({ error: "must be true or false" }).default(true),
      /** Directory for the markdown and JSON files. Defaults to the local record's directory. */
      dir: z.string({ error: "must be a directory path" }).optional(),
    })
    .default({ enabled: true }),
});

/** The validated `notifications` section; durations in seconds. */
export type NotificationsConfig = z.output<typeof notificationsSchema>;
/** One validated channel. */
export type ChannelConfig = NotificationsConfig["channels"][number];
/** The retry policy, durations in seconds. */
export type RetryConfig = NotificationsConfig["retry"];

/** The default section: no channels, incident records on. */
export function defaultNotifications(): NotificationsConfig {
  return notificationsSchema.parse({});
}

/** Thrown when a channel's URL cannot be found. Names the channel and the variable or key, never a value. Exit 2. */
export class NotifyConfigError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "NotifyConfigError";
  }
}

/** Where channel URLs come from. */
export interface SecretSources {
  /** Environment variables. Defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Secret stack config values by key (`canary:slackWebhookUrl`), read by the caller. */
  readonly config?: Readonly<Record<string, string | undefined>>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The URL of channel `index` from its source.
 * @throws NotifyConfigError naming the channel's path and the variable or key.
 */
export function channelUrl(c: ChannelConfig, index: number, sources: SecretSources): string {
  const where = `notifications.channels[${index}]`;
  if (c.urlEnv !== undefined) {
    if (!ENV_NAME.test(c.urlEnv)) {
      // The value may be the URL itself, pasted into the wrong field: do not echo it.
      throw new NotifyConfigError(`${where}.urlEnv: must be an environment variable name such as SLACK_WEBHOOK_URL (put the URL in the environment, not in the plan)`);
    }
    const v = (sources.env ?? process.env)[c.urlEnv];
    if (!v) throw new NotifyConfigError(`${where}.urlEnv: environment variable ${c.urlEnv} is not set`);
    return v;
  }
  const key = c.urlConfig ?? "";
  const v = sources.config?.[key];
  if (!v) throw new NotifyConfigError(`${where}.urlConfig: no value was passed for stack config key ${key} (read it with getAllConfig and pass it as a secret)`);
  return v;
}
