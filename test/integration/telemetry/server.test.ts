import * as assert from "node:assert/strict";
import { MetricsServer, startMetricsServer } from "../../../automation/telemetry/server";
import { RolloutMetrics } from "../../../automation/telemetry/metrics";
import { fixtureTransitions } from "../../helpers/notifyFixtures";

describe("telemetry /metrics endpoint", () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("serves the registry on 127.0.0.1 at an ephemeral port, current at every scrape", async () => {
    const m = new RolloutMetrics({ service: "checkout", stack: "prod" });
    server = await startMetricsServer(m.registry);
    assert.equal(server.host, "127.0.0.1");
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}/metrics`);
    const first = await fetch(server.url);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("content-type"), m.registry.contentType);
    assert.equal(await first.text(), await m.text());

    m.observe({ kind: "transition", ...fixtureTransitions()[2] });
    const second = await (await fetch(server.url)).text();
    assert.ok(second.includes('canary_rollout_weight{service="checkout",stack="prod"} 25\n'));
    assert.equal(second, await m.text());
  });

  it("HEAD has no body; other paths are 404 and other methods 405", async () => {
    const m = new RolloutMetrics({ service: "checkout", stack: "prod" });
    server = await startMetricsServer(m.registry);
    const head = await fetch(server.url, { method: "HEAD" });
    assert.deepEqual([head.status, await head.text()], [200, ""]);
    const other = await fetch(server.url.replace("/metrics", "/"));
    assert.deepEqual([other.status, await other.text()], [404, "not found: the metrics are at /metrics\n"]);
    const post = await fetch(server.url, { method: "POST" });
    assert.deepEqual([post.status, post.headers.get("allow")], [405, "GET, HEAD"]);
    await post.text();
  });

  it("listens on the port asked for, and stop() frees it", async () => {
    const m = new RolloutMetrics({ service: "checkout", stack: "prod" });
    const probe = await startMetricsServer(m.registry);
    const port = probe.port;
    await probe.stop();
    server = await startMetricsServer(m.registry, { port });
    assert.equal(server.port, port);
    // A keep-alive connection is open now; stop() must still finish.
    await (await fetch(server.url)).text();
    await server.stop();
    server = undefined;
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`), (e: Error) => (e.cause as NodeJS.ErrnoException).code === "ECONNREFUSED");
  });

  it("fails to start on a port in use", async () => {
    const m = new RolloutMetrics({ service: "checkout", stack: "prod" });
    server = await startMetricsServer(m.registry);
    await assert.rejects(startMetricsServer(m.registry, { port: server.port }), (e: NodeJS.ErrnoException) => e.code === "EADDRINUSE");
  });
});
