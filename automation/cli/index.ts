#!/usr/bin/env node
/**
 * `canary`: the rollout driver's command line. One file per command (rollout.ts, control.ts,
 * status.ts, history.ts, plan.ts, wave.ts); each asks the backend of `--target` (automation/backends) for the target, the
 * record store and their defaults.
 *
 *   canary plan --check --stack prod [--plan plan.yaml]
 *   canary rollout --stack prod --version v2.5.0 --image registry/app:v2.5.0 [--plan plan.yaml]
 *   canary status  --stack prod [--watch] [--json]
 *   canary history --stack prod [--json]
 *   canary report  --stack prod [--rollout <id>] [--out report.html]
 *   canary pause|resume|freeze|unfreeze|promote [--full]|abort [--gradual]|approve|retry --stack prod
 *   canary wave run|status|abort|pause|resume|approve --wave wave.yaml
 *
 * Exit codes (see {@link EXIT}): 0 promoted (or a dry run completed, or already stable), 1 rolled
 * back, 2 invalid input (nothing was changed), 3 infrastructure error, 4 the rollback itself
 * failed (the target may still send traffic to the canary: a human must look), 5 paused.
 */
import { Command, CommanderError } from "commander";
import { ControlVerb } from "../state";
import { control, ControlFlags } from "./control";
import { EXIT, exitCodeOf } from "./exit";
import { CommandDeps, CommonFlags, DEFAULT_DEPS, withCommonFlags } from "./flags";
import { history, report, ReportFlags } from "./history";
import { planCheck, PlanFlags } from "./plan";
import { rollout, RolloutFlags } from "./rollout";
import { status } from "./status";
import { waveControl, WaveControlFlags, WaveFlags, waveRun, waveStatus } from "./wave";
import { WaveControlVerb } from "../wave/record";

/** Builds the command line (exported for tests and embedding). */
export function buildProgram(setExit: (code: number) => void = (c) => (process.exitCode = c), deps: CommandDeps = DEFAULT_DEPS): Command {
  const program = new Command("canary").description("Canary rollouts with automatic rollback, driven from Pulumi stack config.").exitOverride().showHelpAfterError();
  withCommonFlags(
    program
      .command("rollout")
      .description("roll a new version out through the plan's steps; exit 0 promoted (or already stable), 1 rolled back, 2 invalid input, 3 infrastructure error, 4 rollback failed, 5 paused")
      .requiredOption("--version <version>", "the canary's version label")
      .requiredOption("--image <image>", "the canary's container image")
      .option("--plan <file>", "the rollout plan (YAML); defaults to 5 → 25 → 50 → 100")
      .option("--dry-run", "print every action without applying any")
      .option("--service <name>", "the service name in notifications and metrics; defaults to the plan's analysis.metrics.selectors.service, else the stack")
      .option("--metrics-port <port>", "serve the driver's own metrics at http://127.0.0.1:<port>/metrics (0: a free port, reported)")
      .option("--textfile-dir <dir>", "write the driver's metrics to <dir>/canary_rollout.prom for node-exporter's textfile collector"),
  ).action(async (o: RolloutFlags) => {
    setExit(await rollout(o, undefined, deps));
  });
  withCommonFlags(
    program
      .command("plan")
      .description("check a plan against the current traffic before a rollout: the tick against the scrape interval, and per step the time to promote a good canary and to detect a 2× regression; exit 0 fine, 2 a step cannot decide")
      .requiredOption("--check", "run the pre-flight check (the only mode)")
      .option("--plan <file>", "the rollout plan (YAML); defaults to 5 → 25 → 50 → 100")
      .option("--version <version>", "the canary's version label (the plan's analysis.metrics.canary otherwise)"),
  ).action(async (o: PlanFlags) => {
    setExit(await planCheck(o, deps));
  });
  withCommonFlags(program.command("status").description("show the rollout record").option("-w, --watch", "keep showing it until the rollout ends")).action(async (o: CommonFlags & { watch?: boolean }) => {
    setExit(await status(o, deps));
  });
  withCommonFlags(program.command("history").description("list past rollouts: version, start, end, outcome, trigger, duration, who").option("--limit <n>", "the newest n only")).action(async (o: CommonFlags & { limit?: string }) => {
    setExit(await history(o, deps));
  });
  withCommonFlags(
    program
      .command("report")
      .description("write a rollout's HTML report (self-contained: charts, markers, the verdict's evidence); defaults to the newest rollout")
      .option("--rollout <id>", "the rollout (see `canary history`)")
      .option("--out <file>", "the report file; defaults to report-<rollout>.html in the current directory")
      .option("--plan <file>", "the rollout's plan: its Prometheus settings for the raw series, its judge's limits")
      .option("--service <name>", "the service name, for a rollout not in the history"),
  ).action(async (o: ReportFlags) => {
    setExit(await report(o, deps));
  });
  const verbs: [ControlVerb | "retry", string, (c: Command) => Command][] = [
    ["promote", "skip the current step's wait (the next step follows); --full: promote now, skipping the remaining steps", (c) => c.option("--full", "promote now")],
    ["abort", "roll back now (restores the snapshot); --gradual steps the weight down through the plan's steps first", (c) => c.option("--gradual", "step the weight down before restoring")],
    ["pause", "hold the current weight (still judging: a failing canary still rolls back)", (c) => c],
    ["resume", "continue a paused rollout", (c) => c],
    ["freeze", "hold the current weight with no rollback at all (e.g. during a database migration)", (c) => c],
    ["unfreeze", "continue a frozen rollout", (c) => c],
    ["approve", "approve a gate of the plan: --step <n> (before judged step n) or --promotion", (c) => c.option("--step <n>", "the step the gate is before").option("--promotion", "the gate before promotion")],
    ["retry", "start a rolled-back rollout again (same version and image)", (c) => c],
  ];
  for (const [verb, description, extra] of verbs) {
    withCommonFlags(
      extra(
        program
          .command(verb)
          .description(`${description}; exit 0 applied, 1 rolled back (a promotion that failed), 2 refused or invalid, 3 no acknowledgement or infrastructure error, 4 rollback failed`)
          .option("--who <user>", "who asks, recorded with the event; defaults to $USER@hostname")
          .option("--reason <text>", "why, recorded with the event")
          .option("--wait <duration>", "how long to wait for a running driver to apply the request", "2m")
          .option("--plan <file>", "the rollout plan (rollback mode and tick for abort of a stopped rollout; the plan for retry)"),
      ),
    ).action(async (o: ControlFlags) => {
      setExit(await control(verb, o, deps));
    });
  }
  const wave = program.command("wave").description("roll a release out across stacks in stages (a wave file); exit codes as for rollout");
  const withWaveFlags = (c: Command): Command =>
    c
      .requiredOption("--wave <file>", "the wave file (YAML)")
      .option("--record <file>", "the wave record; defaults to .canary/waves/<name>.json next to the wave file")
      .option("--version <version>", "the version every stack rolls out unless the wave file names one for it")
      .option("--image <image>", "the image every stack rolls out unless the wave file names one for it")
      .option("--json", "JSON output, one object per line");
  withWaveFlags(wave.command("run").description("run the wave, or continue it after its driver died; exit 0 every stage promoted (or already), 1 stopped or rolled back, 2 invalid input, 3 infrastructure error, 4 a restore failed, 5 paused")).action(
    async (o: WaveFlags) => {
      setExit(await waveRun(o, deps));
    },
  );
  withWaveFlags(wave.command("status").description("show the wave record: each stage, each stack's rollout, the bake, the history")).action(async (o: WaveFlags) => {
    setExit(await waveStatus(o));
  });
  const waveVerbs: [WaveControlVerb, string, (c: Command) => Command][] = [
    ["abort", "fail the wave now: roll the stage in force back and apply onFailure (--all: restore every promoted stage)", (c) => c.option("--all", "restore every promoted stage whatever onFailure says")],
    ["pause", "hold the wave before its next stage (the stage in force goes on)", (c) => c],
    ["resume", "let a paused wave go on", (c) => c],
    ["approve", "open a stage's gate", (c) => c.requiredOption("--stage <name>", "the stage whose gate to open")],
  ];
  for (const [verb, description, extra] of waveVerbs) {
    withWaveFlags(
      extra(
        wave
          .command(verb)
          .description(`${description}; exit 0 applied, 2 refused or invalid, 3 no acknowledgement or infrastructure error, 4 a restore failed`)
          .option("--who <user>", "who asks, recorded with the event; defaults to $USER@hostname")
          .option("--reason <text>", "why, recorded with the event")
          .option("--wait <duration>", "how long to wait for a running wave driver to apply the request", "2m"),
      ),
    ).action(async (o: WaveControlFlags) => {
      setExit(await waveControl(verb, o, deps));
    });
  }
  return program;
}

/** Runs the CLI; resolves with the exit code. `deps` replaces what the commands use from outside their flags. */
export async function main(argv: readonly string[], deps: CommandDeps = DEFAULT_DEPS): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => (code = c), deps);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version" ? 0 : EXIT.invalidInput;
    }
    process.stderr.write(`canary: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    return exitCodeOf(e);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`canary: ${String(e)}\n`);
      process.exit(EXIT.infrastructure);
    },
  );
}
