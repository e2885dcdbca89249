/**
 * Issue #24: the platform gives every inference pod the same canary bucket key, generated with
 * @pulumi/random, kept a Pulumi secret, delivered through the auth Secret and never as a plain
 * environment value.
 */
import { describe, expect, it } from "vitest";
import { renderStack } from "../../../infra/render/index.js";
import { at, StackView } from "../../support/stack.js";

const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

describe("the platform's ROLLOUT_BUCKET_KEY", () => {
  it("is a generated secret in the auth Secret, read by every inference Deployment through secretKeyRef", async () => {
    const stack = new StackView(await renderStack({ stack: "staging" }));
    const password = stack.one(RANDOM_PASSWORD, "plinth-inference-rollout-bucket-key");
    expect(password.inputs).toMatchObject({ length: 48, special: false });

    const secret = stack.one("kubernetes:core/v1:Secret", "plinth-inference-auth");
    // Secret at the key itself or at an enclosing path (the whole stringData).
    const secretAt = secret.secretPaths.filter((p) => `stringData.rollout-bucket-key`.startsWith(p));
    expect(secretAt, "the key is a Pulumi secret").not.toEqual([]);
    expect(secret.dependencies).toContain(password.urn);
    const key = at(secret.inputs, "stringData.rollout-bucket-key");
    expect(typeof key === "string" && key.length >= 32, "a key of at least 32 characters").toBe(true);

    const deployments = stack
      .manifests()
      .filter((m) => m.kind === "Deployment" && m.metadata.name?.startsWith("plinth-inference"));
    const serving = deployments.filter((d) =>
      (at(d, "spec.template.spec.containers[0].env") as { name: string }[] | undefined)?.some(
        (e) => e.name === "MODEL_STABLE",
      ),
    );
    expect(serving.length).toBeGreaterThan(0);
    for (const deployment of serving) {
      const env = at(deployment, "spec.template.spec.containers[0].env") as {
        name: string;
        value?: string;
        valueFrom?: unknown;
      }[];
      const bucketKey = env.filter((e) => e.name === "ROLLOUT_BUCKET_KEY");
      expect(bucketKey, deployment.metadata.name).toEqual([
        {
          name: "ROLLOUT_BUCKET_KEY",
          valueFrom: { secretKeyRef: { name: "plinth-inference-auth", key: "rollout-bucket-key" } },
        },
      ]);
    }
  });
});
