/**
 * The pipeline examples are valid for the CI systems they target (checked against the systems'
 * published JSON schemas, vendored in test/fixtures/schemas) and do what docs/pipelines.md says:
 * one rollout per stack at a time, OIDC credentials, every exit code of `canary rollout`
 * handled, and the rollout record kept as an artifact.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { ValidateFunction } from "ajv";
import { parse } from "yaml";
import { EXIT } from "../../../automation/cli/exit";

const ROOT = path.join(__dirname, "../../..");
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");
// Both schemas are draft-07 and carry editor keywords (markdownDescription) and formats that
// say nothing about validity; strict mode would refuse them.
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const schema = (file: string): ValidateFunction => ajv.compile(JSON.parse(read(`test/fixtures/schemas/${file}`)) as object);

function errorsOf(validate: ValidateFunction, doc: unknown): string[] {
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

describe("pipeline examples", () => {
  describe("GitHub Actions (examples/github-actions/canary-rollout.yml)", () => {
    const validate = schema("github-workflow.json");
    const text = read("examples/github-actions/canary-rollout.yml");
    const workflow: Doc = parse(text);
    const steps: Doc[] = workflow.jobs.rollout.steps;

    it("is a valid workflow by the published schema", () => {
      assert.deepEqual(errorsOf(validate, workflow), []);
    });

    it("the schema refuses a broken copy (a misspelt key, a cancel-in-progress that is not a boolean)", () => {
      const broken = structuredClone(workflow);
      broken.job = broken.jobs;
      delete broken.jobs;
      assert.notDeepEqual(errorsOf(validate, broken), []);
      const badConcurrency = structuredClone(workflow);
      badConcurrency.concurrency["cancel-in-progress"] = "no";
      assert.notDeepEqual(errorsOf(validate, badConcurrency), []);
    });

    it("runs one rollout per stack, never cancelled half-way", () => {
      assert.deepEqual(workflow.concurrency, { group: "canary-rollout-${{ inputs.stack }}", "cancel-in-progress": false });
    });

    it("gets its credentials through OIDC", () => {
      assert.equal(workflow.permissions["id-token"], "write");
      const uses = steps.map((s) => s.uses).filter(Boolean);
      assert.ok(uses.includes("pulumi/auth-actions@v1"));
      assert.ok(uses.includes("aws-actions/configure-aws-credentials@v4"));
      assert.ok(!/PULUMI_ACCESS_TOKEN|AWS_SECRET_ACCESS_KEY|secrets\./.test(text), "no long-lived secret");
    });

    it("handles every exit code of canary rollout and passes it on", () => {
      const run: string = steps.find((s) => s.id === "rollout").run;
      assert.match(run, /npx canary rollout --stack "\$STACK"/);
      for (const code of Object.values(EXIT)) assert.match(run, new RegExp(`^\\s+${code}\\) echo "::`, "m"), `exit code ${code} is handled`);
      assert.match(run, /exit "\$code"$/m);
    });

    it("uploads the rollout record whatever the outcome", () => {
      const save = steps.find((s) => s.name === "Save the rollout record");
      const upload = steps.find((s) => s.uses === "actions/upload-artifact@v4");
      assert.equal(save.if, "always()");
      assert.match(save.run, /canary status --stack "\$STACK" --json > rollout-record.json/);
      assert.equal(upload.if, "always()");
      assert.deepEqual(upload.with.path.trim().split("\n"), ["rollout-record.json", "rollout-events.jsonl"]);
    });
  });

  describe("GitLab CI (examples/gitlab-ci/.gitlab-ci.yml)", () => {
    const validate = schema("gitlab-ci.json");
    const text = read("examples/gitlab-ci/.gitlab-ci.yml");
    const config: Doc = parse(text);
    const job: Doc = config["canary-rollout"];

    it("is a valid configuration by the published schema", () => {
      assert.deepEqual(errorsOf(validate, config), []);
    });

    it("the schema refuses a broken copy (a misspelt job key, an artifact `when` GitLab does not know)", () => {
      const broken = structuredClone(config);
      broken["canary-rollout"].resource_groups = broken["canary-rollout"].resource_group;
      assert.notDeepEqual(errorsOf(validate, broken), []);
      const badWhen = structuredClone(config);
      badWhen["canary-rollout"].artifacts.when = "sometimes";
      assert.notDeepEqual(errorsOf(validate, badWhen), []);
    });

    it("runs one rollout per stack and is never interrupted by a newer pipeline", () => {
      assert.equal(job.resource_group, "canary-rollout-$STACK");
      assert.equal(job.interruptible, false);
    });

    it("gets its credentials through OIDC", () => {
      assert.deepEqual(Object.keys(job.id_tokens), ["PULUMI_OIDC_TOKEN", "AWS_OIDC_TOKEN"]);
      assert.ok(job.before_script.includes('pulumi login --oidc-token "$PULUMI_OIDC_TOKEN" --oidc-org "$PULUMI_ORG"'));
      assert.ok(!/PULUMI_ACCESS_TOKEN|AWS_SECRET_ACCESS_KEY/.test(text), "no long-lived secret");
    });

    it("fails on every non-zero exit code but a pause, and keeps the record as an artifact", () => {
      assert.ok(job.script.includes("set -o pipefail"), "the exit code survives the pipe into tee");
      assert.deepEqual(job.allow_failure, { exit_codes: [EXIT.paused] });
      assert.ok(job.after_script.some((l: string) => l.includes('canary status --stack "$STACK" --json > rollout-record.json')));
      assert.equal(job.artifacts.when, "always");
      assert.deepEqual(job.artifacts.paths, ["rollout-record.json", "rollout-events.jsonl"]);
    });
  });
});
