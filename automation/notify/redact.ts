/**
 * Keeps webhook URLs out of every text the notifiers produce. A Slack or webhook URL is a
 * bearer credential: whoever has it can post to the channel. HTTP clients put the URL into
 * their error messages (`Failed to parse URL from …`) and receivers echo it in error bodies, so
 * every message built from the HTTP layer passes through {@link Redactor.scrub}.
 */
import { NotifyError } from "./types";

/** Path segments and query values shorter than this are not treated as token parts (`v1`, `api`). */
export const MIN_TOKEN_PART = 6;

/** The replacement for a secret. */
export const REDACTED = "[redacted]";

/**
 * The secret fragments of a URL, longest first: the URL itself (as given, normalized and
 * percent-encoded), its path and query, every path segment and query value of at least
 * {@link MIN_TOKEN_PART} characters, and any user name or password. The host is not secret.
 */
export function secretParts(url: string): string[] {
  const parts = new Set<string>([url]);
  try {
    const u = new URL(url);
    parts.add(u.href);
    parts.add(`${u.pathname}${u.search}`);
    if (u.username) parts.add(u.username);
    if (u.password) parts.add(u.password);
    const pieces = [...u.pathname.split("/"), ...[...u.searchParams.values()], ...u.search.replace(/^\?/, "").split("&")];
    for (const p of pieces) {
      if (p.length < MIN_TOKEN_PART) continue;
      parts.add(p);
      try {
        parts.add(decodeURIComponent(p));
      } catch {
        // A malformed escape: the raw segment is already covered.
      }
    }
  } catch {
    // Not a parseable URL: only the whole string is known to be secret.
  }
  for (const p of [...parts]) parts.add(encodeURIComponent(p));
  return [...parts].filter((p) => p.length >= MIN_TOKEN_PART || p === url).sort((a, b) => b.length - a.length);
}

/** Replaces every secret fragment in a text. */
export class Redactor {
  private readonly parts: readonly string[];

  constructor(secrets: readonly string[]) {
    this.parts = [...new Set(secrets.flatMap(secretParts))].filter((p) => p.length > 0).sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    let out = text;
    for (const p of this.parts) out = out.split(p).join(REDACTED);
    return out;
  }
}

/** At most this many characters of a receiver's error body are kept in an error message. */
export const MAX_BODY_CHARS = 200;

/** A receiver's error body for a message: scrubbed, on one line, cut short. */
export function bodySnippet(body: string, redactor: Redactor): string {
  const line = redactor.scrub(body).replace(/\s+/g, " ").trim();
  return line.length > MAX_BODY_CHARS ? `${line.slice(0, MAX_BODY_CHARS - 3)}...` : line;
}

/**
 * The error of a request that got no response, scrubbed: the error's message and its cause's
 * code and message (where Node's fetch puts `ECONNREFUSED` and the like). Network errors and
 * timeouts are retryable; a request that could not even be built (a `TypeError` without a
 * cause, such as a URL with credentials) or that was aborted by the dispatcher is not.
 */
export function requestFailure(name: string, e: unknown, redactor: Redactor, timeoutMs: number, aborted: boolean): NotifyError {
  const err = e instanceof Error ? e : new Error(String(e));
  if (err.name === "TimeoutError") return new NotifyError(`${name}: no answer within ${timeoutMs / 1000}s`, !aborted);
  if (aborted) return new NotifyError(`${name}: aborted`, false);
  const cause = err.cause instanceof Error ? err.cause : undefined;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const detail = cause ? `: ${code && !cause.message.includes(code) ? `${code} ` : ""}${cause.message}` : "";
  const permanent = err instanceof TypeError && !cause;
  return new NotifyError(`${name}: request failed: ${redactor.scrub(`${err.message}${detail}`)}`, !permanent);
}
