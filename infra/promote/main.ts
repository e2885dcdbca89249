/**
 * `npm run promote -- --stack <stack> [--model <name>] <step>`: checks that a release step is legal
 * from the current rollout of one of the stack's models, checks its gates against that model's live
 * metrics in Prometheus, writes the edit into Pulumi.<stack>.yaml, appends an audit line, and
 * prints the `pulumi up` that applies it.
 *
 * Exit codes: 0 written (or the check passed), 1 blocked by a gate, 2 a usage, config or
 * illegal-step error. Nothing is written unless every gate passed or did not apply (a capability
 * the models do not support, see gates.ts), or --force was given.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { StackConfigError } from "../config/load.js";
import { parsePromoteArgs, UsageError, USAGE, type PromoteArgs } from "./args.js";
import {
  appendAudit,
  newEntry,
  newestStepModel,
  readAudit,
  rollbackTarget,
  type AuditEntry,
} from "./audit.js";
import {
  evaluateGates,
  gatesBlock,
  modelSelector,
  verdictBlocks,
  type GateResult,
  type ScalarSource,
} from "./gates.js";
import { PrometheusClient, PrometheusError } from "./prometheus.js";
import {
  readStackConfig,
  readStackFile,
  renderRolloutEdit,
  stackFilePath,
  StackFileError,
  validateStackText,
  writeAtomically,
  type StackFile,
} from "./stack-file.js";
import { describeRollout, gateTable } from "./summary.js";
import {
  activeColourOf,
  IllegalStepError,
  planRollback,
  planStep,
  stepFlag,
  stripUndefined,
  type Plan,
} from "./transitions.js";

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** Where the gates read metrics, and how to name it in the summary. */
export interface MetricsSource {
  readonly source: ScalarSource;
  readonly where: string;
}

const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Prometheus from the environment; without PROMETHEUS_URL every query fails, so every gate is inconclusive. */
function metricsSource(env: NodeJS.ProcessEnv): MetricsSource {
  const url = env.PROMETHEUS_URL;
  if (!url) {
    return {
      where: "PROMETHEUS_URL not set",
      source: {
        scalar: () => Promise.reject(new PrometheusError("PROMETHEUS_URL is not set")),
      },
    };
  }
  const client = new PrometheusClient({
    url,
    ...(env.PROMETHEUS_BEARER_TOKEN ? { bearerToken: env.PROMETHEUS_BEARER_TOKEN } : {}),
  });
  return { where: url, source: client };
}

/** The plan, and for a rollback the id of the step it undoes. */
async function planFor(
  args: PromoteArgs,
  file: StackFile,
  auditPath: string,
): Promise<Plan & { readonly reverts?: string }> {
  const { step } = args;
  const { at } = file.location;
  if (step.kind === "rollback" || step.kind === "recheck") {
    const newest = rollbackTarget(await readAudit(auditPath), {
      stack: args.stack,
      model: file.model,
      defaultModel: file.config.inference.defaultModel,
    });
    if (step.kind === "rollback") {
      return { ...planRollback(file.rollout, newest, auditPath, at), reverts: newest!.id };
    }
    if (newest === undefined) {
      throw new IllegalStepError(
        `no promote step of this stack recorded for ${at} in ${auditPath}: nothing to recheck`,
      );
    }
    if (!isDeepStrictEqual(stripUndefined(file.rollout), stripUndefined(newest.after))) {
      throw new IllegalStepError(
        `${at} is not what the newest recorded step (${newest.step}, ${newest.id}) wrote: it was edited by hand since`,
      );
    }
    return {
      after: file.rollout,
      gates: newest.gateSet ?? undefined,
      note: `the gates of ${newest.step} (${newest.id}, ${newest.at}), measured again now`,
    };
  }
  const { gates } = file.settings.rollout;
  return planStep(file.rollout, step, { ladder: gates.weightLadder, skipLadder: args.skipLadder, at });
}

/** Evaluates the plan's gates (none: nothing to measure) and prints them. */
async function runGates(
  plan: Plan,
  file: StackFile,
  selector: string,
  metrics: () => MetricsSource,
  output: Output,
): Promise<GateResult[]> {
  if (plan.gates === undefined) {
    output.out(`  gates: none (${plan.note})`);
    return [];
  }
  const { source, where } = metrics();
  const { model } = file;
  const { gates } = file.settings.rollout;
  // A switch's gates look at the colour it makes active, before it is (the plan's `after`).
  const idle = plan.gates === "blue-green" ? activeColourOf(plan.after) : undefined;
  const context = {
    model,
    // Only this model's pods: HTTP series have no `model` label, the Service they are scraped through does.
    selector: modelSelector(selector, model, file.config.inference),
    slo: file.config.monitoring.slo,
    gates,
    ...(idle && { idle }),
    // What the stack runs now is what the gates measure (a step's gates, or a recheck's).
    ...(file.rollout.strategy === "canary" && file.rollout.candidate?.weight !== undefined
      ? { canaryWeight: file.rollout.candidate.weight }
      : {}),
  };
  const results = await evaluateGates(plan.gates, context, source);
  output.out(`  gates: ${plan.gates}, window ${gates.window}, ${where} (${plan.note})`);
  for (const line of gateTable(results)) output.out(`    ${line}`);
  const notApplicable = results.filter((r) => r.verdict === "not-applicable").map((r) => r.gate);
  if (notApplicable.length > 0) {
    output.out(`  not applicable to these models (not blocking): ${notApplicable.join(", ")}`);
  }
  return results;
}

/** Writes the validated stack file, then its audit line; a failed audit append restores the file. */
async function writeStep(
  args: PromoteArgs,
  file: StackFile,
  plan: Plan & { readonly reverts?: string },
  results: readonly GateResult[],
  forced: boolean,
  auditPath: string,
  env: NodeJS.ProcessEnv,
): Promise<AuditEntry> {
  const text = renderRolloutEdit(file, plan.after);
  validateStackText(text, file.path);
  await writeAtomically(file.path, text);
  const entry = newEntry(
    {
      stack: args.stack,
      model: file.model,
      kind: args.step.kind,
      step: stepFlag(args.step),
      before: file.rollout,
      after: plan.after,
      gateSet: plan.gates ?? null,
      gates: results,
      forced,
      ...(args.reason === undefined ? {} : { reason: args.reason }),
      ...(plan.reverts === undefined ? {} : { reverts: plan.reverts }),
    },
    env,
  );
  try {
    await appendAudit(auditPath, entry);
  } catch (err) {
    await writeAtomically(file.path, file.text); // no step without its audit line
    throw err;
  }
  return entry;
}

/**
 * Runs one promote command; the exit code. `metrics`: where the gates read, by default Prometheus
 * at PROMETHEUS_URL.
 */
export async function promote(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  output: Output = consoleOutput,
  metrics?: MetricsSource,
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    output.out(USAGE);
    return 0;
  }
  let args: PromoteArgs;
  try {
    args = parsePromoteArgs(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    output.err(`promote: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  const filePath = stackFilePath(args.dir, args.stack);
  const auditPath = resolve(args.dir, args.auditLog);
  return reportingErrors(filePath, output, async () => {
    const models =
      args.model === undefined ? await modelsWithoutFlag(args, filePath, auditPath) : [args.model];
    let code = 0;
    for (const model of models) {
      code = Math.max(code, await promoteModel(args, model, filePath, auditPath, env, output, metrics));
    }
    return code;
  });
}

/**
 * Which models a step without --model acts on: the only one; in a stack of several, every model
 * for --check-only (what the stack runs after a deployment), and for --rollback and --recheck the
 * model whose open step is the newest; any other step must name its model.
 */
async function modelsWithoutFlag(
  args: PromoteArgs,
  filePath: string,
  auditPath: string,
): Promise<(string | undefined)[]> {
  const config = await readStackConfig(filePath);
  const names = Object.keys(config.inference.models);
  if (names.length === 1) return [undefined];
  if (args.step.kind === "check") return names;
  if (args.step.kind === "rollback" || args.step.kind === "recheck") {
    const entries = await readAudit(auditPath);
    const model = newestStepModel(entries, args.stack, names, config.inference.defaultModel);
    if (model !== undefined) return [model];
  }
  return [undefined]; // chooseModel refuses it, listing the models
}

/** Runs `body`, turning the errors a user can act on into a message and exit code 2. */
async function reportingErrors(
  filePath: string,
  output: Output,
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      output.err(`promote: ${err.message}`);
      return 2;
    }
    if (err instanceof IllegalStepError) {
      output.err(`promote: illegal step: ${err.message}`);
      return 2;
    }
    if (err instanceof StackConfigError) {
      output.err(`promote: ${filePath}: ${err.message}`);
      return 2;
    }
    if (err instanceof StackFileError) {
      output.err(`promote: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

/** One step on one model; the exit code. */
async function promoteModel(
  args: PromoteArgs,
  model: string | undefined,
  filePath: string,
  auditPath: string,
  env: NodeJS.ProcessEnv,
  output: Output,
  metrics: MetricsSource | undefined,
): Promise<number> {
  {
    const file = await readStackFile(filePath, model);
    const plan = await planFor(args, file, auditPath);
    const flag = stepFlag(args.step);
    output.out(
      `promote ${flag} on stack ${args.stack}, model ${file.model} (${filePath}, ${file.location.at})`,
    );
    output.out(`  before: ${describeRollout(file.rollout)}`);
    if (args.step.kind !== "check" && args.step.kind !== "recheck") {
      output.out(`  after:  ${describeRollout(plan.after)}`);
    }

    const results = await runGates(plan, file, args.selector, () => metrics ?? metricsSource(env), output);
    const blocked = gatesBlock(results);
    const forced = blocked && args.force;
    if (blocked) {
      const stopping = results.filter((r) => verdictBlocks(r.verdict)).map((r) => `${r.gate} ${r.verdict}`);
      output.out(
        forced
          ? `  FORCED past ${stopping.join(", ")} (--force; recorded in the audit line)`
          : `  BLOCKED by ${stopping.join(", ")}: nothing written. --force overrides and is recorded.`,
      );
      if (!forced) return 1;
    }
    if (args.step.kind === "check" || args.step.kind === "recheck") {
      output.out(blocked ? "  check forced: exit 0" : "  check passed");
      return 0;
    }
    if (args.dryRun) {
      output.out(`  dry run: ${filePath} and ${auditPath} left unchanged`);
      return 0;
    }

    const entry = await writeStep(args, file, plan, results, forced, auditPath, env);
    output.out(`  wrote ${filePath}; audit ${entry.id} appended to ${auditPath}`);
    output.out(`  next: commit both files, then apply:`);
    output.out(`    pulumi up --stack ${args.stack}`);
    return 0;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await promote(process.argv.slice(2));
}
