/**
 * The sandbox's rendered configs accepted by the real programs: `haproxy -c` and
 * `promtool check config`.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TrafficSpec } from "../../../components/routing";
import { renderHaproxyConfig } from "../../../local/haproxy/config";
import { renderPrometheusConfig } from "../../../local/prometheus/config";
import { runBounded } from "../../../local/process";
import { DEFAULT_TRAFFIC } from "../../../local/sandbox";
import { HAPROXY, needs, PROMTOOL } from "../../helpers/tools";

const PORTS = { frontend: 8080, stats: 8404, stable: 9001, canary: 9002 };
const spec = (over: Partial<TrafficSpec>): TrafficSpec => ({ ...DEFAULT_TRAFFIC, ...over });
const TARGETS = { apps: [{ role: "stable" as const, port: 9001 }, { role: "canary" as const, port: 9002 }], haproxyStatsPort: 8404 };

describe("haproxy -c accepts the rendered configs", function () {
  needs(HAPROXY);
  this.timeout(30_000);
  const cases: Array<[string, Partial<TrafficSpec>]> = [
    ["default", {}],
    ["segments and awkward values", { canaryWeight: 25, override: { kind: "header", name: "x-canary", value: '-$HOME "#x' }, segments: [{ name: "beta", match: { kind: "cookie", name: "beta", value: "y;es" }, weight: 50 }] }],
    ["header stickiness", { canaryWeight: 50, stickiness: { enabled: true, durationSeconds: 60, hashKey: { kind: "header", name: "x-user-id" } } }],
    ["cookie stickiness", { canaryWeight: 50, stickiness: { enabled: true, durationSeconds: 60, hashKey: { kind: "cookie", name: "uid" } } }],
  ];
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-c-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [what, over] of cases) {
    it(what, async () => {
      const file = path.join(dir, `${what.replace(/\W+/g, "-")}.cfg`);
      fs.writeFileSync(file, renderHaproxyConfig(spec(over), PORTS, { socketPath: path.join(dir, "s.sock") }));
      const r = await runBounded(HAPROXY, ["-c", "-f", file], 10_000);
      assert.equal(r.code, 0, r.output);
    });
  }
});

describe("the sandbox Prometheus config", () => {
  needs(PROMTOOL);
  it("promtool check config accepts the rendered Prometheus config", async function () {
    this.timeout(20_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prom-config-"));
    try {
      const file = path.join(dir, "prometheus.yml");
      fs.writeFileSync(file, renderPrometheusConfig(TARGETS));
      const r = await runBounded(PROMTOOL, ["check", "config", file], 15_000);
      assert.equal(r.code, 0, r.output);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
