import * as assert from "node:assert/strict";
import { workloadProblems } from "../../../components/kubernetes/trackWorkloads";
import {
  canaryReplicas,
  DEFAULT_RESOURCES,
  deploymentName,
  MAX_TRACKED_SERVICE_NAME,
  podLabels,
  renderDeployment,
  renderService,
  selectorLabels,
  trackName,
  WorkloadSettings,
} from "../../../components/kubernetes/workloads";
import { RoutingError } from "../../../components/routing";

const settings: WorkloadSettings = { app: "checkout", namespace: "shop", port: 80, targetPort: 8080, healthPath: "/health", resources: DEFAULT_RESOURCES };

describe("kubernetes workloads", () => {
  describe("canaryReplicas", () => {
    const table: Array<[number, number, number]> = [
      // [stable replicas, canary weight, canary replicas]
      [3, 0, 1],
      [3, 1, 1],
      [3, 5, 1],
      [3, 34, 2],
      [3, 50, 2],
      [3, 67, 3],
      [3, 100, 3],
      [10, 10, 1],
      [10, 11, 2],
      [10, 15, 2],
      [10, 50, 5],
      [10, 99, 10],
      [10, 100, 10],
      [12, 10, 2],
      [1, 0, 1],
      [1, 100, 1],
      [7, 100, 7],
      [20, 5, 1],
      [20, 6, 2],
      [1000, 1, 10],
      [1000, 99, 990],
    ];
    for (const [stable, weight, expected] of table) {
      it(`${stable} stable at ${weight}% → ${expected}`, () => assert.equal(canaryReplicas(stable, weight), expected));
    }

    const invalid: Array<[string, number, number, Error]> = [
      ["zero replicas", 0, 5, new RangeError("replicas must be an integer from 1 to 1000, got 0")],
      ["negative replicas", -3, 5, new RangeError("replicas must be an integer from 1 to 1000, got -3")],
      ["fractional replicas", 2.5, 5, new RangeError("replicas must be an integer from 1 to 1000, got 2.5")],
      ["NaN replicas", Number.NaN, 5, new RangeError("replicas must be an integer from 1 to 1000, got NaN")],
      ["a weight over 100", 3, 101, new RoutingError("canary weight must be an integer from 0 to 100, got 101")],
      ["a negative weight", 3, -1, new RoutingError("canary weight must be an integer from 0 to 100, got -1")],
      ["a fractional weight", 3, 2.5, new RoutingError("canary weight must be an integer from 0 to 100, got 2.5")],
    ];
    for (const [what, stable, weight, error] of invalid) {
      it(`refuses ${what}`, () => assert.throws(() => canaryReplicas(stable, weight), error));
    }
  });

  describe("names and labels", () => {
    it("names a track's objects <app>-<track>", () => {
      assert.deepEqual([trackName("checkout", "stable"), trackName("checkout", "canary")], ["checkout-stable", "checkout-canary"]);
    });

    it("selects on app and track, and labels pods with app, version and track", () => {
      assert.deepEqual(selectorLabels("checkout", "canary"), { app: "checkout", track: "canary" });
      assert.deepEqual(podLabels("checkout", "canary", "v2"), { app: "checkout", version: "v2", track: "canary" });
    });

    it("accepts a service name of 56 characters where per-track Services exist and refuses 57, whose canary Service name would have 64", () => {
      const args = (service: string) => ({ service, stableVersion: "v1", stableImage: "i", traffic: { hasCanary: false, canaryWeight: 0, segments: [], stickiness: { enabled: false, durationSeconds: 3600, hashKey: { kind: "header" as const, name: "x" } } } });
      assert.deepEqual(workloadProblems(args("a".repeat(56)), MAX_TRACKED_SERVICE_NAME), []);
      const long = "a".repeat(57);
      assert.deepEqual(workloadProblems(args(long), MAX_TRACKED_SERVICE_NAME).map((p) => [p.path, p.message]), [
        [["service"], "must have at most 56 characters, so that <service>-canary is a Kubernetes Service name (a DNS label of at most 63)"],
      ]);
    });

    it("keeps Deployment names to a DNS label (63 characters) for services up to 63 characters, distinct and stable", () => {
      assert.equal(deploymentName("checkout", "canary"), "checkout-canary");
      assert.equal(deploymentName("a".repeat(56), "canary"), `${"a".repeat(56)}-canary`);
      for (const length of [57, 60, 63]) {
        const app = `s${"x".repeat(length - 1)}`;
        const names = [deploymentName(app, "stable"), deploymentName(app, "canary")];
        for (const n of names) assert.match(n, /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, n);
        assert.notEqual(names[0], names[1]);
        assert.equal(deploymentName(app, "canary"), names[1]);
      }
      // Two long services that share their first 47 characters still get different names.
      assert.notEqual(deploymentName(`${"a".repeat(60)}-one`, "canary"), deploymentName(`${"a".repeat(60)}-two`, "canary"));
    });
  });

  describe("renderDeployment", () => {
    /** The exact Deployment args of a track; `c` holds what differs between the cases. */
    function deployment(track: "stable" | "canary", version: string, replicas: number, c: { port: number; path: string; resources: unknown; annotations?: Record<string, string> }) {
      const labels = { app: "checkout", version, track };
      const probe = { httpGet: { path: c.path, port: "http" } };
      return {
        metadata: { name: `checkout-${track}`, namespace: "shop", labels },
        spec: {
          replicas,
          selector: { matchLabels: { app: "checkout", track } },
          template: {
            metadata: c.annotations ? { labels, annotations: c.annotations } : { labels },
            spec: {
              containers: [
                {
                  name: "checkout",
                  image: `registry.example.com/checkout:${version}`,
                  ports: [{ name: "http", containerPort: c.port }],
                  resources: c.resources,
                  readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 3 },
                  livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
                },
              ],
            },
          },
        },
      };
    }

    it("renders a track's Deployment: selector on app + track, probes on the named http port, default resources", () => {
      assert.deepEqual(
        renderDeployment(settings, "canary", { version: "v2", image: "registry.example.com/checkout:v2", replicas: 2 }),
        deployment("canary", "v2", 2, { port: 8080, path: "/health", resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } } }),
      );
    });

    it("adds the pod annotations to the template only, and passes the port, path and resources through", () => {
      const resources = { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } };
      const custom: WorkloadSettings = { ...settings, targetPort: 9000, healthPath: "/ready", resources, podAnnotations: { "linkerd.io/inject": "enabled" } };
      assert.deepEqual(
        renderDeployment(custom, "stable", { version: "v1", image: "registry.example.com/checkout:v1", replicas: 4 }),
        deployment("stable", "v1", 4, { port: 9000, path: "/ready", resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } }, annotations: { "linkerd.io/inject": "enabled" } }),
      );
    });
  });

  describe("renderService", () => {
    it("renders the apex Service <app> selecting both tracks, port named http targeting the container's http port", () => {
      assert.deepEqual(renderService({ ...settings, port: 8000 }), {
        metadata: { name: "checkout", namespace: "shop", labels: { app: "checkout" } },
        spec: { type: "ClusterIP", selector: { app: "checkout" }, ports: [{ name: "http", port: 8000, targetPort: "http", protocol: "TCP" }] },
      });
    });

    it("renders a track's Service <app>-<track> selecting that track only", () => {
      assert.deepEqual(renderService(settings, "stable"), {
        metadata: { name: "checkout-stable", namespace: "shop", labels: { app: "checkout", track: "stable" } },
        spec: { type: "ClusterIP", selector: { app: "checkout", track: "stable" }, ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
      });
    });
  });
});
