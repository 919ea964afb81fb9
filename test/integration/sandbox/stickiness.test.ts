/**
 * Stickiness on a real HAProxy: consistent hashing on the user id keeps each user on one
 * version while the weight is constant, and runtime weight changes work on the hash ring
 * (including from an initial weight of 0).
 */
import * as assert from "node:assert/strict";
import { LoadResult, runLoad } from "../../../local/loadgen";
import { Sandbox, startSandbox } from "../../../local/sandbox";
import { assertAllDead } from "../../helpers/sandbox";
import { HAPROXY, needs } from "../../helpers/tools";

const USERS = 400;
const RPS = 1200;

/** Users that saw each version; fails when any user saw both. */
function usersByVersion(r: LoadResult): { v1: Set<string>; v2: Set<string> } {
  const mixed = [...r.versionsByUser].filter(([, v]) => v.size !== 1).map(([u]) => u);
  assert.deepEqual(mixed, [], `${mixed.length} users saw both versions`);
  const out = { v1: new Set<string>(), v2: new Set<string>() };
  for (const [u, v] of r.versionsByUser) out[[...v][0] as "v1" | "v2"].add(u);
  return out;
}

for (const key of [
  { kind: "header" as const, name: "x-user-id" },
  { kind: "cookie" as const, name: "uid" },
]) {
  describe(`sandbox stickiness by ${key.kind} ${key.name} (real HAProxy)`, function () {
    needs(HAPROXY);
    this.timeout(120_000);
    let sb: Sandbox | undefined;
    let pids: Record<string, number> = {};
    const load = (seed: number) => runLoad({ url: (sb as Sandbox).urls.traffic, rps: RPS, durationSeconds: 1200 / RPS, users: USERS, userKey: key, seed });

    before(async () => {
      // Starts at weight 0: the canary enters the hash ring only through the runtime API.
      sb = await startSandbox({ prometheus: false, traffic: { canaryWeight: 0, stickiness: { enabled: true, durationSeconds: 3600, hashKey: key } } });
      pids = { ...sb.pids };
    });
    after(async () => {
      await sb?.stop();
      assertAllDead(pids);
    });

    let at25: { v1: Set<string>; v2: Set<string> };

    it("weight 0 → 25 at runtime: every user sees exactly one version, about a quarter of them the canary", async () => {
      const w = await (sb as Sandbox).setWeight(25);
      assert.deepEqual([w.stable, w.canary], [75, 25]);
      const r = await load(1);
      assert.deepEqual(r.all.byStatus, { "200": r.sent });
      at25 = usersByVersion(r);
      const share = at25.v2.size / r.versionsByUser.size;
      // Consistent hashing assigns users, not requests: the share is the canary's share of the
      // hash ring (plus user sampling), not a binomial over requests, hence the wide band.
      assert.ok(share > 0.12 && share < 0.38, `canary user share ${share.toFixed(3)} at weight 25`);
    });

    it("the same users stay on the same version in a second run at the same weight", async () => {
      const again = usersByVersion(await load(2));
      for (const u of again.v2) assert.ok(at25.v2.has(u) || !at25.v1.has(u), `user ${u} moved to the canary`);
      for (const u of again.v1) assert.ok(at25.v1.has(u) || !at25.v2.has(u), `user ${u} moved to stable`);
    });

    it("raising the weight to 50 only moves users to the canary, never back", async () => {
      await (sb as Sandbox).setWeight(50);
      const at50 = usersByVersion(await load(3));
      const movedBack = [...at25.v2].filter((u) => at50.v1.has(u));
      assert.deepEqual(movedBack, [], "canary users moved back to stable");
      assert.ok(at50.v2.size > at25.v2.size, `canary users ${at25.v2.size} → ${at50.v2.size}`);
    });

    it("weight 0 sends every user to stable again", async () => {
      await (sb as Sandbox).setWeight(0);
      const r = await load(4);
      assert.deepEqual(r.all.byVersion, { v1: r.sent });
    });
  });
}
