/**
 * What a rollout reports while it runs. The CLI renders these events (automation/cli/render.ts);
 * notifications and the driver's own metrics observe them.
 */
import { Verdict } from "../analysis/types";
import { GateWait } from "../notify/events";
import { HistoryEntry, RolloutRecord } from "../state";

/** One thing the driver reports. */
export type DriverEvent =
  /** An action on the target, or a wait, in words (`set the canary weight to 25`). */
  | { readonly kind: "action"; readonly message: string }
  /** A transition of the record, reported once it is saved. */
  | { readonly kind: "transition"; readonly record: RolloutRecord; readonly entry: HistoryEntry }
  /** A judged tick, reported once its verdict is saved. */
  | {
      readonly kind: "tick";
      readonly record: RolloutRecord;
      readonly verdict: Verdict;
      readonly stepSeconds: number;
      /** Time to reach this verdict: reading the metrics and judging the tick, seconds (wall clock). */
      readonly decisionSeconds: number;
    }
  /** A line for the operator (retries, resumed judging, refused requests). */
  | { readonly kind: "log"; readonly line: string }
  /** The rollout waits at an approval gate (`step 2`, `promotion`); reported once per gate. */
  | { readonly kind: "gateWaiting"; readonly record: RolloutRecord; readonly wait: GateWait };
