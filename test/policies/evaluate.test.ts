import { describe, expect, it } from "vitest";
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import { formatReport, resourceLabel } from "../../policies/runner/report.js";
import { target } from "./fixtures/target.js";

const service = target(
  "kubernetes:core/v1:Service",
  "api",
  { spec: { type: "NodePort" } },
  { protect: true },
);
const ingress = target(
  "kubernetes:networking.k8s.io/v1:Ingress",
  "public",
  { spec: {} },
  { dependsOn: [service] },
);

const nodePorts: ResourceValidationPolicy = {
  name: "no-nodeport",
  description: "test policy",
  enforcementLevel: "mandatory",
  configSchema: { properties: { forbidden: { type: "string", default: "NodePort" } } },
  validateResource: validateResourceOfType(k8s.core.v1.Service, (svc, args, report) => {
    const { forbidden } = { forbidden: "NodePort", ...args.getConfig<{ forbidden?: string }>() };
    if (svc.spec?.type === forbidden) report(`type ${forbidden} (protect=${args.opts.protect})`);
  }),
};

describe("evaluatePolicies", () => {
  it("runs typed resource policies only on their type, with options and config", async () => {
    expect(await evaluatePolicies([nodePorts], [service, ingress])).toEqual([
      {
        policy: "no-nodeport",
        level: "mandatory",
        urn: service.urn,
        message: "type NodePort (protect=true)",
      },
    ]);
    expect(
      await evaluatePolicies([nodePorts], [service], { "no-nodeport": { forbidden: "ClusterIP" } }),
    ).toEqual([]);
  });

  it("takes the enforcement level from the pack config, and skips disabled policies", async () => {
    expect((await evaluatePolicies([nodePorts], [service], { "no-nodeport": "advisory" }))[0]?.level).toBe(
      "advisory",
    );
    expect(
      (
        await evaluatePolicies([nodePorts], [service], { "no-nodeport": { enforcementLevel: "remediate" } })
      )[0]?.level,
    ).toBe("mandatory");
    expect(await evaluatePolicies([nodePorts], [service], { "no-nodeport": "disabled" })).toEqual([]);
    expect(
      (await evaluatePolicies([{ ...nodePorts, enforcementLevel: undefined }], [service]))[0]?.level,
    ).toBe("advisory");
  });

  it("gives stack policies every resource with dependencies resolved, and keeps stack-level findings urn-less", async () => {
    const seen: string[] = [];
    const graph: StackValidationPolicy = {
      name: "graph",
      description: "test policy",
      enforcementLevel: "mandatory",
      validateStack: (args, report) => {
        for (const r of args.resources)
          seen.push(`${r.name}<-${r.dependencies.map((d) => d.name).join(",")}`);
        report("whole stack");
        report("one resource", ingress.urn);
      },
    };
    expect(await evaluatePolicies([graph], [service, ingress])).toEqual([
      { policy: "graph", level: "mandatory", message: "whole stack" },
      { policy: "graph", level: "mandatory", urn: ingress.urn, message: "one resource" },
    ]);
    expect(seen).toEqual(["api<-", "public<-api"]);
  });

  it("treats notApplicable as no finding and rethrows real errors", async () => {
    const skip: ResourceValidationPolicy = {
      name: "skip",
      description: "d",
      enforcementLevel: "mandatory",
      validateResource: (args) => args.notApplicable("no"),
    };
    expect(await evaluatePolicies([skip], [service])).toEqual([]);
    const broken: ResourceValidationPolicy = {
      name: "broken",
      description: "d",
      enforcementLevel: "mandatory",
      validateResource: () => {
        throw new Error("bug in policy");
      },
    };
    await expect(evaluatePolicies([broken], [service])).rejects.toThrow("bug in policy");
  });
});

describe("formatReport", () => {
  it("prints one aligned row per violation and the mandatory count", () => {
    const report = formatReport([
      { policy: "no-nodeport", level: "mandatory", urn: service.urn, message: "type NodePort" },
      { policy: "graph", level: "advisory", message: "whole stack" },
    ]);
    expect(report.split("\n")).toEqual([
      "POLICY       RESOURCE                         LEVEL      MESSAGE",
      "no-nodeport  kubernetes:core/v1:Service::api  mandatory  type NodePort",
      "graph        (stack)                          advisory   whole stack",
      "",
      "2 violation(s), 1 mandatory.",
    ]);
    expect(formatReport([])).toBe("No policy violations.");
  });

  it("labels a child resource by its own type, not its parent chain", () => {
    expect(
      resourceLabel(
        "urn:pulumi:staging::plinth::plinth:inference:InferenceService$kubernetes:apps/v1:Deployment::inference-blue",
      ),
    ).toBe("kubernetes:apps/v1:Deployment::inference-blue");
  });
});
