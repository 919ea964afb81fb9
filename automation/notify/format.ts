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
