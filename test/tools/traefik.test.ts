/**
 * Traefik in the test-tools installer (scripts/tools/go-tools.sh): the binary linked into
 * .tools/bin reports the pinned version, its build is cached under that version and skipped when
 * cached, and the CRD folders it links hold what the brownfield cluster installs (the Gateway API
 * release Traefik's go.mod requires, Traefik's own traefik.io CRDs). Reads what the installer left;
 * it needs no network.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TRAEFIK_VERSION as CLUSTER_TRAEFIK_VERSION } from "../../components/gateway/traefik.js";
import { CRDS } from "../../stack/engine/brownfield.js";
import { TRAEFIK_BINARY } from "../../stack/engine/traefik.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Runs a bash snippet with the installer's libraries sourced; `out` is its stdout and stderr. */
function bash(script: string): { ok: boolean; out: string } {
  const prelude =
    "source scripts/tools/lib.sh; source scripts/tools/pins.sh; source scripts/tools/go-tools.sh;";
  const run = spawnSync("bash", ["-c", `${prelude} ${script}`], { cwd: ROOT, encoding: "utf8" });
  return { ok: run.status === 0, out: `${run.stdout}${run.stderr}`.trim() };
}

const pin = (name: string) => bash(`echo "$${name}"`).out;

describe("Traefik from the test-tools installer", () => {
  it("is linked into .tools/bin from the cache under its pinned version, and reports that version", () => {
    const version = pin("TRAEFIK_VERSION");
    expect(version).toMatch(/^3\.6\.\d+$/);
    const target = realpathSync(TRAEFIK_BINARY);
    expect(target).toBe(realpathSync(`${bash("tools_cache_dir").out}/traefik-${version}/bin/traefik`));
    const reported = bash(`go_tool_version traefik "${TRAEFIK_BINARY}"`);
    expect(reported).toEqual({ ok: true, out: version });
  });

  it("is the release the cluster's Traefik image runs (one version, tested where it runs)", () => {
    expect(`v${pin("TRAEFIK_VERSION")}`).toBe(CLUSTER_TRAEFIK_VERSION);
  });

  it("is not rebuilt when the cached build reports the pinned version (no Go, no network)", () => {
    const run = bash(
      `go_toolchain() { echo "no Go for this test" >&2; return 1; }; ` +
        `go_tool "traefik-$TRAEFIK_VERSION" traefik "^$TRAEFIK_VERSION\\$" build_traefik && echo cached`,
    );
    expect(run).toEqual({ ok: true, out: "cached" });
  });

  it("pins the Gateway API release that Traefik's own go.mod requires", () => {
    const traefikModule = bash(`go_module_dir "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION"`);
    expect(traefikModule.ok, traefikModule.out).toBe(true);
    const goMod = readFileSync(path.join(traefikModule.out, "go.mod"), "utf8");
    expect(goMod).toMatch(
      new RegExp(`^\\s*sigs\\.k8s\\.io/gateway-api v${pin("GATEWAY_API_VERSION")}$`, "m"),
    );
  });

  it("links CRD folders holding every manifest the brownfield cluster installs", () => {
    for (const folder of ["gateway-api", "traefik"]) {
      const dir = path.join(ROOT, ".tools", "crds", folder);
      for (const file of CRDS[folder]!)
        expect(existsSync(path.join(dir, file)), `${folder}/${file}`).toBe(true);
    }
    expect(realpathSync(path.join(ROOT, ".tools", "crds", "gateway-api"))).toContain(
      `gateway-api@v${pin("GATEWAY_API_VERSION")}/config/crd/standard`,
    );
  });
});
