/**
 * Reading the files the `canary` command is given or keeps (a plan, a record, the history, the
 * sandbox's state): never more than a bound, whatever size the file claims (`/dev/zero`, a FIFO
 * or a growing file report 0 or less than they hold), and YAML parsed so that every way it can go
 * wrong (a syntax error, a duplicate key, an alias bomb, an unknown tag) is a problem naming the
 * line and, where there is one, the key, never an exception from the parser.
 */
import * as fs from "node:fs";
import { isMap, isPair, isScalar, isSeq, parseDocument, visit } from "yaml";
import { note, Path, Problem } from "../components/validation/problems";

/** What a bounded read found: the text, or that the file holds more than the bound. */
export type BoundedText = { readonly text: string; readonly tooLarge?: undefined } | { readonly tooLarge: true };

/**
 * Reads at most `maxBytes + 1` bytes of `file` (UTF-8): the text when the file holds at most
 * `maxBytes`, otherwise `tooLarge` with nothing more read.
 * @throws the file system's error (ENOENT, EISDIR, EACCES…).
 */
export function readBounded(file: string, maxBytes: number): BoundedText {
  const fd = fs.openSync(file, "r");
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return length > maxBytes ? { tooLarge: true } : { text: buffer.toString("utf8", 0, length) };
  } finally {
    fs.closeSync(fd);
  }
}

/** The largest rollout record, history or state file read (a record with its evidence is some 100 kB). */
export const MAX_RECORD_FILE_BYTES = 16 * 1_048_576;
/** The largest judge trace read for a report (one line per tick: a week of 1 s ticks is some 300 MB; a report needs far less). */
export const MAX_TRACE_BYTES = 64 * 1_048_576;

/**
 * The text of `file`, read with {@link readBounded}; `undefined` when it does not exist.
 * @param tooLarge the error for a file over `maxBytes`, from the message saying so.
 */
export function readBoundedIfExists(file: string, maxBytes: number, tooLarge: (message: string) => Error): string | undefined {
  let read: BoundedText;
  try {
    read = readBounded(file, maxBytes);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  if (read.tooLarge) throw tooLarge(tooLargeMessage(maxBytes, "the file"));
  return read.text;
}

/** The message of a file over its bound (`what`: "a plan"). */
export function tooLargeMessage(maxBytes: number, what: string): string {
  return `is larger than ${maxBytes} bytes; ${what} may be at most ${maxBytes} bytes${maxBytes % 1_048_576 === 0 ? ` (${maxBytes / 1_048_576} MiB)` : ""}`;
}

/** The yaml library's limit on aliases (its default, stated here so it cannot be loosened by accident): an alias bomb is refused. */
const MAX_ALIASES = 100;

/** The most YAML problems reported: the first ones say what is wrong; a thousand would flood the terminal. */
const MAX_PROBLEMS = 20;

/** The deepest flow nesting (`[[[…`, `{a: {…`) accepted: settings nest a few levels; the parser crashes (out of memory, uncatchable) on some 20 000. */
const MAX_FLOW_DEPTH = 64;

/** How deep the flow collections of `text` nest (brackets outside quotes and comments). */
function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (quote === '"' && c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
    } else if (c === "[" || c === "{") max = Math.max(max, ++depth);
    else if ((c === "]" || c === "}") && depth > 0) depth--;
  }
  return max;
}

/** The first line of a YAML error, without the trailing colon before its excerpt. */
function firstLine(message: string): string {
  return message.split("\n")[0].replace(/:$/, "");
}

/** The path of the map key that starts at `offset`, and the key itself. */
function keyAt(doc: ReturnType<typeof parseDocument>, offset: number): Path | undefined {
  let found: Path | undefined;
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return undefined;
      const path: PropertyKey[] = [];
      ancestors.forEach((node, i) => {
        if (isPair(node) && isScalar(node.key)) path.push(String(node.key.value));
        else if (isSeq(node)) path.push(node.items.indexOf(ancestors[i + 1] as never));
        else if (isMap(node) || !isPair(node)) return;
      });
      found = [...path, String(pair.key.value)];
      return visit.BREAK;
    },
  });
  return found;
}

/**
 * Parses settings written in YAML (JSON is YAML too).
 * @returns the value (`undefined` for an empty document), or the problems: the text over
 * `maxBytes`, syntax errors and unknown tags (with their line), a duplicate key (at its path,
 * with its line), too many aliases, nesting too deep for the parser.
 */
export function parseYamlSettings(text: string, maxBytes: number, what: string): { readonly value: unknown } | { readonly problems: readonly Problem[] } {
  if (Buffer.byteLength(text, "utf8") > maxBytes) return { problems: [note([], tooLargeMessage(maxBytes, what))] };
  if (flowDepth(text) > MAX_FLOW_DEPTH) return { problems: [note([], `not valid YAML: nested more than ${MAX_FLOW_DEPTH} levels deep`)] };
  try {
    const doc = parseDocument(text, { uniqueKeys: true });
    const problems = new Map<string, Problem>();
    for (const e of [...doc.errors, ...doc.warnings]) {
      if (e.code === "DUPLICATE_KEY") {
        const at = e.linePos?.[0];
        const p = note(keyAt(doc, e.pos[0]) ?? [], `duplicate key${at ? ` (line ${at.line}, column ${at.col})` : ""}`);
        problems.set(`${String(p.path)}:${p.message}`, p);
      } else {
        // The parser reports each level of a document nested past the stack once: one problem says it.
        const message = /Maximum call stack/.test(e.message) ? "not valid YAML: nested too deeply" : `not valid YAML: ${firstLine(e.message)}`;
        problems.set(message, note([], message));
      }
    }
    if (problems.size > 0) return { problems: [...problems.values()].slice(0, MAX_PROBLEMS) };
    return { value: doc.toJS({ maxAliasCount: MAX_ALIASES }) };
  } catch (e) {
    // The parser's own refusals: an alias bomb or an unresolved alias (ReferenceError), nesting
    // deeper than the stack (RangeError).
    if (e instanceof ReferenceError) return { problems: [note([], `not valid YAML: ${e.message}`)] };
    if (e instanceof RangeError) return { problems: [note([], "not valid YAML: nested too deeply")] };
    throw e;
  }
}
