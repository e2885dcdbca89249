/**
 * The plinth program: composes the components for one stack from its validated config.
 * infra/index.ts runs it under the Pulumi engine; infra/render runs it under the mock runtime.
 */
import type * as pulumi from "@pulumi/pulumi";
import { Cluster, type ClusterArgs } from "../components/cluster/index.js";
import type { StackConfig } from "./config/load.js";

function clusterArgs(config: StackConfig): ClusterArgs {
  switch (config.cloud) {
    case "aws":
      return { cloud: "aws", aws: config.aws!, protect: config.protect };
    case "gcp":
      return { cloud: "gcp", gcp: config.gcp!, protect: config.protect };
    case "existing":
      return { cloud: "existing", kubeconfig: config.secrets.kubeconfig! };
  }
}

/** Builds the whole stack; returns the stack outputs. */
export function createPlinthStack(config: StackConfig): Record<string, pulumi.Output<unknown> | string> {
  const cluster = new Cluster("plinth", clusterArgs(config));
  return { cloud: config.cloud, kubeconfig: cluster.kubeconfig };
}
