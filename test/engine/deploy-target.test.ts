/**
 * Under the real engine (#18): `pulumi preview` of a stack whose EKS endpoint is private, run from
 * a GitHub-hosted runner, stops before any resource with the message naming the config path and
 * both ways out; the same preview with a placeholder allowlist names what to set. No cluster is
 * needed: the program refuses before it registers anything.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ALLOWLIST_PLACEHOLDER } from "../../infra/config/schema.js";
import { createLocalStackProject, type LocalStackProject } from "../../stack/engine/local-stack.js";

const STEP_MS = 4 * 60_000;
const UNREACHABLE_KUBECONFIG = [
  "apiVersion: v1",
  "kind: Config",
  "clusters: [{ name: none, cluster: { server: https://127.0.0.1:1 } }]",
  "users: [{ name: none, user: { token: none } }]",
  "contexts: [{ name: none, context: { cluster: none, user: none } }]",
  "current-context: none",
].join("\n");

let work: string;
let project: LocalStackProject;

/** Rewrites the local stack file as an aws stack (the secrets set by the CLI stay as they are). */
async function asAwsStack(publicEndpointCidrs: string[]): Promise<void> {
  const document = parse(await readFile(project.stackFile, "utf8")) as { config: Record<string, unknown> };
  delete document.config["plinth:existingCluster"];
  document.config["plinth:cloud"] = "aws";
  const aws = document.config["plinth:aws"] as Record<string, unknown>;
  document.config["plinth:aws"] = { ...aws, publicEndpointCidrs };
  await writeFile(project.stackFile, stringify(document));
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "plinth-deploy-target-"));
  project = await createLocalStackProject({ workDir: work, kubeconfig: UNREACHABLE_KUBECONFIG });
}, 5 * 60_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("pulumi preview refuses an API endpoint this run cannot reach", { timeout: 2 * STEP_MS }, () => {
  it("a private EKS endpoint from a GitHub-hosted runner, before any resource", async () => {
    await asAwsStack([]);
    const preview = await project.pulumi(["preview"], {
      timeoutMs: STEP_MS,
      env: { GITHUB_ACTIONS: "true", RUNNER_ENVIRONMENT: "github-hosted" },
    });
    const output = preview.stdout + preview.stderr;
    expect(preview.code, output).not.toBe(0);
    expect(output).toContain(
      "plinth:aws.publicEndpointCidrs: [] makes the EKS API endpoint private, and this run is on a GitHub-hosted runner",
    );
    expect(output).toContain("PLINTH_LOCAL_RUNNER (deployments) and PLINTH_LOCAL_PREVIEW_RUNNER");
    expect(output).not.toMatch(/aws:eks\/cluster:Cluster|kubernetes:/);
  });

  it("the stack file's placeholder allowlist, saying what to set", async () => {
    await asAwsStack([ALLOWLIST_PLACEHOLDER]);
    const preview = await project.pulumi(["preview"], { timeoutMs: STEP_MS, env: {} });
    const output = preview.stdout + preview.stderr;
    expect(preview.code, output).not.toBe(0);
    expect(output).toContain(
      `plinth:aws.publicEndpointCidrs[0]: ${ALLOWLIST_PLACEHOLDER} is a placeholder: the ranges are your organisation's.`,
    );
  });
});
