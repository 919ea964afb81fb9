import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { assertSupported, capabilitiesOf, capabilityProblems, PLATFORMS, renderCapabilityMatrix, TrafficSpec } from "../../../components/routing";
import { formatProblem } from "../../../components/validation";
import { ROOT } from "../../helpers/stackConfig";

const plain: TrafficSpec = {
  hasCanary: true,
  canaryWeight: 5,
  segments: [],
  stickiness: { enabled: false, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } },
  mirrorPercent: 0,
};
const everything: TrafficSpec = {
  ...plain,
  override: { kind: "header", name: "x-canary", value: "true" },
  segments: [{ name: "beta", match: { kind: "cookie", name: "beta", value: "1" }, weight: 50 }],
  stickiness: { ...plain.stickiness, enabled: true },
  mirrorPercent: 10,
};

describe("platform capabilities", () => {
  it("lets every platform render plain weights", () => {
    for (const p of PLATFORMS) assert.deepEqual(capabilityProblems(p, plain), [], p);
  });

  it("refuses each feature a platform lacks, naming the spec field, the reason and the platforms that can", () => {
    const keys = (p: string) => capabilityProblems(p, everything).map(formatProblem);
    assert.deepEqual(keys("aws"), ["traffic.mirrorPercent: aws does not support mirroring: ALB listener rules cannot copy requests; platforms that do: istio, gateway-api"]);
    assert.deepEqual(keys("istio"), []);
    assert.deepEqual(keys("linkerd"), [
      "traffic.override: linkerd does not support header override: SMI TrafficSplit cannot route on headers; platforms that do: aws, istio, gateway-api, gcp",
      "traffic.segments: linkerd does not support segments: SMI TrafficSplit cannot route on headers or cookies; platforms that do: aws, istio, gateway-api",
      "traffic.stickiness: linkerd does not support stickiness: SMI TrafficSplit has no session affinity; platforms that do: aws, istio",
      "traffic.mirrorPercent: linkerd does not support mirroring: SMI TrafficSplit cannot copy requests; platforms that do: istio, gateway-api",
    ]);
    assert.deepEqual(keys("gateway-api"), ["traffic.stickiness: gateway-api does not support stickiness: session persistence is not in the Gateway API standard channel; platforms that do: aws, istio"]);
    assert.deepEqual(keys("gcp"), [
      "traffic.segments: gcp does not support segments: Cloud Run cannot route on headers or cookies; platforms that do: aws, istio, gateway-api",
      "traffic.stickiness: gcp does not support stickiness: Cloud Run session affinity pins a client to an instance, not to a revision; platforms that do: aws, istio",
      "traffic.mirrorPercent: gcp does not support mirroring: Cloud Run cannot copy requests; platforms that do: istio, gateway-api",
    ]);
  });

  it("assertSupported throws the same refusals as one ComponentArgsError for the component", () => {
    assert.doesNotThrow(() => assertSupported("canary:istio:IstioCanary", "istio", everything));
    assert.throws(() => assertSupported("canary:aws:AlbCanary", "aws", everything), {
      name: "ComponentArgsError",
      message: "canary:aws:AlbCanary: invalid arguments\ntraffic.mirrorPercent: aws does not support mirroring: ALB listener rules cannot copy requests; platforms that do: istio, gateway-api",
    });
  });

  it("throws on an unknown platform, naming the known ones", () => {
    assert.throws(() => capabilitiesOf("nginx"), new Error('unknown platform "nginx"; known platforms: aws, istio, linkerd, gateway-api, gcp'));
  });

  it("is the matrix printed in the README", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const m = /<!-- capability-matrix:start -->\n([\s\S]*?)\n<!-- capability-matrix:end -->/.exec(readme);
    assert.ok(m, "README has no capability matrix markers");
    assert.equal(m[1], renderCapabilityMatrix());
  });
});
