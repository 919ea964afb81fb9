/** `canary status [--watch] [--json]`: the rollout record, as lines or JSON. */
import { describePhase, isUnfinished, RolloutRecord } from "../state";
import { CommandDeps, CommonFlags, DEFAULT_DEPS } from "./flags";
import { fmtDuration } from "./render";

/** A record as status lines. */
export function formatRecord(r: RolloutRecord, now = Date.now()): string {
  const lines = [
    `rollout ${r.id}: ${r.version} (${r.image}) on ${r.stack} [${r.target}]`,
    `phase: ${describePhase(r)}${r.step && (r.phase === "Progressing" || r.phase === "Baking") ? `, ${fmtDuration((now - Date.parse(r.step.startedAt)) / 1000)} in ${r.phase === "Baking" ? "bake" : "step"}` : ""}; ${r.strategy === "blueGreen" ? "blue/green" : `steps ${r.steps.join(" → ")}`}`,
  ];
  if (r.lastVerdict) lines.push(`last verdict (${r.lastVerdict.at}): ${r.lastVerdict.decision}${r.lastVerdict.hold ? ` (hold: ${r.lastVerdict.hold})` : ""}: ${r.lastVerdict.reasons.join("; ")}`);
  if (r.intent?.action === "setWeight") lines.push(`under way: setting the canary weight to ${r.intent.weight} (step ${r.intent.step}) since ${r.intent.at}`);
  if (r.intent?.action === "switch") lines.push(`under way: switching all traffic to ${r.version} since ${r.intent.at}`);
  if (r.intent?.action === "hook") lines.push(`under way: hook ${r.intent.hook} (${r.intent.slot}) since ${r.intent.at}`);
  if (r.reference) lines.push("unavailable" in r.reference ? `reference: ${r.reference.version} unavailable (${r.reference.unavailable})` : `reference: ${r.reference.version} ${r.reference.from} → ${r.reference.to}: ${r.reference.requests} requests, ${r.reference.errors} errors`);
  if (r.alerts) lines.push(`alerts (${r.alerts.gate}, ${r.alerts.at}): ${r.alerts.error !== undefined ? `cannot tell: ${r.alerts.error}` : r.alerts.firing.length ? `firing: ${r.alerts.firing.join(", ")}` : "none firing"}`);
  for (const h of r.hooks ?? []) lines.push(`hook ${h.hook} (${h.slot}): ${h.ok ? "passed" : "FAILED"}, ${h.detail}, ${h.attempts} attempt(s)${h.runs > 1 ? `, run ${h.runs} times` : ""} at ${h.finishedAt}`);
  if (r.lease) lines.push(`driver: ${r.lease.holder} (lease until ${r.lease.expiresAt})`);
  for (const c of (r.controls ?? []).filter((x) => x.status === "pending")) lines.push(`pending control: ${c.verb}${c.gate ? ` (${c.gate})` : ""} by ${c.by} at ${c.at}: ${c.reason}`);
  lines.push("history:");
  for (const h of r.history) lines.push(`  ${h.at} ${h.from} → ${h.to}${h.step !== undefined ? ` [step ${h.step}, weight ${h.weight}]` : ""}${h.by ? ` by ${h.by}` : ""}: ${h.reason}`);
  return lines.join("\n");
}

/** Prints the record (again whenever it changes, with --watch, until the rollout ends). */
export async function status(o: CommonFlags & { readonly watch?: boolean }, deps: CommandDeps = DEFAULT_DEPS): Promise<number> {
  const store = await deps.openBackend(o).store();
  const tty = process.stdout.isTTY && !o.json;
  let last = "";
  for (;;) {
    const record = await store.load();
    const text = o.json ? JSON.stringify(record ?? null) : record ? formatRecord(record) : `no rollout recorded in ${store.description}`;
    if (text !== last || tty) {
      if (tty && o.watch) process.stdout.write("\x1b[H\x1b[2J");
      if (text !== last || !o.watch || tty) process.stdout.write(`${text}\n`);
      last = text;
    }
    if (!o.watch || !record || !isUnfinished(record.phase)) return 0;
    await new Promise((r) => setTimeout(r, 2000));
  }
}
