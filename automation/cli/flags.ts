/** The flags every command takes: where the rollout is, and how to print. */
import { Command, Option } from "commander";
import { Backend, BackendFlags, openBackend } from "../backends";
import { DEFAULT_SANDBOX_STATE } from "../backends/haproxy";
import { TARGET_TYPES } from "../targets";

/**
 * What the commands use from outside their flags. The CLI passes the real ones; tests and
 * programs that embed the CLI pass their own backend (a recording target, an in-memory store)
 * and drive the same command code end to end.
 */
export interface CommandDeps {
  /** Opens the backend `--target` names. */
  readonly openBackend: (flags: BackendFlags) => Backend;
}

/** The commands' real dependencies. */
export const DEFAULT_DEPS: CommandDeps = { openBackend };

/** The common flags, as commander parses them. */
export interface CommonFlags extends BackendFlags {
  readonly json?: boolean;
}

/** Adds the common flags to a command. */
export function withCommonFlags(c: Command): Command {
  return c
    .addOption(new Option("--target <type>", "what carries the traffic split").choices([...TARGET_TYPES]).default("pulumi"))
    .option("--stack <name>", "the Pulumi stack (target pulumi)")
    .option("--cwd <dir>", "the Pulumi project directory (holding Pulumi.yaml)", process.cwd())
    .option("--sandbox <file>", "the sandbox's state file (target haproxy)", DEFAULT_SANDBOX_STATE)
    .option("--record <file>", "the rollout record file (target haproxy); defaults to rollout.json next to the sandbox's state file")
    .option("--history-dir <dir>", "the rollout history; defaults to history/ next to the record file (target haproxy), .canary/history (target pulumi)")
    .option("--json", "JSON output, one object per line");
}
