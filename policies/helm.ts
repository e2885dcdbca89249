/**
 * Helm: third-party charts are installed from exact, reviewed versions over an authenticated
 * transport, and credentials are passed to them by reference to a Secret, not inline in values.
 */
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import type { PlinthPolicy, PlinthResourcePolicy } from "./lib/policy.js";
import { isSecretLikeKey, leaves, secretValueKind } from "./lib/values.js";

/** A full semantic version; ranges (^1.2, ~1, 1.x, >=1) and empty versions are not pinned. */
const EXACT_SEMVER = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export const helmChartVersionPinned: PlinthResourcePolicy = {
  name: "helm-chart-version-pinned",
  description: "Helm releases pin their chart to an exact version.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "A chart upgrade (new images, changed defaults, removed hardening) arriving unreviewed on the next `pulumi up`.",
    answers: [
      "anti-pattern: unpinned Helm chart versions",
      "NSA/CISA Kubernetes Hardening Guidance (supply chain)",
    ],
  },
  validateResource: validateResourceOfType(k8s.helm.v3.Release, (release, args, report) => {
    if (!EXACT_SEMVER.test(release.version ?? "")) {
      report(
        `Helm release "${release.name ?? args.name}" (chart ${release.chart}) is not pinned: version ${JSON.stringify(release.version ?? null)}. Set version to the exact chart version, e.g. "4.12.1".`,
      );
    }
  }),
};

export const helmRepositoryHttps: PlinthResourcePolicy = {
  name: "helm-repository-https",
  description: "Helm charts come from an https:// or oci:// repository.",
  enforcementLevel: "mandatory",
  severity: "medium",
  metadata: {
    protectsAgainst:
      "A chart fetched over plain HTTP being replaced in transit; charts loaded from whatever a local path happens to contain.",
    answers: ["anti-pattern: charts from unauthenticated sources"],
  },
  validateResource: validateResourceOfType(k8s.helm.v3.Release, (release, args, report) => {
    const source = release.repositoryOpts?.repo ?? release.chart;
    if (!/^(https|oci):\/\//.test(source)) {
      report(
        `Helm release "${release.name ?? args.name}" loads chart ${JSON.stringify(release.chart)} from ${JSON.stringify(source)}. Set repositoryOpts.repo to the chart's https:// repository (or chart to an oci:// reference).`,
      );
    }
  }),
};

export const helmValuesNoInlineCredentials: PlinthResourcePolicy = {
  name: "helm-values-no-inline-credentials",
  description: "Helm values reference credentials through existing Secrets instead of carrying them inline.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Credentials copied into the Helm release record (a Secret any release reader can decode), into rendered ConfigMaps, and into Pulumi diffs.",
    answers: [
      "NSA/CISA Kubernetes Hardening Guidance (secrets management)",
      "anti-pattern: passwords in Helm values",
    ],
  },
  validateResource: validateResourceOfType(k8s.helm.v3.Release, (release, args, report) => {
    for (const leaf of leaves(release.values)) {
      if (typeof leaf.value !== "string" || leaf.value === "") continue;
      const kind = secretValueKind(leaf.value);
      if (kind || isSecretLikeKey(leaf.key)) {
        report(
          `Helm release "${release.name ?? args.name}" sets values.${leaf.path} ${kind ? `to ${kind}` : "inline"}. Create a Kubernetes Secret from a Pulumi secret and point the chart's existingSecret (or *File / *SecretRef) setting at it instead.`,
        );
      }
    }
  }),
};

export const helmPolicies: PlinthPolicy[] = [
  helmChartVersionPinned,
  helmRepositoryHttps,
  helmValuesNoInlineCredentials,
];
