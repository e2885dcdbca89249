/**
 * The runner each stack's workflows run on (#18): a private or allowlisted EKS or GKE endpoint is
 * reachable only from a self-hosted runner in the VPC (or listed), so deploy-stack.yml picks the
 * runner per stack from the repository variable `<PREFIX>_RUNNER` and preview.yml from
 * `<PREFIX>_PREVIEW_RUNNER` (JSON labels; a pull request's code runs on the preview runner, so it
 * is never the deploy runner), GitHub-hosted when unset, and the program refuses what that runner
 * cannot reach (test/infra/deploy-target.test.ts).
 */
import { describe, expect, it } from "vitest";
import { jobsOf, readWorkflow, type Job } from "./workflow-files.js";

const deploy = readWorkflow("deploy.yml");
const deployStack = readWorkflow("deploy-stack.yml");
const preview = readWorkflow("preview.yml");

/** `${{ fromJSON(vars[format('{0}_<variable>', X)] || '"ubuntu-24.04"') }}` with X the prefix expression. */
const runnerFrom = (prefix: string, variable = "RUNNER") =>
  `\${{ fromJSON(vars[format('{0}_${variable}', ${prefix})] || '"ubuntu-24.04"') }}`;

/** What GitHub makes of that expression for a variable's value (fromJSON of the text, or the default). */
function runsOn(variable: string | undefined): unknown {
  return JSON.parse(variable || '"ubuntu-24.04"');
}

describe("the runner of each stack's workflows", () => {
  it("deploy-stack.yml runs on <PREFIX>_RUNNER, GitHub-hosted ubuntu-24.04 when unset", () => {
    expect(deployStack.doc.jobs!.deploy!["runs-on"]).toBe(runnerFrom("inputs.vars-prefix"));
  });

  it("preview.yml previews each stack on a preview runner of its own, never the deploy runner", () => {
    const job = preview.doc.jobs!.preview! as Job;
    expect(job["runs-on"]).toBe(runnerFrom("matrix.vars", "PREVIEW_RUNNER"));
    expect(preview.text).not.toContain("'{0}_RUNNER'");
    const previewPrefixes = (job.strategy!.matrix!.include as { stack: string; vars: string }[]).map(
      (entry) => [entry.stack, entry.vars],
    );
    const deployPrefixes = jobsOf(deploy.doc).map(([, caller]) => [
      (caller.with as { stack: string }).stack,
      (caller.with as { "vars-prefix": string })["vars-prefix"],
    ]);
    expect(previewPrefixes.sort()).toEqual(deployPrefixes.sort());
  });

  it("takes a JSON label list or a single label, so a self-hosted runner group can be named", () => {
    expect(runsOn(undefined)).toBe("ubuntu-24.04");
    expect(runsOn("")).toBe("ubuntu-24.04");
    expect(runsOn('["self-hosted","plinth-production"]')).toEqual(["self-hosted", "plinth-production"]);
    expect(runsOn('"plinth-runners"')).toBe("plinth-runners");
  });

  it("documents the variables where the workflows list their repository settings", () => {
    expect(deployStack.text).toMatch(/#\s+variables: <PREFIX>_RUNNER \(JSON runner labels/);
    expect(preview.text).toMatch(/#\s+<PREFIX>_PREVIEW_RUNNER\s+JSON runner labels/);
    expect(deployStack.text).toMatch(/#\s+<PREFIX>_RUNNER_EGRESS_LISTED \("true"/);
    expect(preview.text).toMatch(/#\s+<PREFIX>_RUNNER_EGRESS_LISTED\s+"true"/);
  });

  it("hands the program the runner's declared static egress, per stack", () => {
    expect(deployStack.doc.jobs!.deploy!.env).toMatchObject({
      PLINTH_RUNNER_EGRESS_LISTED: "${{ vars[format('{0}_RUNNER_EGRESS_LISTED', inputs.vars-prefix)] }}",
    });
    expect((preview.doc.jobs!.preview! as Job).env).toMatchObject({
      PLINTH_RUNNER_EGRESS_LISTED: "${{ vars[format('{0}_RUNNER_EGRESS_LISTED', matrix.vars)] }}",
    });
  });
});
