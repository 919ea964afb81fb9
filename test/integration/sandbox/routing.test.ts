/**
 * Routing semantics of the traffic model, measured on a real HAProxy with real requests:
 * weights, the override header, segments, and runtime weight changes with read-back.
 */
import * as assert from "node:assert/strict";
import { getWeight } from "../../../local/haproxy/runtime";
import { runLoad } from "../../../local/loadgen";
import { Sandbox, startSandbox } from "../../../local/sandbox";
import { assertAllDead, assertBinomial } from "../../helpers/sandbox";
import { HAPROXY, needs } from "../../helpers/tools";

/** Fast enough that 2000 requests take a second; HAProxy and the instances keep up on loopback. */
const RPS = 2000;
// The override value is deliberately awkward ("-" first, "$", "#", a space): it must be matched
// literally, never read as a flag, a variable or a comment.
const OVERRIDE = { kind: "header" as const, name: "x-canary", value: "-$HOME #1" };
const BETA = { kind: "cookie" as const, name: "beta", value: "yes" };

describe("sandbox routing (real HAProxy)", function () {
  needs(HAPROXY);
  this.timeout(120_000);
  let sb: Sandbox | undefined;
  let pids: Record<string, number> = {};

  before(async () => {
    sb = await startSandbox({ prometheus: false, traffic: { canaryWeight: 0, override: OVERRIDE, segments: [{ name: "beta", match: BETA, weight: 50 }] } });
    pids = { ...sb.pids };
  });
  after(async () => {
    await sb?.stop();
    assertAllDead(pids);
  });
  const s = (): Sandbox => sb as Sandbox;

  for (const weight of [0, 5, 25, 50, 100]) {
    // At 0 and 100 a single misrouted request fails the test, so fewer requests suffice.
    const n = weight === 0 || weight === 100 ? 600 : 2000;
    it(`weight ${weight}: the canary's share of ${n} requests is within 99.9% binomial bounds`, async () => {
      const readBack = await s().setWeight(weight);
      assert.deepEqual({ canary: readBack.canary, stable: readBack.stable, canaryPercent: readBack.canaryPercent }, { canary: weight, stable: 100 - weight, canaryPercent: weight });
      const r = await runLoad({ url: s().urls.traffic, rps: RPS, durationSeconds: n / RPS, seed: weight + 1 });
      assert.equal(r.sent, n);
      assert.deepEqual(r.all.byStatus, { "200": n });
      assertBinomial(r.all.byVersion.v2 ?? 0, n, weight / 100, `weight ${weight}`);
      assert.equal((r.all.byVersion.v1 ?? 0) + (r.all.byVersion.v2 ?? 0), n);
    });
  }

  it("the override header always reaches the canary, at weight 0 and at 100", async () => {
    for (const weight of [0, 100]) {
      await s().setWeight(weight);
      const r = await runLoad({ url: s().urls.traffic, rps: RPS, durationSeconds: 600 / RPS, shares: [{ name: "override", match: OVERRIDE, share: 0.5 }] });
      assert.deepEqual(r.byRoute.override.byVersionStatus, { v2: { "200": r.byRoute.override.total } }, `weight ${weight}`);
      assert.deepEqual(r.byRoute.default.byVersion, weight === 0 ? { v1: r.byRoute.default.total } : { v2: r.byRoute.default.total });
    }
  });

  it("a near-miss override value is not an override", async () => {
    await s().setWeight(0);
    const r = await runLoad({ url: s().urls.traffic, rps: RPS, durationSeconds: 200 / RPS, shares: [{ name: "near", match: { ...OVERRIDE, value: "$HOME #1" }, share: 1 }] });
    assert.deepEqual(r.byRoute.near.byVersion, { v1: 200 });
  });

  it("a segment at weight 50 lands within bounds while the default route stays at 0", async () => {
    await s().setWeight(0);
    const r = await runLoad({ url: s().urls.traffic, rps: RPS, durationSeconds: 2400 / RPS, seed: 77, shares: [{ name: "beta", match: BETA, share: 0.5 }] });
    const beta = r.byRoute.beta;
    assert.ok(beta.total > 1000, `${beta.total} beta requests`);
    assertBinomial(beta.byVersion.v2 ?? 0, beta.total, 0.5, "segment beta");
    assert.deepEqual(r.byRoute.default.byVersion, { v1: r.byRoute.default.total });
  });

  it("a runtime weight change takes effect without a reload and the read-back matches", async () => {
    const haproxyPid = s().pids.haproxy;
    await s().setWeight(5);
    const before = await runLoad({ url: s().urls.traffic, rps: RPS, durationSeconds: 1000 / RPS, seed: 11 });
    assertBinomial(before.all.byVersion.v2 ?? 0, before.sent, 0.05, "before the change (5%)");

    const readBack = await s().setWeight(25);
    assert.deepEqual(
      { route: readBack.route, backend: readBack.backend, stable: readBack.stable, canary: readBack.canary, canaryPercent: readBack.canaryPercent },
      { route: "default", backend: "be_default", stable: 75, canary: 25, canaryPercent: 25 },
    );
    // Read back independently through `get weight` and through the full state of every route.
    assert.deepEqual(await getWeight(s().socketPath, "be_default", "canary"), { current: 25, initial: 0 });
    const all = await s().readWeights();
    assert.deepEqual(
      all.map((w) => [w.route, w.stable, w.canary, w.stableUp, w.canaryUp]),
      [
        ["override", 0, 100, true, true],
        ["beta", 50, 50, true, true],
        ["default", 75, 25, true, true],
      ],
    );
    const after = await runLoad({ url: s().urls.traffic, rps: RPS, durationSeconds: 1000 / RPS, seed: 12 });
    assertBinomial(after.all.byVersion.v2 ?? 0, after.sent, 0.25, "after the change (25%)");
    assert.equal(s().pids.haproxy, haproxyPid, "HAProxy was not restarted");
  });

  it("a segment's weight changes independently of the default route", async () => {
    const w = await s().setWeight(100, "beta");
    assert.deepEqual([w.backend, w.stable, w.canary], ["be_seg_beta", 0, 100]);
    const r = await runLoad({ url: s().urls.traffic, rps: RPS, durationSeconds: 400 / RPS, shares: [{ name: "beta", match: BETA, share: 1 }] });
    assert.deepEqual(r.byRoute.beta.byVersion, { v2: 400 });
    assert.deepEqual((await s().readWeights()).find((x) => x.route === "default")?.canary, 25);
  });

  it("does not expose the instances' fault endpoint through the traffic frontend", async () => {
    const res = await fetch(`${s().urls.traffic}admin/fault`, { method: "POST", body: JSON.stringify({ errorRate: 1 }) });
    assert.equal(res.status, 403);
    const direct = (await (await fetch(`${s().urls.canary}admin/fault`)).json()) as { fault: unknown };
    assert.deepEqual(direct.fault, { errorRate: 0, errorStatus: 500 });
  });

  it("refuses an unknown route and an out-of-range weight before touching HAProxy", async () => {
    await assert.rejects(s().setWeight(10, "gamma"), { name: "SandboxError", message: 'no route "gamma"; routes: override, beta, default' });
    await assert.rejects(s().setWeight(101), { name: "RoutingError", message: "canary weight must be an integer from 0 to 100, got 101" });
  });
});
