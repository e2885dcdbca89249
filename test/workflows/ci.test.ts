/**
 * ci.yml and the shared policy-report workflow: what runs on a pull request, where, and the
 * report's shell step executed for real against a stand-in `npm`.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CLOUDS } from "../../policies/runner/stack.js";
import { ROOT, jobsOf, readWorkflow, repoStacks, stepsOf, type Step } from "./workflow-files.js";

const ci = readWorkflow("ci.yml");
const report = readWorkflow("policy-report.yml");

const runs = (steps: { step: Step }[]) => steps.map(({ step }) => step.run ?? "").join("\n");

describe("ci.yml", () => {
  it("runs on pull requests and on pushes to main", () => {
    expect(ci.doc.on).toEqual({ pull_request: null, push: { branches: ["main"] } });
  });

  it("installs from the lockfile, lints, typechecks and runs the README's test command", () => {
    const all = runs(stepsOf(ci.doc));
    for (const command of ["npm ci", "npm run lint", "npm run typecheck", "npm test"]) {
      expect(all).toContain(command);
    }
  });

  it("runs the suite in Debian bookworm, whose package versions the test-tools script pins", () => {
    const installer = readFileSync(join(ROOT, "scripts/install-test-tools.sh"), "utf8");
    expect(installer).toMatch(/\+deb12u\d|bookworm/);
    const testJob = jobsOf(ci.doc).find(([, job]) =>
      (job.steps ?? []).some((s) => /\bnpm test\b/.test(s.run ?? "")),
    );
    expect(testJob?.[1].container).toMatch(/^node:[\d.]+-bookworm$/);
  });

  it("gives the workflow token read access only; the comment job alone may write, and runs no checkout", () => {
    expect(ci.doc.permissions).toEqual({ contents: "read" });
    const writers = jobsOf(ci.doc).filter(([, job]) =>
      JSON.stringify(job.permissions ?? {}).includes("write"),
    );
    expect(writers.map(([id]) => id)).toEqual(["comment"]);
    const [, comment] = writers[0]!;
    expect(comment.permissions).toEqual({ "pull-requests": "write" });
    expect((comment.steps ?? []).map((s) => s.uses?.split("@")[0])).toEqual([
      "marocchino/sticky-pull-request-comment",
    ]);
    expect(comment.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
    expect(comment.steps?.[0]?.with?.message).toBe("${{ needs.policy-report.outputs.report }}");
  });

  it("reports every stack on every cloud the policy runner knows", () => {
    const [, job] = jobsOf(ci.doc).find(([id]) => id === "policy-report")!;
    expect(job.uses).toBe("./.github/workflows/policy-report.yml");
    expect(String(job.with?.clouds).split(" ").sort()).toEqual([...CLOUDS].sort());
  });

  it("runs `npm test | tee` under bash, whose -o pipefail keeps a failing suite failing", () => {
    // A container job's default shell is sh, where the pipe would report tee's success.
    expect(ci.doc.defaults).toEqual({ run: { shell: "bash" } });
    const testStep = stepsOf(ci.doc).find(({ step }) => /\bnpm test\b/.test(step.run ?? ""))!;
    expect(testStep.step.run).toContain("npm test 2>&1 | tee out/test.log");
    expect(testStep.step.shell).toBeUndefined();
  });

  it("cancels superseded pull-request runs but never a run on main", () => {
    expect(ci.doc.concurrency).toEqual({
      group: "ci-${{ github.ref }}",
      "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
    });
  });
});

describe("policy-report.yml", () => {
  const [, job] = jobsOf(report.doc)[0]!;
  const check = job.steps!.find((s) => s.id === "check")!;

  it("covers exactly the stacks that have a Pulumi.<stack>.yaml", () => {
    expect(String(job.env?.STACKS).split(" ").sort()).toEqual(repoStacks());
  });

  it("renders and policy-checks each stack, uploads out/ even on failure, fails last", () => {
    expect(check.run).toContain('npm run --silent render -- "${args[@]}"');
    expect(check.run).toContain('npm run --silent policy -- "${args[@]}"');
    const upload = job.steps!.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
    expect(upload.if).toBe("always()");
    expect(upload.with).toMatchObject({ name: "policy-report", path: "out/", "if-no-files-found": "error" });
    expect(job.steps!.at(-1)!.if).toBe("steps.check.outputs.failed != '0'");
  });

  describe("its report step, run with a stand-in npm", () => {
    let dir = "";
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    /**
     * Runs the step's script as GitHub would (its `shell`, its env) in a scratch directory where
     * `npm` is a stand-in: render fails for `production --cloud gcp`, policy finds a mandatory
     * violation on `staging --cloud existing`, everything else is clean.
     */
    function runStep(clouds: string, reportBytes = 0) {
      dir = mkdtempSync(join(tmpdir(), "plinth-policy-report-"));
      const npm = join(dir, "npm");
      writeFileSync(
        npm,
        [
          "#!/usr/bin/env bash",
          'cmd=$3; shift 4; args="$*"', // npm run --silent <cmd> -- <args...>
          'case "$cmd:$args" in',
          '  "render:production --cloud gcp") echo "render of production failed: bad zone" >&2; exit 2 ;;',
          '  "policy:production --cloud gcp") echo "render of production failed: bad zone"; exit 2 ;;',
          '  "policy:staging --cloud existing") echo "pods  Deployment::x  mandatory  runs as root"; echo; echo "1 violation(s), 1 mandatory."; exit 1 ;;',
          `  policy:*) head -c ${reportBytes} /dev/zero | tr '\\0' x; echo; echo "No policy violations." ;;`,
          "  render:*) echo rendered ;;",
          "esac",
        ].join("\n"),
      );
      chmodSync(npm, 0o755);
      const output = join(dir, "github-output");
      const summary = join(dir, "step-summary");
      const script = join(dir, "step.sh");
      writeFileSync(script, check.run!);
      const shell = check.shell!.replace("{0}", script).split(" ");
      const result = spawnSync(shell[0]!, shell.slice(1), {
        cwd: dir,
        encoding: "utf8",
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          STACKS: String(job.env?.STACKS),
          CLOUDS: clouds,
          GITHUB_OUTPUT: output,
          GITHUB_STEP_SUMMARY: summary,
        },
      });
      return {
        status: result.status,
        stderr: result.stderr,
        output: readFileSync(output, "utf8"),
        summary: readFileSync(summary, "utf8"),
        artifact: (name: string) => readFileSync(join(dir, "out", name), "utf8"),
      };
    }

    it("tabulates every stack and cloud, keeps going past failures, and records the verdict", () => {
      const run = runStep("aws gcp existing");
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      const rows = run.summary.split("\n").filter((l) => /^\| (staging|production) /.test(l));
      expect(rows).toEqual([
        "| staging | aws | ok | No policy violations. |",
        "| staging | gcp | ok | No policy violations. |",
        "| staging | existing | ok | **1 violation(s), 1 mandatory.** |",
        "| production | aws | ok | No policy violations. |",
        "| production | gcp | **failed** (see the artifact's `render/production-gcp.log`) | **error 2** |",
        "| production | existing | ok | No policy violations. |",
      ]);
      expect(run.summary).toContain("runs as root");
      expect(run.output).toMatch(/^failed=1$/m);
      expect(run.artifact("render/production-gcp.log")).toBe("render of production failed: bad zone\n");
      expect(run.artifact("policy/staging-existing.txt")).toContain("1 violation(s), 1 mandatory.");
    });

    it("passes the report out whole, between delimiters, when it fits a comment", () => {
      const run = runStep("aws");
      const [, body] = /^report<<PLINTH_REPORT_END\n([\s\S]*)\nPLINTH_REPORT_END$/m.exec(run.output) ?? [];
      expect(body).toBe(run.artifact("policy/report.md").trimEnd());
      expect(run.output).toMatch(/^failed=0$/m);
    });

    it("uses each stack's own cloud when no clouds are given", () => {
      const run = runStep("");
      const rows = run.summary.split("\n").filter((l) => /^\| (staging|production) /.test(l));
      expect(rows).toEqual([
        "| staging | (stack config) | ok | No policy violations. |",
        "| production | (stack config) | ok | No policy violations. |",
      ]);
    });

    it("cuts an oversized report to fit a pull-request comment and says where the rest is", () => {
      const run = runStep("aws gcp", 25_000);
      const [, body = ""] =
        /^report<<PLINTH_REPORT_END\n([\s\S]*)\nPLINTH_REPORT_END$/m.exec(run.output) ?? [];
      expect(run.summary.length).toBeGreaterThan(65_536);
      expect(body.length).toBeLessThan(65_536);
      expect(body).toMatch(
        /_Cut to fit a comment: the full report is in the run summary and the `policy-report` artifact\._$/,
      );
    });
  });
});
