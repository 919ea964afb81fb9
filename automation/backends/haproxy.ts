/**
 * The `haproxy` backend: the local sandbox's HAProxy, the record in a JSON file next to the
 * sandbox's state file. The sandbox's code is loaded only when this backend reads the sandbox.
 */
import * as path from "node:path";
import { InputError } from "../errors";
import { FileRecordStore } from "../record/file";
import { RecordStore } from "../record/types";
import { createTarget, loadSandbox } from "../targets";
import { Target } from "../targets/types";
import { Backend, BackendFlags } from "./types";

/** The sandbox's state file when --sandbox is not given. */
export const DEFAULT_SANDBOX_STATE = path.join(".sandbox", "state.json");

/** The sandbox started by `npm run sandbox -- up`, found through its state file. */
export class HaproxyBackend implements Backend {
  readonly type = "haproxy";
  readonly targetName: string;
  readonly storeDescription: string;
  readonly incidentDir: string;
  /** --history-dir, or `history/` next to the record file. */
  readonly historyDir: string;
  private readonly stateFile: string;
  private readonly recordFile: string;

  constructor(flags: BackendFlags) {
    const sandbox = flags.sandbox ?? DEFAULT_SANDBOX_STATE;
    this.stateFile = path.resolve(flags.cwd, sandbox);
    // --record, or rollout.json next to the sandbox's state file.
    this.recordFile = path.resolve(flags.cwd, flags.record ?? path.join(path.dirname(sandbox), "rollout.json"));
    this.targetName = `haproxy (sandbox ${sandbox})`;
    this.storeDescription = `file ${this.recordFile}`;
    this.incidentDir = path.dirname(this.recordFile);
    this.historyDir = flags.historyDir !== undefined ? path.resolve(flags.cwd, flags.historyDir) : path.join(path.dirname(this.recordFile), "history");
  }

  /** Every kept rollout: the history next to the sandbox's record is the sandbox's own. */
  concerns(): boolean {
    return true;
  }

  /** The sandbox's Prometheus. @throws InputError when no sandbox state is found. */
  metricsDefaults(): { readonly url?: string } {
    const state = loadSandbox().readState(this.stateFile);
    if (!state) throw new InputError(`--sandbox: no sandbox state at ${this.stateFile} (is a sandbox up? \`npm run sandbox -- up\`)`);
    return { url: state.urls.prometheus };
  }

  target(log: (line: string) => void): Promise<Target> {
    return createTarget({ type: "haproxy", stateFile: this.stateFile, log });
  }

  async store(): Promise<RecordStore> {
    return new FileRecordStore(this.recordFile);
  }

  async configValues(): Promise<Readonly<Record<string, string | undefined>>> {
    return {};
  }
}
