/**
 * The rules for the primitive values the project passes to its platforms: Kubernetes names and
 * labels, Prometheus names and label values, durations, HTTP header names and values, quantities.
 * Each rule is defined here once; the stack config's zod schema (infra/schema.ts) and every
 * component's argument check use the same rule, so both refuse the same values with the same
 * message.
 */

/** A rule for one value: the message says what is expected; `check` says why a value fails it. */
export interface Rule<T = string> {
  /** What is expected, e.g. `must be a DNS label: …`; also the message for a value of the wrong type. */
  readonly message: string;
  /** Why `value` breaks the rule (usually {@link message}), or undefined when it keeps it. */
  check(value: T): string | undefined;
}

/** A string rule from a regular expression. */
export function pattern(re: RegExp, message: string): Rule<string> {
  return { message, check: (v) => (typeof v === "string" && re.test(v) ? undefined : message) };
}

/** A rule that also refuses what `extra` refuses (a more specific message for a narrower value). */
export function refine<T>(base: Rule<T>, extra: (value: T) => string | undefined): Rule<T> {
  return { message: base.message, check: (v) => base.check(v) ?? extra(v) };
}

/** An integer in [min, max]. */
export function intRange(min: number, max: number): Rule<number> {
  const message = `must be an integer from ${min} to ${max}`;
  return { message, check: (v) => (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? undefined : message) };
}

/** A finite number above 0, at most `max`. */
export function positiveNumber(max = Infinity): Rule<number> {
  const message = max < Infinity ? `must be a number above 0 and at most ${max}` : "must be a number above 0";
  return { message, check: (v) => (typeof v === "number" && Number.isFinite(v) && v > 0 && v <= max ? undefined : message) };
}

// ---------------------------------------------------------------------------------------------
// Kubernetes names and labels.
// Source: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/ (RFC 1035
// label names: at most 63 lowercase alphanumerics or '-', starting with a letter, ending with an
// alphanumeric; RFC 1123 subdomain names: at most 253, dot-separated labels) and
// https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set.
// ---------------------------------------------------------------------------------------------

/** Longest DNS label (RFC 1035): a Service, namespace or container name. */
export const MAX_DNS_LABEL = 63;

/** A DNS label (RFC 1035): Kubernetes Service and namespace names, segment names. */
export const dnsLabel = pattern(
  /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
  "must be a DNS label: 1–63 lowercase letters, digits or '-', starting with a letter and not ending with '-'",
);

/** A DNS subdomain (RFC 1123): most other Kubernetes object names. */
export const dnsSubdomain = refine(
  pattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253 characters"),
  (v) => (v.length > 253 ? "must be a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253 characters" : undefined),
);

/** A host name as routes take it (Istio hosts, Gateway API hostnames): a DNS subdomain, optionally `*.`-prefixed. */
export const hostName = refine(
  pattern(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a host name such as shop.example.com or *.example.com (no IP address, no port)"),
  (v) => (v.length > 253 ? "must be a host name such as shop.example.com or *.example.com (no IP address, no port)" : undefined),
);

/** A non-empty Kubernetes label value: versions become the `version` label, Istio subsets and revision suffixes. */
export const labelValue = pattern(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit");

/** A Kubernetes label value that may be empty (selectors). */
export const optionalLabelValue = pattern(
  /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/,
  "must be a Kubernetes label value: up to 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit",
);

/** A Kubernetes label key, e.g. `app` or `app.kubernetes.io/name`. */
export const labelKey = pattern(
  /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
  "must be a Kubernetes label key such as app or app.kubernetes.io/name",
);

/**
 * A named port (IANA service name): 1–15 lowercase letters, digits or '-', with a letter, no '--',
 * not starting or ending with '-'. Source: Kubernetes' IsValidPortName (validation.go) after RFC 6335.
 */
export const portName = refine(pattern(/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/, "must be a port name: 1–15 lowercase letters, digits or '-', with at least one letter"), (v) =>
  !/[a-z]/.test(v) || v.includes("--") ? "must be a port name: 1–15 lowercase letters, digits or '-', with at least one letter" : undefined,
);

/** A TCP port number. */
export const port = intRange(1, 65535);

/** A URL path such as /health. */
export const httpPath = pattern(/^\/[\x21-\x7e]*$/, "must be a path starting with / (visible ASCII, no spaces)");

/** A container image reference (the registry resolves it; only whitespace can never be part of one). */
export const imageRef = pattern(/^[^\s]{1,512}$/, "must be a container image reference without whitespace");

/** A Kubernetes resource quantity such as 100m, 0.5 or 128Mi. */
export const quantity = pattern(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, "must be a Kubernetes quantity such as 100m or 128Mi");

const QUANTITY_SUFFIX: Readonly<Record<string, number>> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The amount a quantity stands for (`500m` → 0.5, `1Gi` → 1073741824); throws on a malformed one. */
export function quantityAmount(q: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q);
  if (!m) throw new Error(`not a Kubernetes quantity: ${JSON.stringify(q)}`);
  return Number(m[1]) * QUANTITY_SUFFIX[m[2] ?? ""]!;
}

// ---------------------------------------------------------------------------------------------
// HTTP header names and values, as the traffic model matches them.
// ---------------------------------------------------------------------------------------------

/**
 * An HTTP header name: letters, digits and '-' (a subset of RFC 7230's token that every platform,
 * HAProxy and Envoy included, accepts), 1–64 characters. Platform limits on top (ALB's 40) are
 * the platform component's.
 */
export const headerName = pattern(/^[A-Za-z0-9-]{1,64}$/, "must be an HTTP header name: letters, digits and '-'");

/**
 * A header or cookie value matched exactly: 1–256 printable ASCII characters (RFC 7230
 * field-vchar and space) without quotes or backslashes, so no renderer has to escape them.
 */
export const headerValue = headerValueUpTo(256);

/**
 * A header value of 1–`max` characters by the {@link headerValue} rule: the headers a client
 * sends (a bearer token is longer than a matched value) keep the same characters.
 */
export function headerValueUpTo(max: number): Rule<string> {
  return pattern(new RegExp(`^[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]{1,${max}}$`), `must be 1–${max} printable characters without quotes or backslashes`);
}

// ---------------------------------------------------------------------------------------------
// Prometheus names and values.
// Source: https://prometheus.io/docs/concepts/data_model/#metric-names-and-labels: metric names
// match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*, and label names starting
// with __ are reserved for internal use.
// ---------------------------------------------------------------------------------------------

/** A Prometheus metric name. */
export const metricName = pattern(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, "must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");

/** A Prometheus label name that a user may set (not one of the reserved `__…` names). */
export const promLabelName = refine(pattern(/^[a-zA-Z_][a-zA-Z0-9_]*$/, "must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"), (v) =>
  v.startsWith("__") ? "must not start with __ (Prometheus reserves those label names)" : undefined,
);

/** A UTF-16 surrogate without its pair: not a character, and refused by every serialiser that checks. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const QUERY_VALUE_MESSAGE = "must be 1–256 characters without quotes, braces, backslashes, '$', '[[', control or line-break characters";

/**
 * A value that is put inside PromQL strings, rule-file YAML, alert templates and Grafana
 * queries (service names, versions): 1–256 characters of well-formed Unicode, without quotes of
 * any PromQL string style, braces (matchers, Go templates), backslashes, control or line-break
 * characters (C0, DEL, C1, U+2028, U+2029: YAML and PromQL would read them as breaks), `$` or
 * `[[` (Grafana interpolates `$var`, `${var}` and `[[var]]` inside queries; see
 * https://grafana.com/docs/grafana/latest/dashboards/variables/variable-syntax/).
 */
export const queryValue: Rule<string> = {
  message: QUERY_VALUE_MESSAGE,
  check(v) {
    if (typeof v !== "string" || v.length === 0 || v.length > 256) return QUERY_VALUE_MESSAGE;
    // eslint-disable-next-line no-control-regex
    if (/["'`{}\\$\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(v) || v.includes("[[")) return QUERY_VALUE_MESSAGE;
    if (LONE_SURROGATE.test(v)) return "must be well-formed Unicode (no lone UTF-16 surrogate)";
    return undefined;
  },
};

// ---------------------------------------------------------------------------------------------
// Durations.
// ---------------------------------------------------------------------------------------------

const DURATION_UNITS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 } as const;

/** Seconds in a duration such as `90s`, `1m`, `250ms` or `2h`; throws on anything else. */
export function durationSeconds(duration: string): number {
  const m = /^([0-9]+)(ms|s|m|h|d)$/.exec(duration);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(duration)}`);
  return Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS];
}

/** A positive duration in s, m or h, as Prometheus ranges and scrape intervals take it: `30s`, `1m`, `1h`. */
export const duration = pattern(/^[1-9][0-9]*(s|m|h)$/, "must be a duration such as 30s, 1m or 1h");

/** A duration that may be zero, as a Prometheus alert's `for` takes it: `0s`, `30s`, `1m`. */
export const durationOrZero = pattern(/^[0-9]+(s|m|h)$/, "must be a duration such as 0s, 30s, 1m or 1h");

/**
 * A duration of at least 1ms in ms, s, m or h, as Istio's CRDs take it: their CEL rule
 * `duration(self) >= duration('1ms')` refuses anything shorter.
 */
export const istioDuration = refine(pattern(/^[0-9]+(ms|s|m|h)$/, "must be a duration such as 30s or 1m"), (v) => (durationSeconds(v) < 0.001 ? "must be a duration of at least 1ms" : undefined));

/** An http(s) URL without whitespace, quotes, angle brackets, braces or backslashes (it ends up in YAML, JSON and HTML). */
export const httpUrl = refine(pattern(/^https?:\/\/[^\s"'`<>{}\\]+$/, "must be an http(s) URL"), (v) => (queryUnsafe(v) ? "must be an http(s) URL" : undefined));

/**
 * Free text people read (a reason recorded with an event, sent in notifications): up to `max`
 * characters of well-formed Unicode on one line, without control characters (a terminal escape or
 * a carriage return in a recorded reason would reach every reader of the record).
 */
export function plainText(max: number): Rule<string> {
  const message = `must be at most ${max} characters on one line, without control characters`;
  return { message, check: (v) => (typeof v === "string" && v.length <= max && !queryUnsafe(v) ? undefined : message) };
}

function queryUnsafe(v: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(v) || LONE_SURROGATE.test(v);
}
