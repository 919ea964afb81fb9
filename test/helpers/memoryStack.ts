/**
 * An in-memory stand-in for the Automation API's `Stack`: config in a map, and an `up` that
 * evaluates the real Pulumi program under the runtime mocks with the current config, so a test
 * sees exactly what each `up` would deploy (outputs and resource registrations).
 */
import type { ConfigMap, OutputMap, UpdateSummary, UpOptions, UpResult } from "@pulumi/pulumi/automation";
import { ConcurrentUpdateError } from "@pulumi/pulumi/automation";
import { program } from "../../infra/program";
import { Registered, registrations, resetRegistrations, setConfig, unwrap } from "./pulumi";
import { StackLike } from "../../automation/targets/pulumiStack";

/** What one `up` deployed. */
export interface Deployment {
  /** The config the program ran with (raw strings, as Pulumi passes them). */
  readonly config: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly resources: readonly Registered[];
  readonly message?: string;
}

/** A failure to inject into the next `up` calls. */
export type UpFault = "concurrent" | Error;

/** A ConcurrentUpdateError as the Automation API raises it (its constructor is internal). */
export function concurrentUpdateError(): ConcurrentUpdateError {
  const result = { stdout: "", stderr: "error: [409] Conflict: Another update is currently in progress.", code: 255, err: undefined, toString: () => "code: 255\n stderr: error: [409] Conflict: Another update is currently in progress." };
  const Ctor = ConcurrentUpdateError as unknown as new (r: unknown) => ConcurrentUpdateError;
  return new Ctor(result);
}

/** The ups of every MemoryStack, one after the other (see MemoryStack.up). */
let upQueue: Promise<unknown> = Promise.resolve();

/** An in-memory stack. */
export class MemoryStack implements StackLike {
  public config: ConfigMap;
  /** Every successful `up`, oldest first. */
  public readonly deployments: Deployment[] = [];
  /** Every `up` attempted (its message), including failed ones. */
  public readonly upCalls: string[] = [];
  /** Faults for the coming `up` calls, by 0-based call index. */
  public readonly faults = new Map<number, UpFault>();
  /** Set to make `info()` report an update in progress. */
  public updateInProgress = false;
  private lastOutputs: OutputMap = {};

  constructor(
    public readonly name: string,
    config: Readonly<Record<string, string>>,
  ) {
    this.config = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: v, secret: false }]));
  }

  /** The config as raw strings. */
  raw(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.config).map(([k, v]) => [k, v.value]));
  }

  async getAllConfig(): Promise<ConfigMap> {
    return structuredClone(this.config);
  }

  async setConfig(key: string, value: { value: string; secret?: boolean }): Promise<void> {
    this.config[key] = { value: value.value, secret: value.secret ?? false };
  }

  async setAllConfig(config: ConfigMap): Promise<void> {
    for (const [k, v] of Object.entries(config)) this.config[k] = { value: v.value, secret: v.secret ?? false };
  }

  async removeAllConfig(keys: string[]): Promise<void> {
    for (const k of keys) delete this.config[k];
  }

  async outputs(): Promise<OutputMap> {
    return structuredClone(this.lastOutputs);
  }

  async info(): Promise<UpdateSummary | undefined> {
    const last = this.deployments[this.deployments.length - 1];
    if (!last && !this.updateInProgress) return undefined;
    return {
      kind: "update",
      version: this.deployments.length,
      startTime: new Date(0),
      endTime: new Date(0),
      message: last?.message ?? "",
      environment: {},
      config: Object.fromEntries(Object.entries(last?.config ?? {}).map(([k, v]) => [k, { value: v, secret: false }])),
      result: this.updateInProgress ? "in-progress" : "succeeded",
    };
  }

  /**
   * Runs the program as `pulumi up` would. One at a time across every MemoryStack: the runtime
   * mocks are global to the process (the config and the registrations), so two stacks' ups (a wave
   * rolling out several stacks in parallel) must not interleave; a real `up` is a process of its own.
   */
  up(opts?: UpOptions): Promise<UpResult> {
    const run = upQueue.then(() => this.upNow(opts));
    upQueue = run.catch(() => undefined);
    return run;
  }

  private async upNow(opts?: UpOptions): Promise<UpResult> {
    const index = this.upCalls.length;
    this.upCalls.push(opts?.message ?? "");
    const fault = this.faults.get(index);
    if (fault === "concurrent") throw concurrentUpdateError();
    if (fault) throw fault;
    const config = this.raw();
    setConfig(config);
    resetRegistrations();
    const exports = program();
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(exports)) outputs[k] = await unwrap(v);
    const resources = await registrations();
    this.deployments.push({ config, outputs, resources, message: opts?.message });
    this.lastOutputs = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { value: v, secret: false }]));
    opts?.onOutput?.(`Updating (${this.name}): ${resources.length} resources\n`);
    return {
      stdout: "",
      stderr: "",
      outputs: structuredClone(this.lastOutputs),
      summary: (await this.info())!,
    };
  }
}
