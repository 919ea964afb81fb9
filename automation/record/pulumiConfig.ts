/**
 * The record in the stack's own config, under `canary:rollout` (a JSON string).
 *
 * Why config and not a stack tag: tags are only persisted by the Pulumi Cloud backend (the DIY
 * backends of S3, GCS, Azure Blob and the file system drop them) and a tag value is limited to
 * 256 characters, far less than a record with its history. Config works with every backend:
 * the driver writes it to the stack's settings (Pulumi.<stack>.yaml) after every transition,
 * and every `up` the driver runs stores the config it ran with in the backend's update history.
 * So `load` reads both the workspace's config and the last update's config, and returns the
 * newer record: a pipeline machine with only backend access sees the rollout as of its last
 * `up` (the final transition after the last `up` is only in the workspace copy).
 *
 * The program must accept the key (it validates every `canary:*` key), and a rollback must not
 * restore or remove it: the Pulumi target preserves it.
 *
 * Compare-and-swap: `save` reads the stored record back and writes only over the revision it
 * was derived from. Stack config has no atomic compare-and-swap, so between that read and the
 * write (one `pulumi config set`) another writer can still slip in; the window is one CLI call
 * rather than a whole tick, and a control request lost in it is re-sent until acknowledged.
 */
import { NAMESPACE, ROLLOUT_RECORD_KEY as ROLLOUT_KEY } from "../../infra/keys";
import { checkRecord, RecordError, RolloutRecord } from "../state";
import { nextRevision, RecordStore, revisionOf } from "./types";
import type { Stack } from "@pulumi/pulumi/automation";

/** The full stack config key holding the rollout record (the program skips it). */
export const ROLLOUT_RECORD_KEY = `${NAMESPACE}:${ROLLOUT_KEY}`;

/**
 * Above this size the evidence of older history entries is dropped: the value is passed to
 * `pulumi config set` as one command-line argument, and Linux caps one argument at 128 KiB.
 */
export const MAX_RECORD_CHARS = 100_000;

/** The part of the Automation API's `Stack` the store uses. */
export type RecordStack = Pick<Stack, "name" | "getAllConfig" | "setConfig" | "info">;

/** Drops the evidence of the oldest history entries until the record fits `limit` characters. */
export function compactRecord(record: RolloutRecord, limit = MAX_RECORD_CHARS): RolloutRecord {
  let r = record;
  for (let i = 0; JSON.stringify(r).length > limit && i < r.history.length; i++) {
    const history = r.history.map((h, j) => {
      if (j !== i || h.evidence === undefined) return h;
      const { evidence: _dropped, ...rest } = h;
      void _dropped;
      return { ...rest, reason: `${h.reason} (evidence dropped to fit the record in the stack config)` };
    });
    r = { ...r, history };
  }
  return r;
}

/** A rollout record in the config of a Pulumi stack. */
export class PulumiConfigRecordStore implements RecordStore {
  constructor(private readonly stack: RecordStack) {}

  get description(): string {
    return PulumiConfigRecordStore.describe(this.stack.name);
  }

  /** Where the record of stack `stack` lives, in words (`stack prod config canary:rollout`). */
  static describe(stack: string): string {
    return `stack ${stack} config ${ROLLOUT_RECORD_KEY}`;
  }

  async load(): Promise<RolloutRecord | undefined> {
    const local = this.parse((await this.stack.getAllConfig())[ROLLOUT_RECORD_KEY]?.value, "the workspace's config");
    const last = await this.stack.info();
    const deployed = this.parse(last?.config?.[ROLLOUT_RECORD_KEY]?.value, "the config of the stack's last update");
    if (!local) return deployed;
    if (!deployed) return local;
    // The same rollout: the copy saved more often is newer (updatedAt only moves on transitions).
    if (local.id === deployed.id && revisionOf(deployed) !== revisionOf(local)) return revisionOf(deployed) > revisionOf(local) ? deployed : local;
    return deployed.updatedAt > local.updatedAt ? deployed : local;
  }

  async save(record: RolloutRecord): Promise<RolloutRecord> {
    const next = compactRecord(nextRevision(await this.load(), record, this.description));
    await this.stack.setConfig(ROLLOUT_RECORD_KEY, { value: JSON.stringify(next), secret: false });
    return next;
  }

  private parse(text: string | undefined, where: string): RolloutRecord | undefined {
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new RecordError(`rollout record in ${this.description} (${where}): not valid JSON: ${(e as Error).message}`);
    }
    return checkRecord(value, `${this.description} (${where})`);
  }
}
