/**
 * The wave file: defaults, paths resolved against the file's directory, and every refusal naming
 * the field and the value in the project's one format, before anything is contacted.
 */
import * as assert from "node:assert/strict";
import { parsePlan, Plan, PlanError } from "../../../automation/plan";
import { parseWaveFile, validateWave, WaveFile, waveIdentity } from "../../../automation/wave/file";

const PLANS: Record<string, string> = {
  "/repo/plans/canary.yaml": "steps: [{weight: 10}, {weight: 100}]\n",
  "/repo/plans/eu.yaml": "steps: [{weight: 20}, {weight: 100}]\n",
  "/repo/plans/bad.yaml": "steps: [{weight: 120}, {weight: 100}]\ntick: 5\n",
};

/** Plans from the table above; a missing file is refused as the CLI's reader refuses it. */
function readPlan(file: string | undefined): Plan {
  if (file === undefined) return parsePlan("");
  const text = PLANS[file];
  if (text === undefined) throw new PlanError([{ path: "", message: `cannot read: ENOENT` }], file);
  return parsePlan(text, file);
}

const opts = { dir: "/repo", readPlan, source: "wave.yaml" };

const GOOD = `
name: checkout-2-5
version: v2.5.0
image: registry.example.com/checkout:v2.5.0
plan: plans/canary.yaml
onFailure: rollbackAll
bake: 10m
stages:
  - name: us-east
    stacks: [{ name: us-east-1, stack: prod-us-east-1 }]
    bake: 30m
  - name: europe
    gate: true
    stacks:
      - { name: eu-west-1, stack: acme/checkout/prod-eu-west-1, plan: plans/eu.yaml, cwd: ../other }
      - { name: eu-central-1, stack: prod-eu-central-1, image: "registry.example.com/checkout:v2.5.0-eu" }
  - name: sandbox
    stacks: [{ name: local, target: haproxy, sandbox: .sandbox/state.json }]
`;

/** The wave's stacks in short. */
function summary(w: WaveFile) {
  return w.stages.map((s) => ({ name: s.name, bake: s.bakeSeconds, gate: s.gate, stacks: s.stacks.map((k) => ({ name: k.name, where: k.where, version: k.version, image: k.image, plan: k.planFile ?? null, first: k.plan.steps[0].weight })) }));
}

describe("wave file", () => {
  it("fills in the defaults and resolves every path against the file's directory", () => {
    const w = parseWaveFile(GOOD, opts);
    assert.equal(w.name, "checkout-2-5");
    assert.equal(w.onFailure, "rollbackAll");
    assert.equal(w.tickSeconds, 10);
    assert.deepEqual(summary(w), [
      {
        name: "us-east",
        bake: 1800,
        gate: false,
        stacks: [{ name: "us-east-1", where: { target: "pulumi", cwd: "/repo", stack: "prod-us-east-1" }, version: "v2.5.0", image: "registry.example.com/checkout:v2.5.0", plan: "/repo/plans/canary.yaml", first: 10 }],
      },
      {
        name: "europe",
        bake: 600,
        gate: true,
        stacks: [
          { name: "eu-west-1", where: { target: "pulumi", cwd: "/other", stack: "acme/checkout/prod-eu-west-1" }, version: "v2.5.0", image: "registry.example.com/checkout:v2.5.0", plan: "/repo/plans/eu.yaml", first: 20 },
          { name: "eu-central-1", where: { target: "pulumi", cwd: "/repo", stack: "prod-eu-central-1" }, version: "v2.5.0", image: "registry.example.com/checkout:v2.5.0-eu", plan: "/repo/plans/canary.yaml", first: 10 },
        ],
      },
      // The last stage has no bake: nothing comes after it.
      { name: "sandbox", bake: 0, gate: false, stacks: [{ name: "local", where: { target: "haproxy", cwd: "/repo", sandbox: "/repo/.sandbox/state.json" }, version: "v2.5.0", image: "registry.example.com/checkout:v2.5.0", plan: "/repo/plans/canary.yaml", first: 10 }] },
    ]);
  });

  it("--version and --image override the file's top level, not a stack's own", () => {
    const w = parseWaveFile(GOOD, { ...opts, version: "v2.5.1" });
    assert.deepEqual(
      w.stages.flatMap((s) => s.stacks.map((k) => k.version)),
      ["v2.5.1", "v2.5.1", "v2.5.1", "v2.5.1"],
    );
    const images = parseWaveFile(GOOD, { ...opts, image: "r/c:v9" }).stages.flatMap((s) => s.stacks.map((k) => k.image));
    assert.deepEqual(images, ["r/c:v9", "r/c:v9", "r/c:v9", "r/c:v9"]);
  });

  it("defaults: stop, no bake, a 10 s tick, pulumi stacks, the default plan", () => {
    const w = validateWave({ name: "w", version: "v2", image: "app:v2", stages: [{ name: "one", stacks: [{ name: "a", stack: "dev" }] }, { name: "two", stacks: [{ name: "b", stack: "prod" }] }] }, opts);
    assert.deepEqual([w.onFailure, w.tickSeconds, w.stages[0].bakeSeconds, w.stages[0].gate, w.stages[0].stacks[0].where.target, w.stages[0].stacks[0].planFile], ["stop", 10, 0, false, "pulumi", undefined]);
    assert.deepEqual(w.stages[0].stacks[0].plan.steps.map((s) => s.weight), [5, 25, 50, 100]);
  });

  const base = { name: "w", version: "v2", image: "app:v2", stages: [{ name: "one", stacks: [{ name: "a", stack: "dev" }] }] };
  const refusals: [string, unknown, string][] = [
    ["not a map", ["a"], 'must be a map of wave settings, got ["a"]'],
    ["no name", { ...base, name: undefined }, "name: is required"],
    ["a name that is not a DNS label", { ...base, name: "Checkout_2" }, `name: must be a DNS label: 1–63 lowercase letters, digits or '-', starting with a letter and not ending with '-', got "Checkout_2"`],
    ["no stage", { ...base, stages: [] }, "stages: must list at least one stage, got []"],
    ["a stage without stacks", { ...base, stages: [{ name: "one", stacks: [] }] }, "stages[0].stacks: must list at least one stack, got []"],
    ["an unknown key, at its own path", { ...base, stages: [{ name: "one", stacks: [{ name: "a", stack: "dev", stak: "x" }] }] }, "stages[0].stacks[0].stak: unknown key"],
    ["an unknown policy", { ...base, onFailure: "rollback" }, 'onFailure: must be stop or rollbackAll, got "rollback"'],
    ["an unknown target type", { ...base, target: "k8s" }, 'target: must be one of pulumi, haproxy, got "k8s"'],
    ["a bake that is not a duration", { ...base, bake: "-5m" }, 'bake: must be a duration such as 30s, 5m or 1h (or a number of seconds) (or 0 for no bake), got "-5m"'],
    ["a zero tick", { ...base, tick: "0s" }, 'tick: must be a positive duration, got "0s"'],
    ["a version that is not a label value", { ...base, version: "v 2" }, `version: must be 1–63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, got "v 2"`],
    ["a pulumi stack without its stack name", { ...base, stages: [{ name: "one", stacks: [{ name: "a" }] }] }, "stages[0].stacks[0].stack: is required with target pulumi"],
    ["a sandbox stack without its state file", { ...base, target: "haproxy", stages: [{ name: "one", stacks: [{ name: "a" }] }] }, "stages[0].stacks[0].sandbox: is required with target haproxy"],
    ["a field of another target type", { ...base, stages: [{ name: "one", stacks: [{ name: "a", stack: "dev", sandbox: "s.json" }] }] }, 'stages[0].stacks[0].sandbox: is only for target haproxy (this stack\'s target is pulumi), got "s.json"'],
    [
      "two stages of one name",
      { ...base, stages: [{ name: "one", stacks: [{ name: "a", stack: "dev" }] }, { name: "one", stacks: [{ name: "b", stack: "prod" }] }] },
      'stages[1].name: must be unique in the wave (stages[0] has it too), got "one"',
    ],
    [
      "two stacks of one name",
      { ...base, stages: [{ name: "one", stacks: [{ name: "a", stack: "dev" }] }, { name: "two", stacks: [{ name: "a", stack: "prod" }] }] },
      'stages[1].stacks[0].name: must be unique in the wave (stages[0].stacks[0].name has it too), got "a"',
    ],
    [
      "the same stack twice (two drivers on one record)",
      { ...base, stages: [{ name: "one", stacks: [{ name: "a", stack: "dev" }] }, { name: "two", stacks: [{ name: "b", stack: "dev" }] }] },
      'stages[1].stacks[0].stack: names the same stack as stages[0].stacks[0], got "dev"',
    ],
    ["no version anywhere", { ...base, version: undefined }, "stages[0].stacks[0].version: is required (set version at the top of the wave file, on the stack, or pass --version)"],
    [
      "an invalid plan, with the plan's own path and value",
      { ...base, stages: [{ name: "one", stacks: [{ name: "a", stack: "dev", plan: "plans/bad.yaml" }] }] },
      "stages[0].stacks[0].plan: /repo/plans/bad.yaml: steps[0].weight: must be ≤ 100, got 120",
    ],
    ["a shared plan that cannot be read, reported once where it is named", { ...base, plan: "plans/missing.yaml", stages: [{ name: "one", stacks: [{ name: "a", stack: "dev" }, { name: "b", stack: "prod" }] }] }, "plan: /repo/plans/missing.yaml: cannot read: ENOENT"],
  ];
  for (const [name, doc, message] of refusals) {
    it(`refuses ${name}`, () => assert.throws(() => validateWave(doc, opts), { name: "WaveFileError", message: `invalid wave file wave.yaml:\n${message}` }));
  }

  it("lists every problem at once", () => {
    assert.throws(() => validateWave({ ...base, version: undefined, image: undefined, stages: [{ name: "one", stacks: [{ name: "a" }] }] }, opts), {
      message: [
        "invalid wave file wave.yaml:",
        "stages[0].stacks[0].stack: is required with target pulumi",
        "stages[0].stacks[0].version: is required (set version at the top of the wave file, on the stack, or pass --version)",
        "stages[0].stacks[0].image: is required (set image at the top of the wave file, on the stack, or pass --image)",
      ].join("\n"),
    });
  });

  it("refuses text that is not YAML", () => {
    assert.throws(() => parseWaveFile("stages: [", opts), { name: "WaveFileError", message: /^invalid wave file wave.yaml:\nnot valid YAML: / });
  });

  it("is the same wave when only its bakes, gates or policy change; not when a version or a stack does", () => {
    const w = parseWaveFile(GOOD, opts);
    assert.equal(waveIdentity(parseWaveFile(GOOD.replace("bake: 30m", "bake: 1h").replace("onFailure: rollbackAll", "onFailure: stop"), opts)), waveIdentity(w));
    assert.notEqual(waveIdentity(parseWaveFile(GOOD, { ...opts, version: "v2.5.1" })), waveIdentity(w));
    assert.notEqual(waveIdentity(parseWaveFile(GOOD.replace("prod-us-east-1", "prod-us-east-2"), opts)), waveIdentity(w));
  });
});
