import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import { RDS_TYPES } from "../../policies/aws.js";
import { isHelmChart } from "../../policies/lib/helm-charts.js";
import { allPolicies, policyTopics } from "../../policies/all.js";
import { renderCatalog } from "../../policies/catalog/generate.js";
import { STACKS, loadPackConfig } from "../../policies/runner/stack.js";

describe("the pack", () => {
  it("holds at least 30 invariants with unique names", () => {
    const names = allPolicies.map((p) => p.name);
    expect(names.length).toBeGreaterThanOrEqual(30);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(allPolicies.map((p) => [p.name, p] as const))(
    "%s is documented and mandatory (or says why not)",
    (_name, policy) => {
      expect(policy.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(policy.description.length).toBeGreaterThan(20);
      expect(policy.metadata.protectsAgainst.length).toBeGreaterThan(20);
      expect(policy.metadata.answers.length).toBeGreaterThan(0);
      if (policy.enforcementLevel !== "mandatory") expect(policy.metadata.levelReason).toMatch(/\w{3}/);
      expect(Boolean(policy.configSchema)).toBe(Boolean(policy.metadata.configured));
    },
  );

  it("names no config property 'enforcementLevel' (the analyzer refuses such a pack)", () => {
    for (const policy of allPolicies)
      expect(Object.keys(policy.configSchema?.properties ?? {})).not.toContain("enforcementLevel");
  });

  it("filters resource policies by the SDK classes' own type tokens", () => {
    const tokens = new Set(
      allPolicies
        .flatMap((p) => ("validateResource" in p && p.validateResource ? [p.validateResource].flat() : []))
        .map((v) => (v as { __pulumiType?: string }).__pulumiType),
    );
    for (const cls of [
      k8s.core.v1.Service,
      k8s.networking.v1.Ingress,
      aws.eks.Cluster,
      gcp.container.Cluster,
      gcp.sql.DatabaseInstance,
    ]) {
      expect(tokens).toContain((cls as unknown as { __pulumiType: string }).__pulumiType);
    }
    // Helm policies read every chart installation, by the SDK's own tokens (policies/lib/helm-charts.ts).
    for (const cls of [k8s.helm.v3.Release, k8s.helm.v3.Chart, k8s.helm.v4.Chart]) {
      const token = (cls as unknown as { __pulumiType: string }).__pulumiType;
      expect(token).toMatch(/^kubernetes:helm\.sh\//);
      expect(isHelmChart(token), token).toBe(true);
    }
    expect(isHelmChart("kubernetes:core/v1:ConfigMap")).toBe(false);
    // RDS policies read instances, Aurora clusters and Aurora instances by the SDK's own tokens.
    expect(
      [aws.rds.Instance, aws.rds.Cluster, aws.rds.ClusterInstance].map(
        (cls) => (cls as unknown as { __pulumiType: string }).__pulumiType,
      ),
    ).toEqual([...RDS_TYPES]);
  });

  it("can be imported without starting the policy analyzer", () => {
    // Only `new PolicyPack` (policies/index.ts) serves gRPC; importing the policies opens no server.
    const handles = process.getActiveResourcesInfo();
    expect(handles.filter((h) => /TCPServer|TCPSERVERWRAP|Http2/i.test(h))).toEqual([]);
  });

  it("builds the PolicyPack only in policies/index.ts", async () => {
    const { readdir } = await import("node:fs/promises");
    const files = (await readdir(new URL("../../policies/", import.meta.url), { recursive: true })).filter(
      (f) => f.endsWith(".ts"),
    );
    const constructing = [];
    for (const file of files) {
      const text = await readFile(new URL(`../../policies/${file}`, import.meta.url), "utf8");
      if (/new PolicyPack\(/.test(text)) constructing.push(file);
    }
    expect(constructing).toEqual(["index.ts"]);
  });
});

describe("CATALOG.md", () => {
  it("is up to date with the policies (run `npm run policy:catalog`)", async () => {
    const committed = await readFile(new URL("../../policies/CATALOG.md", import.meta.url), "utf8");
    expect(committed).toBe(renderCatalog(policyTopics));
  });

  it("lists every policy under its topic with its level and standards", () => {
    const catalog = renderCatalog(policyTopics);
    for (const topic of policyTopics) {
      for (const policy of topic.policies) {
        expect(catalog).toContain(`| [\`${policy.name}\`](#${policy.name}) | ${topic.module} | mandatory |`);
        expect(catalog).toContain(`- **Answers:** ${policy.metadata.answers.join("; ")}`);
      }
    }
  });
});

describe("per-stack pack config", () => {
  const JSON_TYPES: Record<string, (value: unknown) => boolean> = {
    boolean: (v) => typeof v === "boolean",
    integer: (v) => Number.isInteger(v),
    string: (v) => typeof v === "string",
    array: (v) => Array.isArray(v),
    object: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  };

  it.each(STACKS)(
    "policies/config/%s.json names only real policies and settings of the right type",
    async (stack) => {
      const config = await loadPackConfig(stack);
      const byName = new Map(allPolicies.map((p) => [p.name, p]));
      for (const [name, settings] of Object.entries(config)) {
        const policy = byName.get(name);
        expect(policy, `unknown policy ${name}`).toBeDefined();
        if (typeof settings === "string") continue;
        for (const [key, value] of Object.entries(settings)) {
          if (key === "enforcementLevel") continue;
          const schema = policy!.configSchema?.properties[key];
          expect(schema, `${name}.${key} is not in the policy's configSchema`).toBeTypeOf("object");
          const type = (schema as { type: string }).type;
          expect(JSON_TYPES[type]!(value), `${name}.${key} should be ${type}`).toBe(true);
        }
      }
    },
  );

  it("requires in production what staging may relax", async () => {
    const production = await loadPackConfig("production");
    expect(production["stateful-resources-protected"]).toEqual({ required: true });
    expect(production["workload-min-replicas"]).toEqual({ minReplicas: 2 });
  });
});
