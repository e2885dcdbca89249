/** The staging stack rendered for GCP (plinth:cloud overridden): private GKE and Cloud SQL. */
import { describe, expect, it } from "vitest";
import { describeGcpCloud } from "../support/gcp-suite.js";
import { describeCommonInvariants, renderOnce } from "../support/stack-suite.js";

const holder = renderOnce("staging", "gcp");
describeCommonInvariants("staging", "gcp", holder);
describeGcpCloud("staging", holder, {
  project: "plinth-ml-staging",
  zones: ["europe-west1-b", "europe-west1-c"],
  releaseChannel: "REGULAR",
  masterAuthorizedCidrs: ["203.0.113.0/24"],
  protect: false,
});

describe("staging on gcp", () => {
  it("creates no AWS resources and no in-cluster database", () => {
    const types = holder.view.resources.map((r) => r.type);
    expect(types.filter((t) => t.startsWith("aws:"))).toEqual([]);
    expect(types).not.toContain("kubernetes:apps/v1:StatefulSet");
  });
});
