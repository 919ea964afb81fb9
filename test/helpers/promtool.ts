/**
 * Runs the real `promtool` (Debian's prometheus package; CI installs it) on rendered rule files
 * in a temporary directory, bounded in time.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { PROMTOOL } from "./tools";

/** Exit code and output of one promtool run. */
export interface PromtoolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: string[], cwd: string): PromtoolResult {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: "utf8", timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withDir<T>(fn: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-promtool-"));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `promtool check rules` on the rule file text. */
export function checkRules(rulesYaml: string): PromtoolResult {
  return withDir((dir) => {
    fs.writeFileSync(path.join(dir, "rules.yaml"), rulesYaml);
    return run(["check", "rules", "rules.yaml"], dir);
  });
}

/** One `promtool test rules` test case (the unit-test file's `tests:` entries). */
export interface RuleTest {
  readonly name: string;
  readonly interval: string;
  readonly input_series: readonly { series: string; values: string }[];
  readonly alert_rule_test?: readonly { eval_time: string; alertname: string; exp_alerts: readonly { exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }[] }[];
  readonly promql_expr_test?: readonly { expr: string; eval_time: string; exp_samples: readonly { labels: string; value: number }[] }[];
}

/** `promtool test rules` with the rule file and the given tests. */
export function testRules(rulesYaml: string, tests: readonly RuleTest[], evaluationInterval = "15s"): PromtoolResult {
  return withDir((dir) => {
    fs.writeFileSync(path.join(dir, "rules.yaml"), rulesYaml);
    fs.writeFileSync(path.join(dir, "tests.yaml"), stringify({ rule_files: ["rules.yaml"], evaluation_interval: evaluationInterval, tests }, { lineWidth: 0 }));
    return run(["test", "rules", "tests.yaml"], dir);
  });
}
