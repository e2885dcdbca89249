import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { README_PATH, generatedTables, renderReadme } from "../../scripts/readme-tables.js";
import { ENV } from "../../service/config.js";
import { ErrorCode } from "../../service/errors/codes.js";

const readme = readFileSync(README_PATH, "utf8");

describe("README", () => {
  it("opens with the install+start command and the test command", () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const commands = firstBlock
      .split("\n")
      .map((l) => l.replace(/#.*$/, "").trim())
      .filter(Boolean);
    expect(commands).toEqual(["npm ci && npm start", "npm ci && npm test"]);
  });

  it("matches the test command that .ci/run runs", () => {
    expect(readFileSync(new URL("../../.ci/run", import.meta.url), "utf8")).toContain(
      "npm ci --loglevel=error && npm test",
    );
  });

  it("has the settings and error-code tables as the code defines them (npm run readme:tables)", () => {
    expect(renderReadme(readme)).toBe(readme);
  });

  it("lists every setting and every error code", () => {
    const { "service-settings": settings = "", "error-codes": errors = "" } = generatedTables();
    for (const name of Object.values(ENV)) expect(settings).toContain(`| \`${name}\` |`);
    expect(errors).toContain("| `RATE_LIMITED` | 429 |");
    expect(errors.split("\n")).toHaveLength(Object.keys(ErrorCode).length + 2);
  });

  it("refuses a README that lost a marker", () => {
    expect(() => renderReadme("# no markers")).toThrow(/missing the <!-- generated:service-settings -->/);
  });
});
