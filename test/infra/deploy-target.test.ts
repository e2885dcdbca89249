/**
 * The Kubernetes API allowlists against where the program runs (#18): the stack files ship a
 * placeholder, never documentation ranges; the engine entry point refuses the placeholder, any
 * documentation range, and a private-only or allowlisted endpoint from a GitHub-hosted runner
 * (unless its static egress is declared listed), each by config path with the ways out. The render (mock runtime) accepts the placeholder as it is.
 */
import { describe, expect, it } from "vitest";
import {
  ALLOWLIST_PLACEHOLDER,
  assertDeployTarget,
  deployTargetProblems,
  isDocumentationCidr,
  type RunnerEnvironment,
} from "../../infra/config/deploy-target.js";
import { parseStackConfig, StackConfigError } from "../../infra/config/load.js";
import { SECRET_KEYS, type Cloud } from "../../infra/config/schema.js";
import { deepMerge, readStackFile, RENDER_SECRETS } from "../../infra/render/stack-config.js";

const GITHUB_HOSTED: RunnerEnvironment = { GITHUB_ACTIONS: "true", RUNNER_ENVIRONMENT: "github-hosted" };
const SELF_HOSTED: RunnerEnvironment = { GITHUB_ACTIONS: "true", RUNNER_ENVIRONMENT: "self-hosted" };
const LAPTOP: RunnerEnvironment = {};

/** A stack file's config as the program parses it, on a cloud, with overrides. */
function stackConfig(stack: "staging" | "production", cloud: Cloud, overrides: Record<string, unknown> = {}) {
  const { values } = readStackFile(stack);
  const raw = deepMerge({ ...values, cloud }, overrides) as Record<string, unknown>;
  for (const key of SECRET_KEYS)
    if (key !== "kubeconfig" || cloud === "existing") raw[key] ??= RENDER_SECRETS[key];
  return { ...parseStackConfig(raw, () => true), stack };
}

describe("the stack files' API allowlists", () => {
  it("hold no documentation range anywhere", () => {
    for (const stack of ["staging", "production"] as const) {
      const { values } = readStackFile(stack);
      const aws = values.aws as { publicEndpointCidrs: string[] };
      const gcp = values.gcp as { masterAuthorizedCidrs: string[] };
      for (const cidr of [...aws.publicEndpointCidrs, ...gcp.masterAuthorizedCidrs]) {
        expect(isDocumentationCidr(cidr), `${stack}: ${cidr}`).toBe(false);
      }
    }
  });

  it("make staging on aws and both stacks on gcp name their ranges before they deploy", () => {
    expect(deployTargetProblems(stackConfig("staging", "aws"), LAPTOP)).toEqual([
      `plinth:aws.publicEndpointCidrs[0]: ${ALLOWLIST_PLACEHOLDER} is a placeholder: the ranges are your organisation's. ` +
        "List your operators' and CI runners' egress (pulumi config set --path 'plinth:aws.publicEndpointCidrs[0]' <cidr>), " +
        "or set plinth:aws.publicEndpointCidrs to [] for a private endpoint and deploy from a self-hosted runner in the VPC " +
        "(repository variable PLINTH_STAGING_RUNNER)",
    ]);
    for (const stack of ["staging", "production"] as const) {
      expect(deployTargetProblems(stackConfig(stack, "gcp"), SELF_HOSTED)).toEqual([
        `plinth:gcp.masterAuthorizedCidrs[0]: ${ALLOWLIST_PLACEHOLDER} is a placeholder: the ranges are your organisation's. ` +
          "List your operators' and CI runners' egress (a self-hosted runner in the VPC leaves through Cloud NAT: list its address) " +
          "(pulumi config set --path 'plinth:gcp.masterAuthorizedCidrs[0]' <cidr>)",
      ]);
    }
  });

  it("let production on aws (private endpoint) deploy from a self-hosted runner or a laptop in the VPC", () => {
    expect(deployTargetProblems(stackConfig("production", "aws"), SELF_HOSTED)).toEqual([]);
    expect(deployTargetProblems(stackConfig("production", "aws"), LAPTOP)).toEqual([]);
  });

  it("refuse production on aws from a GitHub-hosted runner, naming the config path and both ways out", () => {
    const config = stackConfig("production", "aws");
    expect(() => assertDeployTarget(config, GITHUB_HOSTED)).toThrow(StackConfigError);
    expect(deployTargetProblems(config, GITHUB_HOSTED)).toEqual([
      "plinth:aws.publicEndpointCidrs: [] makes the EKS API endpoint private, and this run is on a GitHub-hosted runner, " +
        "outside the VPC: it cannot reach the cluster. Either run this stack's workflows on self-hosted runners inside " +
        "the VPC (set the repository variables PLINTH_PRODUCTION_RUNNER (deployments) and PLINTH_PRODUCTION_PREVIEW_RUNNER " +
        '(pull-request previews: another runner, without deploy credentials) to their labels as JSON, e.g. ["self-hosted","plinth-production"]), ' +
        "or list the runners' egress CIDRs in plinth:aws.publicEndpointCidrs",
    ]);
  });

  it("refuse an allowlisted endpoint from a GitHub-hosted runner unless its static egress is declared listed", () => {
    const real = {
      aws: { publicEndpointCidrs: ["198.18.0.0/24"] },
      gcp: { masterAuthorizedCidrs: ["198.18.1.0/24"] },
    };
    const path = { aws: "plinth:aws.publicEndpointCidrs", gcp: "plinth:gcp.masterAuthorizedCidrs" };
    for (const cloud of ["aws", "gcp"] as const) {
      const config = stackConfig("staging", cloud, real);
      expect(deployTargetProblems(config, GITHUB_HOSTED)).toEqual([
        `${path[cloud]}: this run is on a GitHub-hosted runner, which leaves from thousands of address ranges, more ` +
          "than the allowlist takes: it cannot reach the cluster's API. Run this stack's workflows on self-hosted runners " +
          "whose egress is listed here (set the repository variables PLINTH_STAGING_RUNNER (deployments) and " +
          "PLINTH_STAGING_PREVIEW_RUNNER (pull-request previews: another runner, without deploy credentials) to their " +
          'labels as JSON, e.g. ["self-hosted","plinth-staging"]); for GitHub\'s larger runners with static addresses, ' +
          "list them and set the repository variable PLINTH_STAGING_RUNNER_EGRESS_LISTED to true",
      ]);
      expect(deployTargetProblems(config, { ...GITHUB_HOSTED, PLINTH_RUNNER_EGRESS_LISTED: "true" })).toEqual(
        [],
      );
      expect(deployTargetProblems(config, SELF_HOSTED)).toEqual([]);
      expect(deployTargetProblems(config, LAPTOP)).toEqual([]);
    }
  });
});

describe("deployTargetProblems", () => {
  it("refuses every documentation range, IPv4 and IPv6, in the allowlist of the stack's cloud", () => {
    const config = stackConfig("staging", "aws", {
      aws: { publicEndpointCidrs: ["192.0.2.0/24", "198.51.100.7/32", "203.0.113.128/25", "10.1.0.0/16"] },
    });
    expect(deployTargetProblems(config, SELF_HOSTED)).toEqual(
      ["192.0.2.0/24", "198.51.100.7/32", "203.0.113.128/25"].map(
        (cidr, index) =>
          `plinth:aws.publicEndpointCidrs[${index}]: ${cidr} is a documentation range (RFC 5737/3849): no operator or runner is there. ` +
          "List your operators' and CI runners' egress, or set plinth:aws.publicEndpointCidrs to [] and deploy from a " +
          "self-hosted runner in the VPC (repository variable PLINTH_STAGING_RUNNER)",
      ),
    );
    expect(isDocumentationCidr("2001:db8::/48")).toBe(true);
    expect(isDocumentationCidr("2001:0db8:1::/48")).toBe(true);
    expect(isDocumentationCidr("2001:db9::/32")).toBe(false);
    expect(isDocumentationCidr("203.0.0.0/16")).toBe(false); // wider than, not inside, the range
    expect(isDocumentationCidr("198.51.101.0/24")).toBe(false);
  });

  it("accepts real ranges, and ignores the other cloud's section and existing clusters", () => {
    const real = {
      aws: { publicEndpointCidrs: ["10.1.0.0/16"] },
      gcp: { masterAuthorizedCidrs: ["10.2.0.0/16"] },
    };
    expect(deployTargetProblems(stackConfig("staging", "aws", real), SELF_HOSTED)).toEqual([]);
    expect(deployTargetProblems(stackConfig("staging", "gcp", real), SELF_HOSTED)).toEqual([]);
    // staging's gcp section still holds the placeholder: an aws stack does not use it.
    expect(deployTargetProblems(stackConfig("staging", "aws", { aws: real.aws }), SELF_HOSTED)).toEqual([]);
    expect(deployTargetProblems(stackConfig("staging", "existing"), GITHUB_HOSTED)).toEqual([]);
  });

  it("is refused by the schema only for what is never an allowlist entry", () => {
    expect(() => stackConfig("staging", "aws", { aws: { publicEndpointCidrs: ["SET-ME"] } })).toThrow(
      "plinth:aws.publicEndpointCidrs[0]: expected an IPv4 CIDR such as 10.0.0.0/16",
    );
  });
});
