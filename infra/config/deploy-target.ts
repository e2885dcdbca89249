/**
 * Checks a stack's Kubernetes API allowlist against where the program runs, before any resource
 * is registered: a `pulumi preview` or `up` that cannot reach the cluster fails at the start with
 * what to set, instead of timing out on the first Kubernetes resource.
 *
 * - An allowlist may not hold a placeholder (ALLOWLIST_PLACEHOLDER, what the stack files ship
 *   with: the ranges are each organisation's own) nor a documentation range (RFC 5737, RFC 3849):
 *   no operator or runner is ever there.
 * - A GitHub-hosted runner reaches neither a private-only EKS endpoint
 *   (`plinth:aws.publicEndpointCidrs: []`) nor an allowlisted one (EKS's list, GKE's master
 *   authorised networks): it leaves from thousands of ranges, more than an allowlist takes. The
 *   stack's workflows must run on self-hosted runners (repository variables `<PREFIX>_RUNNER` for
 *   deploy-stack.yml, `<PREFIX>_PREVIEW_RUNNER` for preview.yml) inside the VPC or whose egress is
 *   listed; GitHub's larger runners with static addresses, once listed, are declared with
 *   `<PREFIX>_RUNNER_EGRESS_LISTED=true` (the workflows pass it as PLINTH_RUNNER_EGRESS_LISTED).
 *
 * Only the section of the stack's own cloud is checked (the other stays filled in for the
 * credential-free render). The render never runs this: it is the engine entry point's check
 * (infra/index.ts).
 */
import { configPath, StackConfigError } from "./load.js";
import { ALLOWLIST_PLACEHOLDER, type ParsedStackConfig } from "./schema.js";

export { ALLOWLIST_PLACEHOLDER };

/** Address blocks reserved for documentation: RFC 5737 (IPv4) and RFC 3849 (IPv6). */
export const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"];

function ipv4(address: string): number | undefined {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return parts.reduce((value, part) => value * 256 + part, 0);
}

/** Whether a CIDR lies inside one of the documentation ranges. */
export function isDocumentationCidr(cidr: string): boolean {
  const [address = "", prefixText = ""] = cidr.split("/");
  const prefix = Number(prefixText);
  if (address.includes(":")) {
    const head = address.toLowerCase().split(":");
    return head[0] === "2001" && (head[1] ?? "").replace(/^0+/, "") === "db8" && prefix >= 32;
  }
  const value = ipv4(address);
  if (value === undefined) return false;
  return DOCUMENTATION_RANGES.filter((range) => !range.includes(":")).some((range) => {
    const [base = "", bitsText = ""] = range.split("/");
    const bits = Number(bitsText);
    const size = 2 ** (32 - bits);
    return prefix >= bits && Math.floor(value / size) === Math.floor((ipv4(base) ?? -1) / size);
  });
}

/** Where the program runs, from the environment GitHub Actions sets (nothing outside it). */
export interface RunnerEnvironment {
  /** "true" inside GitHub Actions. */
  readonly GITHUB_ACTIONS?: string;
  /** "github-hosted" or "self-hosted". */
  readonly RUNNER_ENVIRONMENT?: string;
  /** "true": this GitHub-hosted runner has static addresses, listed in the stack's allowlist. */
  readonly PLINTH_RUNNER_EGRESS_LISTED?: string;
}

type AllowlistConfig = Pick<ParsedStackConfig, "cloud" | "aws" | "gcp"> & { readonly stack: string };

/** The repository variables' prefix of a stack (deploy.yml's `vars-prefix`). */
const variablePrefix = (stack: string) => `PLINTH_${stack.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}`;
const runnerVariable = (stack: string) => `${variablePrefix(stack)}_RUNNER`;

/** Where a stack's workflows name their self-hosted runners. */
const selfHostedRunners = (stack: string) =>
  `set the repository variables ${runnerVariable(stack)} (deployments) and ${variablePrefix(stack)}_PREVIEW_RUNNER ` +
  `(pull-request previews: another runner, without deploy credentials) to their labels as JSON, e.g. ["self-hosted","plinth-${stack}"]`;

/** Every problem, one line each, prefixed with its config path; empty when the stack can deploy here. */
export function deployTargetProblems(config: AllowlistConfig, env: RunnerEnvironment): string[] {
  const problems: string[] = [];
  const runner = runnerVariable(config.stack);
  const allowlist =
    config.cloud === "aws"
      ? { key: ["aws", "publicEndpointCidrs"], cidrs: config.aws?.publicEndpointCidrs ?? [] }
      : config.cloud === "gcp"
        ? { key: ["gcp", "masterAuthorizedCidrs"], cidrs: config.gcp?.masterAuthorizedCidrs ?? [] }
        : undefined;
  if (!allowlist) return problems;
  const who =
    config.cloud === "aws"
      ? "your operators' and CI runners' egress"
      : "your operators' and CI runners' egress (a self-hosted runner in the VPC leaves through Cloud NAT: list its address)";
  allowlist.cidrs.forEach((cidr, index) => {
    const path = configPath([...allowlist.key, index]);
    if (cidr === ALLOWLIST_PLACEHOLDER) {
      problems.push(
        `${path}: ${ALLOWLIST_PLACEHOLDER} is a placeholder: the ranges are your organisation's. List ${who} ` +
          `(pulumi config set --path '${configPath([...allowlist.key, index])}' <cidr>)` +
          (config.cloud === "aws"
            ? `, or set ${configPath(allowlist.key)} to [] for a private endpoint and deploy from a self-hosted runner in the VPC (repository variable ${runner})`
            : ""),
      );
    } else if (isDocumentationCidr(cidr)) {
      problems.push(
        `${path}: ${cidr} is a documentation range (RFC 5737/3849): no operator or runner is there. List ${who}` +
          (config.cloud === "aws"
            ? `, or set ${configPath(allowlist.key)} to [] and deploy from a self-hosted runner in the VPC (repository variable ${runner})`
            : ""),
      );
    }
  });
  const githubHosted = env.GITHUB_ACTIONS === "true" && env.RUNNER_ENVIRONMENT === "github-hosted";
  if (githubHosted && config.cloud === "aws" && allowlist.cidrs.length === 0) {
    problems.push(
      `${configPath(allowlist.key)}: [] makes the EKS API endpoint private, and this run is on a GitHub-hosted ` +
        `runner, outside the VPC: it cannot reach the cluster. Either run this stack's workflows on self-hosted ` +
        `runners inside the VPC (${selfHostedRunners(config.stack)}), or list the runners' egress CIDRs in ${configPath(allowlist.key)}`,
    );
  } else if (githubHosted && env.PLINTH_RUNNER_EGRESS_LISTED !== "true") {
    problems.push(
      `${configPath(allowlist.key)}: this run is on a GitHub-hosted runner, which leaves from thousands of address ` +
        `ranges, more than the allowlist takes: it cannot reach the cluster's API. Run this stack's workflows on ` +
        `self-hosted runners whose egress is listed here (${selfHostedRunners(config.stack)}); for GitHub's larger ` +
        `runners with static addresses, list them and set the repository variable ${variablePrefix(config.stack)}_RUNNER_EGRESS_LISTED to true`,
    );
  }
  return problems;
}

/** Throws a StackConfigError listing every problem; the engine entry point calls it before the program. */
export function assertDeployTarget(config: AllowlistConfig, env: RunnerEnvironment): void {
  const problems = deployTargetProblems(config, env);
  if (problems.length > 0) throw new StackConfigError(problems);
}
