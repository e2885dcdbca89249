/**
 * Which Deployments a rollout needs, and what each serves: single, canary and shadow run one
 * Deployment (the service routes between stable and candidate itself); blue-green runs one per
 * colour. Pure, so the local stack starts its processes from the same plan the cluster gets.
 */
import type { VariantSettings } from "./env.js";

export interface Rollout {
  readonly strategy: "single" | "canary" | "shadow" | "blue-green";
  /** Stable model version or alias. */
  readonly stable: { readonly modelVersion: string };
  /** Candidate for canary (weight, 0-100) or shadow (shadowPercent, 0-100). */
  readonly candidate?: {
    readonly modelVersion: string;
    readonly weight?: number;
    readonly shadowPercent?: number;
  };
  /** Blue-green: each colour's model (and optionally image), and which colour takes traffic. */
  readonly blueGreen?: {
    readonly active: "blue" | "green";
    readonly blue: { readonly image?: string; readonly modelVersion: string };
    readonly green: { readonly image?: string; readonly modelVersion: string };
  };
}

/** One Deployment of a model: its role in object names ("main", "blue", "green") and what it serves. */
export interface DeploymentPlan {
  readonly role: string;
  readonly image: string;
  readonly variant: VariantSettings;
}

/** The Deployments `rollout` needs; throws an Error saying what is inconsistent. */
export function deploymentPlans(rollout: Rollout, image: string): DeploymentPlan[] {
  const fail = (message: string): never => {
    throw new Error(message);
  };
  const { strategy, candidate, blueGreen, stable } = rollout;
  const percent = (value: number | undefined, what: string) => {
    if (value === undefined || value < 0 || value > 100)
      fail(`${what} must be between 0 and 100; got ${value}`);
  };
  if (strategy === "blue-green") {
    if (!blueGreen) return fail("strategy blue-green needs rollout.blueGreen");
    if (candidate) fail("strategy blue-green takes no candidate: each colour is a full Deployment");
    return (["blue", "green"] as const).map((colour) => ({
      role: colour,
      image: blueGreen[colour].image ?? image,
      variant: { strategy: "single", stable: blueGreen[colour].modelVersion, colour },
    }));
  }
  if (blueGreen) fail(`rollout.blueGreen is only for strategy blue-green; got ${strategy}`);
  if (strategy === "single" && candidate) fail("strategy single takes no candidate");
  if (strategy !== "single" && !candidate) fail(`strategy ${strategy} needs rollout.candidate`);
  if (strategy === "canary") percent(candidate?.weight, "candidate.weight");
  if (strategy === "shadow") percent(candidate?.shadowPercent, "candidate.shadowPercent");
  return [
    {
      role: "main",
      image,
      variant: { strategy, stable: stable.modelVersion, colour: "none", ...(candidate ? { candidate } : {}) },
    },
  ];
}
