/**
 * renderStack (a child process per render) and the render CLI: repeatable in one process, config
 * overrides, errors surfaced with the program's message, and protect/parent/provider/dependency
 * capture from the mock monitor's requests.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { maskSecrets } from "../../infra/render/objects.js";
import { RenderError, renderStack } from "../../infra/render/index.js";
import { at, StackView } from "../support/stack.js";

const run = promisify(execFile);

describe("renderStack", () => {
  it("renders several stacks in one process, each with its own config", async () => {
    const [staging, production] = await Promise.all([
      renderStack({
        stack: "staging",
        config: {
          inference: { models: { "fashion-classifier": { rollout: { candidate: { weight: 55 } } } } },
        },
      }),
      renderStack({ stack: "production", cloud: "existing" }),
    ]);
    const stagingView = new StackView(staging);
    const env = at(
      stagingView.manifest("Deployment", "plinth-inference"),
      "spec.template.spec.containers[0].env",
    ) as { name: string; value?: string }[];
    expect(env.find((e) => e.name === "CANDIDATE_WEIGHT")?.value).toBe("55");
    expect(staging.cloud).toBe("aws");
    expect(production.cloud).toBe("existing");
    expect(production.outputs.rolloutStrategy).toBe("blue-green");

    const db = stagingView.one("aws:rds/instance:Instance", "mlflow-db");
    expect(db.protect).toBe(false);
    expect(stagingView.parentName(db)).toBe("mlflow");
    expect(db.dependencies).toEqual(
      expect.arrayContaining([
        stagingView.one("random:index/randomPassword:RandomPassword", "mlflow-db-password").urn,
      ]),
    );
    expect(new StackView(production).one("kubernetes:apps/v1:StatefulSet", "mlflow-postgres").protect).toBe(
      true,
    );
  });

  it("rejects with the program's config error, naming the key", async () => {
    const error = await renderStack({
      stack: "staging",
      config: {
        "plinth:inference": { models: { "fashion-classifier": { rollout: { candidate: { weight: 150 } } } } },
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenderError);
    expect((error as Error).message).toContain(
      "plinth:inference.models.fashion-classifier.rollout.candidate.weight: expected a number between 0 and 100",
    );
  });

  it("rejects a secret override given in plain text", async () => {
    await expect(
      renderStack({ stack: "staging", config: { oidcClientSecret: "in-plain-text" } }),
    ).rejects.toThrow(
      "plinth:oidcClientSecret: must be a secret; set it with `pulumi config set --secret plinth:oidcClientSecret`",
    );
  });
});

describe("maskSecrets", () => {
  it("replaces exactly the secret paths and leaves the input untouched", () => {
    const inputs = { stringData: { a: "1", b: "2" }, spec: { containers: [{ env: [{ value: "x" }] }] } };
    expect(maskSecrets(inputs, ["stringData.b", "spec.containers[0].env[0].value"])).toEqual({
      stringData: { a: "1", b: "[secret]" },
      spec: { containers: [{ env: [{ value: "[secret]" }] }] },
    });
    expect(inputs.stringData.b).toBe("2");
  });
});

describe("npm run render", () => {
  it("writes one YAML file per Kubernetes object and a JSON summary, with secrets masked", async () => {
    const { stdout } = await run(process.execPath, [
      "--import",
      "tsx",
      "infra/render/cli.ts",
      "staging",
      "--cloud",
      "existing",
    ]);
    expect(stdout).toMatch(
      /^wrote \d+ Kubernetes objects and \d+ other resources to .*out\/staging-existing\n$/,
    );
    const files = readdirSync("out/staging-existing/kubernetes");
    expect(files).toEqual(
      expect.arrayContaining([
        "deployment_plinth_plinth-inference.yaml",
        "statefulset_mlflow_mlflow-postgres.yaml",
        "clusterissuer_cluster_letsencrypt.yaml",
      ]),
    );
    expect(
      readFileSync("out/staging-existing/kubernetes/secret_auth_oauth2-proxy-secrets.yaml", "utf8"),
    ).toContain('stringData: "[secret]"');
    const summary = JSON.parse(readFileSync("out/staging-existing/cloud-resources.json", "utf8")) as {
      cloud: string;
      resources: { type: string }[];
    };
    expect(summary.cloud).toBe("existing");
    expect(summary.resources.map((r) => r.type)).toContain("kubernetes:helm.sh/v3:Release");
    const outputs = JSON.parse(readFileSync("out/staging-existing/outputs.json", "utf8")) as Record<
      string,
      unknown
    >;
    expect(outputs.kubeconfig).toBe("[secret]");
  });

  it("exits 2 with usage on a bad stack or cloud", async () => {
    const failure = await run(process.execPath, ["--import", "tsx", "infra/render/cli.ts", "qa"]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain('expected one stack name, got ["qa"]');
    const badCloud = await run(process.execPath, [
      "--import",
      "tsx",
      "infra/render/cli.ts",
      "staging",
      "--cloud",
      "azure",
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((badCloud as { stderr: string }).stderr).toContain(
      "--cloud must be aws, gcp or existing, got azure",
    );
  });
});
