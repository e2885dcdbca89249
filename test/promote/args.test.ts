/** The promote command line: each step's parse, and each mistake's message. */
import { describe, expect, it } from "vitest";
import { parsePromoteArgs, UsageError } from "../../infra/promote/args.js";

const parse = (...argv: string[]) => parsePromoteArgs(argv, {});

function usage(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parsePromoteArgs(argv, env);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error("expected a UsageError");
}

describe("steps", () => {
  it.each([
    [["--shadow", "7"], { kind: "shadow", version: "7", percent: 100 }],
    [
      ["--shadow", "challenger", "--percent", "12.5"],
      { kind: "shadow", version: "challenger", percent: 12.5 },
    ],
    [["--canary", "7", "--weight", "10"], { kind: "canary", version: "7", weight: 10 }],
    [["--weight", "25"], { kind: "weight", weight: 25 }],
    [["--promote"], { kind: "promote" }],
    [["--switch", "green"], { kind: "switch", colour: "green" }],
    [["--rollback"], { kind: "rollback" }],
    [["--check-only"], { kind: "check" }],
    [["--recheck"], { kind: "recheck" }],
  ])("%j", (argv, step) => {
    expect(parse("--stack", "production", ...argv).step).toEqual(step);
  });

  it("reads the options and the selector from PROMETHEUS_SELECTOR", () => {
    expect(
      parsePromoteArgs(
        [
          "--stack",
          "staging",
          "--weight",
          "25",
          "--force",
          "--dry-run",
          "--skip-ladder",
          "--reason",
          "hotfix",
          "--dir",
          "/srv/plinth",
          "--audit-log",
          "/var/log/plinth.jsonl",
        ],
        { PROMETHEUS_SELECTOR: 'namespace="plinth"' },
      ),
    ).toEqual({
      stack: "staging",
      step: { kind: "weight", weight: 25 },
      force: true,
      dryRun: true,
      skipLadder: true,
      reason: "hotfix",
      dir: "/srv/plinth",
      auditLog: "/var/log/plinth.jsonl",
      selector: 'namespace="plinth"',
    });
  });
});

describe("mistakes", () => {
  it.each<[string, string[], string]>([
    ["no stack", ["--promote"], "--stack: required (the stack whose Pulumi.<stack>.yaml to edit)"],
    ["a path as stack", ["--stack", "../prod", "--promote"], '--stack: expected a stack name, got "../prod"'],
    [
      "no step",
      ["--stack", "staging"],
      "no step: give one of --shadow, --canary, --weight, --promote, --switch, --rollback, --check-only, --recheck",
    ],
    [
      "two steps",
      ["--stack", "staging", "--promote", "--rollback"],
      "one step at a time: got --promote and --rollback",
    ],
    [
      "canary without weight",
      ["--stack", "staging", "--canary", "7"],
      "--canary: needs --weight <w> (the ladder's first weight, e.g. 10)",
    ],
    [
      "weight zero",
      ["--stack", "staging", "--weight", "0"],
      '--weight: expected a percentage above 0 and at most 100, got "0"',
    ],
    [
      "weight over 100",
      ["--stack", "staging", "--weight", "101"],
      '--weight: expected a percentage above 0 and at most 100, got "101"',
    ],
    [
      "weight not a number",
      ["--stack", "staging", "--weight", "ten"],
      '--weight: expected a percentage above 0 and at most 100, got "ten"',
    ],
    [
      "weight too precise",
      ["--stack", "staging", "--weight", "10.125"],
      '--weight: at most two decimals (the service splits traffic in 0.01% buckets), got "10.125"',
    ],
    [
      "percent without shadow",
      ["--stack", "staging", "--promote", "--percent", "5"],
      "--percent: only with --shadow",
    ],
    ["bad colour", ["--stack", "staging", "--switch", "red"], '--switch: expected blue or green, got "red"'],
    [
      "bad version",
      ["--stack", "staging", "--shadow", "v 7"],
      "--shadow: expected a model version or alias (letters, digits, '.', '_', '-'), got \"v 7\"",
    ],
    [
      "dry-run on a check",
      ["--stack", "staging", "--check-only", "--dry-run"],
      "--check-only: writes nothing already; drop --dry-run",
    ],
    [
      "forced rollback",
      ["--stack", "staging", "--rollback", "--force"],
      "--rollback: is never gated; drop --force",
    ],
    [
      "bad selector",
      ["--stack", "staging", "--promote", "--selector", "job=inference"],
      "--selector: expected PromQL label matchers such as 'namespace=\"plinth\",job=\"inference\"', got 'job=inference'",
    ],
    [
      "selector closing the braces",
      ["--stack", "staging", "--promote", "--selector", 'job="a"} or vector(1) {'],
      '--selector: expected PromQL label matchers such as \'namespace="plinth",job="inference"\', got \'job="a"} or vector(1) {\'',
    ],
    ["unknown flag", ["--stack", "staging", "--promote", "--yes"], "Unknown option '--yes'"],
    [
      "a positional",
      ["--stack", "staging", "promote"],
      "Unexpected argument 'promote'. This command does not take positional arguments",
    ],
  ])("%s", (_, argv, message) => {
    expect(usage(argv)).toBe(message);
  });
});
