import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import { CloudRunCanary, CloudRunCanaryArgs } from "../../../components/gcp/cloudRunCanary";
import { RevisionNameError, revisionName, revisionNames, sanitiseVersion } from "../../../components/gcp/revisionName";
import { appliedCanaryPercent, renderTraffic, tagUri, templateRevision } from "../../../components/gcp/traffic";
import { RoutingError, TrafficSpec } from "../../../components/routing";
import { CanaryConfigError, parseConfig } from "../../../infra/config";
import { program } from "../../../infra/program";
import { registrations, registrationsOf, resetRegistrations, setConfig, unwrap } from "../../helpers/pulumi";

const RUN_SERVICE = "gcp:cloudrunv2/service:Service";
const INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember";
const COMPONENT = "canary:gcp:CloudRunCanary";
const REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION";

function traffic(canaryWeight: number, hasCanary = true): TrafficSpec {
  return { hasCanary, canaryWeight, segments: [], stickiness: { enabled: false, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } }, mirrorPercent: 0 };
}

function args(canaryWeight: number): CloudRunCanaryArgs {
  return {
    service: "checkout",
    project: "shop-prod-123",
    region: "europe-west1",
    stableVersion: "v2.4.1",
    stableImage: "europe-docker.pkg.dev/shop-prod-123/apps/checkout:v2.4.1",
    canaryVersion: "v2.5.0",
    canaryImage: "europe-docker.pkg.dev/shop-prod-123/apps/checkout:v2.5.0",
    traffic: { ...traffic(canaryWeight), override: { kind: "header", name: "x-canary", value: "true" } },
  };
}

/** A Cloud Run stack with a canary at 5%. */
const stack = {
  "canary:platform": "gcp",
  "canary:service": "checkout",
  "canary:stable": { version: "v2.4.1", image: "europe-docker.pkg.dev/shop-prod-123/apps/checkout:v2.4.1" },
  "canary:canary": { version: "v2.5.0", image: "europe-docker.pkg.dev/shop-prod-123/apps/checkout:v2.5.0" },
  "canary:weight": 5,
  "canary:gcp": { project: "shop-prod-123", region: "europe-west1", allowUnauthenticated: true },
};

function raw(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

describe("gcp", () => {
  beforeEach(() => resetRegistrations());

  describe("revision names", () => {
    const sanitised: Array<[string, string]> = [
      ["v2.5.0", "v2-5-0"],
      ["V2.5.0-RC.1", "v2-5-0-rc-1"],
      ["release_2026.11.22", "release-2026-11-22"],
      ["1.0.0+build.7", "1-0-0-build-7"],
      ["v1..2__3", "v1-2-3"],
      ["-v1-", "v1"],
      ["2026", "2026"],
      ["...", ""],
    ];
    for (const [version, expected] of sanitised) {
      it(`sanitises ${JSON.stringify(version)} to ${JSON.stringify(expected)}`, () => assert.equal(sanitiseVersion(version), expected));
    }

    it("names a revision <service>-<sanitised version>, up to exactly 63 characters", () => {
      assert.equal(revisionName("checkout", "v2.5.0"), "checkout-v2-5-0");
      assert.equal(revisionName("checkout", "2026.11.22"), "checkout-2026-11-22");
      const longest = "v".repeat(54);
      assert.equal(revisionName("checkout", longest), `checkout-${longest}`);
      assert.equal(revisionName("checkout", longest).length, 63);
      assert.equal(revisionName("c".repeat(40), "v1"), `${"c".repeat(40)}-v1`);
    });

    const refused: Array<[string, string, string, string]> = [
      ["a version with no letters or digits", "checkout", "...", `version "..." has no letters or digits, so it cannot name a Cloud Run revision (<service>-<version> in lowercase letters, digits and '-')`],
      [
        "a name over 63 characters",
        "checkout",
        `v${"1".repeat(54)}`,
        `version "v${"1".repeat(54)}" makes the Cloud Run revision name "checkout-v${"1".repeat(54)}" with 64 characters; revision names have at most 63, so with service "checkout" the version may have at most 54 (after lower-casing and replacing other characters with '-')`,
      ],
      ["an upper-case service name", "Checkout", "v1", `service name "Checkout" is not a Cloud Run service name: use lowercase letters, digits and '-', starting with a letter and not ending with '-'`],
      [
        "a service name too long for the canary tag beside it",
        "c".repeat(41),
        "v1",
        `service name "${"c".repeat(41)}" has 41 characters; Cloud Run allows at most 46 for a traffic tag and the service name together, so beside the tag "canary" the service name may have at most 40`,
      ],
    ];
    for (const [what, service, version, message] of refused) {
      it(`refuses ${what}, naming the rule`, () => assert.throws(() => revisionName(service, version), new RevisionNameError(message)));
    }

    it("refuses two versions that make the same revision name", () => {
      assert.deepEqual(revisionNames("checkout", "v2.4.1", "v2.5.0"), { stable: "checkout-v2-4-1", canary: "checkout-v2-5-0" });
      assert.deepEqual(revisionNames("checkout", "v2.4.1"), { stable: "checkout-v2-4-1" });
      assert.throws(
        () => revisionNames("checkout", "v2.5.0", "V2_5_0"),
        new RevisionNameError(
          `stable version "v2.5.0" and canary version "V2_5_0" both make the Cloud Run revision name "checkout-v2-5-0"; versions must still differ after lower-casing and replacing characters other than letters and digits with '-'`,
        ),
      );
    });
  });

  describe("renderTraffic", () => {
    const revisions = { stable: "checkout-v2-4-1", canary: "checkout-v2-5-0" };
    const table: Array<[number, unknown[]]> = [
      [
        0,
        [
          { type: REVISION, revision: "checkout-v2-4-1", percent: 100 },
          { type: REVISION, revision: "checkout-v2-5-0", percent: 0, tag: "canary" },
        ],
      ],
      [
        5,
        [
          { type: REVISION, revision: "checkout-v2-4-1", percent: 95 },
          { type: REVISION, revision: "checkout-v2-5-0", percent: 5, tag: "canary" },
        ],
      ],
      [
        50,
        [
          { type: REVISION, revision: "checkout-v2-4-1", percent: 50 },
          { type: REVISION, revision: "checkout-v2-5-0", percent: 50, tag: "canary" },
        ],
      ],
      [100, [{ type: REVISION, revision: "checkout-v2-5-0", percent: 100, tag: "canary" }]],
    ];
    for (const [weight, expected] of table) {
      it(`pins stable at ${100 - weight}% and the tagged canary at ${weight}%`, () => {
        const targets = renderTraffic(traffic(weight), revisions);
        assert.deepEqual(targets, expected);
        assert.equal(appliedCanaryPercent(targets, revisions.canary), weight);
      });
    }

    it("pins everything to the stable revision without a canary, and the template names the stable revision", () => {
      assert.deepEqual(renderTraffic(traffic(0, false), { stable: "checkout-v2-4-1" }), [{ type: REVISION, revision: "checkout-v2-4-1", percent: 100 }]);
      assert.equal(templateRevision({ stable: "checkout-v2-4-1" }), "checkout-v2-4-1");
      assert.equal(templateRevision(revisions), "checkout-v2-5-0");
      assert.equal(appliedCanaryPercent([{ revision: "checkout-v2-4-1", percent: 100 }], undefined), 0);
    });

    it("refuses segments, which Cloud Run cannot match", () => {
      const withSegment: TrafficSpec = { ...traffic(5), segments: [{ name: "beta", match: { kind: "cookie", name: "beta", value: "1" }, weight: 50 }] };
      assert.throws(() => renderTraffic(withSegment, revisions), new RoutingError("traffic.segments: gcp does not support segments: Cloud Run cannot route on headers or cookies; platforms that do: aws, istio, gateway-api"));
    });

    it("reads a tag's URL from the traffic statuses", () => {
      const statuses = [
        { type: REVISION, revision: "checkout-v2-4-1", percent: 95, tag: "", uri: "" },
        { type: REVISION, revision: "checkout-v2-5-0", percent: 5, tag: "canary", uri: "https://canary---checkout-abc123-ew.a.run.app" },
      ];
      assert.equal(tagUri(statuses, "canary"), "https://canary---checkout-abc123-ew.a.run.app");
      assert.equal(tagUri(statuses, "stable"), undefined);
      assert.equal(tagUri([{ tag: "canary", uri: "" }], "canary"), undefined);
      assert.equal(tagUri(undefined, "canary"), undefined);
    });
  });

  describe("CloudRunCanary", () => {
    const table: Array<[number, unknown[]]> = [
      [
        0,
        [
          { type: REVISION, revision: "checkout-v2-4-1", percent: 100 },
          { type: REVISION, revision: "checkout-v2-5-0", percent: 0, tag: "canary" },
        ],
      ],
      [
        5,
        [
          { type: REVISION, revision: "checkout-v2-4-1", percent: 95 },
          { type: REVISION, revision: "checkout-v2-5-0", percent: 5, tag: "canary" },
        ],
      ],
      [
        50,
        [
          { type: REVISION, revision: "checkout-v2-4-1", percent: 50 },
          { type: REVISION, revision: "checkout-v2-5-0", percent: 50, tag: "canary" },
        ],
      ],
      [100, [{ type: REVISION, revision: "checkout-v2-5-0", percent: 100, tag: "canary" }]],
    ];
    for (const [weight, traffics] of table) {
      it(`renders one Cloud Run service whose template is the canary revision, traffic pinned, at ${weight}%`, async () => {
        const c = new CloudRunCanary("checkout", args(weight));
        assert.equal(await unwrap(c.appliedCanaryWeight), weight);
        assert.deepEqual(c.revisions, { stable: "checkout-v2-4-1", canary: "checkout-v2-5-0" });

        const all = (await registrations()).filter((r) => !r.type.startsWith("pulumi:providers:"));
        assert.deepEqual(
          all.map((r) => [r.type, r.name]),
          [
            [COMPONENT, "checkout"],
            [RUN_SERVICE, "checkout-service"],
          ],
        );
        assert.deepEqual(all[1]!.inputs, {
          name: "checkout",
          project: "shop-prod-123",
          location: "europe-west1",
          ingress: "INGRESS_TRAFFIC_ALL",
          deletionProtection: true,
          scaling: { minInstanceCount: 0, maxInstanceCount: 100 },
          template: {
            revision: "checkout-v2-5-0",
            containers: [{ image: "europe-docker.pkg.dev/shop-prod-123/apps/checkout:v2.5.0", ports: { containerPort: 8080 }, resources: { limits: { cpu: "1", memory: "512Mi" } } }],
          },
          traffics,
        });
      });
    }

    it("makes the stable revision the template without a canary, and grants public invocation when asked", async () => {
      const c = new CloudRunCanary("checkout", {
        service: "checkout",
        project: "shop-prod-123",
        region: "europe-west1",
        stableVersion: "v2.4.1",
        stableImage: "europe-docker.pkg.dev/shop-prod-123/apps/checkout:v2.4.1",
        traffic: traffic(0, false),
        port: 3000,
        cpu: "2",
        memory: "1Gi",
        minInstances: 1,
        maxInstances: 10,
        ingress: "internal-and-cloud-load-balancing",
        allowUnauthenticated: true,
        deletionProtection: false,
      });
      assert.equal(await unwrap(c.appliedCanaryWeight), 0);
      assert.equal(await unwrap(c.canaryUrl), undefined);
      const [service] = await registrationsOf(RUN_SERVICE);
      assert.deepEqual(service!.inputs, {
        name: "checkout",
        project: "shop-prod-123",
        location: "europe-west1",
        ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        deletionProtection: false,
        scaling: { minInstanceCount: 1, maxInstanceCount: 10 },
        template: {
          revision: "checkout-v2-4-1",
          containers: [{ image: "europe-docker.pkg.dev/shop-prod-123/apps/checkout:v2.4.1", ports: { containerPort: 3000 }, resources: { limits: { cpu: "2", memory: "1Gi" } } }],
        },
        traffics: [{ type: REVISION, revision: "checkout-v2-4-1", percent: 100 }],
      });
      assert.deepEqual(
        (await registrationsOf(INVOKER)).map((r) => [r.name, r.inputs]),
        [["checkout-invoker", { project: "shop-prod-123", location: "europe-west1", name: "checkout", role: "roles/run.invoker", member: "allUsers" }]],
      );
    });

    it("refuses versions that make the same revision name before registering anything", async () => {
      assert.throws(() => new CloudRunCanary("checkout", { ...args(5), canaryVersion: "V2.4.1" }), {
        name: "ComponentArgsError",
        message: `canary:gcp:CloudRunCanary: invalid arguments\ncanaryVersion: stable version "v2.4.1" and canary version "V2.4.1" both make the Cloud Run revision name "checkout-v2-4-1"; versions must still differ after lower-casing and replacing characters other than letters and digits with '-'`,
      });
      assert.deepEqual(await registrations(), []);
    });

    // What the component used to drop silently: Cloud Run cannot keep a user on a revision or copy requests.
    for (const [what, traffic, line] of [
      ["stickiness", { stickiness: { enabled: true, durationSeconds: 3600, hashKey: { kind: "header", name: "x-user-id" } } }, "traffic.stickiness: gcp does not support stickiness: Cloud Run session affinity pins a client to an instance, not to a revision; platforms that do: aws, istio"],
      ["mirroring", { mirrorPercent: 10 }, "traffic.mirrorPercent: gcp does not support mirroring: Cloud Run cannot copy requests; platforms that do: istio, gateway-api"],
    ] as const) {
      it(`refuses ${what} before registering anything`, async () => {
        const a = args(5);
        assert.throws(() => new CloudRunCanary("checkout", { ...a, traffic: { ...a.traffic, ...traffic } }), { name: "ComponentArgsError", message: `canary:gcp:CloudRunCanary: invalid arguments\n${line}` });
        assert.deepEqual(await registrations(), []);
      });
    }
  });

  describe("config", () => {
    const refusals: Array<[string, Record<string, unknown>, string]> = [
      [
        "segments",
        { "canary:segments": [{ name: "beta", match: { type: "cookie", name: "beta", value: "1" }, weight: 50 }] },
        "canary:segments: gcp does not support segments: Cloud Run cannot route on headers or cookies; platforms that do: aws, istio, gateway-api",
      ],
      ["mirroring", { "canary:mirror": 10 }, "canary:mirror: gcp does not support mirroring: Cloud Run cannot copy requests; platforms that do: istio, gateway-api"],
      [
        "stickiness",
        { "canary:stickiness": { enabled: true } },
        "canary:stickiness: gcp does not support stickiness: Cloud Run session affinity pins a client to an instance, not to a revision; platforms that do: aws, istio",
      ],
    ];
    for (const [what, extra, message] of refusals) {
      it(`refuses ${what} with the capability message, and the program registers nothing`, async () => {
        assert.throws(() => parseConfig(raw({ ...stack, ...extra })), (e: unknown) => e instanceof CanaryConfigError && e.message === message);
        setConfig({ ...stack, ...extra });
        assert.throws(() => program(), (e: unknown) => e instanceof CanaryConfigError && e.message === message);
        assert.deepEqual(await registrations(), []);
      });
    }

    it("keeps the override on (it is served by the canary's tag URL)", () => {
      assert.deepEqual(parseConfig(raw(stack)).traffic.override, { kind: "header", name: "x-canary", value: "true" });
    });

    it("requires the block and refuses bad values, naming the key and the value", () => {
      const { "canary:gcp": _omitted, ...rest } = stack;
      assert.throws(() => parseConfig(raw(rest)), (e: unknown) => e instanceof CanaryConfigError && e.message === "canary:gcp: is required when canary:platform is gcp");
      assert.throws(
        () => parseConfig(raw({ ...stack, "canary:gcp": { project: "Shop", region: "europe-west1", ingress: "public", minInstances: 5, maxInstances: 2 } })),
        (e: unknown) =>
          e instanceof CanaryConfigError &&
          e.message ===
            [
              `canary:gcp.project: must be a GCP project id: 6–30 lowercase letters, digits or '-', starting with a letter and not ending with '-', got "Shop"`,
              `canary:gcp.ingress: must be all, internal or internal-and-cloud-load-balancing, got "public"`,
            ].join("\n"),
      );
      assert.throws(
        () => parseConfig(raw({ ...stack, "canary:gcp": { project: "shop-prod-123", region: "europe-west1", minInstances: 5, maxInstances: 2 } })),
        (e: unknown) => e instanceof CanaryConfigError && e.message === "canary:gcp.minInstances: must be at most maxInstances (2), got 5",
      );
    });

    it("applies the block defaults", () => {
      assert.deepEqual(parseConfig(raw({ ...stack, "canary:gcp": { project: "shop-prod-123", region: "europe-west1" } })).block, {
        project: "shop-prod-123",
        region: "europe-west1",
        port: 8080,
        cpu: "1",
        memory: "512Mi",
        minInstances: 0,
        maxInstances: 100,
        ingress: "all",
        allowUnauthenticated: false,
        deletionProtection: true,
      });
    });

    it("fails the program on a version that cannot name a revision, under its key, before registering anything", async () => {
      setConfig({ ...stack, "canary:service": "c".repeat(41) });
      assert.throws(() => program(), {
        name: "CanaryConfigError",
        message: `canary:service: service name "${"c".repeat(41)}" has 41 characters; Cloud Run allows at most 46 for a traffic tag and the service name together, so beside the tag "canary" the service name may have at most 40`,
      });
      setConfig({ ...stack, "canary:canary": { version: "V2.4.1", image: "europe-docker.pkg.dev/shop-prod-123/apps/checkout:v2.4.1-hotfix" } });
      assert.throws(
        () => program(),
        (e: unknown) =>
          e instanceof CanaryConfigError &&
          e.message ===
            `canary:canary.version: stable version "v2.4.1" and canary version "V2.4.1" both make the Cloud Run revision name "checkout-v2-4-1"; versions must still differ after lower-casing and replacing characters other than letters and digits with '-'`,
      );
      assert.deepEqual(await registrations(), []);
    });
  });

  describe("program", () => {
    it("deploys the Cloud Run canary and exports the service, revisions and the weight read back from its traffic", async () => {
      setConfig(stack);
      const out = program();
      assert.deepEqual(
        {
          platform: out.platform,
          canaryWeight: out.canaryWeight,
          project: await unwrap(out.project),
          region: await unwrap(out.region),
          cloudRunService: await unwrap(out.cloudRunService),
          stableRevision: await unwrap(out.stableRevision),
          canaryRevision: await unwrap(out.canaryRevision),
          appliedCanaryWeight: await unwrap(out.appliedCanaryWeight),
        },
        {
          platform: "gcp",
          canaryWeight: 5,
          project: "shop-prod-123",
          region: "europe-west1",
          cloudRunService: "checkout",
          stableRevision: "checkout-v2-4-1",
          canaryRevision: "checkout-v2-5-0",
          appliedCanaryWeight: 5,
        },
      );
      assert.equal(await unwrap(out.url), "https://checkout-abc123-ew.a.run.app");
      assert.equal(await unwrap(out.canaryUrl), "https://canary---checkout-abc123-ew.a.run.app");
      const [service] = await registrationsOf(RUN_SERVICE);
      assert.deepEqual(service!.inputs.traffics, [
        { type: REVISION, revision: "checkout-v2-4-1", percent: 95 },
        { type: REVISION, revision: "checkout-v2-5-0", percent: 5, tag: "canary" },
      ]);
      assert.deepEqual((await registrationsOf(INVOKER)).map((r) => r.name), ["checkout-invoker"]);
    });

    it("deploys the stable revision alone when no canary is configured", async () => {
      const { "canary:canary": _c, "canary:weight": _w, ...stableOnly } = stack;
      setConfig(stableOnly);
      const out = program();
      assert.equal(await unwrap(out.canaryRevision), null);
      assert.equal(await unwrap(out.url), "https://checkout-abc123-ew.a.run.app");
      assert.equal(await unwrap(out.canaryUrl), undefined);
      assert.equal(await unwrap(out.appliedCanaryWeight), 0);
      const [service] = await registrationsOf(RUN_SERVICE);
      assert.equal(service!.inputs.template.revision, "checkout-v2-4-1");
    });
  });
});
