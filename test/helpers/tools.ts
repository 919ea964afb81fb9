/**
 * Integration tests declare the programs they run with {@link needs}. A missing one fails the
 * suite's first test with the program and the install line, the same way in every file; a test
 * that needs HAProxy never passes by skipping on a machine without it.
 */
import { requirePrograms } from "../../local/process";

/** HAProxy, as the sandbox runs it (Debian package haproxy). */
export const HAPROXY = "/usr/sbin/haproxy";
/** Prometheus (Debian package prometheus). */
export const PROMETHEUS = "/usr/bin/prometheus";
/** promtool (Debian package prometheus). */
export const PROMTOOL = "/usr/bin/promtool";
/** Headless Chromium (Debian package chromium). */
export const CHROMIUM = "/usr/bin/chromium";

/** Registers a `before` hook in the current `describe` that fails when a program is missing. */
export function needs(...programs: string[]): void {
  before(function () {
    requirePrograms(programs);
  });
}
