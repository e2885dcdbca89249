/**
 * The release state machine over one model's rollout (`plinth:inference.rollout` in a single-model
 * stack, `plinth:inference.models.<name>.rollout` otherwise): which step is legal from the current
 * config, the config it leads to, and which gates must pass first. An illegal step throws
 * IllegalStepError naming the config path that forbids it.
 *
 *   single --shadow v--> shadow --canary v--> canary --weight (next rung)--> canary ... 100
 *   single --canary v--> canary --promote (at 100)--> single (stable = v)
 *   shadow --promote--> single (stable = v)
 *   blue-green --switch colour--> blue-green (gated on that colour's pods: ready, on its version)
 *   canary --weight (lower)--> canary (ungated: it moves traffic back to stable)
 *   any audited step --rollback--> its recorded before-config (see audit.ts)
 */
import { isDeepStrictEqual } from "node:util";
import type { RolloutConfig } from "../config/schema.js";
import type { GateSet } from "./gates.js";

/** The part of the rollout a step edits (gates are settings, never edited by a step). */
export type Rollout = Omit<RolloutConfig, "gates">;

export type Step =
  | { readonly kind: "shadow"; readonly version: string; readonly percent: number }
  | { readonly kind: "canary"; readonly version: string; readonly weight: number }
  | { readonly kind: "weight"; readonly weight: number }
  | { readonly kind: "promote" }
  | { readonly kind: "switch"; readonly colour: "blue" | "green" }
  | { readonly kind: "rollback" }
  | { readonly kind: "check" }
  | { readonly kind: "recheck" };

export interface StepOptions {
  /** The canary weights in order (the rollout's gates.weightLadder). */
  readonly ladder: readonly number[];
  /** Allow a weight that is not the next rung, and --promote below 100. */
  readonly skipLadder: boolean;
  /** The rollout's config path, which messages name: `plinth:inference.models.churn.rollout`. */
  readonly at: string;
}

export interface Plan {
  readonly after: Rollout;
  /** The gates that must pass before the step is written; undefined: nothing to measure. */
  readonly gates: GateSet | undefined;
  /** Why there are (no) gates, for the summary. */
  readonly note: string;
}

export class IllegalStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IllegalStepError";
  }
}

/** The flag a step is written with, for messages. */
export function stepFlag(step: Step): string {
  switch (step.kind) {
    case "shadow":
      return `--shadow ${step.version}`;
    case "canary":
      return `--canary ${step.version} --weight ${step.weight}`;
    case "weight":
      return `--weight ${step.weight}`;
    case "promote":
      return "--promote";
    case "switch":
      return `--switch ${step.colour}`;
    case "rollback":
      return "--rollback";
    case "check":
      return "--check-only";
    case "recheck":
      return "--recheck";
  }
}

function illegal(message: string): never {
  throw new IllegalStepError(message);
}

function strategyIs(rollout: Rollout, at: string, flag: string, needs: string): never {
  return illegal(`${at}.strategy is "${rollout.strategy}": ${flag} ${needs}`);
}

/** The gates that say whether what the config runs now is healthy. */
export function liveGates(rollout: Rollout): GateSet {
  if (rollout.strategy === "canary") return "canary";
  if (rollout.strategy === "shadow") return "shadow";
  return "stable";
}

function newCandidate(rollout: Rollout, at: string, version: string, flag: string): void {
  if (version === rollout.stable.modelVersion) {
    illegal(`${at}.stable.modelVersion is already "${version}": ${flag} needs a different version`);
  }
}

function firstRung(weight: number, options: StepOptions, flag: string): void {
  const first = options.ladder[0]!;
  if (weight !== first && !options.skipLadder) {
    illegal(
      `${options.at}.gates.weightLadder starts at ${first}: ${flag} would start the canary at ${weight}; pass --skip-ladder to allow it`,
    );
  }
}

/** The rollout with stable kept and `candidate` under `strategy`. */
function withCandidate(
  rollout: Rollout,
  strategy: "shadow" | "canary",
  candidate: NonNullable<Rollout["candidate"]>,
  gates: GateSet | undefined,
  note: string,
): Plan {
  return { after: { strategy, stable: rollout.stable, candidate }, gates, note };
}

function single(stable: string): Rollout {
  return { strategy: "single", stable: { modelVersion: stable } };
}

/** Plans every step but rollback, which needs the audit log (see planRollback). */
export function planStep(
  rollout: Rollout,
  step: Exclude<Step, { kind: "rollback" | "recheck" }>,
  options: StepOptions,
): Plan {
  const flag = stepFlag(step);
  const { candidate } = rollout;
  const { at } = options;
  const ladder = `${at}.gates.weightLadder`;
  switch (step.kind) {
    case "check":
      return { after: rollout, gates: liveGates(rollout), note: "the gates of what the config runs now" };

    case "shadow": {
      if (rollout.strategy !== "single") {
        strategyIs(rollout, at, flag, "starts from single (one Deployment serving stable only)");
      }
      newCandidate(rollout, at, step.version, flag);
      return withCandidate(
        rollout,
        "shadow",
        { modelVersion: step.version, shadowPercent: step.percent },
        undefined,
        "nothing to measure yet: the candidate has not scored any traffic",
      );
    }

    case "canary": {
      if (rollout.strategy === "single") {
        newCandidate(rollout, at, step.version, flag);
        firstRung(step.weight, options, flag);
        return withCandidate(
          rollout,
          "canary",
          { modelVersion: step.version, weight: step.weight },
          undefined,
          "nothing to measure yet: the candidate has not served any traffic",
        );
      }
      if (rollout.strategy === "shadow") {
        const shadowed = candidate!.modelVersion;
        if (step.version !== shadowed) {
          illegal(
            `${at}.candidate.modelVersion is "${shadowed}" in shadow: ${flag} would skip its shadow; use --canary ${shadowed} or --rollback first`,
          );
        }
        firstRung(step.weight, options, flag);
        return withCandidate(
          rollout,
          "canary",
          { modelVersion: shadowed, weight: step.weight },
          "shadow",
          "the shadow's measurements decide whether the candidate may serve",
        );
      }
      if (rollout.strategy === "canary") {
        return illegal(
          `${at}.strategy is already "canary" (candidate "${candidate!.modelVersion}" at ${candidate!.weight}%): use --weight to move it, or --rollback`,
        );
      }
      return strategyIs(
        rollout,
        at,
        flag,
        "needs single or shadow (blue-green runs two Deployments; use --switch)",
      );
    }

    case "weight": {
      if (rollout.strategy !== "canary") strategyIs(rollout, at, flag, "needs a canary");
      const current = candidate!.weight!;
      const weightIs = `${at}.candidate.weight is ${current}`;
      if (step.weight === current) illegal(`${weightIs} already`);
      const after: Rollout = { ...rollout, candidate: { ...candidate!, weight: step.weight } };
      if (step.weight < current) {
        return {
          after,
          gates: undefined,
          note: "lowering the weight moves traffic back to stable: not gated",
        };
      }
      const next = options.ladder.find((w) => w > current);
      if (step.weight !== next && !options.skipLadder) {
        illegal(
          next === undefined
            ? `${weightIs}, the top of ${ladder}: use --promote`
            : `${weightIs}: the next weight on ${ladder} is ${next}, not ${step.weight}; pass --skip-ladder to jump`,
        );
      }
      return { after, gates: "canary", note: "the candidate's live traffic decides" };
    }

    case "promote": {
      if (rollout.strategy === "canary") {
        const top = options.ladder.at(-1)!;
        if (candidate!.weight !== top && !options.skipLadder) {
          const next = options.ladder.find((w) => w > candidate!.weight!);
          illegal(
            `${at}.candidate.weight is ${candidate!.weight}: --promote needs the candidate at ${top} first (next: --weight ${next})`,
          );
        }
        return {
          after: single(candidate!.modelVersion),
          gates: "canary",
          note: "the candidate's live traffic decides",
        };
      }
      if (rollout.strategy === "shadow") {
        return {
          after: single(candidate!.modelVersion),
          gates: "shadow",
          note: "the shadow's measurements decide",
        };
      }
      return strategyIs(rollout, at, flag, "needs a canary or shadow candidate");
    }

    case "switch": {
      if (rollout.strategy !== "blue-green") strategyIs(rollout, at, flag, "needs blue-green");
      const blueGreen = rollout.blueGreen!;
      if (blueGreen.active === step.colour) {
        illegal(`${at}.blueGreen.active is already "${step.colour}"`);
      }
      return {
        after: { ...rollout, blueGreen: { ...blueGreen, active: step.colour } },
        gates: "blue-green",
        note: `${step.colour} serves no traffic yet: its pods must be ready on version ${blueGreen[step.colour].modelVersion}; after \`pulumi up\`, \`--check-only\` gates its live traffic`,
      };
    }
  }
}

/**
 * What a rollback restores: the config before the last audited step of this rollout (`at`, its
 * config path), if the file still holds its result. `where`: the audit log.
 */
export function planRollback(
  rollout: Rollout,
  last:
    | { readonly id: string; readonly step: string; readonly before: Rollout; readonly after: Rollout }
    | undefined,
  where: string,
  at: string,
): Plan {
  if (last === undefined)
    illegal(`no promote step of this stack recorded for ${at} in ${where}: nothing to roll back`);
  if (!isDeepStrictEqual(stripUndefined(rollout), stripUndefined(last.after))) {
    illegal(
      `${at} is not what the last recorded step (${last.step}, ${last.id}) wrote: it was edited by hand since; edit it back by hand`,
    );
  }
  return { after: last.before, gates: undefined, note: "a rollback is never gated" };
}

/** The same object without undefined-valued keys (YAML has no undefined). */
export function stripUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** The colour a blue-green rollout sends traffic to, and the version it serves: what a switch gates. */
export function activeColourOf(
  rollout: Rollout,
): { colour: "blue" | "green"; modelVersion: string } | undefined {
  const blueGreen = rollout.blueGreen;
  if (blueGreen === undefined) return undefined;
  return { colour: blueGreen.active, modelVersion: blueGreen[blueGreen.active].modelVersion };
}
