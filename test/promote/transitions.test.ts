/** The release state machine: every legal step's result and gates, every illegal step's message. */
import { describe, expect, it } from "vitest";
import {
  activeColourOf,
  IllegalStepError,
  planRollback,
  planStep,
  type Rollout,
  type Step,
} from "../../infra/promote/transitions.js";

const LADDER = { ladder: [10, 25, 50, 100], skipLadder: false, at: "plinth:inference.rollout" };
/** A model's rollout in a stack file listing plinth:inference.models. */
const CHURN = { ...LADDER, at: "plinth:inference.models.churn.rollout" };
const SKIP = { ...LADDER, skipLadder: true };

const single: Rollout = { strategy: "single", stable: { modelVersion: "6" } };
const shadow: Rollout = {
  strategy: "shadow",
  stable: { modelVersion: "6" },
  candidate: { modelVersion: "7", shadowPercent: 100 },
};
const canary = (weight: number): Rollout => ({
  strategy: "canary",
  stable: { modelVersion: "6" },
  candidate: { modelVersion: "7", weight },
});
const blueGreen: Rollout = {
  strategy: "blue-green",
  stable: { modelVersion: "champion" },
  blueGreen: { active: "blue", blue: { modelVersion: "6" }, green: { modelVersion: "7" } },
};

type Planned = Exclude<Step, { kind: "rollback" | "recheck" }>;

function illegal(rollout: Rollout, step: Planned, options = LADDER): string {
  try {
    planStep(rollout, step, options);
  } catch (err) {
    if (err instanceof IllegalStepError) return err.message;
    throw err;
  }
  throw new Error("expected an IllegalStepError");
}

describe("legal steps", () => {
  it("single --shadow 7 starts a shadow, ungated", () => {
    expect(planStep(single, { kind: "shadow", version: "7", percent: 50 }, LADDER)).toMatchObject({
      after: {
        strategy: "shadow",
        stable: { modelVersion: "6" },
        candidate: { modelVersion: "7", shadowPercent: 50 },
      },
      gates: undefined,
    });
  });

  it("shadow --canary 7 --weight 10 is gated on the shadow's measurements", () => {
    expect(planStep(shadow, { kind: "canary", version: "7", weight: 10 }, LADDER)).toMatchObject({
      after: canary(10),
      gates: "shadow",
    });
  });

  it("single --canary 7 --weight 10 starts a canary, ungated", () => {
    expect(planStep(single, { kind: "canary", version: "7", weight: 10 }, LADDER)).toMatchObject({
      after: canary(10),
      gates: undefined,
    });
  });

  it.each([
    [10, 25],
    [25, 50],
    [50, 100],
  ])("canary at %i --weight %i climbs one rung, gated on the canary", (from, to) => {
    expect(planStep(canary(from), { kind: "weight", weight: to }, LADDER)).toMatchObject({
      after: canary(to),
      gates: "canary",
    });
  });

  it("a lower weight is allowed and ungated: it moves traffic back to stable", () => {
    expect(planStep(canary(50), { kind: "weight", weight: 10 }, LADDER)).toMatchObject({
      after: canary(10),
      gates: undefined,
    });
  });

  it("--skip-ladder allows a jump and an off-ladder weight", () => {
    expect(planStep(canary(10), { kind: "weight", weight: 75 }, SKIP).after).toEqual(canary(75));
  });

  it("--promote at 100 makes the candidate stable and drops it", () => {
    expect(planStep(canary(100), { kind: "promote" }, LADDER)).toMatchObject({
      after: { strategy: "single", stable: { modelVersion: "7" } },
      gates: "canary",
    });
  });

  it("--promote from shadow is gated on the shadow", () => {
    expect(planStep(shadow, { kind: "promote" }, LADDER)).toMatchObject({
      after: { strategy: "single", stable: { modelVersion: "7" } },
      gates: "shadow",
    });
  });

  it("--switch green changes only the active colour, gated on green's pods", () => {
    const plan = planStep(blueGreen, { kind: "switch", colour: "green" }, LADDER);
    expect(plan.after).toEqual({ ...blueGreen, blueGreen: { ...blueGreen.blueGreen!, active: "green" } });
    expect(plan.gates).toBe("blue-green");
    expect(activeColourOf(plan.after)).toEqual({
      colour: "green",
      modelVersion: blueGreen.blueGreen!.green.modelVersion,
    });
    expect(activeColourOf(single)).toBeUndefined();
  });

  it.each([
    [single, "stable"],
    [blueGreen, "stable"],
    [canary(25), "canary"],
    [shadow, "shadow"],
  ] as const)("--check-only on %o reads the %s gates", (rollout, gates) => {
    expect(planStep(rollout, { kind: "check" }, LADDER)).toMatchObject({ after: rollout, gates });
  });
});

describe("illegal steps say why, naming the config path", () => {
  it.each<[string, Rollout, Planned, string]>([
    [
      "weight without a canary",
      single,
      { kind: "weight", weight: 25 },
      'plinth:inference.rollout.strategy is "single": --weight 25 needs a canary',
    ],
    [
      "weight in shadow",
      shadow,
      { kind: "weight", weight: 25 },
      'plinth:inference.rollout.strategy is "shadow": --weight 25 needs a canary',
    ],
    [
      "weight unchanged",
      canary(25),
      { kind: "weight", weight: 25 },
      "plinth:inference.rollout.candidate.weight is 25 already",
    ],
    [
      "weight skipping a rung",
      canary(10),
      { kind: "weight", weight: 50 },
      "plinth:inference.rollout.candidate.weight is 10: the next weight on plinth:inference.rollout.gates.weightLadder is 25, not 50; pass --skip-ladder to jump",
    ],
    [
      "promote below 100",
      canary(25),
      { kind: "promote" },
      "plinth:inference.rollout.candidate.weight is 25: --promote needs the candidate at 100 first (next: --weight 50)",
    ],
    [
      "promote without a candidate",
      single,
      { kind: "promote" },
      'plinth:inference.rollout.strategy is "single": --promote needs a canary or shadow candidate',
    ],
    [
      "promote in blue-green",
      blueGreen,
      { kind: "promote" },
      'plinth:inference.rollout.strategy is "blue-green": --promote needs a canary or shadow candidate',
    ],
    [
      "switch outside blue-green",
      canary(10),
      { kind: "switch", colour: "green" },
      'plinth:inference.rollout.strategy is "canary": --switch green needs blue-green',
    ],
    [
      "switch to the active colour",
      blueGreen,
      { kind: "switch", colour: "blue" },
      'plinth:inference.rollout.blueGreen.active is already "blue"',
    ],
    [
      "shadow during a canary",
      canary(10),
      { kind: "shadow", version: "8", percent: 100 },
      'plinth:inference.rollout.strategy is "canary": --shadow 8 starts from single (one Deployment serving stable only)',
    ],
    [
      "shadow in blue-green",
      blueGreen,
      { kind: "shadow", version: "8", percent: 100 },
      'plinth:inference.rollout.strategy is "blue-green": --shadow 8 starts from single (one Deployment serving stable only)',
    ],
    [
      "shadow of the stable version",
      single,
      { kind: "shadow", version: "6", percent: 100 },
      'plinth:inference.rollout.stable.modelVersion is already "6": --shadow 6 needs a different version',
    ],
    [
      "canary of the stable version",
      single,
      { kind: "canary", version: "6", weight: 10 },
      'plinth:inference.rollout.stable.modelVersion is already "6": --canary 6 --weight 10 needs a different version',
    ],
    [
      "canary off the first rung",
      single,
      { kind: "canary", version: "7", weight: 50 },
      "plinth:inference.rollout.gates.weightLadder starts at 10: --canary 7 --weight 50 would start the canary at 50; pass --skip-ladder to allow it",
    ],
    [
      "canary of another version than the shadow's",
      shadow,
      { kind: "canary", version: "8", weight: 10 },
      'plinth:inference.rollout.candidate.modelVersion is "7" in shadow: --canary 8 --weight 10 would skip its shadow; use --canary 7 or --rollback first',
    ],
    [
      "a second canary",
      canary(25),
      { kind: "canary", version: "8", weight: 10 },
      'plinth:inference.rollout.strategy is already "canary" (candidate "7" at 25%): use --weight to move it, or --rollback',
    ],
    [
      "canary in blue-green",
      blueGreen,
      { kind: "canary", version: "8", weight: 10 },
      'plinth:inference.rollout.strategy is "blue-green": --canary 8 --weight 10 needs single or shadow (blue-green runs two Deployments; use --switch)',
    ],
  ])("%s", (_, rollout, step, message) => {
    expect(illegal(rollout, step)).toBe(message);
  });

  it("a weight above the top of a ladder that ends below 100 points at --promote", () => {
    expect(illegal(canary(60), { kind: "weight", weight: 80 }, { ...LADDER, ladder: [10, 50] })).toBe(
      "plinth:inference.rollout.candidate.weight is 60, the top of plinth:inference.rollout.gates.weightLadder: use --promote",
    );
  });

  it.each<[string, Rollout, Planned, string]>([
    [
      "strategy",
      single,
      { kind: "weight", weight: 25 },
      'plinth:inference.models.churn.rollout.strategy is "single": --weight 25 needs a canary',
    ],
    [
      "ladder",
      canary(10),
      { kind: "weight", weight: 50 },
      "plinth:inference.models.churn.rollout.candidate.weight is 10: the next weight on plinth:inference.models.churn.rollout.gates.weightLadder is 25, not 50; pass --skip-ladder to jump",
    ],
    [
      "stable version",
      single,
      { kind: "shadow", version: "6", percent: 100 },
      'plinth:inference.models.churn.rollout.stable.modelVersion is already "6": --shadow 6 needs a different version',
    ],
    [
      "active colour",
      blueGreen,
      { kind: "switch", colour: "blue" },
      'plinth:inference.models.churn.rollout.blueGreen.active is already "blue"',
    ],
  ])("names the model's rollout in a stack of several models: %s", (_, rollout, step, message) => {
    expect(illegal(rollout, step, CHURN)).toBe(message);
  });
});

describe("rollback", () => {
  const step = { id: "a1", step: "--weight 25", before: canary(10), after: canary(25) };

  it("restores the config before the newest recorded step, ungated", () => {
    expect(planRollback(canary(25), step, "releases/audit.jsonl", LADDER.at)).toMatchObject({
      after: canary(10),
      gates: undefined,
    });
  });

  it("refuses when nothing is recorded", () => {
    expect(() => planRollback(canary(25), undefined, "releases/audit.jsonl", CHURN.at)).toThrow(
      "no promote step of this stack recorded for plinth:inference.models.churn.rollout in releases/audit.jsonl: nothing to roll back",
    );
  });

  it("refuses when the file was edited by hand after the step", () => {
    expect(() => planRollback(canary(50), step, "releases/audit.jsonl", LADDER.at)).toThrow(
      "plinth:inference.rollout is not what the last recorded step (--weight 25, a1) wrote: it was edited by hand since; edit it back by hand",
    );
  });
});
