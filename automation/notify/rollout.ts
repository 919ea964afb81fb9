/**
 * What the driver holds for notifications: it turns the driver's transitions into
 * notifications for the dispatcher, and on a rollback writes the incident record. Every method
 * returns at once and never throws; `flush` is for shutdown.
 *
 * The driver already reports every transition (`report({ kind: "transition", record, entry })`),
 * so wiring it is one call in the `report` callback: `notifications.observe(e)`. Waiting at a
 * manual gate is not a transition; the driver reports it as `{ kind: "gateWaiting", record, wait }`.
 */
import { HistoryEntry, RolloutRecord } from "../state";
import { NotificationsConfig, SecretSources } from "./config";
import { DispatchClock, DispatcherOptions, DispatchStats, NotificationDispatcher } from "./dispatcher";
import { GateWait, gateWaitingNotification, notificationFor } from "./events";
import { createNotifiers } from "./factory";
import { writeIncident } from "./incident";
import { Notifier } from "./types";

/** The history entries after which the incident record is (re)written. */
const INCIDENT_EVENTS: readonly string[] = ["rollback", "rolledBack", "rollbackFailed"];

/** Options of {@link RolloutNotifications}. */
export interface RolloutNotificationsOptions extends DispatcherOptions {
  /** The service being rolled out (the record knows the stack, not the service). */
  readonly service: string;
  readonly notifiers: readonly Notifier[];
  /** Where incident records go; `undefined` writes none. */
  readonly incidentDir?: string;
}

/** The result of {@link RolloutNotifications.flush}. */
export interface FlushResult {
  readonly notifications: DispatchStats;
  /** Incident files written so far (JSON and markdown paths). */
  readonly incidents: readonly string[];
}

/** Notifications and incident records for one rollout; see the module comment. */
export class RolloutNotifications {
  readonly dispatcher: NotificationDispatcher;
  private readonly service: string;
  private readonly incidentDir?: string;
  private readonly log: (line: string) => void;
  private incidentWrites: Promise<void> = Promise.resolve();
  private readonly written = new Set<string>();

  constructor(o: RolloutNotificationsOptions) {
    this.service = o.service;
    this.incidentDir = o.incidentDir;
    this.log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.dispatcher = new NotificationDispatcher(o.notifiers, o);
  }

  /**
   * Builds it from the plan's `notifications` section.
   * @throws NotifyConfigError naming the channel whose URL is missing: call it before the
   *   rollout changes anything.
   */
  static fromConfig(
    config: NotificationsConfig,
    o: {
      readonly service: string;
      readonly sources?: SecretSources;
      /** The incident directory when the plan sets none: the local record's directory. */
      readonly defaultIncidentDir: string;
      readonly log?: (line: string) => void;
      readonly clock?: DispatchClock;
      readonly random?: () => number;
    },
  ): RolloutNotifications {
    return new RolloutNotifications({
      service: o.service,
      notifiers: createNotifiers(config, o.sources),
      retry: { attempts: config.retry.attempts, initialDelayMs: config.retry.initialDelay * 1000, maxDelayMs: config.retry.maxDelay * 1000, maxTotalMs: config.retry.maxTotal * 1000 },
      queueSize: config.queueSize,
      ...(config.incidents.enabled ? { incidentDir: config.incidents.dir ?? o.defaultIncidentDir } : {}),
      ...(o.log ? { log: o.log } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.random ? { random: o.random } : {}),
    });
  }

  /**
   * Takes any driver event: acts on transitions (`{ kind: "transition", record, entry }`) and on
   * waiting at a gate (`{ kind: "gateWaiting", record, wait }`); ignores the rest.
   */
  observe(e: { readonly kind: string; readonly record?: RolloutRecord; readonly entry?: HistoryEntry; readonly wait?: GateWait }): void {
    if (e.kind === "transition" && e.record && e.entry) this.transition(e.record, e.entry);
    else if (e.kind === "gateWaiting" && e.record && e.wait) this.gateWaiting(e.record, e.wait);
  }

  /** One transition: notifies, and on a rollback (re)writes the incident record. */
  transition(record: RolloutRecord, entry: HistoryEntry): void {
    this.dispatcher.notify(notificationFor(record, entry, this.service));
    if (this.incidentDir !== undefined && INCIDENT_EVENTS.includes(entry.type)) {
      const dir = this.incidentDir;
      this.incidentWrites = this.incidentWrites.then(async () => {
        try {
          const files = await writeIncident(record, this.service, dir);
          this.written.add(files.json).add(files.markdown);
        } catch (e) {
          this.log(`notify: cannot write the incident record of rollout ${record.id} to ${dir}: ${e instanceof Error ? e.message : String(e)}`);
        }
      });
    }
  }

  /** The rollout waits at a manual gate. */
  gateWaiting(record: RolloutRecord, wait: GateWait): void {
    this.dispatcher.notify(gateWaitingNotification(record, wait, this.service));
  }

  /** Waits for the incident files and the notifications, at most `timeoutMs` in all. Never rejects. */
  async flush(timeoutMs: number): Promise<FlushResult> {
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.incidentWrites, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    const notifications = await this.dispatcher.flush(Math.max(deadline - Date.now(), 0));
    return { notifications, incidents: [...this.written] };
  }
}
