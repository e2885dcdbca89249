/**
 * Every plinth policy, grouped by topic. Import this (never index.ts) to use the policies without
 * starting the policy analyzer: the runner, the catalog generator and the tests all do.
 */
import { awsPolicies } from "./aws.js";
import { gatewayApiPolicies } from "./gateway-api.js";
import { gcpPolicies } from "./gcp.js";
import { helmPolicies } from "./helm.js";
import { ingressAuthPolicies } from "./ingress-auth.js";
import type { PlinthPolicy } from "./lib/policy.js";
import { networkExposurePolicies } from "./network-exposure.js";
import { secretPolicies } from "./secrets.js";
import { stackWidePolicies } from "./stack-wide.js";
import { workloadPolicies } from "./workloads.js";

export interface PolicyTopic {
  /** The module the policies live in, e.g. "workloads" for policies/workloads.ts. */
  module: string;
  title: string;
  policies: PlinthPolicy[];
}

export const policyTopics: PolicyTopic[] = [
  {
    module: "workloads",
    title: "Workloads: pod and container security, images, disruption, scaling",
    policies: workloadPolicies,
  },
  { module: "network-exposure", title: "Network exposure", policies: networkExposurePolicies },
  { module: "ingress-auth", title: "Ingress, TLS and authentication", policies: ingressAuthPolicies },
  {
    module: "gateway-api",
    title: "Gateway API edge: TLS, redirect and authentication",
    policies: gatewayApiPolicies,
  },
  { module: "secrets", title: "Secrets", policies: secretPolicies },
  { module: "aws", title: "AWS", policies: awsPolicies },
  { module: "gcp", title: "GCP", policies: gcpPolicies },
  { module: "helm", title: "Helm releases", policies: helmPolicies },
  { module: "stack-wide", title: "Stack-wide", policies: stackWidePolicies },
];

export const allPolicies: PlinthPolicy[] = policyTopics.flatMap((topic) => topic.policies);
