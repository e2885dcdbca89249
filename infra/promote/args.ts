/**
 * The command line of `npm run promote`: exactly one step, its operands, and the options that
 * change how it is checked or written. Every mistake is a UsageError saying what was expected.
 */
import { parseArgs } from "node:util";
import { MODEL_REF } from "../config/schema.js";
import { DEFAULT_AUDIT_LOG } from "./audit.js";
import type { Step } from "./transitions.js";

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface PromoteArgs {
  readonly stack: string;
  /**
   * The model whose rollout the step moves (--model); undefined: the stack's only model (a stack
   * serving several needs it, see stack-file.ts chooseModel).
   */
  readonly model: string | undefined;
  readonly step: Step;
  /** Write the step although gates failed or were inconclusive; recorded in the audit line. */
  readonly force: boolean;
  /** Check and print, write nothing. */
  readonly dryRun: boolean;
  readonly skipLadder: boolean;
  readonly reason: string | undefined;
  /** Folder holding Pulumi.<stack>.yaml. */
  readonly dir: string;
  /** Audit log path, relative to `dir` unless absolute. */
  readonly auditLog: string;
  /** Extra PromQL label matchers for every gate query (--selector or PROMETHEUS_SELECTOR). */
  readonly selector: string;
}

export const USAGE = `usage: npm run promote -- --stack <stack> [--model <name>] <step> [options]

  --model <name>      the model whose rollout the step moves (a key of plinth:inference.models);
                      required when the stack serves more than one, optional with one

steps (exactly one):
  --shadow <version> [--percent <0-100>]   single -> shadow (candidate scores a copy of <percent>% of requests; default 100)
  --canary <version> --weight <w>         single or shadow -> canary at the ladder's first weight
  --weight <w>                            canary: next weight on the ladder (lower: back towards stable, ungated)
  --promote                               canary at 100, or shadow -> single with the candidate as stable
  --switch <blue|green>                   blue-green: the Service selects the other colour
  --rollback                              restore the rollout before the newest recorded step
  --check-only                            evaluate the gates of what the config runs now; write nothing
  --recheck                               re-evaluate the gates of the newest recorded step (before pulumi up)

options:
  --force             write although a gate failed or was inconclusive (recorded in the audit line)
  --dry-run           check and print; write nothing
  --skip-ladder       allow a weight off the model's rollout.gates.weightLadder
  --reason <text>     recorded in the audit line
  --dir <path>        folder of Pulumi.<stack>.yaml (default: the current directory)
  --audit-log <path>  default ${DEFAULT_AUDIT_LOG}, relative to --dir
  --selector <m>      extra PromQL label matchers, e.g. 'namespace="plinth"' (default: $PROMETHEUS_SELECTOR)

environment: PROMETHEUS_URL (required by gated steps), PROMETHEUS_BEARER_TOKEN, PROMETHEUS_SELECTOR`;

const STACK = /^[A-Za-z0-9][\w.-]*$/;
/** A model's name as either shape of plinth:inference takes it (the stack file says which it has). */
const MODEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** Label matchers as PromQL writes them inside braces: name op "value", comma-separated. */
const MATCHERS =
  /^\s*[a-zA-Z_]\w*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*(,\s*[a-zA-Z_]\w*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*)*$/;

function percent(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isFinite(value) || value <= 0 || value > 100) {
    throw new UsageError(`${flag}: expected a percentage above 0 and at most 100, got "${text ?? ""}"`);
  }
  if (Math.round(value * 100) !== value * 100) {
    throw new UsageError(
      `${flag}: at most two decimals (the service splits traffic in 0.01% buckets), got "${text}"`,
    );
  }
  return value;
}

export function parsePromoteArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): PromoteArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        stack: { type: "string" },
        model: { type: "string" },
        shadow: { type: "string" },
        percent: { type: "string" },
        canary: { type: "string" },
        weight: { type: "string" },
        promote: { type: "boolean" },
        switch: { type: "string" },
        rollback: { type: "boolean" },
        "check-only": { type: "boolean" },
        recheck: { type: "boolean" },
        force: { type: "boolean" },
        "dry-run": { type: "boolean" },
        "skip-ladder": { type: "boolean" },
        reason: { type: "string" },
        dir: { type: "string" },
        "audit-log": { type: "string" },
        selector: { type: "string" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.stack === undefined)
    throw new UsageError("--stack: required (the stack whose Pulumi.<stack>.yaml to edit)");
  if (!STACK.test(v.stack)) throw new UsageError(`--stack: expected a stack name, got "${v.stack}"`);

  const steps = [
    v.shadow !== undefined && "--shadow",
    v.canary !== undefined && "--canary",
    v.weight !== undefined && v.canary === undefined && "--weight",
    v.promote && "--promote",
    v.switch !== undefined && "--switch",
    v.rollback && "--rollback",
    v["check-only"] && "--check-only",
    v.recheck && "--recheck",
  ].filter((s): s is string => typeof s === "string");
  if (steps.length === 0)
    throw new UsageError(
      "no step: give one of --shadow, --canary, --weight, --promote, --switch, --rollback, --check-only, --recheck",
    );
  if (steps.length > 1) throw new UsageError(`one step at a time: got ${steps.join(" and ")}`);
  if (v.percent !== undefined && v.shadow === undefined)
    throw new UsageError("--percent: only with --shadow");

  let step: Step;
  if (v.shadow !== undefined) {
    step = {
      kind: "shadow",
      version: version("--shadow", v.shadow),
      percent: v.percent === undefined ? 100 : percent("--percent", v.percent),
    };
  } else if (v.canary !== undefined) {
    if (v.weight === undefined)
      throw new UsageError("--canary: needs --weight <w> (the ladder's first weight, e.g. 10)");
    step = { kind: "canary", version: version("--canary", v.canary), weight: percent("--weight", v.weight) };
  } else if (v.weight !== undefined) {
    step = { kind: "weight", weight: percent("--weight", v.weight) };
  } else if (v.promote) {
    step = { kind: "promote" };
  } else if (v.switch !== undefined) {
    if (v.switch !== "blue" && v.switch !== "green")
      throw new UsageError(`--switch: expected blue or green, got "${v.switch}"`);
    step = { kind: "switch", colour: v.switch };
  } else if (v.rollback) {
    step = { kind: "rollback" };
  } else if (v.recheck) {
    step = { kind: "recheck" };
  } else {
    step = { kind: "check" };
  }
  const checking = step.kind === "check" || step.kind === "recheck";
  if (checking && v["dry-run"]) throw new UsageError(`${steps[0]}: writes nothing already; drop --dry-run`);
  if (step.kind === "rollback" && v.force) throw new UsageError("--rollback: is never gated; drop --force");

  const selector = v.selector ?? env.PROMETHEUS_SELECTOR ?? "";
  if (selector !== "" && !MATCHERS.test(selector)) {
    throw new UsageError(
      `--selector: expected PromQL label matchers such as 'namespace="plinth",job="inference"', got '${selector}'`,
    );
  }
  if (v.model !== undefined && !MODEL.test(v.model)) {
    throw new UsageError(
      `--model: expected a model name (lower-case letters, digits and '-'), got "${v.model}"`,
    );
  }
  return {
    stack: v.stack,
    model: v.model,
    step,
    force: v.force ?? false,
    dryRun: v["dry-run"] ?? false,
    skipLadder: v["skip-ladder"] ?? false,
    reason: v.reason,
    dir: v.dir ?? process.cwd(),
    auditLog: v["audit-log"] ?? DEFAULT_AUDIT_LOG,
    selector: selector.trim(),
  };
}

/** A registry version or alias, as plinth:inference.rollout takes it. */
function version(flag: string, text: string): string {
  if (!MODEL_REF.test(text)) {
    throw new UsageError(
      `${flag}: expected a model version or alias (letters, digits, '.', '_', '-'), got "${text}"`,
    );
  }
  return text;
}
