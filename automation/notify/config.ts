/**
 * The plan's `notifications` section (zod), and turning it into notifiers. Webhook and SMTP URLs,
 * PagerDuty routing keys and Grafana tokens are secrets, so the plan never holds one: each
 * channel names where its secret comes from, an environment variable (`urlEnv`, `routingKeyEnv`,
 * `tokenEnv`) or a secret stack config key (`urlConfig`, …) whose value the caller reads from
 * Pulumi and passes in. A `url` key on a Slack, webhook or email channel is rejected as unknown.
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
 *     - type: pagerduty
 *       routingKeyEnv: PAGERDUTY_ROUTING_KEY
 *       minSeverity: critical        # page only when a rollback fails
 *     - type: email
 *       urlEnv: SMTP_URL
 *       from: canary@example.com
 *       to: [oncall@example.com]
 *       minSeverity: warning         # rollbacks and failed rollbacks
 *     - type: grafana
 *       url: https://grafana.example.com
 *       tokenEnv: GRAFANA_TOKEN
 *   retry: { attempts: 5, initialDelay: 1s, maxDelay: 30s, maxTotal: 2m }
 *   queueSize: 100
 *   incidents: { dir: ./incidents, report: true }
 * ```
 */
import { z } from "zod";
import { durationSchema } from "../duration";
import { InputError } from "../errors";
import { NOTIFICATION_TYPES, NotificationType, Severity, SEVERITIES } from "./types";

/** A positive duration in seconds, at most an hour: the plan's one duration syntax. */
const duration = durationSchema({ max: 3600 });
/** A receiver's timeout: at most 5 minutes (the driver flushes notifications for 15 s at exit anyway). */
const timeout = durationSchema({ max: 300 });

/** Default time one delivery attempt may take. */
export const DEFAULT_TIMEOUT_SECONDS = 10;

const eventList = z
  .array(z.enum(NOTIFICATION_TYPES as [NotificationType, ...NotificationType[]], { error: `must be one of ${NOTIFICATION_TYPES.join(", ")}` }), { error: "must be a list of event types" })
  .min(1, { error: "must list at least one event type (remove the channel to silence it)" });

/** Fields every channel has. */
const commonFields = {
  /** Time one delivery attempt may take. Defaults to 10s. */
  timeout: timeout.default(DEFAULT_TIMEOUT_SECONDS),
  /**
   * The least severe notification this channel takes ({@link severityOf}: `info` for progress,
   * `warning` for a rollback, `critical` for a failed rollback). Defaults to `info` (all).
   */
  minSeverity: z.enum(SEVERITIES as unknown as [Severity, ...Severity[]], { error: `must be one of ${SEVERITIES.join(", ")}` }).optional(),
};

/** A channel whose notification types the plan picks. */
const eventFields = {
  /** The notification types to send. Defaults to the channel type's own list (all for Slack, webhook and email). */
  events: eventList.optional(),
};

/**
 * Where a secret comes from: an environment variable (`…Env`) or a secret stack config key
 * (`…Config`) whose value the caller reads from Pulumi and passes in. The variable's name is
 * checked when the notifiers are built (not here), so a secret pasted into the field is never
 * echoed in a plan error.
 */
function secretFields<E extends string, C extends string>(env: E, config: C): { [K in E | C]: z.ZodOptional<z.ZodString> } {
  return {
    [env]: z.string({ error: "must be the name of an environment variable" }).optional(),
    [config]: z.string({ error: "must be a stack config key" }).optional(),
  } as { [K in E | C]: z.ZodOptional<z.ZodString> };
}

/** An http(s) URL without credentials: used where a URL is not a secret (Grafana, PagerDuty's endpoint). */
const publicUrl = z
  .string({ error: "must be an http(s) URL" })
  .refine((v) => /^https?:\/\/[^\s/@]+(\/[^\s]*)?$/.test(v), { error: "must be an http(s) URL without credentials (credentials go in the secret, not the URL)" });

/** An email address (deliberately loose: the SMTP server is the judge of the rest). */
const emailAddress = z.string({ error: "must be an email address" }).regex(/^[^\s@<>,;]+@[^\s@<>,;]+$/, { error: "must be an email address such as oncall@example.com" });

const slackChannel = z.strictObject({
  type: z.literal("slack"),
  ...secretFields("urlEnv", "urlConfig"),
  ...eventFields,
  ...commonFields,
  /** Display name override (legacy webhooks only; app webhooks ignore it). */
  username: z.string().optional(),
  /** Emoji override such as `:rocket:` (legacy webhooks only). */
  iconEmoji: z.string().optional(),
});

const webhookChannel = z.strictObject({ type: z.literal("webhook"), ...secretFields("urlEnv", "urlConfig"), ...eventFields, ...commonFields });

/** Email over SMTP: the secret is the SMTP URL (`smtps://user:password@smtp.example.com`). */
const emailChannel = z.strictObject({
  type: z.literal("email"),
  ...secretFields("urlEnv", "urlConfig"),
  ...eventFields,
  ...commonFields,
  /** The sender address. */
  from: emailAddress,
  /** The recipients. */
  to: z.array(emailAddress, { error: "must be a list of email addresses" }).min(1, { error: "must list at least one address" }),
});

/** The PagerDuty Events API v2 endpoint. */
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

/**
 * PagerDuty Events API v2: the secret is the integration's routing key. Which events it sends is
 * fixed (triggers on rollbacks, resolves on a promoted retry); `minSeverity` picks which
 * rollbacks open an alert. Defaults to `warning`: every rollback.
 */
const pagerdutyChannel = z.strictObject({
  type: z.literal("pagerduty"),
  ...secretFields("routingKeyEnv", "routingKeyConfig"),
  ...commonFields,
  /** The Events API endpoint. Defaults to https://events.pagerduty.com/v2/enqueue (EU accounts: events.eu.pagerduty.com). */
  endpoint: publicUrl.default(PAGERDUTY_EVENTS_URL),
});

/** Grafana annotations: the secret is a service account token with the annotations:write permission. */
const grafanaChannel = z.strictObject({
  type: z.literal("grafana"),
  ...secretFields("tokenEnv", "tokenConfig"),
  ...eventFields,
  ...commonFields,
  /** Grafana's base URL, such as https://grafana.example.com. */
  url: publicUrl,
});

/** The channel types the plan accepts (and {@link createNotifier} builds). */
export const CHANNEL_TYPES = ["slack", "webhook", "email", "pagerduty", "grafana"] as const;
/** A channel type. */
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** Per channel type: the pair of fields naming where its secret comes from, and what the secret is. */
export const SECRET_FIELDS: Readonly<Record<ChannelType, { readonly env: string; readonly config: string; readonly noun: string; readonly what: string; readonly example: string }>> = {
  slack: { env: "urlEnv", config: "urlConfig", noun: "URL", what: "the webhook URL", example: "SLACK_WEBHOOK_URL" },
  webhook: { env: "urlEnv", config: "urlConfig", noun: "URL", what: "the webhook URL", example: "DEPLOY_HOOK_URL" },
  email: { env: "urlEnv", config: "urlConfig", noun: "URL", what: "the SMTP URL (smtps://user:password@host)", example: "SMTP_URL" },
  pagerduty: { env: "routingKeyEnv", config: "routingKeyConfig", noun: "routing key", what: "the integration's routing key", example: "PAGERDUTY_ROUTING_KEY" },
  grafana: { env: "tokenEnv", config: "tokenConfig", noun: "token", what: "the service account token", example: "GRAFANA_TOKEN" },
};

const channel = z
  .discriminatedUnion("type", [slackChannel, webhookChannel, emailChannel, pagerdutyChannel, grafanaChannel], { error: `must be one of ${CHANNEL_TYPES.join(", ")}` })
  .superRefine((c, ctx) => {
    // Issues go on a field, never on the channel: a plan error quotes the value at the issue's
    // path, and the channel may hold a pasted secret (rejected as an unknown key).
    const f = SECRET_FIELDS[c.type];
    const values = c as unknown as Record<string, unknown>;
    if (values[f.env] === undefined && values[f.config] === undefined) {
      ctx.addIssue({ code: "custom", path: [f.env], message: `is required (or ${f.config}): the environment variable holding ${f.what}` });
    } else if (values[f.env] !== undefined && values[f.config] !== undefined) {
      ctx.addIssue({ code: "custom", path: [f.config], message: `must not be set together with ${f.env}: the ${f.noun} comes from one place` });
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
  channels: z.array(channel, { error: "must be a list of channels" }).max(20, { error: "must list at most 20 channels" }).default([]),
  retry: retrySchema.default({ attempts: DEFAULT_ATTEMPTS, initialDelay: 1, maxDelay: 30, maxTotal: 120 }),
  /** Notifications waiting per channel; when full the oldest is dropped (and counted). Defaults to 100. */
  queueSize: z.number({ error: "must be an integer ≥ 1" }).int({ error: "must be an integer ≥ 1" }).min(1, { error: "must be ≥ 1" }).max(10_000, { error: "must be ≤ 10000" }).default(DEFAULT_QUEUE_SIZE),
  /** The incident record written on rollback. */
  incidents: z
    .strictObject({
      /** Write it. Defaults to true. */
      enabled: z.boolean({ error: "must be true or false" }).default(true),
      /** Directory for the markdown and JSON files. Defaults to the local record's directory. */
      dir: z.string({ error: "must be a directory path" }).optional(),
      /** Also write the HTML rollout report (`report-<rollout>.html`) there. Defaults to true. */
      report: z.boolean({ error: "must be true or false" }).default(true),
    })
    .default({ enabled: true, report: true }),
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
 * The secret of channel `index` (its URL, routing key or token) from its source.
 * @throws NotifyConfigError naming the channel's path and the variable or key, never a value.
 */
export function channelSecret(c: ChannelConfig, index: number, sources: SecretSources): string {
  const where = `notifications.channels[${index}]`;
  const f = SECRET_FIELDS[c.type];
  const values = c as unknown as Record<string, string | undefined>;
  const env = values[f.env];
  if (env !== undefined) {
    if (!ENV_NAME.test(env)) {
      // The value may be the secret itself, pasted into the wrong field: do not echo it.
      throw new NotifyConfigError(`${where}.${f.env}: must be an environment variable name such as ${f.example} (put the ${f.noun} in the environment, not in the plan)`);
    }
    const v = (sources.env ?? process.env)[env];
    if (!v) throw new NotifyConfigError(`${where}.${f.env}: environment variable ${env} is not set`);
    return v;
  }
  const key = values[f.config] ?? "";
  const v = sources.config?.[key];
  if (!v) throw new NotifyConfigError(`${where}.${f.config}: no value was passed for stack config key ${key} (read it with getAllConfig and pass it as a secret)`);
  return v;
}

/** The stack config keys the channels read their secrets from (`urlConfig`, `routingKeyConfig`, `tokenConfig`). */
export function secretConfigKeys(config: NotificationsConfig): string[] {
  return config.channels.map((c) => (c as unknown as Record<string, string | undefined>)[SECRET_FIELDS[c.type].config]).filter((k): k is string => k !== undefined);
}
