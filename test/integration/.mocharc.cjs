/**
 * Mocha settings of the integration suite (`npm run test:integration`).
 *
 * Three files run at a time on two cores: these tests spend most of their time waiting on
 * ticks, scrapes and processes (two at a time kept about one core busy). Mocha hands files to
 * its workers in the order given, so the longest files start first and the workers finish
 * together instead of one long file starting last; the rest follow in path order. A file named
 * here that no longer exists stops the run, so the list cannot go stale silently.
 */
const fs = require("node:fs");
const path = require("node:path");
const base = require("../../.mocharc.json");

/** The slowest files, slowest first (seconds on a quiet two-core machine, three at a time). */
const LONGEST_FIRST = [
  "automation/faults.test.ts", // ~100 s
  "rollout/killPoints.test.ts", // ~80 s
  "automation/e2e.test.ts", // ~55 s
  "rollout/strategies.test.ts", // ~30 s
  "analysis/judgePrometheus.test.ts", // ~23 s
  "wave/sandbox.test.ts", // ~20 s
  "sandbox/metrics.test.ts", // ~19 s
  "package/build.test.ts", // ~17 s
];

function testFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? testFiles(path.join(dir, e.name)) : e.name.endsWith(".test.ts") ? [path.join(dir, e.name)] : []))
    .sort();
}

const all = testFiles(__dirname);
const first = LONGEST_FIRST.map((f) => {
  const file = path.join(__dirname, f);
  if (!all.includes(file)) throw new Error(`test/integration/.mocharc.cjs names ${f}, which is not an integration test file`);
  return file;
});

module.exports = {
  ...base,
  parallel: true,
  jobs: 3,
  spec: [...first, ...all.filter((f) => !first.includes(f))],
};
