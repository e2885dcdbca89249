/** The production stack rendered for GCP (plinth:cloud overridden): protected, regional database. */
import { describe, expect, it } from "vitest";
import { ALLOWLIST_PLACEHOLDER } from "../../infra/config/schema.js";
import { describeGcpCloud } from "../support/gcp-suite.js";
import { describeCommonInvariants, renderOnce, statefulResources } from "../support/stack-suite.js";

const holder = renderOnce("production", "gcp");
describeCommonInvariants("production", "gcp", holder);
describeGcpCloud("production", holder, {
  project: "plinth-ml-production",
  zones: ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
  releaseChannel: "STABLE",
  masterAuthorizedCidrs: [ALLOWLIST_PLACEHOLDER],
  masterCidr: "172.16.0.16/28",
  protect: true,
});

describe("production on gcp: protection", () => {
  it("protects exactly the stateful resources: cluster, database and bucket", () => {
    const view = holder.view;
    expect(statefulResources(view).map((r) => [r.type, r.name, r.protect])).toEqual([
      ["gcp:container/cluster:Cluster", "plinth-gke", true],
      ["gcp:sql/databaseInstance:DatabaseInstance", "mlflow-db", true],
      ["gcp:storage/bucket:Bucket", "mlflow-artifacts", true],
    ]);
    expect(
      view.resources
        .filter((r) => r.protect)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["mlflow-artifacts", "mlflow-db", "plinth-gke"]);
  });
});
