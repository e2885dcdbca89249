/** The staging stack rendered for GCP (plinth:cloud overridden): private GKE and Cloud SQL. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALLOWLIST_PLACEHOLDER } from "../../infra/config/schema.js";
import { describeGcpCloud } from "../support/gcp-suite.js";
import { describeCommonInvariants, renderOnce } from "../support/stack-suite.js";

const holder = renderOnce("staging", "gcp");
describeCommonInvariants("staging", "gcp", holder);
describeGcpCloud("staging", holder, {
  project: "plinth-ml-staging",
  zones: ["europe-west1-b", "europe-west1-c"],
  releaseChannel: "REGULAR",
  masterAuthorizedCidrs: [ALLOWLIST_PLACEHOLDER],
  masterCidr: "172.16.0.0/28",
  protect: false,
});

describe("staging on gcp", () => {
  it("spells the Workload Identity pool name only where the cluster asks for it", () => {
    const literal = "svc.id.goog";
    const hits = ["components", "infra"].flatMap((dir) =>
      readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((file) => file.endsWith(".ts"))
        .map((file) => join(dir, file))
        .flatMap((file) =>
          readFileSync(file, "utf8")
            .split("\n")
            .filter((line) => line.includes(literal))
            .map((line) => `${file}: ${line.trim()}`),
        ),
    );
    // One comment that documents the name and the one input that uses it, both in the GKE cluster.
    expect(hits).toEqual([
      expect.stringMatching(/^components\/cluster\/gcp\.ts: \/\/ .*`<project>\.svc\.id\.goog`/),
      "components/cluster/gcp.ts: workloadIdentityConfig: { workloadPool: `${project}.svc.id.goog` },",
    ]);
  });

  it("creates no AWS resources and no in-cluster database", () => {
    const types = holder.view.resources.map((r) => r.type);
    expect(types.filter((t) => t.startsWith("aws:"))).toEqual([]);
    expect(types).not.toContain("kubernetes:apps/v1:StatefulSet");
  });
});
