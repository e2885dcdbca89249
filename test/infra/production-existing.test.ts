/** The production stack on an existing cluster: the in-cluster database and artifact volume are protected. */
import { describe, expect, it } from "vitest";
import { describeExistingCloud } from "../support/existing-suite.js";
import { describeCommonInvariants, renderOnce, statefulResources } from "../support/stack-suite.js";

const holder = renderOnce("production", "existing");
describeCommonInvariants("production", "existing", holder);
describeExistingCloud("production", holder, { protect: true });

describe("production on an existing cluster: protection", () => {
  it("protects exactly the database StatefulSet, the artifact volume and the rate-limit store's StatefulSet", () => {
    // The rate-limit store keeps nothing worth keeping, but the pack protects every StatefulSet.
    expect(statefulResources(holder.view).map((r) => [r.type, r.name, r.protect])).toEqual([
      ["kubernetes:apps/v1:StatefulSet", "mlflow-postgres", true],
      ["kubernetes:core/v1:PersistentVolumeClaim", "mlflow-artifacts", true],
      ["kubernetes:apps/v1:StatefulSet", "rate-limit-store-server", true],
    ]);
  });
});
