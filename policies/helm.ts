/**
 * Helm: third-party charts are installed from exact, reviewed versions over an authenticated
 * transport, and credentials are passed to them by reference to a Secret, not inline in values.
 */
import { validateHelmCharts } from "./lib/helm-charts.js";
import type { PlinthPolicy, PlinthResourcePolicy } from "./lib/policy.js";
import { envEntries, isIndirectValue, isSecretLikeKey, leaves, secretValueKind } from "./lib/values.js";

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
  validateResource: validateHelmCharts((release, _args, report) => {
    if (!EXACT_SEMVER.test(release.version ?? "")) {
      report(
        `${release.label} (chart ${release.chart}) is not pinned: version ${JSON.stringify(release.version ?? null)}. Set version to the exact chart version, e.g. "4.12.1".`,
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
  validateResource: validateHelmCharts((release, _args, report) => {
    const source = release.repository ?? release.chart;
    if (!/^(https|oci):\/\//.test(source)) {
      report(
        `${release.label} loads chart ${JSON.stringify(release.chart)} from ${JSON.stringify(source)}. Set repositoryOpts.repo to the chart's https:// repository (or chart to an oci:// reference).`,
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
  validateResource: validateHelmCharts((release, _args, report) => {
    const fix =
      "Create a Kubernetes Secret from a Pulumi secret and point the chart's existingSecret (or *File / *SecretRef) setting at it instead.";
    for (const leaf of leaves(release.values)) {
      if (typeof leaf.value !== "string" || leaf.value === "") continue;
      const kind = secretValueKind(leaf.value);
      if (kind || isSecretLikeKey(leaf.key)) {
        report(`${release.label} sets values.${leaf.path} ${kind ? `to ${kind}` : "inline"}. ${fix}`);
      }
    }
    // Environment lists in values ({ name: DB_PASSWORD, value: ... }, as charts' extraEnv take
    // them): the secret-like name is one key, the literal another.
    for (const variable of envEntries(release.values)) {
      if (
        !isSecretLikeKey(variable.name) ||
        secretValueKind(variable.value) ||
        isIndirectValue(variable.value)
      )
        continue;
      report(
        `${release.label} sets the environment variable ${variable.name} inline (values.${variable.path}.value). Set values.${variable.path}.valueFrom.secretKeyRef to a Kubernetes Secret made from a Pulumi secret instead.`,
      );
    }
  }),
};

export const helmPolicies: PlinthPolicy[] = [
  helmChartVersionPinned,
  helmRepositoryHttps,
  helmValuesNoInlineCredentials,
];
