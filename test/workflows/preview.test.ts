/** preview.yml: `pulumi preview` per stack with the policy pack, keyless cloud access, forks. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, jobsOf, readJson, readWorkflow, repoStacks, stepUsing, type Step } from "./workflow-files.js";

const preview = readWorkflow("preview.yml");
const jobs = Object.fromEntries(jobsOf(preview.doc));
const previewJob = jobs.preview!;
const forkJob = jobs["render-and-policy"]!;
const matrix = (previewJob.strategy?.matrix?.include ?? []) as { stack: string; vars: string }[];
const [install, previewStep] = stepUsing(preview.doc, "pulumi/actions") as [Step, Step];

/** A step input with `${{ matrix.* }}` resolved for one matrix entry. */
function resolved(step: Step, input: string, entry: Record<string, string>): string {
  return String(step.with?.[input]).replace(
    /\$\{\{\s*matrix\.(\w+)\s*\}\}/g,
    (_, key: string) => entry[key] ?? "",
  );
}

describe("preview.yml", () => {
  it("runs on pull requests only", () => {
    expect(preview.doc.on).toEqual({ pull_request: null });
  });

  it("previews exactly the stacks that have a Pulumi.<stack>.yaml", () => {
    expect(matrix.map((m) => m.stack).sort()).toEqual(repoStacks());
    expect(previewJob.strategy).toMatchObject({ "fail-fast": false });
  });

  it.each(repoStacks())("previews %s with the policy pack, its pack config, and a PR comment", (stack) => {
    const entry = matrix.find((m) => m.stack === stack)!;
    expect(previewStep.with?.command).toBe("preview");
    expect(resolved(previewStep, "stack-name", entry)).toBe(stack);
    expect(resolved(previewStep, "policyPacks", entry)).toBe("policies");
    expect(existsSync(join(ROOT, "policies/PulumiPolicy.yaml"))).toBe(true);
    const packConfig = resolved(previewStep, "policyPackConfigs", entry);
    expect(packConfig).toBe(`policies/config/${stack}.json`);
    expect(readJson<Record<string, unknown>>(packConfig)).toBeTypeOf("object");
    expect(previewStep.with).toMatchObject({ "comment-on-pr": true, "comment-on-summary": true, diff: true });
  });

  it("installs the Pulumi CLI at the version of the SDK in the lockfile", () => {
    const lock = readJson<{ packages: Record<string, { version: string }> }>("package-lock.json");
    const sdk = lock.packages["node_modules/@pulumi/pulumi"]!.version;
    expect(install.with?.command).toBeUndefined(); // install-only: `pulumi config get` needs the CLI first
    expect(install.with?.["pulumi-version"]).toBe(sdk);
    expect(previewStep.with?.["pulumi-version"]).toBe(sdk);
  });

  it("grants no token permission by default, and the preview job only what it uses", () => {
    expect(preview.doc.permissions).toEqual({});
    expect(previewJob.permissions).toEqual({
      contents: "read",
      "id-token": "write",
      "pull-requests": "write",
    });
    expect(forkJob.permissions).toEqual({ contents: "read" });
  });

  it("gets cloud credentials through OIDC only, for the cloud the stack's config names", () => {
    const aws = stepUsing(preview.doc, "aws-actions/configure-aws-credentials");
    const gcp = stepUsing(preview.doc, "google-github-actions/auth");
    expect(aws).toHaveLength(1);
    expect(gcp).toHaveLength(1);
    expect(aws[0]!.if).toBe("steps.target.outputs.cloud == 'aws'");
    expect(gcp[0]!.if).toBe("steps.target.outputs.cloud == 'gcp'");
    expect(Object.keys(aws[0]!.with ?? {}).sort()).toEqual([
      "aws-region",
      "role-session-name",
      "role-to-assume",
    ]);
    expect(Object.keys(gcp[0]!.with ?? {}).sort()).toEqual(["service_account", "workload_identity_provider"]);
    expect(preview.text).not.toMatch(/aws-access-key-id|aws-secret-access-key|credentials_json/);
  });

  it("names a distinct OIDC identity per stack through repository variables", () => {
    const variable = (name: string) => `\${{ vars[format('{0}_${name}', matrix.vars)] }}`;
    const aws = stepUsing(preview.doc, "aws-actions/configure-aws-credentials")[0]!;
    const gcp = stepUsing(preview.doc, "google-github-actions/auth")[0]!;
    expect(aws.with?.["role-to-assume"]).toBe(variable("AWS_PREVIEW_ROLE_ARN"));
    expect(gcp.with?.workload_identity_provider).toBe(variable("GCP_WORKLOAD_IDENTITY_PROVIDER"));
    expect(gcp.with?.service_account).toBe(variable("GCP_PREVIEW_SERVICE_ACCOUNT"));
    expect(matrix.map((m) => m.vars)).toEqual(matrix.map((m) => `PLINTH_${m.stack.toUpperCase()}`));
  });

  it("runs the preview only where secrets exist, and the credential-free report exactly elsewhere", () => {
    const sameRepo = "github.event.pull_request.head.repo.full_name == github.repository";
    const condition = (text = "") => text.replace(/\s+/g, " ").trim();
    expect(condition(previewJob.if)).toContain(sameRepo);
    expect(condition(forkJob.if)).toBe(`!(${condition(previewJob.if)})`);
    expect(forkJob.uses).toBe("./.github/workflows/policy-report.yml");
    expect(JSON.stringify(forkJob)).not.toContain("secrets");
  });

  it("hands the Pulumi token only to the steps that reach the backend, never to npm ci", () => {
    const steps = previewJob.steps ?? [];
    const withToken = steps.filter((s) => JSON.stringify(s).includes("secrets.PULUMI_ACCESS_TOKEN"));
    expect(withToken.map((s) => s.name)).toEqual(["Read the stack's cloud", "pulumi preview"]);
    for (const step of withToken)
      expect(step.env?.PULUMI_ACCESS_TOKEN).toBe("${{ secrets.PULUMI_ACCESS_TOKEN }}");
    expect(JSON.stringify(previewJob.env ?? {})).not.toContain("secrets.");
    const install = steps.findIndex((s) => s.run === "npm ci");
    expect(install).toBeGreaterThan(-1);
    expect(install).toBeLessThan(steps.indexOf(withToken[0]!));
  });

  it("lets a newer push to the same pull request cancel the older preview", () => {
    expect(preview.doc.concurrency).toEqual({
      group: "preview-${{ github.event.pull_request.number }}",
      "cancel-in-progress": true,
    });
  });
});
