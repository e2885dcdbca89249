/**
 * The shadow phase's service settings: a copy of the registry in which the challenger alias points
 * at the stable model registered again, served plain (single) and shadowing every request to the
 * challenger. Same model on both variants, so the phase measures shadowing's cost alone (and
 * agreement must be total).
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ENV } from "../../service/config.js";
import { LocalRegistry, MODEL_FILE } from "../../service/registry/local.js";

export const SHADOW_PERCENT = 100;
export const CHALLENGER_ALIAS = "challenger";
export const SHADOW_LEGS = ["plain", "shadow"] as const;
export type ShadowLeg = (typeof SHADOW_LEGS)[number];

/**
 * The order the legs run in: shadowing first, because its saturation sets the rate both fixed-rate
 * phases share (the bench's usual half of saturation). Shadowing costs each request a second
 * inference, so half of plain's saturation would be 70-90 % of the shadowing service's own: the p99
 * would then measure how close that run was to saturating, not what shadowing adds to a response.
 * The capacity shadowing costs is reported apart, as the ratio of the two saturations.
 */
export const SHADOW_RUN_ORDER: readonly ShadowLeg[] = ["shadow", "plain"];

export interface ShadowRegistry {
  readonly dir: string;
  /** The version the challenger alias points at. */
  readonly candidateVersion: string;
  remove(): Promise<void>;
}

/**
 * Copies the registry at `sourceDir` to a temporary folder (the source is never written) and
 * registers `modelBytes` there as a new version of `modelName`, aliased challenger.
 */
export async function prepareShadowRegistry(
  sourceDir: string,
  modelName: string,
  modelBytes: Uint8Array,
): Promise<ShadowRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), "plinth-bench-shadow-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await cp(sourceDir, dir, { recursive: true });
    const registry = new LocalRegistry(dir);
    const candidateVersion = await registry.registerVersion(modelName, { [MODEL_FILE]: modelBytes });
    await registry.setAlias(modelName, CHALLENGER_ALIAS, candidateVersion);
    return { dir, candidateVersion, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/**
 * The settings of one leg, applied over `--env`: both serve the registry copy (never MLflow); only
 * the shadow leg has a candidate. An empty value unsets a variable.
 */
export function shadowLegEnv(leg: ShadowLeg, registryDir: string): Record<string, string> {
  const common = {
    [ENV.PLINTH_REGISTRY_DIR]: registryDir,
    [ENV.MLFLOW_TRACKING_URI]: "",
    [ENV.CANDIDATE_WEIGHT]: "",
  };
  return leg === "plain"
    ? { ...common, [ENV.ROLLOUT_STRATEGY]: "single", [ENV.MODEL_CANDIDATE]: "", [ENV.SHADOW_PERCENT]: "" }
    : {
        ...common,
        [ENV.ROLLOUT_STRATEGY]: "shadow",
        [ENV.MODEL_CANDIDATE]: CHALLENGER_ALIAS,
        [ENV.SHADOW_PERCENT]: String(SHADOW_PERCENT),
      };
}
