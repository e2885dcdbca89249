/**
 * The managed rate-limit stores (issue #24): ElastiCache and Memorystore encrypt in transit (and
 * ElastiCache at rest) and require a credential. Each rule passes the compliant fixtures and reports
 * the one change that breaks it.
 */
import { describe, expect, it } from "vitest";
import * as aws from "../../policies/aws.js";
import * as gcp from "../../policies/gcp.js";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import { describePolicy } from "./cases.js";
import { awsStack } from "./fixtures/clouds.js";

const CACHE = 'ElastiCache replication group "plinth-rate-limits"';
const MEMORYSTORE = 'Memorystore instance "plinth-rate-limits"';
const GROUP = "ReplicationGroup:rate-limit-store";
const INSTANCE = "Instance:rate-limit-store";

describePolicy(aws.elasticacheEncryption, [
  {
    change: "transit encryption off",
    stack: "aws",
    resource: GROUP,
    path: ["transitEncryptionEnabled"],
    value: false,
    message: `${CACHE} accepts plaintext connections. Set transitEncryptionEnabled to true and transitEncryptionMode to "required".`,
  },
  {
    change: "TLS only preferred (the migration mode that still accepts plaintext)",
    stack: "aws",
    resource: GROUP,
    path: ["transitEncryptionMode"],
    value: "preferred",
    message: `${CACHE} still accepts plaintext connections (transitEncryptionMode "preferred"). Set transitEncryptionMode to "required".`,
  },
  {
    change: "at-rest encryption off",
    stack: "aws",
    resource: GROUP,
    path: ["atRestEncryptionEnabled"],
    value: false,
    message: `${CACHE} is not encrypted at rest. Set atRestEncryptionEnabled to true.`,
  },
]);

describe("elasticache-encryption: atRestEncryptionEnabled unset counts as the provider's default", () => {
  const findings = async (engine: string) => {
    const stack = awsStack();
    const group = stack.find((t) => t.name === "rate-limit-store")!;
    delete group.props.atRestEncryptionEnabled;
    group.props.engine = engine;
    return (await evaluatePolicies([aws.elasticacheEncryption], stack, {})).map((v) => v.message);
  };

  it("passes a Valkey group (encrypted at rest by default)", async () => {
    expect(await findings("valkey")).toEqual([]);
  });

  it("reports a Redis OSS group (unencrypted by default)", async () => {
    expect(await findings("redis")).toEqual([
      `${CACHE} is not encrypted at rest. Set atRestEncryptionEnabled to true.`,
    ]);
  });
});

describePolicy(aws.elasticacheAuth, [
  {
    change: "no AUTH token and no user groups",
    stack: "aws",
    resource: GROUP,
    path: ["authToken"],
    value: undefined,
    message: `${CACHE} admits clients without a credential. Set authToken (a generated secret, e.g. from @pulumi/random) or userGroupIds.`,
  },
  {
    change: "an empty AUTH token",
    stack: "aws",
    resource: GROUP,
    path: ["authToken"],
    value: "",
    message: `${CACHE} admits clients without a credential. Set authToken (a generated secret, e.g. from @pulumi/random) or userGroupIds.`,
  },
]);

describePolicy(gcp.memorystoreAuth, [
  {
    change: "AUTH off",
    stack: "gcp",
    resource: INSTANCE,
    path: ["authEnabled"],
    value: false,
    message: `${MEMORYSTORE} admits clients without a credential. Set authEnabled to true.`,
  },
  {
    change: "AUTH unset (the API's default is off)",
    stack: "gcp",
    resource: INSTANCE,
    path: ["authEnabled"],
    value: undefined,
    message: `${MEMORYSTORE} admits clients without a credential. Set authEnabled to true.`,
  },
]);

describePolicy(gcp.memorystoreTransitEncryption, [
  {
    change: "transit encryption disabled",
    stack: "gcp",
    resource: INSTANCE,
    path: ["transitEncryptionMode"],
    value: "DISABLED",
    message: `${MEMORYSTORE} accepts plaintext connections. Set transitEncryptionMode to "SERVER_AUTHENTICATION".`,
  },
  {
    change: "transit encryption unset (the API's default is disabled)",
    stack: "gcp",
    resource: INSTANCE,
    path: ["transitEncryptionMode"],
    value: undefined,
    message: `${MEMORYSTORE} accepts plaintext connections. Set transitEncryptionMode to "SERVER_AUTHENTICATION".`,
  },
]);
