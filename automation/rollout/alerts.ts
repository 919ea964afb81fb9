/**
 * The alert gate: before each step and during a bake the rollout asks Prometheus which of the
 * service's alerts are firing (`ALERTS{alertstate="firing",…}`) and holds or rolls back as the
 * plan says, like CodeDeploy's alarm rollback. By default the alerts are the ones
 * components/monitoring generates for the service (their names, and the service label); a plan
 * may name any alerts instead with a label selector.
 *
 * The query is built from parsed matchers only, so a selector can never inject PromQL. A query
 * that fails is a value (`error`), not an exception: the gate holds, and past the judge's outage
 * limit rolls back.
 */
import { z } from "zod";
import { ALERT_NAMES } from "../../components/monitoring/rules";
import { errorMessage } from "../errors";

/** What firing alerts lead to. */
export const ALERT_ACTIONS = ["rollback", "hold"] as const;

/** One label matcher of a selector. */
export interface LabelMatcher {
  readonly label: string;
  readonly op: "=" | "!=" | "=~" | "!~";
  readonly value: string;
}

const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\\n]|\\["\\n])*)"\s*$/;

/**
 * Parses `{team="payments", severity=~"critical|page"}` into matchers.
 * @returns the matchers, or what is wrong.
 */
export function parseSelector(text: string): { readonly matchers: readonly LabelMatcher[] } | { readonly error: string } {
  const t = text.trim();
  if (!t.startsWith("{") || !t.endsWith("}")) return { error: 'must be label matchers in braces, such as {team="payments", severity="critical"}' };
  const inner = t.slice(1, -1).trim();
  if (inner === "") return { error: "must have at least one matcher" };
  // Commas inside quoted values are allowed: split on commas outside quotes.
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (ch === "\\" && quoted) {
      current += ch + (inner[i + 1] ?? "");
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  if (current.trim() !== "") parts.push(current);
  const matchers: LabelMatcher[] = [];
  for (const p of parts) {
    const m = MATCHER.exec(p);
    if (!m) return { error: `cannot read matcher ${JSON.stringify(p.trim())}: must be label="value" (or !=, =~, !~)` };
    if (m[1] === "alertstate") return { error: "must not match alertstate: the gate asks for firing alerts itself" };
    matchers.push({ label: m[1], op: m[2] as LabelMatcher["op"], value: m[3].replace(/\\(["\\])/g, "$1").replace(/\\n/g, "\n") });
  }
  return { matchers };
}

/** The zod schema of the plan's `alerts` section (cross-field rules are plan.ts's). */
export const alertsSchema = z.strictObject({
  /**
   * The service whose generated alerts are watched: the value of the service label on them
   * (canary:service). Defaults to analysis.metrics.selectors.service.
   */
  service: z.string({ error: "must be the service name" }).min(1, { error: "must be the service name" }).optional(),
  /** The service label of the generated alerts (canary:monitoring.serviceLabel). Defaults to service. */
  serviceLabel: z.string({ error: "must be a label name" }).regex(LABEL, { error: "must be a Prometheus label name" }).default("service"),
  /** Watch any firing alert matching these label matchers instead of the generated ones: `{team="payments"}`. */
  selector: z
    .string({ error: "must be label matchers in braces" })
    .superRefine((v, ctx) => {
      const parsed = parseSelector(v);
      if ("error" in parsed) ctx.addIssue({ code: "custom", message: parsed.error });
    })
    .optional(),
  /** `rollback` (default) or `hold` (wait, checking again every tick). */
  onFiring: z.enum(ALERT_ACTIONS, { error: `must be one of ${ALERT_ACTIONS.join(", ")}` }).default("rollback"),
  /** The Prometheus that evaluates the alerts. Defaults to analysis.metrics.url (the sandbox's with the haproxy target). */
  url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
});

/** The plan's `alerts`, validated. */
export interface AlertsPlan {
  /** The matchers besides `alertstate="firing"`. */
  readonly matchers: readonly LabelMatcher[];
  readonly onFiring: (typeof ALERT_ACTIONS)[number];
  readonly url?: string;
  /** How long the alert queries may fail before the gate rolls back (the judge's `noData.maxOutageSeconds`). */
  readonly maxOutageSeconds: number;
  /** How the alerts were chosen, in words (for dry runs and messages). */
  readonly description: string;
}

/** The matchers of the alerts components/monitoring generates for `service` (label `serviceLabel`). */
export function generatedAlertMatchers(service: string, serviceLabel: string): LabelMatcher[] {
  return [
    { label: "alertname", op: "=~", value: ALERT_NAMES.join("|") },
    { label: serviceLabel, op: "=", value: service },
  ];
}

/** The PromQL of the gate: `ALERTS{alertstate="firing",…}`. */
export function alertsQuery(matchers: readonly LabelMatcher[]): string {
  const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  return `ALERTS{${[`alertstate="firing"`, ...matchers.map((m) => `${m.label}${m.op}"${esc(m.value)}"`)].join(",")}}`;
}

/** An alert as the record names it: `CanaryHighErrorRate{service="checkout",version="v2"}` (labels sorted; alertstate left out). */
export function alertName(labels: Readonly<Record<string, string>>): string {
  const { alertname, alertstate: _state, __name__: _name, ...rest } = labels;
  void _state;
  void _name;
  const pairs = Object.keys(rest)
    .sort()
    .map((k) => `${k}=${JSON.stringify(rest[k])}`);
  return `${alertname ?? "ALERTS"}{${pairs.join(",")}}`;
}

/** What one check found: the firing alerts, or why the query failed. */
export type AlertReading = { readonly firing: readonly string[] } | { readonly error: string };

/** Where and how to ask. */
export interface AlertSource {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

const vector = z.object({
  status: z.literal("success"),
  data: z.object({ resultType: z.literal("vector"), result: z.array(z.object({ metric: z.record(z.string(), z.string()) })) }),
});

/**
 * The firing alerts matching `matchers`, at `at` (Unix seconds). Never rejects: a failed query is
 * an `error` reading.
 */
export async function firingAlerts(source: AlertSource, matchers: readonly LabelMatcher[], at: number, fetchImpl: typeof fetch = fetch): Promise<AlertReading> {
  const query = alertsQuery(matchers);
  const url = new URL("api/v1/query", source.url.endsWith("/") ? source.url : `${source.url}/`);
  const timeoutMs = source.timeoutMs ?? 5000;
  try {
    const res = await fetchImpl(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...(source.headers ?? {}) },
      body: new URLSearchParams({ query, time: at.toFixed(3) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) return { error: `query ${query}: HTTP ${res.status}: ${text.slice(0, 200)}` };
    const parsed = vector.safeParse(JSON.parse(text));
    if (!parsed.success) return { error: `query ${query}: unexpected response: ${text.slice(0, 200)}` };
    return { firing: parsed.data.data.result.map((r) => alertName(r.metric)).sort() };
  } catch (e) {
    const err = e as Error;
    return { error: `query ${query}: ${err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : errorMessage(e)}` };
  }
}
