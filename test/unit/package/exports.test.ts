/**
 * The npm package's surface: the exports map points at the compiled form of real entry modules
 * that export what the docs promise, the version is semver and in the changelog, and the
 * program in infra/ uses the components only through those entry modules.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "../../..");
interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  main: string;
  types: string;
  bin: Record<string, string>;
  files: string[];
  exports: Record<string, string | { types: string; default: string }>;
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
}
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as PackageJson;

/** The TypeScript source a compiled `./bin/…js` path is built from (tsconfig.build.json: rootDir ".", outDir "bin"). */
function sourceOf(compiled: string): string {
  const m = /^\.\/bin\/(.+)\.(js|d\.ts)$/.exec(compiled);
  assert.ok(m, `${compiled} is in ./bin`);
  return path.join(ROOT, `${m[1]}.ts`);
}

const entries = Object.entries(pkg.exports).filter((e): e is [string, { types: string; default: string }] => typeof e[1] !== "string");

/** What each entry point must export (a sample that pins what docs/components.md promises). */
const PROMISED: Record<string, readonly string[]> = {
  ".": ["AlbCanary", "IstioCanary", "LinkerdCanary", "GatewayCanary", "CloudRunCanary", "CanaryMonitoring", "splitWeights", "buildRoutes", "MatchKind", "CAPABILITIES"],
  "./routing": ["splitWeights", "scaleSplit", "SCALES", "buildRoutes", "capabilitiesOf"],
  "./aws": ["AlbCanary", "renderListenerRules", "AlbProtocol"],
  "./istio": ["IstioCanary", "renderVirtualService", "renderDestinationRule"],
  "./linkerd": ["LinkerdCanary", "renderTrafficSplit"],
  "./gateway": ["GatewayCanary", "renderHttpRoute"],
  "./gcp": ["CloudRunCanary", "renderTraffic", "revisionNames", "CloudRunIngress"],
  "./monitoring": ["CanaryMonitoring", "buildRuleGroups", "buildDashboard", "LabelOperator"],
  "./kubernetes": ["renderDeployment", "renderService", "DEFAULT_RESOURCES"],
  "./validation": ["ComponentArgsError", "Checks", "dnsLabel", "intRange"],
  "./automation": ["runRollout", "parsePlan", "createTarget", "transition", "FileRecordStore", "PulumiConfigRecordStore"],
  "./judge": ["Judge", "parseJudgeConfig", "PrometheusProvider"],
};

describe("npm package", () => {
  it("is public, semver-versioned, and its version heads the changelog", () => {
    assert.equal(pkg.private, undefined);
    assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
    const first = /^## (\S+)$/m.exec(fs.readFileSync(path.join(ROOT, "CHANGELOG.md"), "utf8"));
    assert.equal(first?.[1], pkg.version);
    assert.match(pkg.devDependencies.typescript!, /^[~^]?5\./, "typescript stays 5.x");
  });

  it("versions the policy pack with the package (the pack reports its package.json version)", () => {
    const policy = JSON.parse(fs.readFileSync(path.join(ROOT, "policy/package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };
    assert.equal(policy.version, pkg.version);
    assert.equal(policy.dependencies["@pulumi/policy"], pkg.devDependencies["@pulumi/policy"]);
  });

  it("maps every entry point to the compiled JS and declarations of an existing source module", () => {
    assert.deepEqual(entries.map(([k]) => k), Object.keys(PROMISED));
    for (const [key, target] of entries) {
      assert.equal(sourceOf(target.types), sourceOf(target.default), key);
      assert.equal(target.types.replace(/\.d\.ts$/, ".js"), target.default, key);
      assert.ok(fs.existsSync(sourceOf(target.default)), `${key}: ${path.relative(ROOT, sourceOf(target.default))} exists`);
    }
    assert.equal(pkg.types, (pkg.exports["."] as { types: string }).types);
    assert.equal(pkg.exports["./package.json"], "./package.json");
    assert.equal(pkg.scripts.build, "tsc -p tsconfig.build.json");
    assert.ok(["bin/**/*.js", "bin/**/*.d.ts", "schema.json", "PulumiPlugin.yaml", "CHANGELOG.md"].every((f) => pkg.files.includes(f)));
  });

  it("ships the canary command compiled, and keeps the provider as main for the Pulumi plugin host", () => {
    assert.equal(sourceOf(`./${pkg.bin.canary}`), path.join(ROOT, "automation/cli/index.ts"));
    assert.equal(fs.readFileSync(path.join(ROOT, "automation/cli/index.ts"), "utf8").split("\n")[0], "#!/usr/bin/env node");
    assert.equal(pkg.main, "provider/index.ts");
    assert.ok(fs.existsSync(path.join(ROOT, pkg.main)));
  });

  for (const [key, names] of Object.entries(PROMISED)) {
    it(`${key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`} exports ${names.join(", ")}`, () => {
      const target = pkg.exports[key] as { default: string };
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(sourceOf(target.default)) as Record<string, unknown>;
      assert.deepEqual(names.filter((n) => !(n in mod)), []);
    });
  }

  it("the program in infra/ imports the components only through the package's entry points", () => {
    const entrySources = new Set(entries.map(([, t]) => sourceOf(t.default)));
    const offenders: string[] = [];
    const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
    for (const file of walk(path.join(ROOT, "infra"))) {
      for (const m of fs.readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
        const target = path.resolve(path.dirname(file), m[1]!);
        if (!target.startsWith(path.join(ROOT, "components"))) continue;
        const source = fs.existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, "index.ts");
        if (!entrySources.has(source)) offenders.push(`${path.relative(ROOT, file)}: ${m[1]}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});
