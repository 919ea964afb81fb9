/** The `pulumi` backend: a stack selected by name in the project directory; the record in its config. */
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { InputError } from "../errors";
import { PulumiConfigRecordStore } from "../record/pulumiConfig";
import { RecordStore } from "../record/types";
import { RolloutRecord } from "../state";
import { createTarget, loadPulumiStack } from "../targets";
import { Target } from "../targets/types";
import { Backend, BackendFlags } from "./types";

/** A Pulumi stack through the Automation API, selected once and shared by the target and the store. */
export class PulumiBackend implements Backend {
  readonly type = "pulumi";
  readonly targetName: string;
  readonly storeDescription: string;
  readonly incidentDir: string;
  /** --history-dir, or `.canary/history` in the project directory (one history for the project's stacks). */
  readonly historyDir: string;
  private selected?: Promise<Stack>;

  /** @throws InputError without --stack. */
  constructor(private readonly flags: BackendFlags) {
    if (!flags.stack) throw new InputError("--stack is required with --target pulumi");
    this.targetName = flags.stack;
    this.storeDescription = PulumiConfigRecordStore.describe(flags.stack);
    this.incidentDir = path.resolve(flags.cwd);
    this.historyDir = path.resolve(flags.cwd, flags.historyDir ?? path.join(".canary", "history"));
  }

  /** Only this stack's rollouts: the project's history holds every stack's. */
  concerns(record: RolloutRecord): boolean {
    return record.stack === this.flags.stack;
  }

  metricsDefaults(): { readonly url?: string } {
    return {};
  }

  async target(log: (line: string) => void): Promise<Target> {
    return createTarget({ type: "pulumi", stack: await this.stack(), log });
  }

  async store(): Promise<RecordStore> {
    return new PulumiConfigRecordStore(await this.stack());
  }

  async configValues(): Promise<Readonly<Record<string, string | undefined>>> {
    return Object.fromEntries(Object.entries(await (await this.stack()).getAllConfig()).map(([k, v]) => [k, v.value]));
  }

  private stack(): Promise<Stack> {
    // The Automation API is loaded only here: a dry run never pays for it.
    this.selected ??= loadPulumiStack().selectStack({ stackName: this.flags.stack!, workDir: path.resolve(this.flags.cwd) });
    return this.selected;
  }
}
