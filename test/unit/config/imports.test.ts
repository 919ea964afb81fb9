/**
 * The program and the components import each other in one direction only: no module of infra/
 * or components/ reaches itself again through its imports (type-only imports included, since
 * they still tie the modules' definitions together).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../../helpers/stackConfig";

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

/** The project files a module imports or re-exports (relative specifiers only). */
export function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)].map((m) => m[1]!);
  return specifiers.map((s) => {
    const base = path.resolve(path.dirname(file), s);
    for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(candidate)) return candidate;
    throw new Error(`${file}: cannot resolve ${s}`);
  });
}

/** Every import cycle among `files`, each as the list of files from a module back to itself. */
export function cycles(files: readonly string[]): string[][] {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((d) => files.includes(d))]));
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === "open") found.push([...stack.slice(stack.indexOf(d)), d].map((x) => path.relative(ROOT, x)));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return found;
}

describe("imports", () => {
  const files = [...sources(path.join(ROOT, "infra")), ...sources(path.join(ROOT, "components"))];

  it("infra/ and components/ have no import cycle", () => {
    assert.deepEqual(cycles(files), []);
  });

  it("components/ never import infra/", () => {
    const up = files.filter((f) => f.includes(`${path.sep}components${path.sep}`)).flatMap((f) => importsOf(f).filter((d) => d.includes(`${path.sep}infra${path.sep}`)).map((d) => `${path.relative(ROOT, f)} → ${path.relative(ROOT, d)}`));
    assert.deepEqual(up, []);
  });

  it("finds a cycle when there is one (the two this project had)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cycles-"));
    try {
      fs.writeFileSync(path.join(dir, "settings.ts"), 'import type { Args } from "./canaryMonitoring";\nexport const x = 1;\n');
      fs.writeFileSync(path.join(dir, "canaryMonitoring.ts"), 'import { x } from "./settings";\nexport interface Args { a: typeof x }\n');
      assert.deepEqual(cycles([path.join(dir, "settings.ts"), path.join(dir, "canaryMonitoring.ts")]).length, 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
