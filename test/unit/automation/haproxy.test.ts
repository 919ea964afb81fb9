import * as assert from "node:assert/strict";
import { DEFAULT_TRAFFIC, RouteWeights } from "../../../local/sandbox";
import { HaproxyTarget, SandboxLike } from "../../../automation/targets/haproxy";
import { createTarget } from "../../../automation/targets";

/** A sandbox whose HAProxy is a map of route → canary percent. */
function fakeSandbox(initial: number | undefined, fail?: Error) {
  const calls: string[] = [];
  let percent = initial;
  const sandbox: SandboxLike = {
    urls: { traffic: "http://127.0.0.1:8080/", haproxyStats: "", haproxyMetrics: "", stable: "", canary: "" },
    versions: { stable: "v1", canary: "v2" },
    traffic: DEFAULT_TRAFFIC,
    async readWeights(): Promise<RouteWeights[]> {
      const c = percent ?? 0;
      return [
        { route: "override", backend: "be_override", stable: 0, canary: 100, canaryPercent: 100, stableUp: true, canaryUp: true },
        { route: "default", backend: "be_default", stable: percent === undefined ? 0 : 100 - c, canary: c, canaryPercent: percent, stableUp: true, canaryUp: true },
      ];
    },
    async setWeight(w: number, route = "default"): Promise<RouteWeights> {
      calls.push(`setWeight ${w} ${route}`);
      if (fail) throw fail;
      percent = w;
      return (await this.readWeights()).find((r) => r.route === route)!;
    },
  };
  return { sandbox, calls };
}

describe("haproxy target (sandbox runtime API)", () => {
  it("snapshots the default route's weight and the stable version, steps it and reads it back", async () => {
    const { sandbox, calls } = fakeSandbox(0);
    const t = new HaproxyTarget(sandbox);
    assert.equal(t.name, "haproxy http://127.0.0.1:8080/");
    assert.deepEqual(await t.prepare(), { type: "haproxy", route: "default", stableVersion: "v1", canaryPercent: 0 });
    await t.setCanary("v2");
    await t.setWeight(25);
    assert.equal(await t.verify(), 25);
    await t.promote();
    assert.equal(await t.verify(), 100);
    assert.deepEqual(calls, ["setWeight 0 default", "setWeight 25 default", "setWeight 100 default"]);
  });

  it("refuses a canary version the sandbox does not run", async () => {
    const t = new HaproxyTarget(fakeSandbox(0).sandbox);
    await assert.rejects(t.setCanary("v3"), { name: "TargetError", message: "haproxy http://127.0.0.1:8080/: the sandbox's canary server runs v2, not v3" });
  });

  it("cannot verify when both servers are at weight 0", async () => {
    assert.equal(await new HaproxyTarget(fakeSandbox(undefined).sandbox).verify(), undefined);
  });

  it("rolls back to weight 0 (keepCanary) or to the snapshotted weight (restore)", async () => {
    const { sandbox, calls } = fakeSandbox(10);
    const t = new HaproxyTarget(sandbox);
    const snapshot = await t.prepare();
    await t.setWeight(50);
    await t.rollback(snapshot, "restore");
    await t.rollback(snapshot, "keepCanary");
    assert.deepEqual(calls, ["setWeight 50 default", "setWeight 10 default", "setWeight 0 default"]);
  });

  it("a failed weight change is a TargetError; a failed rollback a RestoreError", async () => {
    const t = new HaproxyTarget(fakeSandbox(0, new Error("route default (be_default): set canary 25 / stable 75, HAProxy reports canary 0 / stable 100")).sandbox);
    await assert.rejects(t.setWeight(25), {
      name: "TargetError",
      message: "haproxy http://127.0.0.1:8080/: cannot set the canary weight to 25: route default (be_default): set canary 25 / stable 75, HAProxy reports canary 0 / stable 100",
    });
    await assert.rejects(t.rollback({ type: "haproxy", route: "default", canaryPercent: 0 }, "restore"), { name: "RestoreError", message: /^haproxy http:\/\/127\.0\.0\.1:8080\/: rollback to canary weight 0 failed: / });
    await assert.rejects(t.rollback({ type: "pulumi" }, "restore"), { name: "RestoreError", message: "haproxy http://127.0.0.1:8080/: cannot roll back from a pulumi snapshot" });
  });

  it("the factory builds it from a sandbox, and needs one", async () => {
    assert.equal((await createTarget({ type: "haproxy", sandbox: fakeSandbox(0).sandbox })).type, "haproxy");
    await assert.rejects(createTarget({ type: "haproxy" }), { name: "TargetError", message: "the haproxy target needs a running sandbox's state file (--sandbox)" });
    await assert.rejects(createTarget({ type: "haproxy", stateFile: "/nonexistent/state.json" }), {
      name: "TargetError",
      message: "cannot attach to the sandbox: no sandbox state at /nonexistent/state.json (is a sandbox up?)",
    });
  });
});
