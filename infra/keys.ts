/** Stack config key names shared by the program and the rollout driver (no dependencies, cheap to import). */

/** The config namespace. */
export const NAMESPACE = "canary";

/** The key (after `canary:`) where the rollout driver persists its record; the program ignores it. */
export const ROLLOUT_RECORD_KEY = "rollout";
