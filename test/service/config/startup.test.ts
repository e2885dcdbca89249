import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { IMAGE_PROGRAMS } from "../../../service/contract/image-commands.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));

describe("npm start with a bad setting", () => {
  it("stops with exit code 2 and a message naming each bad variable", () => {
    const run = spawnSync(process.execPath, [IMAGE_PROGRAMS.serve], {
      cwd: REPO,
      env: { PATH: process.env.PATH, PORT: "eighty", DEPLOYMENT_COLOR: "purple" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("invalid service configuration");
    expect(run.stderr).toMatch(/^ {2}PORT="eighty": /m);
    expect(run.stderr).toMatch(/^ {2}DEPLOYMENT_COLOR="purple": /m);
    expect(run.stdout).toBe("");
  });
});
