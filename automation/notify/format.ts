/** Number formatting shared by the Slack message and the incident record. */

/** A number for people: up to 3 significant digits; `missing` for `null` (`∞` for an open upper bound). */
export function fmt(n: number | null, missing = "n/a"): string {
  if (n === null) return missing;
  if (n === 0 || (Math.abs(n) >= 0.001 && Math.abs(n) < 1e6)) return String(Number(n.toPrecision(3)));
  return n.toExponential(2);
}

/** A fraction as a percent with 3 significant digits. */
export function pct(n: number | null): string {
  return n === null ? "n/a" : `${fmt(n * 100)}%`;
}

/** The title of each notification type, in plain words (Slack adds its emoji). */
export const EVENT_TITLES = {
  start: "Rollout started",
  advance: "Step",
  switch: "All traffic on the new version (baking)",
  promote: "Promoting",
  complete: "Promoted",
  rollback: "Rolling back",
  rolledBack: "Rolled back",
  rollbackFailed: "Rollback failed",
  pause: "Paused",
  resume: "Resumed",
  freeze: "Frozen",
  unfreeze: "Unfrozen",
  skip: "Step wait skipped",
  promoteFull: "Promoting now (steps skipped)",
  approve: "Gate approved",
  takeOver: "Driver took over",
  gateWaiting: "Waiting at a gate",
} as const;
