/**
 * The Debian half of the test-tools installer (scripts/tools/debian.sh), without apt: the version
 * choice runs on `apt-cache policy` text written here, and the pins are read from
 * scripts/tools/pins.sh, so a return to exact pins for packages the security archive replaces in
 * place fails here before it fails a fresh machine.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

interface Outcome {
  ok: boolean;
  out: string;
}

/** Runs a bash snippet with the installer's libraries sourced; `out` is its stdout and stderr. */
function bash(script: string, env: Record<string, string> = {}): Outcome {
  const prelude = `source scripts/tools/lib.sh; source scripts/tools/pins.sh; source scripts/tools/debian.sh;`;
  const run = spawnSync("bash", ["-c", `${prelude} ${script}`], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  return { ok: run.status === 0, out: `${run.stdout}${run.stderr}`.trim() };
}

function choose(name: string, op: string, want: string, policy: string): Outcome {
  return bash(`debian_choose "$N" "$O" "$W" "$P"`, { N: name, O: op, W: want, P: policy });
}

/** `apt-cache policy` output as apt prints it. */
function policy(name: string, candidate: string, versions: string[], installed = "(none)"): string {
  const table = versions.map(
    (v) =>
      `     ${v} 500\n        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages`,
  );
  return [
    `${name}:`,
    `  Installed: ${installed}`,
    `  Candidate: ${candidate}`,
    "  Version table:",
    ...table,
  ].join("\n");
}

/** What the archive served on 2026-12-03, the day the exact chromium pin broke every fresh machine. */
const CHROMIUM_2026_12_03 = policy("chromium", "156.0.8078.114-1~deb12u1", [
  "156.0.8078.114-1~deb12u1",
  "150.0.7871.100-1~deb12u1",
]);

/** The pins as scripts/tools/pins.sh declares them: name -> [rule, version]. */
function pins(): Map<string, [string, string]> {
  const out = bash(`for p in "\${DEBIAN_PACKAGES[@]}"; do echo "$p"; done`);
  expect(out.ok, out.out).toBe(true);
  return new Map(
    out.out.split("\n").map((line) => {
      const [name, op, version] = line.trim().split(/\s+/);
      return [name!, [op!, version!]];
    }),
  );
}

describe("debian_choose: a minimum for packages replaced in place", () => {
  it("takes a newer candidate than the minimum and names the version it installs", () => {
    expect(choose("chromium", ">=", "150", CHROMIUM_2026_12_03)).toEqual({
      ok: true,
      out: "chromium=156.0.8078.114-1~deb12u1",
    });
  });

  it("compares Debian versions as dpkg does (epochs, tildes), not as strings", () => {
    expect(
      choose("nginx", ">=", "1.22.1-9", policy("nginx", "1.22.1-9+deb12u11", ["1.22.1-9+deb12u11"])).ok,
    ).toBe(true);
    // "1.22.1-10" sorts below "1.22.1-9" as a string but above it as a Debian version.
    expect(choose("nginx", ">=", "1.22.1-9", policy("nginx", "1.22.1-10", ["1.22.1-10"])).ok).toBe(true);
    expect(choose("x", ">=", "2.0", policy("x", "2.0~rc1-1", ["2.0~rc1-1"])).ok).toBe(false);
    expect(choose("x", ">=", "5.0", policy("x", "1:1.0-1", ["1:1.0-1"])).ok).toBe(true);
  });

  it("refuses a candidate below the minimum, naming the package, what was wanted, what is offered and the look-up", () => {
    const r = choose(
      "chromium",
      ">=",
      "150",
      policy("chromium", "149.0.7827.1-1~deb12u1", ["149.0.7827.1-1~deb12u1"]),
    );
    expect(r.ok).toBe(false);
    expect(r.out).toBe(
      "Debian package 'chromium' needs version >= 150, but the archive's candidate is 149.0.7827.1-1~deb12u1 (offered: 149.0.7827.1-1~deb12u1); look it up with: apt-cache policy chromium",
    );
  });
});

describe("debian_choose: exact pins for packages that do not move", () => {
  it("installs the pinned version when the archive offers it, even if the candidate is newer", () => {
    const p = policy("prometheus", "2.42.0+ds-5+deb12u2", ["2.42.0+ds-5+deb12u2", "2.42.0+ds-5+deb12u1"]);
    expect(choose("prometheus", "=", "2.42.0+ds-5+deb12u1", p)).toEqual({
      ok: true,
      out: "prometheus=2.42.0+ds-5+deb12u1",
    });
  });

  it("reports a withdrawn exact pin with what the archive offers and how to fix the pin", () => {
    const r = choose("chromium", "=", "156.0.8078.79-1~deb12u1", CHROMIUM_2026_12_03);
    expect(r.ok).toBe(false);
    expect(r.out).toContain("'chromium' is pinned exactly at 156.0.8078.79-1~deb12u1");
    expect(r.out).toContain("offers 156.0.8078.114-1~deb12u1, 150.0.7871.100-1~deb12u1");
    expect(r.out).toContain("apt-cache policy chromium");
    expect(r.out).toContain("minimum (>=) in scripts/tools/pins.sh");
  });
});

describe("debian_choose: a package the archive does not have", () => {
  it("names the package when apt-cache prints nothing (unknown name, or lists not updated)", () => {
    const r = choose("chromium-nonesuch", ">=", "1", "");
    expect(r.ok).toBe(false);
    expect(r.out).toBe(
      "Debian package 'chromium-nonesuch' (>= 1) is not offered by the archive; look it up with: apt-cache policy chromium-nonesuch (after apt-get update)",
    );
  });

  it("names the package when apt knows it but has no candidate", () => {
    const r = choose(
      "nginx",
      ">=",
      "1.22.1-9",
      "nginx:\n  Installed: (none)\n  Candidate: (none)\n  Version table:",
    );
    expect(r.ok).toBe(false);
    expect(r.out).toContain("Debian package 'nginx' (>= 1.22.1-9) is not offered by the archive");
  });

  it("rejects an unknown rule by name", () => {
    expect(choose("nginx", "~", "1", CHROMIUM_2026_12_03).out).toBe(
      "Debian package 'nginx': unknown rule '~' (expected = or >=)",
    );
  });
});

describe("debian_satisfied: an installed package is kept when it meets its rule (no apt, no network)", () => {
  const satisfied = (op: string, want: string, installed: string) =>
    bash(`debian_satisfied "$O" "$W" "$I"`, { O: op, W: want, I: installed }).ok;

  it("keeps a newer security build and refuses an older one or none", () => {
    expect(satisfied(">=", "150", "156.0.8078.114-1~deb12u1")).toBe(true);
    expect(satisfied(">=", "150", "149.0.1-1")).toBe(false);
    expect(satisfied(">=", "150", "")).toBe(false);
  });

  it("keeps an exact pin only at that version", () => {
    expect(satisfied("=", "2.42.0+ds-5+deb12u1", "2.42.0+ds-5+deb12u1")).toBe(true);
    expect(satisfied("=", "2.42.0+ds-5+deb12u1", "2.42.0+ds-5+deb12u2")).toBe(false);
  });
});

describe("the pins (scripts/tools/pins.sh)", () => {
  it("give the packages bookworm-security replaces in place a minimum, never an exact version", () => {
    const p = pins();
    expect(p.get("chromium")?.[0]).toBe(">=");
    expect(p.get("nginx")?.[0]).toBe(">=");
    expect(p.get("postgresql-15")?.[0]).toBe(">=");
    expect(p.get("redis-server")?.[0]).toBe(">=");
  });

  it("accept what the archive served on the day the exact chromium pin broke", () => {
    const [op, want] = pins().get("chromium")!;
    expect(choose("chromium", op, want, CHROMIUM_2026_12_03)).toEqual({
      ok: true,
      out: "chromium=156.0.8078.114-1~deb12u1",
    });
  });

  it("pin the main archive's packages exactly, with a rule every entry spells right", () => {
    const p = pins();
    expect(p.get("prometheus")).toEqual(["=", "2.42.0+ds-5+deb12u1"]);
    expect(p.get("dataset-fashion-mnist")).toEqual(["=", "0.0~git20200523.55506a9-1"]);
    expect(p.get("libgomp1")).toEqual(["=", "12.2.0-14+deb12u1"]);
    for (const [name, [op]] of p) expect(["=", ">="], name).toContain(op);
  });
});

/**
 * debian_install as the test-tools script runs it (`set -euo pipefail`), with dpkg-query, apt-cache,
 * apt-get and service replaced on PATH by stand-ins that read and log files: a fresh machine, a
 * machine that has everything, and an archive that cannot satisfy a minimum.
 */
describe("debian_install under set -euo pipefail, with apt stood in for", () => {
  interface Machine {
    installed: Record<string, string>;
    policies: Record<string, string>;
  }

  function install(machine: Machine): Outcome & { aptCalls: string[] } {
    const dir = mkdtempSync(path.join(tmpdir(), "plinth-apt-"));
    try {
      const bin = path.join(dir, "bin");
      mkdirSync(bin);
      for (const [name, version] of Object.entries(machine.installed))
        writeFileSync(path.join(dir, `installed-${name}`), version);
      for (const [name, text] of Object.entries(machine.policies))
        writeFileSync(path.join(dir, `policy-${name}`), text);
      const stub = (name: string, body: string) => {
        writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`);
        chmodSync(path.join(bin, name), 0o755);
      };
      // dpkg-query -W -f=FORMAT NAME: exits 1 for a package never installed, as the real one does.
      stub(
        "dpkg-query",
        `f="${dir}/installed-\${@: -1}"; [[ -f "$f" ]] || exit 1; printf 'install ok installed %s' "$(cat "$f")"`,
      );
      stub("apt-cache", `cat "${dir}/policy-$2" 2>/dev/null || true`);
      stub("apt-get", `echo "$*" >> "${dir}/apt.log"`);
      stub("service", "exit 0");
      const outcome = bash(`set -euo pipefail; debian_install`, { PATH: `${bin}:${process.env["PATH"]}` });
      let aptCalls: string[] = [];
      try {
        aptCalls = readFileSync(path.join(dir, "apt.log"), "utf8").trim().split("\n");
      } catch {
        aptCalls = [];
      }
      return { ...outcome, aptCalls };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const archive: Record<string, string> = {
    "dataset-fashion-mnist": policy("dataset-fashion-mnist", "0.0~git20200523.55506a9-1", [
      "0.0~git20200523.55506a9-1",
    ]),
    prometheus: policy("prometheus", "2.42.0+ds-5+deb12u1", ["2.42.0+ds-5+deb12u1"]),
    chromium: CHROMIUM_2026_12_03,
    nginx: policy("nginx", "1.22.1-9+deb12u11", ["1.22.1-9+deb12u11", "1.22.1-9+deb12u9"]),
    libgomp1: policy("libgomp1", "12.2.0-14+deb12u1", ["12.2.0-14+deb12u1"]),
    // As served on 2026-12-04: bookworm-security's build above the main archive's.
    "postgresql-15": policy("postgresql-15", "15.20-0+deb12u1", ["15.20-0+deb12u1", "15.18-0+deb12u1"]),
    "redis-server": policy("redis-server", "5:7.0.15-1~deb12u10", [
      "5:7.0.15-1~deb12u10",
      "5:7.0.15-1~deb12u7",
    ]),
    // As served on 2026-12-05: bookworm-security's build above the main archive's.
    jq: policy("jq", "1.6-2.1+deb12u3", ["1.6-2.1+deb12u3", "1.6-2.1+deb12u2"]),
  };

  it("installs every package on a fresh machine at the archive's version, and prints the versions used", () => {
    const r = install({ installed: {}, policies: archive });
    expect(r.ok, r.out).toBe(true);
    expect(r.aptCalls).toEqual([
      "update -qq",
      "install -y -qq --no-install-recommends dataset-fashion-mnist=0.0~git20200523.55506a9-1 prometheus=2.42.0+ds-5+deb12u1 chromium=156.0.8078.114-1~deb12u1 nginx=1.22.1-9+deb12u11 libgomp1=12.2.0-14+deb12u1 postgresql-15=15.20-0+deb12u1 redis-server=5:7.0.15-1~deb12u10 jq=1.6-2.1+deb12u3",
    ]);
    expect(r.out).toContain("chromium 156.0.8078.114-1~deb12u1");
  });

  it("touches apt not at all when every package meets its rule (a newer chromium included)", () => {
    const r = install({
      installed: {
        "dataset-fashion-mnist": "0.0~git20200523.55506a9-1",
        prometheus: "2.42.0+ds-5+deb12u1",
        chromium: "157.0.1-1~deb12u1",
        nginx: "1.22.1-9+deb12u12",
        libgomp1: "12.2.0-14+deb12u1",
        "postgresql-15": "15.18-0+deb12u1",
        "redis-server": "5:7.0.15-1~deb12u10",
        jq: "1.6-2.1+deb12u1",
      },
      policies: {},
    });
    expect(r.ok, r.out).toBe(true);
    expect(r.aptCalls).toEqual([]);
    expect(r.out).toContain(
      "ok (Debian: dataset-fashion-mnist 0.0~git20200523.55506a9-1, prometheus 2.42.0+ds-5+deb12u1, chromium 157.0.1-1~deb12u1, nginx 1.22.1-9+deb12u12, libgomp1 12.2.0-14+deb12u1, postgresql-15 15.18-0+deb12u1, redis-server 5:7.0.15-1~deb12u10, jq 1.6-2.1+deb12u1)",
    );
  });

  it("stops before installing anything when the archive cannot meet a minimum, naming the package", () => {
    const old = policy("chromium", "149.0.1-1", ["149.0.1-1"]);
    const r = install({ installed: {}, policies: { ...archive, chromium: old } });
    expect(r.ok).toBe(false);
    expect(r.out).toContain(
      "FAILED: Debian package 'chromium' needs version >= 150, but the archive's candidate is 149.0.1-1",
    );
    expect(r.out).toContain("apt-cache policy chromium");
    expect(r.aptCalls).toEqual(["update -qq"]);
  });

  it("names a package the archive does not know", () => {
    const { nginx: _nginx, ...withoutNginx } = archive;
    const r = install({ installed: {}, policies: withoutNginx });
    expect(r.ok).toBe(false);
    expect(r.out).toContain("FAILED: Debian package 'nginx' (>= 1.22.1-9) is not offered by the archive");
  });
});
