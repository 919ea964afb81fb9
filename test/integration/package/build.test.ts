/**
 * The package as npm consumers get it: the declarations build (`tsconfig.build.json`) emits the
 * JS and `.d.ts` of every entry point of the exports map and the `canary` bin, and a strict
 * TypeScript program resolving the package through its exports map (node16 resolution, as Node
 * does) type-checks against those declarations and runs against that JS.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = path.join(__dirname, "../../..");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string; bin: Record<string, string>; exports: Record<string, string | { types: string; default: string }> };

describe("npm package build", function () {
  // Two TypeScript compilations over the AWS, GCP and Kubernetes SDK typings.
  this.timeout(600_000);
  let dir: string;
  let packageDir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-package-"));
    // The package as installed: its package.json, its build output, and its dependencies.
    packageDir = path.join(dir, "pulumi-canary");
    fs.mkdirSync(packageDir);
    fs.copyFileSync(path.join(ROOT, "package.json"), path.join(packageDir, "package.json"));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(packageDir, "node_modules"));
    await run(process.execPath, [TSC, "-p", path.join(ROOT, "tsconfig.build.json"), "--outDir", path.join(packageDir, "bin")], { cwd: ROOT });
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("emits the JS and declarations of every entry point and the canary command", () => {
    const missing: string[] = [];
    for (const target of Object.values(pkg.exports)) {
      for (const file of typeof target === "string" ? [target] : [target.types, target.default]) {
        if (!fs.existsSync(path.join(packageDir, file))) missing.push(file);
      }
    }
    if (!fs.existsSync(path.join(packageDir, pkg.bin.canary!))) missing.push(pkg.bin.canary!);
    assert.deepEqual(missing, []);
  });

  it("a strict node16 TypeScript consumer type-checks and runs through the exports map", async () => {
    const consumer = path.join(dir, "consumer");
    fs.mkdirSync(path.join(consumer, "node_modules"), { recursive: true });
    fs.symlinkSync(packageDir, path.join(consumer, "node_modules", pkg.name));
    fs.writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    fs.writeFileSync(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, module: "node16", moduleResolution: "node16", target: "ES2022", types: [], typeRoots: [path.join(ROOT, "node_modules/@types")], skipLibCheck: true, outDir: "out" }, files: ["index.ts"] }),
    );
    fs.writeFileSync(
      path.join(consumer, "index.ts"),
      [
        'import { IstioCanary, MatchKind, splitWeights, TrafficSpec } from "pulumi-canary";',
        'import { scaleSplit, SCALES } from "pulumi-canary/routing";',
        'import { parsePlan, runRollout } from "pulumi-canary/automation";',
        'import { Judge } from "pulumi-canary/judge";',
        'const traffic: TrafficSpec = { hasCanary: true, canaryWeight: 5, segments: [], stickiness: { enabled: false, durationSeconds: 60, hashKey: { kind: MatchKind.Header, name: "x-user-id" } } };',
        'const split = scaleSplit(splitWeights(traffic.canaryWeight), SCALES.smi);',
        'console.log(JSON.stringify({ split, steps: parsePlan("steps: [{weight: 50}, {weight: 100}]").steps.length, types: [typeof IstioCanary, typeof runRollout, typeof Judge] }));',
      ].join("\n"),
    );
    await run(process.execPath, [TSC, "-p", consumer], { cwd: consumer });
    const { stdout } = await run(process.execPath, [path.join(consumer, "out", "index.js")], { cwd: consumer });
    assert.deepEqual(JSON.parse(stdout), { split: { canary: 50, stable: 950 }, steps: 2, types: ["function", "function", "function"] });
  });
});
