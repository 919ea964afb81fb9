/**
 * Lifecycle hooks: the plan's `hooks`, each an HTTP call or a local command run at a point of the
 * rollout (before it starts, before each step, before and after promotion, after a rollback). The
 * schema is here (plan.ts embeds it); so are the one place a hook's secrets are read and the
 * runner. Which hook runs when, and what its failure leads to, is decide()'s; the effect that
 * records a run in the rollout record is effects.ts's.
 *
 * Secrets are handled as the notification channels handle webhook URLs (automation/notify): the
 * plan never holds one. A secret URL or header value is named by the environment variable
 * (`urlEnv`, `headersEnv`) or secret stack config key (`urlConfig`, `headersConfig`) that holds it,
 * read once before anything changes, and scrubbed (notify/redact.ts) from every error message and
 * output excerpt the rollout records or prints.
 */
import { spawn } from "node:child_process";
import { z } from "zod";
import { durationSchema } from "../duration";
import { errorMessage, InputError } from "../errors";
import { SecretSources } from "../notify/config";
import { Redactor, REDACTED } from "../notify/redact";
import { HOOK_POINTS, HookPoint } from "../state";

/** The variables a hook sees: the environment of a command, `${NAME}` in an HTTP hook's URL, headers and body. */
export const HOOK_VARIABLES = [
  "CANARY_STACK",
  "CANARY_ROLLOUT",
  "CANARY_VERSION",
  "CANARY_IMAGE",
  "CANARY_STABLE_VERSION",
  "CANARY_HOOK_POINT",
  "CANARY_STEP",
  "CANARY_WEIGHT",
  "CANARY_OVERRIDE_URL",
  "CANARY_OVERRIDE_HEADER",
  "CANARY_OVERRIDE_VALUE",
] as const;
/** One of {@link HOOK_VARIABLES}. */
export type HookVariable = (typeof HOOK_VARIABLES)[number];
/** The values of the hook variables for one run (a variable the rollout cannot tell is absent). */
export type HookVariables = Readonly<Partial<Record<HookVariable, string>>>;

/** What a failed hook leads to: roll back, hold and run it again every tick until it passes, or only record it. */
export const HOOK_FAILURE_ACTIONS = ["rollback", "block", "ignore"] as const;
/** A value of {@link HOOK_FAILURE_ACTIONS}. */
export type HookFailureAction = (typeof HOOK_FAILURE_ACTIONS)[number];

/** HTTP methods a hook may use. */
export const HOOK_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/** Most characters of output kept in the record per run. */
export const MAX_EXCERPT = 2000;
/** Most retries of one hook run. */
export const MAX_HOOK_RETRIES = 10;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VARIABLE = /\$\{([^}]*)\}/g;

/** Whether a text's `${…}` variables are all known; the unknown ones otherwise. */
function unknownVariables(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[1]).filter((name) => !(HOOK_VARIABLES as readonly string[]).includes(name));
}

const headerName = z.string().regex(HEADER_NAME, { error: "must be an HTTP header name" });
const map = (what: string) => z.record(headerName, z.string({ error: `must be ${what}` }), { error: `must be a map of header names to ${what}s` });

/**
 * An HTTP hook. The fields that may hold a secret pasted in the wrong place (`url`, `urlEnv`,
 * `headersEnv`) are only typed here; {@link httpHookProblems} checks them without ever quoting
 * their values in an error.
 */
const httpSchema = z.strictObject({
  /** The URL, when it is not a secret: http(s), no credentials; may use `${CANARY_…}` variables. */
  url: z.string({ error: "must be an http(s) URL" }).optional(),
  /** The environment variable holding a secret URL. */
  urlEnv: z.string({ error: "must be the name of an environment variable" }).optional(),
  /** The secret stack config key holding a secret URL (`canary:smokeHookUrl`). */
  urlConfig: z.string({ error: "must be a stack config key" }).min(1).optional(),
  /** Defaults to GET. */
  method: z.enum(HOOK_METHODS, { error: `must be one of ${HOOK_METHODS.join(", ")}` }).default("GET"),
  /** Headers that are not secrets; values may use `${CANARY_…}` variables. */
  headers: map("header value").default({}),
  /** Secret headers: header name → the environment variable holding its value. */
  headersEnv: map("environment variable name").default({}),
  /** Secret headers: header name → the secret stack config key holding its value. */
  headersConfig: map("stack config key").default({}),
  /** The request body; may use `${CANARY_…}` variables. */
  body: z.string({ error: "must be a string" }).optional(),
  /** The statuses that pass. Defaults to any 2xx. */
  expectStatus: z
    .array(z.number({ error: "must be an HTTP status" }).int({ error: "must be an HTTP status" }).min(100, { error: "must be an HTTP status (100–599)" }).max(599, { error: "must be an HTTP status (100–599)" }), { error: "must be a list of HTTP statuses" })
    .min(1, { error: "must list at least one status" })
    .optional(),
});

/**
 * What is wrong with an HTTP hook, by field path, never quoting a value (any of them may be a
 * secret pasted into the wrong field): one URL source, a URL without credentials, environment
 * variable names, known `${CANARY_…}` variables, each header from one place.
 */
export function httpHookProblems(h: z.output<typeof httpSchema>): { readonly path: string; readonly message: string }[] {
  const out: { path: string; message: string }[] = [];
  const given = (["url", "urlEnv", "urlConfig"] as const).filter((k) => h[k] !== undefined);
  if (given.length === 0) out.push({ path: "url", message: "is required (or urlEnv, or urlConfig for a secret URL)" });
  if (given.length > 1) out.push({ path: given[1], message: `must not be set together with ${given[0]}: the URL comes from one place` });
  if (h.url !== undefined && !/^(https?:\/\/|\$\{)[^\s@]*$/.test(h.url)) out.push({ path: "url", message: "must be an http(s) URL without credentials (a secret URL goes in urlEnv or urlConfig)" });
  const envName = "must be the name of an environment variable such as DEPLOY_HOOK_URL (the value goes in the environment, not in the plan)";
  if (h.urlEnv !== undefined && !ENV_NAME.test(h.urlEnv)) out.push({ path: "urlEnv", message: envName });
  for (const [name, v] of Object.entries(h.headersEnv)) if (!ENV_NAME.test(v)) out.push({ path: `headersEnv.${name}`, message: envName });
  const templated: [string, string | undefined][] = [["url", h.url], ["body", h.body], ...Object.entries(h.headers).map(([k, v]): [string, string] => [`headers.${k}`, v])];
  for (const [path, text] of templated) {
    for (const name of unknownVariables(text ?? "")) out.push({ path, message: `unknown variable \${${name}}; known: ${HOOK_VARIABLES.join(", ")}` });
  }
  for (const name of Object.keys(h.headersEnv)) if (name in h.headers || name in h.headersConfig) out.push({ path: `headersEnv.${name}`, message: "is also set in headers or headersConfig" });
  for (const name of Object.keys(h.headersConfig)) if (name in h.headers) out.push({ path: `headersConfig.${name}`, message: "is also set in headers" });
  return out;
}

/** The zod schema of one entry of the plan's `hooks`. Cross-field rules (which `onFailure` where) are plan.ts's. */
export const hookSchema = z
  .strictObject({
    /** Names the hook in the record and in messages: lower-case letters, digits and '-'. Unique in the plan. */
    name: z
      .string({ error: "must be a name" })
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: "must be lower-case letters, digits and '-' (not at either end)" })
      .max(63, { error: "must have at most 63 characters" }),
    /** Where it runs: preRollout, beforeStep, beforePromotion, afterPromotion, onRollback. */
    at: z.enum(HOOK_POINTS, { error: `must be one of ${HOOK_POINTS.join(", ")}` }),
    /** beforeStep only: the judged steps (0-based) it runs before. Defaults to every step. */
    steps: z.array(z.number({ error: "must be a step index" }).int({ error: "must be an integer step index" }).min(0, { error: "must be ≥ 0" }), { error: "must be a list of step indexes" }).optional(),
    /** A local command: a list (program and arguments, no shell) or a string (run by /bin/sh -c). */
    command: z.union([z.string().min(1), z.array(z.string(), { error: "must be a list of arguments" }).min(1)], { error: "must be a command line or a list of arguments" }).optional(),
    /** An HTTP call. */
    http: httpSchema.optional(),
    /** Limit of one attempt. Defaults to 30s. */
    timeout: durationSchema().default(30),
    /** Attempts after a failed one (backoff 1 s, 2 s, 4 s…). Defaults to 0. */
    retries: z
      .number({ error: "must be an integer" })
      .int({ error: "must be an integer" })
      .min(0, { error: "must be ≥ 0" })
      .max(MAX_HOOK_RETRIES, { error: `must be ≤ ${MAX_HOOK_RETRIES}` })
      .default(0),
    /** What a failure leads to. Defaults to rollback where it can, else ignore (plan.ts). */
    onFailure: z.enum(HOOK_FAILURE_ACTIONS, { error: `must be one of ${HOOK_FAILURE_ACTIONS.join(", ")}` }).optional(),
  })
  .superRefine((h, ctx) => {
    if ((h.command === undefined) === (h.http === undefined)) ctx.addIssue({ code: "custom", path: ["command"], message: "exactly one of command and http is required" });
    if (h.steps !== undefined && h.at !== "beforeStep") ctx.addIssue({ code: "custom", path: ["steps"], message: `is for beforeStep hooks; this hook runs at ${h.at}` });
  });

/** One hook's HTTP call, validated. */
export type HttpHookSpec = z.output<typeof httpSchema>;

/** One validated hook, with its defaults applied. */
export interface HookSpec {
  readonly name: string;
  readonly at: HookPoint;
  /** beforeStep: the steps it runs before; absent = every step. */
  readonly steps?: readonly number[];
  readonly command?: string | readonly string[];
  readonly http?: HttpHookSpec;
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly onFailure: HookFailureAction;
}

/** Where a hook runs in words and as the record's slot: `beforeStep 2`, `beforePromotion`. */
export function hookSlot(at: HookPoint, step?: number): string {
  return at === "beforeStep" ? `beforeStep ${step ?? 0}` : at;
}

/** The hooks that run at a point (at a step, for beforeStep), in plan order. */
export function hooksAt(hooks: readonly HookSpec[], at: HookPoint, step?: number): readonly HookSpec[] {
  return hooks.filter((h) => h.at === at && (at !== "beforeStep" || h.steps === undefined || h.steps.includes(step ?? 0)));
}

/** A hook's secrets are missing, or a hook names one in the wrong field. Names the field, never a value. Exit 2. */
export class HookConfigError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "HookConfigError";
  }
}

/** The stack config keys the hooks read secrets from (`urlConfig`, `headersConfig`). */
export function hookSecretConfigKeys(hooks: readonly HookSpec[]): string[] {
  return hooks.flatMap((h) => (h.http ? [...(h.http.urlConfig !== undefined ? [h.http.urlConfig] : []), ...Object.values(h.http.headersConfig)] : []));
}

/** Each HTTP hook's secret URL and header values, read from their sources. */
export interface HookSecrets {
  /** By hook name. */
  readonly byHook: ReadonlyMap<string, { readonly url?: string; readonly headers: Readonly<Record<string, string>> }>;
  /** Scrubs every secret from a text. */
  readonly redactor: Redactor;
}

/**
 * Reads every hook's secrets (before anything changes, so a missing one fails with nothing applied).
 * @throws HookConfigError naming the hook's field and the variable or key, never a value.
 */
export function resolveHookSecrets(hooks: readonly HookSpec[], sources: SecretSources): HookSecrets {
  const env = sources.env ?? process.env;
  const byHook = new Map<string, { url?: string; headers: Record<string, string> }>();
  const secrets: string[] = [];
  hooks.forEach((h, i) => {
    if (!h.http) return;
    const where = `hooks[${i}].http`;
    const fromEnv = (name: string, field: string): string => {
      const v = env[name];
      if (!v) throw new HookConfigError(`${where}.${field}: environment variable ${name} is not set`);
      return v;
    };
    const fromConfig = (key: string, field: string): string => {
      const v = sources.config?.[key];
      if (!v) throw new HookConfigError(`${where}.${field}: no value was passed for stack config key ${key} (read it with getAllConfig and pass it as a secret)`);
      return v;
    };
    const url = h.http.urlEnv !== undefined ? fromEnv(h.http.urlEnv, "urlEnv") : h.http.urlConfig !== undefined ? fromConfig(h.http.urlConfig, "urlConfig") : undefined;
    if (url !== undefined) secrets.push(url);
    const headers: Record<string, string> = {};
    for (const [name, variable] of Object.entries(h.http.headersEnv)) headers[name] = fromEnv(variable, `headersEnv.${name}`);
    for (const [name, key] of Object.entries(h.http.headersConfig)) headers[name] = fromConfig(key, `headersConfig.${name}`);
    secrets.push(...Object.values(headers));
    byHook.set(h.name, { ...(url !== undefined ? { url } : {}), headers });
  });
  return { byHook, redactor: new Redactor(secrets) };
}

/** How one run of a hook went. */
export interface HookOutcome {
  readonly ok: boolean;
  readonly attempts: number;
  /** `exit 0`, `HTTP 204`, `HTTP 503, expected 200`, `timed out after 30s`, `cannot run …: ENOENT`. */
  readonly detail: string;
  /** The end of the output, scrubbed; absent when there was none. */
  readonly excerpt?: string;
}

/** What the runner needs besides the hooks. */
export interface HookRunnerOptions {
  readonly secrets: HookSecrets;
  /** Waits between attempts (the rollout's clock). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Says a retry. */
  readonly log?: (line: string) => void;
  /** A command's working directory. Defaults to the process's. */
  readonly cwd?: string;
}

/** `${NAME}` replaced by the variable's value (an absent one by the empty string). */
export function substitute(text: string, variables: HookVariables): string {
  return text.replace(VARIABLE, (_, name: string) => variables[name as HookVariable] ?? "");
}

/** The last {@link MAX_EXCERPT} characters of an output, scrubbed; undefined when empty. */
function excerptOf(text: string, redactor: Redactor): string | undefined {
  const scrubbed = redactor.scrub(text).trim();
  if (scrubbed === "") return undefined;
  return scrubbed.length > MAX_EXCERPT ? `…${scrubbed.slice(-(MAX_EXCERPT - 1))}` : scrubbed;
}

/** Runs the plan's hooks: attempts with backoff, each bounded by the hook's timeout. */
export class HookRunner {
  constructor(private readonly o: HookRunnerOptions) {}

  /** Runs `hook` once (with its retries); never throws: a failure is an outcome. */
  async run(hook: HookSpec, variables: HookVariables): Promise<HookOutcome> {
    let last: Omit<HookOutcome, "attempts"> = { ok: false, detail: "not run" };
    for (let attempt = 1; attempt <= hook.retries + 1; attempt++) {
      last = hook.http ? await this.call(hook, variables) : await this.exec(hook, variables);
      if (last.ok) return { ...last, attempts: attempt };
      if (attempt <= hook.retries) {
        const delay = Math.min(1000 * 2 ** (attempt - 1), 30_000);
        this.o.log?.(`hook ${hook.name} failed (${last.detail}); retrying in ${delay}ms (attempt ${attempt + 1} of ${hook.retries + 1})`);
        await this.o.sleep(delay);
      }
    }
    return { ...last, attempts: hook.retries + 1 };
  }

  private async call(hook: HookSpec, variables: HookVariables): Promise<Omit<HookOutcome, "attempts">> {
    const http = hook.http!;
    const redactor = this.o.secrets.redactor;
    const secret = this.o.secrets.byHook.get(hook.name);
    const url = substitute(secret?.url ?? http.url ?? "", variables);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(http.headers)) headers[k] = substitute(v, variables);
    Object.assign(headers, secret?.headers ?? {});
    const ms = hook.timeoutSeconds * 1000;
    let res: Response;
    try {
      res = await fetch(url, { method: http.method, headers, ...(http.body !== undefined ? { body: substitute(http.body, variables) } : {}), signal: AbortSignal.timeout(ms) });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === "TimeoutError") return { ok: false, detail: `no answer within ${hook.timeoutSeconds}s` };
      const cause = err.cause?.code ?? err.cause?.message;
      return { ok: false, detail: redactor.scrub(`request failed: ${err.message}${cause ? ` (${cause})` : ""}`) };
    }
    let body: string;
    try {
      body = await res.text();
    } catch (e) {
      body = `(reading the body failed: ${errorMessage(e)})`;
    }
    const expected = http.expectStatus;
    const ok = expected ? expected.includes(res.status) : res.status >= 200 && res.status < 300;
    const excerpt = excerptOf(body.slice(0, MAX_EXCERPT * 2), redactor);
    return { ok, detail: ok ? `HTTP ${res.status}` : `HTTP ${res.status}, expected ${expected ? expected.join(" or ") : "2xx"}`, ...(excerpt ? { excerpt } : {}) };
  }

  private exec(hook: HookSpec, variables: HookVariables): Promise<Omit<HookOutcome, "attempts">> {
    const command = hook.command!;
    const [file, args] = typeof command === "string" ? ["/bin/sh", ["-c", command]] : [command[0], command.slice(1)];
    const redactor = this.o.secrets.redactor;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    for (const [k, v] of Object.entries(variables)) if (v !== undefined) env[k] = v;
    return new Promise((resolve) => {
      let output = "";
      const keep = (chunk: Buffer): void => {
        // Only the end is kept: it says why a smoke test failed.
        output = (output + chunk.toString("utf8")).slice(-MAX_EXCERPT * 4);
      };
      let timedOut = false;
      // Its own process group, so a timeout stops whatever the command started too.
      const child = spawn(file, args, { cwd: this.o.cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", keep);
      child.stderr.on("data", keep);
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }, hook.timeoutSeconds * 1000);
      const done = (outcome: Omit<HookOutcome, "attempts">): void => {
        clearTimeout(timer);
        const excerpt = excerptOf(output, redactor);
        resolve({ ...outcome, ...(excerpt ? { excerpt } : {}) });
      };
      child.on("error", (e) => done({ ok: false, detail: redactor.scrub(`cannot run ${file}: ${errorMessage(e)}`) }));
      child.on("close", (code, signal) => {
        if (timedOut) done({ ok: false, detail: `timed out after ${hook.timeoutSeconds}s` });
        else if (code === 0) done({ ok: true, detail: "exit 0" });
        else done({ ok: false, detail: code !== null ? `exit ${code}` : `killed by ${signal ?? "a signal"}` });
      });
    });
  }
}

/** A hook described without its secrets: `command ./smoke.sh` or `GET https://…` (a secret URL shown as its source). */
export function describeHook(h: HookSpec): string {
  if (h.command !== undefined) return `command ${typeof h.command === "string" ? h.command : h.command.join(" ")}`;
  const http = h.http!;
  const url = http.url ?? (http.urlEnv !== undefined ? `${REDACTED} (from $${http.urlEnv})` : `${REDACTED} (from ${http.urlConfig})`);
  return `${http.method} ${url}`;
}
