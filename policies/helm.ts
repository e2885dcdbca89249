/**
 * Helm: third-party charts are installed from exact, reviewed versions over an authenticated
 * transport, and credentials are passed to them by reference to a Secret, not inline in values.
 */
import { ARGV_FLAG_SPELLINGS, argvCredentials } from "./lib/argv.js";
import { chartInputsChecked, HELM_CHART_TYPES, validateHelmCharts } from "./lib/helm-charts.js";
import { literal } from "./lib/policy.js";
import type { PlinthPolicy, PlinthResourcePolicy } from "./lib/policy.js";
import {
  CREDENTIAL_TEXT,
  CREDENTIAL_TEXT_LIMITS,
  envEntries,
  isCredentialText,
  isSecretLikeKey,
  leaves,
  SECRET_KEY_SPELLINGS,
  SECRET_VALUE_SHAPES,
  secretValueKind,
  stringLists,
} from "./lib/values.js";

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
    covers: `${HELM_CHART_TYPES}: version must be an exact semantic version (MAJOR.MINOR.PATCH, an optional leading v, pre-release and build suffixes allowed); a range (\`^1.2\`, \`~1\`, \`1.x\`, \`>=1\`), an empty or a missing version is reported.`,
    limits:
      "A pinned version does not pin content: the repository may republish it, and chart provenance (verify, keyring) is not required. A local chart (a path or directory) has no version and is reported, and a chart given as a .tgz URL must set version too. Which images and settings the chart deploys is not judged here.",
    charts: chartInputsChecked("version"),
    chartReach: "inputs",
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
    covers: `${HELM_CHART_TYPES}: the repository (repositoryOpts.repo of a Release or a v4 Chart, fetchOpts.repo of a v3 Chart), or chart itself when no repository is given, must start with https:// or oci://; and plainHttp (a v4 Chart's input: fetch the chart over plain HTTP) must not be true (the boolean, or the string "true" in any case).`,
    limits:
      "A repository's TLS files (caFile, certFile, keyFile) are not judged. In @pulumi/kubernetes 4.25 no Release or Chart input skips TLS verification and only the v4 Chart has plainHttp, so no other transport setting is read. The repository is not checked against an allowlist. A local chart path is reported.",
    charts: chartInputsChecked("repository (or chart reference)"),
    chartReach: "inputs",
  },
  validateResource: validateHelmCharts((release, args, report) => {
    const source = release.repository ?? release.chart;
    if (!/^(https|oci):\/\//.test(source)) {
      report(
        `${release.label} loads chart ${JSON.stringify(release.chart)} from ${JSON.stringify(source)}. Set repositoryOpts.repo to the chart's https:// repository (or chart to an oci:// reference).`,
      );
    }
    // An oci:// (or https://) reference says nothing about the transport when plainHttp overrides it.
    const plainHttp: unknown = args.props.plainHttp;
    if (plainHttp === true || (typeof plainHttp === "string" && plainHttp.toLowerCase() === "true")) {
      report(
        `${release.label} fetches chart ${JSON.stringify(release.chart)} over plain HTTP (plainHttp: ${literal(plainHttp)}). Remove plainHttp so the chart is fetched over HTTPS.`,
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
    covers: `${HELM_CHART_TYPES}: every string value of a key in values is reported when it holds ${SECRET_VALUE_SHAPES}, or when its key is ${SECRET_KEY_SPELLINGS} and the value is ${CREDENTIAL_TEXT}. Every { name, value } object in values (charts' extraEnv-style lists) is reported when name is secret-like and value is such text. Every list in values holding strings (extraArgs, args, a container's command), at any depth, is read as an argv, as container-no-plaintext-secrets reads one but with no variable to expand: ${ARGV_FLAG_SPELLINGS} is reported, and so is any item with one of those value shapes.`,
    limits: `valueYamlFiles (Release, v4 Chart) and the chart's own values files are not read. Credentials under innocent keys and without one of those shapes are missed; true or false (string or boolean) is not judged, nor are values spelled only as references (\`\${A}\${B}\`) or a single absolute path (\`tls.privateKey: /etc/tls/tls.key\`). ${CREDENTIAL_TEXT_LIMITS} List items are read only as arguments: a list under a secret-like key (\`passwords: [...]\`) is not judged by its key, and no \`$(VAR)\` in a list is expanded, since the env it would be expanded with is the chart's.`,
    charts: `${chartInputsChecked("values")} The objects a v3 or v4 Chart renders from them are checked by configmap-no-secret-values and container-no-plaintext-secrets; a Release's are not.`,
    chartReach: "inputs",
  },
  validateResource: validateHelmCharts((release, _args, report) => {
    const fix =
      "Create a Kubernetes Secret from a Pulumi secret and point the chart's existingSecret (or *File / *SecretRef) setting at it instead.";
    for (const leaf of leaves(release.values)) {
      // `adminPassword: 123456` unquoted is a YAML number, and as much a credential as the string.
      const value = typeof leaf.value === "number" ? String(leaf.value) : leaf.value;
      if (typeof value !== "string") continue;
      const kind = secretValueKind(value);
      if (kind || (isSecretLikeKey(leaf.key) && isCredentialText(value))) {
        report(`${release.label} sets values.${leaf.path} ${kind ? `to ${kind}` : "inline"}. ${fix}`);
      }
    }
    // Environment lists in values ({ name: DB_PASSWORD, value: ... }, as charts' extraEnv take
    // them): the secret-like name is one key, the literal another. Judged as a leaf's value is.
    for (const variable of envEntries(release.values)) {
      if (
        !isSecretLikeKey(variable.name) ||
        secretValueKind(variable.value) ||
        !isCredentialText(variable.value)
      )
        continue;
      report(
        `${release.label} sets the environment variable ${variable.name} inline (values.${variable.path}.value). Set values.${variable.path}.valueFrom.secretKeyRef to a Kubernetes Secret made from a Pulumi secret instead.`,
      );
    }
    // Lists of strings (extraArgs, args, command): the chart passes them to a program's argv, where
    // `ps` and the rendered pod spec show them.
    for (const list of stringLists(release.values)) {
      for (const { index, form, kind } of argvCredentials(list.items)) {
        const where = `values.${list.path}[${index}]`;
        report(
          form === "shape"
            ? `${release.label} sets ${where} to ${kind}. ${fix}`
            : `${release.label} passes a credential on a command line in ${where}${form === "pair" ? " and the argument after it" : ""}. Remove it, and let the program read it from an env var set by valueFrom.secretKeyRef (the chart's extraEnv) or from a mounted Secret file, made from a Pulumi secret.`,
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
