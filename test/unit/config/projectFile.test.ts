import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { parseConfig } from "../../../infra/config";
import { commonShape } from "../../../infra/schema";
import { ROOT, stackConfig } from "../../helpers/stackConfig";

interface ProjectFile {
  name: string;
  runtime: { name: string; options?: Record<string, unknown> };
  main: string;
  config: Record<string, { value?: unknown; type?: unknown; default?: unknown; description?: string }>;
}

const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as ProjectFile;

describe("Pulumi.yaml", () => {
  it("names the project, the TypeScript runtime and the program", () => {
    assert.equal(project.name, "pulumi-canary");
    assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true } });
    assert.equal(project.main, "infra/index.ts");
    assert.ok(fs.existsSync(path.join(ROOT, project.main)));
  });

  it("declares canary keys the way Pulumi accepts for another namespace: a value and a description, no type or default", () => {
    // Pulumi refuses `type` and `default` on keys outside the project's namespace
    // ("Configuration key '...' is not namespaced by the project and should not define a type").
    for (const [key, decl] of Object.entries(project.config)) {
      assert.ok(key.startsWith("canary:"), key);
      assert.deepEqual(Object.keys(decl).sort(), ["description", "value"], key);
    }
  });

  it("declares exactly the schema's defaults, so the file and the code cannot disagree", () => {
    const defaults = z.object(commonShape).parse({ service: "x", stable: { version: "v1", image: "i" } });
    const declared = Object.fromEntries(Object.entries(project.config).map(([k, d]) => [k.slice("canary:".length), d.value]));
    assert.deepEqual(Object.keys(declared).sort(), ["mirror", "segments", "stickiness", "weight"]);
    for (const [key, value] of Object.entries(declared)) {
      assert.deepEqual(value, defaults[key as keyof typeof defaults], key);
    }
  });
});

describe("Pulumi.dev.yaml", () => {
  it("is a valid, complete aws stack with a canary at 5%, two segments and stickiness", () => {
    const c = parseConfig(stackConfig("dev"));
    assert.equal(c.platform, "aws");
    assert.equal(c.service, "checkout");
    assert.equal(c.weight, 5);
    assert.deepEqual(c.traffic.segments.map((s) => [s.name, s.match.kind, s.weight]), [
      ["employees", "header", 100],
      ["beta", "cookie", 50],
    ]);
    assert.equal(c.traffic.stickiness.enabled, true);
    assert.deepEqual(c.stable, { version: "v2.4.1", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:v2.4.1" });
    assert.deepEqual(c.canary, { version: "v2.5.0", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:v2.5.0" });
  });
});
