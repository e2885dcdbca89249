/**
 * deploy.yml and deploy-stack.yml: staging on push to main, production by hand behind its
 * environment's approval; the release step's gates before `pulumi up`, the post-deploy gate after,
 * and the automatic revert. Every `npm run promote` the workflow runs is a command line the CLI accepts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parsePromoteArgs } from "../../infra/promote/args.js";
import { jobsOf, readWorkflow, stepsOf, stepUsing, type Job, type Step } from "./workflow-files.js";

const deploy = readWorkflow("deploy.yml");
const stack = readWorkflow("deploy-stack.yml");
const callers = Object.fromEntries(jobsOf(deploy.doc));
const job = stack.doc.jobs!.deploy! as Job & { environment?: string };
const steps = job.steps!;
const named = (name: string): Step => {
  const step = steps.find((s) => s.name === name);
  if (!step) throw new Error(`deploy-stack.yml has no step "${name}"`);
  return step;
};
const index = (step: Step) => steps.indexOf(step);

/** The argv of every `npm run --silent promote -- ...` in a run script, shell variables filled in. */
function promoteCommands(run: string): string[][] {
  const joined = run.replace(/\\\n\s*/g, " ");
  return [...joined.matchAll(/npm run --silent promote -- (.+?)(?:\||$)/gm)].map((m) =>
    m[1]!
      .replace(/"\$STACK"/g, "production")
      .replace(/"\$\{flag\[@\]\}"/g, "--model churn")
      .replace(/\$FORCE/g, "--force")
      .replace(/--reason "[^"]*"/, "--reason post-deploy")
      .trim()
      .split(/\s+/),
  );
}

describe("deploy.yml", () => {
  it("deploys staging on pushes to main and production only when dispatched on main", () => {
    expect(deploy.doc.on).toMatchObject({ push: { branches: ["main"] }, workflow_dispatch: {} });
    expect(callers.staging).toMatchObject({
      if: "github.event_name == 'push'",
      uses: "./.github/workflows/deploy-stack.yml",
      with: { stack: "staging", "vars-prefix": "PLINTH_STAGING" },
    });
    expect(callers.production).toMatchObject({
      if: "github.event_name == 'workflow_dispatch' && github.ref == 'refs/heads/main'",
      uses: "./.github/workflows/deploy-stack.yml",
      with: { stack: "production", "vars-prefix": "PLINTH_PRODUCTION" },
    });
  });

  it("never cancels a deployment half-way", () => {
    expect(deploy.doc.concurrency?.["cancel-in-progress"]).toBe(false);
  });
});

describe("deploy-stack.yml", () => {
  it("is a reusable workflow whose job runs in the stack's environment (production: approval)", () => {
    expect(stack.doc.on).toHaveProperty("workflow_call");
    expect(job.environment).toBe("${{ inputs.stack }}");
  });

  it("gates, applies with the policy pack, checks after, reverts on failure, then marks the commit", () => {
    const pre = named("Pre-deploy gate (the release step's gates, measured again)");
    const [, up, revertUp] = stepUsing(stack.doc, "pulumi/actions") as [Step, Step, Step];
    const post = named("Post-deploy gate (what the stack now runs)");
    const revert = named("Revert the release step");
    const propose = named("Propose the revert on main");
    const mark = named("Mark the commit deployed");
    expect(up.with).toMatchObject({
      command: "up",
      "stack-name": "${{ inputs.stack }}",
      policyPacks: "policies",
      policyPackConfigs: "policies/config/${{ inputs.stack }}.json",
    });
    expect(revertUp.with).toMatchObject({ command: "up", policyPacks: "policies" });
    expect(index(pre)).toBeLessThan(index(up));
    expect(index(up)).toBeLessThan(index(post));
    expect(index(post)).toBeLessThan(index(revert));
    expect(index(revert)).toBeLessThan(index(revertUp));
    expect(index(revertUp)).toBeLessThan(index(propose));
    expect(revert.if).toBe(
      "failure() && steps.post.outcome == 'failure' && steps.release.outputs.step == 'true'",
    );
    expect(revertUp.if).toBe("failure() && steps.revert.outcome == 'success'");
    expect(mark.if).toBe("success()");
  });

  it("runs promote with --recheck before, --check-only after and --rollback on failure, all valid", () => {
    const commands = stepsOf(stack.doc).flatMap(({ step }) => promoteCommands(step.run ?? ""));
    expect(commands.map((argv) => parsePromoteArgs(argv, {}).step.kind)).toEqual([
      "recheck",
      "check",
      "rollback",
    ]);
  });

  it("rechecks and reverts each model whose rollout the new audit lines moved", () => {
    const release = named("Does this deployment carry a release step?");
    // The step's script, on a deployed tag whose diff is ours: git answers from a fixture.
    const diff = [
      "+" + JSON.stringify({ stack: "production", model: "churn", step: "--weight 25" }),
      "+" + JSON.stringify({ stack: "staging", model: "defects", step: "--weight 10" }),
      "+" + JSON.stringify({ stack: "production", step: "--promote" }),
      " " + JSON.stringify({ stack: "production", model: "iris", step: "--weight 10" }),
      "+" + JSON.stringify({ stack: "production", model: "churn", step: "--promote" }),
    ].join("\n");
    const git = `git() { if [[ $1 == diff ]]; then printf '%s\\n' '${diff.replace(/'/g, "'\\''")}'; else return 0; fi; }`;
    const output = path.join(mkdtempSync(path.join(tmpdir(), "plinth-deploy-")), "output");
    const result = spawnSync("bash", ["-euo", "pipefail", "-c", `${git}\n${release.run!}`], {
      encoding: "utf8",
      env: {
        ...process.env,
        STACK: "production",
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: "/dev/null",
      },
    });
    expect(result.stderr).toBe("");
    // A line written before --model (no `model`) is the default model's: promote without --model.
    expect(readFileSync(output, "utf8").split("\n").filter(Boolean)).toEqual([
      "step=true",
      "models=- churn ",
    ]);
    for (const name of [
      "Pre-deploy gate (the release step's gates, measured again)",
      "Revert the release step",
    ]) {
      const step = named(name);
      expect(step.env).toMatchObject({ MODELS: "${{ steps.release.outputs.models }}" });
      expect(step.run).toMatch(/for model in \$MODELS; do/);
    }
  });

  it("pipes promote's output through tee under pipefail, so a blocked gate fails the step", () => {
    expect(stack.doc.defaults?.run?.shell).toBe("bash"); // GitHub runs `shell: bash` with -eo pipefail
  });

  it("keeps the Pulumi token out of npm ci and gives the job only what it needs", () => {
    const npmCi = steps.find((s) => s.run === "npm ci")!;
    expect(npmCi.env).toBeUndefined();
    expect(job.env).not.toHaveProperty("PULUMI_ACCESS_TOKEN");
    expect(job.permissions).toEqual({ contents: "write", "id-token": "write", "pull-requests": "write" });
    expect(stack.doc.permissions).toEqual({});
  });
});
