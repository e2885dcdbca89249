/**
 * The plinth CrossGuard pack, as `pulumi preview --policy-pack policies` loads it. This is the only
 * module that constructs the PolicyPack: constructing it starts the analyzer's gRPC server.
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./all.js";

new PolicyPack("plinth", {
  description:
    "plinth's security and reliability invariants for Kubernetes, AWS, GCP and Helm. Catalog: policies/CATALOG.md.",
  enforcementLevel: "mandatory",
  policies: allPolicies,
});
