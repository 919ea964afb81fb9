/**
 * Property-based test of the whole program under the runtime mocks, per platform:
 * - random valid configs deploy, and what they register is checked against the platforms' real
 *   limits independently of the validators (the vendored CRDs with their CEL rules, ALB rule and
 *   condition limits, Kubernetes and Cloud Run names);
 * - random single mutations of a valid config that the platform would refuse are refused with the
 *   mutated `canary:` key named, and nothing is registered.
 * Runs are bounded (RUNS below) so the file stays well under 30 s on one core.
 */
import "../../helpers/pulumi";
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { CanaryConfigError } from "../../../infra/config";
import { program } from "../../../infra/program";
import { crdErrors } from "../../helpers/crds";
import { Registered, registrations, resetRegistrations, setConfig } from "../../helpers/pulumi";

/** Valid configs per platform, and random valid configs each mutation is applied to. */
const RUNS = { valid: 20, perMutation: 3 };

type Config = Record<string, unknown>;
const PLATFORMS = ["aws", "istio", "linkerd", "gateway-api", "gcp"] as const;
type Platform = (typeof PLATFORMS)[number];

// ------------------------------------------------------------------ generators of valid values

const lower = "abcdefghijklmnopqrstuvwxyz";
const chars = (alphabet: string, min: number, max: number) => fc.array(fc.constantFrom(...alphabet.split("")), { minLength: min, maxLength: max }).map((a) => a.join(""));
/** A DNS label of 1..max characters (starts with a letter, ends with a letter or digit). */
const dnsLabel = (max: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.tuple(chars(lower, 1, 1), chars(`${lower}0123456789-`, 0, Math.min(10, max - 2)), chars(`${lower}0123456789`, 1, 1)).map(([a, b, c]) => `${a}${b}${c}`) },
    { weight: 1, arbitrary: fc.constant(`s${"x".repeat(max - 1)}`) },
  ).filter((s) => s.length <= max);
const version = fc.tuple(chars("vV", 1, 1), chars("0123456789", 1, 2), fc.constantFrom("", ".1", "-rc1", "_b2", ".0.3")).map(([a, b, c]) => `${a}${b}${c}`);
const headerName = fc.tuple(fc.constantFrom("x-", "X-"), chars(`${lower}-`, 1, 12), chars(lower, 1, 1)).map(([a, b, c]) => `${a}${b}${c}`);
/** Header values every platform matches literally: printable ASCII without quotes, backslashes or ALB's wildcards. */
const headerValue = chars(`${lower}ABC0123456789-_.:/ =`, 1, 24).filter((v) => v.trim() === v && v.length > 0);
const match = fc.record({ type: fc.constantFrom("header", "cookie"), name: headerName, value: headerValue });

interface Traffic {
  canary: boolean;
  weight: number;
  override?: { enabled: boolean; header: string; value: string };
  segments: Array<{ name: string; match: { type: string; name: string; value: string }; weight: number }>;
  stickiness?: { enabled: boolean; duration: number; hashKey: { type: string; name: string } };
  mirror: number;
}

function traffic(p: Platform): fc.Arbitrary<Traffic> {
  const segments = p === "linkerd" || p === "gcp" ? 0 : p === "gateway-api" ? 14 : 6;
  return fc
    .record({
      canary: fc.boolean(),
      weight: fc.integer({ min: 0, max: 100 }),
      override: p === "linkerd" ? fc.constant(undefined) : fc.option(fc.record({ enabled: fc.boolean(), header: headerName, value: headerValue }), { nil: undefined }),
      segments: fc.uniqueArray(fc.record({ name: dnsLabel(20), match, weight: fc.integer({ min: 0, max: 100 }) }), { maxLength: segments, selector: (s) => s.name }),
      stickiness:
        p === "aws" || p === "istio"
          ? fc.option(fc.record({ enabled: fc.boolean(), duration: fc.integer({ min: 1, max: 604800 }), hashKey: fc.record({ type: fc.constantFrom("header", "cookie"), name: headerName }) }), { nil: undefined })
          : fc.constant(undefined),
      mirror: p === "istio" || p === "gateway-api" ? fc.integer({ min: 0, max: 100 }) : fc.constant(0),
    })
    .map((t) => ({ ...t, segments: t.segments.filter((s) => s.name !== "default" && s.name !== "override"), weight: t.canary ? t.weight : 0, mirror: t.canary ? t.mirror : 0 }));
}

const quantityPair = fc.tuple(fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 0, max: 4000 })).map(([req, extra]) => [`${req}m`, `${req + extra}m`]);
const memoryPair = fc.tuple(fc.integer({ min: 16, max: 4096 }), fc.integer({ min: 0, max: 4096 })).map(([req, extra]) => [`${req}Mi`, `${req + extra}Mi`]);
const workloadBlock = fc.record({
  namespace: dnsLabel(20),
  port: fc.integer({ min: 1, max: 65535 }),
  targetPort: fc.integer({ min: 1, max: 65535 }),
  replicas: fc.integer({ min: 1, max: 1000 }),
  healthPath: fc.constantFrom("/health", "/healthz", "/-/ready"),
  resources: fc.tuple(quantityPair, memoryPair).map(([cpu, mem]) => ({ requests: { cpu: cpu[0], memory: mem[0] }, limits: { cpu: cpu[1], memory: mem[1] } })),
});

const hex = (n: number) => chars("0123456789abcdef", n, n);
const awsBlock = (rules: number) =>
  fc
    .record({
      listener: fc.boolean(),
      priority: fc.integer({ min: 1, max: 50000 - rules + 1 }),
      pathPatterns: fc.uniqueArray(fc.constantFrom("/*", "/api/*", "/v?/*", "/checkout", "/a-b_c.d~$@:+"), { minLength: 1, maxLength: 2 }),
      hostHeaders: fc.uniqueArray(fc.constantFrom("shop.example.com", "*.example.com", "api-1.example.org"), { maxLength: 2 }),
      tags: fc.dictionary(chars(`${lower}-_.:/=+@`, 1, 20).filter((k) => !k.startsWith("aws:")), chars(`${lower} 0123456789`, 0, 30)),
      id: hex(17),
    })
    // A cookie segment's pattern adds 2 wildcards to a rule, and ALB allows 5.
    .filter((b) => [...b.pathPatterns, ...b.hostHeaders].join("").replace(/[^*?]/g, "").length <= 3)
    .map((b) => ({
      vpcId: `vpc-${b.id}`,
      ...(b.listener ? { listenerArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/${b.id}/${b.id.slice(0, 16)}` } : { subnetIds: [`subnet-${b.id}`, `subnet-${b.id.slice(1)}0`] }),
      priority: b.priority,
      pathPatterns: b.pathPatterns,
      ...(b.hostHeaders.length > 0 ? { hostHeaders: b.hostHeaders } : {}),
      tags: b.tags,
    }));

/** A valid config of `p`: the shared keys, the platform block and a monitoring block. */
function config(p: Platform): fc.Arbitrary<Config> {
  const maxService = p === "gcp" ? 40 : p === "linkerd" || p === "gateway-api" ? 56 : 63;
  return fc
    .record({ service: dnsLabel(maxService), versions: fc.uniqueArray(version, { minLength: 2, maxLength: 2, selector: (v) => v.toLowerCase().replace(/[^a-z0-9]+/g, "-") }), t: traffic(p), workload: workloadBlock, gcpCpu: fc.constantFrom(["1", "512Mi"], ["2", "8Gi"], ["4", "2Gi"], ["8", "32Gi"]) })
    .chain(({ service, versions, t, workload, gcpCpu }) => {
      const rules = (t.override?.enabled !== false && p !== "linkerd" ? 1 : 0) + t.segments.length + 1;
      const block: fc.Arbitrary<[string, unknown] | undefined> =
        p === "aws"
          ? awsBlock(rules).map((b) => ["canary:aws", b])
          : p === "istio"
            ? fc.constant(["canary:istio", workload])
            : p === "linkerd"
              ? fc.constant(["canary:linkerd", workload])
              : p === "gateway-api"
                ? fc.constantFrom(["public", "gateways"], ["internal.gw", "infra"]).map(([name, namespace]) => ["canary:gateway", { ...workload, gateway: { name, namespace }, hostnames: ["shop.example.com"] }])
                : fc.constant(["canary:gcp", { project: "shop-prod-123", region: "europe-west1", cpu: gcpCpu[0], memory: gcpCpu[1] }]);
      return block.map((b) => {
        const c: Config = {
          "canary:platform": p,
          "canary:service": service,
          "canary:stable": { version: versions[0], image: `registry.example.com/${service}:${versions[0]}` },
          "canary:weight": t.weight,
          "canary:segments": t.segments,
          "canary:mirror": t.mirror,
          "canary:monitoring": { window: "1m", scrape: { interval: "15s" } },
        };
        if (t.canary) c["canary:canary"] = { version: versions[1], image: `registry.example.com/${service}:${versions[1]}` };
        if (t.override) c["canary:override"] = t.override;
        if (t.stickiness) c["canary:stickiness"] = t.stickiness;
        if (b) c[b[0]] = b[1];
        return c;
      });
    });
}

// ------------------------------------------------------------------ independent limit checks

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CUSTOM_RESOURCES = /^kubernetes:(networking\.istio\.io|gateway\.networking\.k8s\.io|split\.smi-spec\.io|monitoring\.coreos\.com)\//;

/** What the registered resources break, checked against the platforms' documented limits. */
function limitViolations(registered: readonly Registered[]): string[] {
  const out: string[] = [];
  for (const r of registered) {
    const at = `${r.type} ${r.name}`;
    if (CUSTOM_RESOURCES.test(r.type)) {
      for (const e of crdErrors({ apiVersion: r.inputs.apiVersion, kind: r.inputs.kind, metadata: r.inputs.metadata, spec: r.inputs.spec })) out.push(`${at}: ${e}`);
    }
    if ((r.type === "kubernetes:apps/v1:Deployment" || r.type === "kubernetes:core/v1:Service") && !DNS_LABEL.test(r.inputs.metadata.name)) out.push(`${at}: name ${r.inputs.metadata.name} is not a DNS label`);
    if (r.type === "aws:lb/listenerRule:ListenerRule") {
      const conditions = r.inputs.conditions as Array<Record<string, { values: string[]; httpHeaderName?: string }>>;
      const values = conditions.flatMap((c) => Object.values(c)[0]!.values);
      if (r.inputs.priority < 1 || r.inputs.priority > 50000) out.push(`${at}: priority ${r.inputs.priority}`);
      if (values.length > 5) out.push(`${at}: ${values.length} condition values`);
      if (values.join("").replace(/[^*?]/g, "").length > 5) out.push(`${at}: more than 5 wildcards`);
      for (const c of conditions) if (Object.values(c)[0]!.values.length > 3) out.push(`${at}: more than 3 values in a condition`);
      for (const v of values) if (v.length > 128 || /[^\x20-\x7e]/.test(v)) out.push(`${at}: value ${JSON.stringify(v)}`);
      for (const c of conditions) {
        const name = c.httpHeader?.httpHeaderName;
        if (name !== undefined && (name.length > 40 || name.toLowerCase() === "host")) out.push(`${at}: header name ${name}`);
        if (c.httpHeader && c.httpHeader.values.some((v) => /[*?]/.test(v) && name !== "Cookie")) out.push(`${at}: wildcard in an exact header value`);
      }
    }
    if (r.type === "aws:lb/targetGroup:TargetGroup" && (r.inputs.name.length > 32 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(r.inputs.name))) out.push(`${at}: target group name ${r.inputs.name}`);
    if (r.type.startsWith("aws:") && r.inputs.tags) {
      for (const k of Object.keys(r.inputs.tags)) if (k.length > 128 || k.toLowerCase().startsWith("aws:")) out.push(`${at}: tag key ${k}`);
    }
    if (r.type === "gcp:cloudrunv2/service:Service") {
      const service: string = r.inputs.name;
      const revision: string = r.inputs.template.revision;
      if (!DNS_LABEL.test(revision) || !revision.startsWith(`${service}-`)) out.push(`${at}: revision ${revision}`);
      for (const t of r.inputs.traffics as Array<{ tag?: string; revision: string }>) {
        if (t.tag && t.tag.length + service.length > 46) out.push(`${at}: tag ${t.tag} with service ${service} over 46`);
        if (!DNS_LABEL.test(t.revision)) out.push(`${at}: traffic revision ${t.revision}`);
      }
    }
  }
  return out;
}

async function deploy(c: Config): Promise<Registered[]> {
  resetRegistrations();
  setConfig(c);
  program();
  return registrations();
}

// ------------------------------------------------------------------ mutations the platforms refuse

/** A change to a valid config that the platform refuses, and the key the refusal must name. */
interface Mutation {
  readonly what: string;
  readonly key: string;
  apply(c: Config): Config;
}

const withBlock = (key: string, change: (b: Record<string, unknown>) => Record<string, unknown>) => (c: Config) => ({ ...c, [key]: change({ ...(c[key] as Record<string, unknown>) }) });
const addSegment = (s: unknown) => (c: Config) => ({ ...c, "canary:segments": [...(c["canary:segments"] as unknown[]), s] });
const blockKey = (p: Platform) => (p === "gateway-api" ? "canary:gateway" : `canary:${p}`);

function mutations(p: Platform): Mutation[] {
  const common: Mutation[] = [
    { what: "weight above 100", key: "canary:weight", apply: (c) => ({ ...c, "canary:canary": { version: "zz9", image: "i:z" }, "canary:weight": 101 }) },
    { what: "fractional weight", key: "canary:weight", apply: (c) => ({ ...c, "canary:canary": { version: "zz9", image: "i:z" }, "canary:weight": 2.5 }) },
    { what: "a service in capitals", key: "canary:service", apply: (c) => ({ ...c, "canary:service": "Checkout" }) },
    { what: "a version with a space", key: "canary:stable.version", apply: (c) => ({ ...c, "canary:stable": { version: "v 1", image: "i:1" } }) },
    { what: "a version with a lone surrogate", key: "canary:stable.version", apply: (c) => ({ ...c, "canary:stable": { version: "v1\ud800", image: "i:1" } }) },
    { what: "a version with U+2028", key: "canary:stable.version", apply: (c) => ({ ...c, "canary:stable": { version: "v1\u2028", image: "i:1" } }) },
    { what: "a version Grafana interpolates", key: "canary:stable.version", apply: (c) => ({ ...c, "canary:stable": { version: "v$x", image: "i:1" } }) },
    { what: "a stickiness duration of 0", key: "canary:stickiness.duration", apply: (c) => ({ ...c, "canary:stickiness": { duration: 0 } }) },
    { what: "a misspelt key", key: "canary:wieght", apply: (c) => ({ ...c, "canary:wieght": 5 }) },
    { what: "a reserved Prometheus label", key: "canary:monitoring.metrics.versionLabel", apply: (c) => ({ ...c, "canary:monitoring": { metrics: { versionLabel: "__name__" } } }) },
    { what: "a window under two scrape intervals", key: "canary:monitoring.window", apply: (c) => ({ ...c, "canary:monitoring": { window: "1m", scrape: { interval: "45s" } } }) },
    { what: "a header value with a quote", key: "canary:override.value", apply: (c) => ({ ...c, "canary:override": { value: 'a"b' } }) },
  ];
  const segmentsSupported = p !== "linkerd" && p !== "gcp";
  if (segmentsSupported) {
    common.push(
      { what: "a segment named default", key: "canary:segments[", apply: addSegment({ name: "default", match: { type: "header", name: "x-d", value: "1" }, weight: 5 }) },
      { what: "a segment named override", key: "canary:segments[", apply: addSegment({ name: "override", match: { type: "header", name: "x-d", value: "1" }, weight: 5 }) },
      { what: "a segment weight of 150", key: "canary:segments[", apply: addSegment({ name: "zz-big", match: { type: "header", name: "x-d", value: "1" }, weight: 150 }) },
    );
  } else {
    common.push({ what: "a segment on a platform without header routing", key: "canary:segments", apply: addSegment({ name: "zz-beta", match: { type: "cookie", name: "beta", value: "1" }, weight: 5 }) });
  }
  const k8s: Mutation[] = [
    { what: "a CPU request above its limit", key: `${blockKey(p)}.resources.requests.cpu`, apply: withBlock(blockKey(p), (b) => ({ ...b, resources: { requests: { cpu: "2", memory: "1Mi" }, limits: { cpu: "1", memory: "1Mi" } } })) },
    { what: "a memory request above its limit", key: `${blockKey(p)}.resources.requests.memory`, apply: withBlock(blockKey(p), (b) => ({ ...b, resources: { requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "1", memory: "1Gi" } } })) },
    { what: "zero replicas", key: `${blockKey(p)}.replicas`, apply: withBlock(blockKey(p), (b) => ({ ...b, replicas: 0 })) },
    { what: "a namespace with an underscore", key: `${blockKey(p)}.namespace`, apply: withBlock(blockKey(p), (b) => ({ ...b, namespace: "a_b" })) },
  ];
  switch (p) {
    case "aws":
      return [
        ...common,
        { what: "a segment header over 40 characters", key: "canary:segments[", apply: addSegment({ name: "zz-long", match: { type: "header", name: `x-${"h".repeat(40)}`, value: "1" }, weight: 5 }) },
        { what: "a segment on the Host header", key: "canary:segments[", apply: addSegment({ name: "zz-host", match: { type: "header", name: "Host", value: "a.example.com" }, weight: 5 }) },
        { what: "a wildcard in a segment value", key: "canary:segments[", apply: addSegment({ name: "zz-wild", match: { type: "header", name: "x-w", value: "a*" }, weight: 5 }) },
        { what: "a cookie pattern over 128 characters", key: "canary:segments[", apply: addSegment({ name: "zz-cookie", match: { type: "cookie", name: "c", value: "v".repeat(126) }, weight: 5 }) },
        {
          what: "a priority at 50000 with two rules or more",
          key: "canary:aws.priority",
          apply: (c) => withBlock("canary:aws", (b) => ({ ...b, priority: 50000 }))(addSegment({ name: "zz-seg", match: { type: "header", name: "x-z", value: "1" }, weight: 5 })(c)),
        },
        { what: "a non-ASCII path pattern", key: "canary:aws.pathPatterns[0]", apply: withBlock("canary:aws", (b) => ({ ...b, pathPatterns: ["/é"] })) },
        { what: "a tag key with aws:", key: "canary:aws.tags", apply: withBlock("canary:aws", (b) => ({ ...b, tags: { "aws:x": "1" } })) },
        { what: "a target-group ARN as the listener", key: "canary:aws.listenerArn", apply: withBlock("canary:aws", (b) => ({ vpcId: b.vpcId, listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/50dc6c495c0c9188" })) },
        { what: "a health check timeout equal to the interval", key: "canary:aws.healthCheck.timeout", apply: withBlock("canary:aws", (b) => ({ ...b, healthCheck: { interval: 10, timeout: 10 } })) },
        { what: "a mirror", key: "canary:mirror", apply: (c) => ({ ...c, "canary:canary": { version: "zz9", image: "i:z" }, "canary:mirror": 5 }) },
      ];
    case "istio":
      return [...common, ...k8s, { what: "an outlier interval of 0s", key: "canary:istio.outlierDetection.interval", apply: withBlock("canary:istio", (b) => ({ ...b, outlierDetection: { interval: "0s" } })) }];
    case "linkerd":
      return [
        ...common,
        ...k8s,
        { what: "a service too long for the canary Service", key: "canary:service", apply: (c) => ({ ...c, "canary:service": `s${"x".repeat(56)}` }) },
        { what: "a header override", key: "canary:override", apply: (c) => ({ ...c, "canary:override": { enabled: true } }) },
      ];
    case "gateway-api":
      return [
        ...common,
        ...k8s,
        { what: "a service too long for the canary Service", key: "canary:service", apply: (c) => ({ ...c, "canary:service": `s${"x".repeat(56)}` }) },
        {
          what: "more segments than an HTTPRoute has rules",
          key: "canary:segments",
          apply: (c) => ({ ...c, "canary:segments": Array.from({ length: 16 }, (_, i) => ({ name: `s${i}`, match: { type: "header", name: "x-s", value: String(i) }, weight: 1 })) }),
        },
        { what: "stickiness", key: "canary:stickiness", apply: (c) => ({ ...c, "canary:stickiness": { enabled: true } }) },
      ];
    case "gcp":
      return [
        ...common,
        { what: "a service over 40 characters", key: "canary:service", apply: (c) => ({ ...c, "canary:service": `s${"x".repeat(40)}` }) },
        { what: "8Gi of memory with 1 CPU", key: "canary:gcp.memory", apply: withBlock("canary:gcp", (b) => ({ ...b, cpu: "1", memory: "8Gi" })) },
        { what: "half a CPU", key: "canary:gcp.cpu", apply: withBlock("canary:gcp", (b) => ({ ...b, cpu: "500m" })) },
        { what: "more minimum than maximum instances", key: "canary:gcp.minInstances", apply: withBlock("canary:gcp", (b) => ({ ...b, minInstances: 5, maxInstances: 2 })) },
        { what: "stickiness", key: "canary:stickiness", apply: (c) => ({ ...c, "canary:stickiness": { enabled: true } }) },
      ];
  }
}

describe("property: random configs per platform, rendered under mocks", function () {
  this.timeout(60_000);
  for (const p of PLATFORMS) {
    describe(p, () => {
      it(`${RUNS.valid} random valid configs deploy within the platform's limits (CRDs with CEL rules, ALB, names)`, async () => {
        await fc.assert(
          fc.asyncProperty(config(p), async (c) => {
            const registered = await deploy(c);
            assert.ok(registered.length > 0);
            assert.deepEqual(limitViolations(registered), []);
          }),
          { numRuns: RUNS.valid },
        );
      });

      it(`every refused mutation, each on ${RUNS.perMutation} random valid configs, names the mutated key and registers nothing`, async () => {
        for (const m of mutations(p)) {
          await fc.assert(
          fc.asyncProperty(config(p), async (c) => {
            resetRegistrations();
            setConfig(m.apply(c));
            let error: unknown;
            try {
              program();
            } catch (e) {
              error = e;
            }
            assert.ok(error instanceof CanaryConfigError, `${m.what}: expected CanaryConfigError, got ${String(error)}`);
            const lines = error.message.split("\n");
            assert.ok(
              lines.some((l) => l.startsWith(m.key)),
              `${m.what}: no problem names ${m.key}:\n${error.message}`,
            );
            assert.deepEqual((await registrations()).map((r) => `${r.type} ${r.name}`), [], m.what);
          }),
          { numRuns: RUNS.perMutation },
          );
        }
      });
    });
  }
});
