import * as assert from "node:assert/strict";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { requestHeaders, runLoad } from "../../../local/loadgen";
import { assertBinomial } from "../../helpers/sandbox";

describe("load generator", function () {
  this.timeout(30_000);
  let server: http.Server;
  let url: string;
  const arrivals: Array<{ at: number; headers: http.IncomingHttpHeaders }> = [];
  let delayMs = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      arrivals.push({ at: performance.now(), headers: req.headers });
      setTimeout(() => res.writeHead(req.headers["x-fail"] ? 500 : 200, { "x-version": req.headers["x-canary"] ? "v2" : "v1" }).end(), delayMs);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise((r) => server.close(r)));
  beforeEach(() => (arrivals.length = 0));

  it("sends on schedule regardless of outstanding responses (open model)", async () => {
    delayMs = 400;
    const r = await runLoad({ url, rps: 100, durationSeconds: 1 });
    delayMs = 0;
    assert.equal(r.sent, 100);
    assert.equal(r.all.byStatus["200"], 100);
    const span = arrivals[arrivals.length - 1].at - arrivals[0].at;
    // Scheduled over 1 s; a closed loop limited by the 400 ms responses would need 40 s. The upper
    // bound leaves room for a loaded machine delaying timers, and still tells the two apart.
    assert.ok(span > 900 && span < 3000, `arrivals spread over ${span} ms`);
    const beforeFirstResponse = arrivals.filter((a) => a.at < arrivals[0].at + 400).length;
    assert.ok(beforeFirstResponse >= 30, `only ${beforeFirstResponse} requests sent while the first was outstanding`);
  });

  it("draws users from the population and sends the configured shares", async () => {
    const r = await runLoad({
      url,
      rps: 400,
      durationSeconds: 3,
      users: 50,
      seed: 9,
      shares: [{ name: "override", match: { kind: "header", name: "x-canary", value: "true" }, share: 0.2 }],
    });
    assert.equal(r.sent, 1200);
    const withOverride = arrivals.filter((a) => a.headers["x-canary"] === "true").length;
    assert.equal(r.byRoute.override.total, withOverride);
    assertBinomial(withOverride, 1200, 0.2, "override share");
    assert.deepEqual(r.byRoute.override.byVersion, { v2: withOverride });
    const users = new Set(arrivals.map((a) => a.headers["x-user-id"]));
    assert.ok(users.size <= 50 && users.size >= 45, `${users.size} distinct users`);
    assert.ok([...users].every((u) => /^u\d+$/.test(String(u)) && Number(String(u).slice(1)) < 50));
  });

  it("counts by version and status, and per user", async () => {
    const r = await runLoad({ url, rps: 200, durationSeconds: 1, users: 10, shares: [{ name: "fail", match: { kind: "header", name: "x-fail", value: "1" }, share: 1 }] });
    assert.deepEqual(r.all.byVersionStatus, { v1: { "500": 200 } });
    assert.equal(r.versionsByUser.size <= 10, true);
    assert.ok([...r.versionsByUser.values()].every((v) => v.size === 1 && v.has("v1")));
  });

  it("records transport errors as status 0", async () => {
    const r = await runLoad({ url: "http://127.0.0.1:1/", rps: 20, durationSeconds: 0.5 });
    assert.deepEqual(r.all.byStatus, { "0": 10 });
    assert.deepEqual(r.errors, { ECONNREFUSED: 10 });
  });

  it("puts the user key and cookie matches in one Cookie header", () => {
    assert.deepEqual(requestHeaders("u3", { kind: "cookie", name: "uid" }, { kind: "cookie", name: "beta", value: "yes" }), { cookie: "uid=u3; beta=yes" });
    assert.deepEqual(requestHeaders("u3", { kind: "header", name: "X-User-Id" }, { kind: "header", name: "x-canary", value: "true" }), { "x-user-id": "u3", "x-canary": "true" });
    assert.deepEqual(requestHeaders("u3", null, undefined), {});
  });

  it("refuses a schedule it cannot honour", async () => {
    await assert.rejects(runLoad({ url, rps: 0, durationSeconds: 1 }), { name: "LoadOptionsError", message: "rps must be in (0, 5000], got 0" });
    await assert.rejects(runLoad({ url, rps: 10, durationSeconds: 1, shares: [{ name: "a", match: { kind: "header", name: "a", value: "1" }, share: 0.7 }, { name: "b", match: { kind: "header", name: "b", value: "1" }, share: 0.5 }] }), {
      name: "LoadOptionsError",
      message: "shares must be ≥ 0 and sum to at most 1, got 1.2",
    });
  });
});
