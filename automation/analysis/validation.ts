/**
 * Formatting of configuration validation problems, shared by the judge and the providers
 * so every message names the exact path the same way: `metrics[1].source.kind: …`.
 */

/** A validation issue as zod reports it (only the fields used here). */
export interface IssueLike {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** `metrics[1].source.kind`: array indices in brackets, keys dotted; "(root)" for the whole value. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  return out || "(root)";
}

/** Joins issues as `path: message; path: message`. */
export function formatIssues(issues: readonly IssueLike[]): string {
  return issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join("; ");
}
