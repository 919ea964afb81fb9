/**
 * A backend is everything the `canary` command needs for one target type: the target, where the
 * rollout record lives, what the target brings to the metrics settings, and where incident
 * records go by default. The CLI asks its backend instead of branching on the target type; a new
 * target type is a new backend file and one line in the factory (./index.ts).
 */
import { RecordStore } from "../record/types";
import { RolloutRecord } from "../state";
import { Target } from "../targets/types";

/** The command-line flags that say where the rollout is. */
export interface BackendFlags {
  /** The target type (`--target`). */
  readonly target: string;
  /** The Pulumi stack (`--stack`). */
  readonly stack?: string;
  /** The Pulumi project directory; relative paths are resolved against it (`--cwd`). */
  readonly cwd: string;
  /** The sandbox's state file (`--sandbox`). */
  readonly sandbox?: string;
  /** The record file (`--record`). */
  readonly record?: string;
  /** The rollout history's directory (`--history-dir`). */
  readonly historyDir?: string;
}

/** What the command needs for one target type. Nothing is contacted until a method is called. */
export interface Backend {
  /** The target type (`pulumi`, `haproxy`). */
  readonly type: string;
  /** What the rollout changes, in words, without contacting it (the stack name, the sandbox). */
  readonly targetName: string;
  /** Where the record lives, in words, without contacting it. */
  readonly storeDescription: string;
  /** Where incident records go when the plan names no directory. */
  readonly incidentDir: string;
  /** Where past rollouts are kept (automation/history): --history-dir, else the backend's default. */
  readonly historyDir: string;
  /** Whether a kept rollout is one of this target's (a history directory may hold several stacks'). */
  concerns(record: RolloutRecord): boolean;
  /**
   * Metrics settings the target brings (the sandbox's Prometheus URL).
   * @throws InputError when the target's own description is missing (no sandbox state).
   */
  metricsDefaults(): { readonly url?: string };
  /** The target; `log` receives its output (`pulumi up`). */
  target(log: (line: string) => void): Promise<Target>;
  /** The record store. */
  store(): Promise<RecordStore>;
  /** Values of the target's config keys that notification channels may name (`urlConfig`); read only when asked. */
  configValues(): Promise<Readonly<Record<string, string | undefined>>>;
}
