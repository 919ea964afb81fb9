/** Every named error that can reach the command line maps to its exit code through its base class. */
import { note, problem } from "../../../components/validation/problems";
import * as assert from "node:assert/strict";
import { CommanderError } from "commander";
import { JudgeConfigError } from "../../../automation/analysis/judge";
import { ProviderConfigError } from "../../../automation/analysis/prometheus";
import { EXIT, exitCodeOf } from "../../../automation/cli/exit";
import { InfrastructureError, InputError, RollbackFailedError } from "../../../automation/errors";
import { NotifyConfigError } from "../../../automation/notify/config";
import { PlanError } from "../../../automation/plan";
import { RecordConflictError } from "../../../automation/record/types";
import { ControlRefusedError } from "../../../automation/rollout/control";
import { LeaseHeldError, LeaseLostError } from "../../../automation/rollout/lease";
import { RolloutInProgressError } from "../../../automation/rollout/session";
import { IllegalTransitionError, newRecord, RecordError } from "../../../automation/state";
import { UnknownTargetError } from "../../../automation/targets";
import { ConcurrentUpdateRefusedError, RestoreError, TargetError } from "../../../automation/targets/types";

const record = newRecord({ id: "r1", stack: "dev", target: "pulumi", version: "v2", image: "app:v2", steps: [5, 100], at: "t" });
const lease = { holder: "a@h:1", host: "h", pid: 1, acquiredAt: "t", expiresAt: "t" };

describe("exit codes by error base class", () => {
  const cases: [Error, number][] = [
    [new InputError("--wait: must be a duration"), EXIT.invalidInput],
    [new PlanError([note(["tick"], "must be a duration")]), EXIT.invalidInput],
    [new NotifyConfigError("slack[0]: HOOK_URL is not set"), EXIT.invalidInput],
    [new ControlRefusedError("cannot resume from Progressing"), EXIT.invalidInput],
    [new ProviderConfigError([note(["url"], "is required")]), EXIT.invalidInput],
    [new JudgeConfigError([problem(["alpha"], "must be < 1", 2)]), EXIT.invalidInput],
    [new UnknownTargetError("ecs"), EXIT.invalidInput],
    [new CommanderError(1, "commander.missingMandatoryOptionValue", "missing"), EXIT.invalidInput],
    [new TargetError("stack dev: cannot run pulumi up"), EXIT.infrastructure],
    [new ConcurrentUpdateRefusedError("another update"), EXIT.infrastructure],
    [new RecordError("not valid JSON"), EXIT.infrastructure],
    [new RecordConflictError(undefined, 1, "memory"), EXIT.infrastructure],
    [new LeaseHeldError(lease, record, "memory"), EXIT.infrastructure],
    [new LeaseLostError(record, "gone"), EXIT.infrastructure],
    [new RolloutInProgressError(record, "memory"), EXIT.infrastructure],
    [new IllegalTransitionError("Idle", "promote", "cannot promote"), EXIT.infrastructure],
    [new Error("EIO: i/o error"), EXIT.infrastructure],
    [new RestoreError("stack dev: rollback failed"), EXIT.restoreFailed],
  ];
  for (const [e, code] of cases) it(`${e.name} → ${code}`, () => assert.equal(exitCodeOf(e), code));

  it("three bases: invalid input, infrastructure, rollback failed", () => {
    assert.deepEqual([new InputError("x").exitCode, new InfrastructureError("x").exitCode, new RollbackFailedError("x").exitCode], [EXIT.invalidInput, EXIT.infrastructure, EXIT.restoreFailed]);
  });
});
