/**
 * The shadow phase's setup: the registry copy with a challenger, and the two runs' settings as the
 * service's own loader reads them.
 */
import { access, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceLaunch } from "../../bench/targets/service.js";
import {
  prepareShadowRegistry,
  SHADOW_LEGS,
  SHADOW_RUN_ORDER,
  shadowLegEnv,
  type ShadowRegistry,
} from "../../bench/targets/shadow.js";
import { DEFAULT_REGISTRY_DIR, LocalRegistry } from "../../service/registry/local.js";

const NAME = "fashion-classifier";
const API_KEY = "bench-key-0123456789abcdef";

let copy: ShadowRegistry;
let stableBytes: Buffer;
let sourceAliases: string;

beforeAll(async () => {
  const stable = await new LocalRegistry(DEFAULT_REGISTRY_DIR).resolve(NAME, "champion");
  stableBytes = await readFile(stable.modelPath);
  sourceAliases = await readFile(path.join(DEFAULT_REGISTRY_DIR, NAME, "aliases.json"), "utf8");
  copy = await prepareShadowRegistry(DEFAULT_REGISTRY_DIR, NAME, stableBytes);
});

afterAll(() => copy?.remove());

describe("the shadow phase's order", () => {
  it("runs the shadowing service first (its saturation sets the shared rate), then plain", () => {
    expect(SHADOW_RUN_ORDER).toEqual(["shadow", "plain"]);
    expect([...SHADOW_RUN_ORDER].sort()).toEqual([...SHADOW_LEGS].sort());
  });
});

describe("the shadow phase's registry copy", () => {
  it("points challenger at a new version holding the stable model, and keeps champion", async () => {
    const registry = new LocalRegistry(copy.dir);
    expect(copy.candidateVersion).toBe("2");
    expect(await registry.getAliases(NAME)).toEqual({ champion: "1", challenger: "2" });
    const challenger = await registry.resolve(NAME, "challenger");
    expect(challenger.version).toBe("2");
    expect((await readFile(challenger.modelPath)).equals(stableBytes)).toBe(true);
    expect((await registry.resolve(NAME, "champion")).dir).toBe(path.join(copy.dir, NAME, "1"));
  });

  it("leaves the bundled registry untouched", async () => {
    expect(await readFile(path.join(DEFAULT_REGISTRY_DIR, NAME, "aliases.json"), "utf8")).toBe(sourceAliases);
    expect(await new LocalRegistry(DEFAULT_REGISTRY_DIR).listVersions(NAME)).toEqual(["1"]);
  });

  it("is removed by remove()", async () => {
    const other = await prepareShadowRegistry(DEFAULT_REGISTRY_DIR, NAME, stableBytes);
    await other.remove();
    await expect(access(other.dir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("fails on a missing source registry, leaving no temporary folder behind", async () => {
    const temporary = async () =>
      (await readdir(tmpdir())).filter((entry) => entry.startsWith("plinth-bench-shadow-")).sort();
    const before = await temporary();
    await expect(prepareShadowRegistry("/nonexistent/registry", NAME, stableBytes)).rejects.toMatchObject({
      code: "ENOENT",
    });
    expect(await temporary()).toEqual(before);
  });
});

describe("the shadow phase's service settings", () => {
  it("serves the copy plain, overriding --env rollout and MLflow settings", async () => {
    const launch = await serviceLaunch(API_KEY, {
      ROLLOUT_STRATEGY: "canary",
      MODEL_CANDIDATE: "challenger",
      CANDIDATE_WEIGHT: "50",
      MLFLOW_TRACKING_URI: "http://mlflow.example:5000",
      BATCH_MAX_DELAY_MS: "0.5",
      ...shadowLegEnv("plain", copy.dir),
    });
    expect(launch.config.rollout).toMatchObject({ strategy: "single", shadowPercent: 0, candidateWeight: 0 });
    expect(launch.config.model).toMatchObject({
      stable: "champion",
      candidate: undefined,
      registryDir: copy.dir,
      mlflowTrackingUri: undefined,
    });
    expect(launch.config.batching.maxDelayMs).toBe(0.5);
  });

  it("shadows every request to the challenger of the copy", async () => {
    const launch = await serviceLaunch(API_KEY, shadowLegEnv("shadow", copy.dir));
    expect(launch.config.rollout).toMatchObject({
      strategy: "shadow",
      shadowPercent: 100,
      candidateWeight: 0,
    });
    expect(launch.config.model).toMatchObject({
      stable: "champion",
      candidate: "challenger",
      registryDir: copy.dir,
    });
  });
});
