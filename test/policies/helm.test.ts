import { describe, expect, it } from "vitest";
import * as helm from "../../policies/helm.js";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import type { PolicyTarget } from "../../policies/runner/evaluate.js";
import { describePolicy, STACK_FIXTURES } from "./cases.js";
import { setPath, target } from "./fixtures/target.js";

const FIX_HELM =
  "Create a Kubernetes Secret from a Pulumi secret and point the chart's existingSecret (or *File / *SecretRef) setting at it instead.";
const ARGV_FIX =
  "Remove it, and let the program read it from an env var set by valueFrom.secretKeyRef (the chart's extraEnv) or from a mounted Secret file, made from a Pulumi secret.";
const NGINX = 'Helm release "ingress-nginx"';

const v4Chart = (props: Record<string, unknown>) =>
  target("kubernetes:helm.sh/v4:Chart", "foo", {
    chart: "oci://registry.example.com/charts/foo",
    version: "1.2.3",
    ...props,
  });

describePolicy(helm.helmRepositoryHttps, [
  {
    change: "an oci:// v4 Chart fetched over plain HTTP",
    stack: "kubernetes",
    add: v4Chart({ plainHttp: true }),
    message:
      'Helm chart "foo" fetches chart "oci://registry.example.com/charts/foo" over plain HTTP (plainHttp: true). Remove plainHttp so the chart is fetched over HTTPS.',
  },
  {
    change: 'a v4 Chart with plainHttp spelled as the string "True"',
    stack: "kubernetes",
    add: v4Chart({ plainHttp: "True" }),
    message:
      'Helm chart "foo" fetches chart "oci://registry.example.com/charts/foo" over plain HTTP (plainHttp: "True"). Remove plainHttp so the chart is fetched over HTTPS.',
  },
]);

describe("helm-repository-https: plainHttp", () => {
  it.each([
    ["plainHttp false", { plainHttp: false }],
    ["no plainHttp", {}],
    ["an https repository", { chart: "foo", repositoryOpts: { repo: "https://charts.example.com" } }],
  ])("raises nothing for %s", async (_name, props) => {
    expect(await evaluatePolicies([helm.helmRepositoryHttps], [v4Chart(props)], {})).toEqual([]);
  });
});

function withValues(resource: string, path: string[], value: unknown): PolicyTarget[] {
  const stack = STACK_FIXTURES.kubernetes();
  setPath(stack.find((t) => t.name === resource)!.props, ["values", ...path], value);
  return stack;
}

describePolicy(helm.helmValuesNoInlineCredentials, [
  {
    change: "a password written as a YAML number",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "adminPassword"],
    value: 123456,
    message: `Helm release "kube-prometheus-stack" sets values.grafana.adminPassword inline. ${FIX_HELM}`,
  },
  {
    change: "a password of digits",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "adminPassword"],
    value: "123456",
    message: `Helm release "kube-prometheus-stack" sets values.grafana.adminPassword inline. ${FIX_HELM}`,
  },
  {
    change: "a secret flag with its value inline in extraArgs",
    stack: "kubernetes",
    resource: "Release:ingress-nginx",
    path: ["values", "controller", "extraArgs"],
    value: ["--v=2", "--client-secret=abc123"],
    message: `${NGINX} passes a credential on a command line in values.controller.extraArgs[1]. ${ARGV_FIX}`,
  },
  {
    change: "a bare secret flag followed by its value in extraArgs",
    stack: "kubernetes",
    resource: "Release:ingress-nginx",
    path: ["values", "controller", "extraArgs"],
    value: ["--client-secret", "abc123"],
    message: `${NGINX} passes a credential on a command line in values.controller.extraArgs[0] and the argument after it. ${ARGV_FIX}`,
  },
  {
    change: "a connection string with a password as a list item",
    stack: "kubernetes",
    resource: "Release:ingress-nginx",
    path: ["values", "controller", "args"],
    value: ["postgres://u:pw@db/x"],
    message: `${NGINX} sets values.controller.args[0] to a URL with an embedded password. ${FIX_HELM}`,
  },
  {
    change: "a secret flag in a list inside a list item (extraContainers[].args)",
    stack: "kubernetes",
    resource: "Release:ingress-nginx",
    path: ["values", "controller", "extraContainers"],
    value: [{ name: "sidecar", args: ["--api-key=ak_live_123"] }],
    message: `${NGINX} passes a credential on a command line in values.controller.extraContainers[0].args[0]. ${ARGV_FIX}`,
  },
  {
    change: "a literal between two ${} references under a password key",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "adminPassword"],
    value: "${A}hunter2${B}",
    message: `Helm release "kube-prometheus-stack" sets values.grafana.adminPassword inline. ${FIX_HELM}`,
  },
  {
    change: "a passphrase on a word boundary",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "keyPassphrase"],
    value: "correct horse battery staple",
    message: `Helm release "kube-prometheus-stack" sets values.grafana.keyPassphrase inline. ${FIX_HELM}`,
  },
]);

describe("helm-values-no-inline-credentials: lists of strings that are not credentials", () => {
  it.each([
    ["a secret flag naming a file", ["--client-secret-file=/etc/oauth/secret"]],
    ["a bare secret flag followed by a path", ["--client-secret", "/etc/oauth/secret"]],
    ["a kubelet reference", ["--client-secret=$(CLIENT_SECRET)"]],
    ["a bare secret flag followed by a kubelet reference", ["--client-secret", "$(CLIENT_SECRET)"]],
    ["a number and a boolean", ["--token-ttl", "3600", "--enable-token-auth", "true"]],
    ["another flag after a bare secret flag", ["--password-stdin", "--user=x"]],
    ["host names", ["a.example.com", "b.example.com"]],
    ["secret-like words that are not flags", ["password", "hunter2"]],
  ])("raises nothing for %s", async (_name, list) => {
    const stack = withValues("ingress-nginx", ["controller", "extraArgs"], list);
    expect(await evaluatePolicies([helm.helmValuesNoInlineCredentials], stack, {})).toEqual([]);
  });
});

describe("helm-values-no-inline-credentials: both branches read references alike", () => {
  it.each([
    ["a ${VAR} reference", "${DB_PASSWORD}"],
    ["a kubelet reference", "$(DB_PASSWORD)"],
    ["a template", "{{ .Values.password }}"],
    ["true", "true"],
  ])("raises nothing for %s as a secret-named value or env entry", async (_name, value) => {
    const stack = withValues("kube-prometheus-stack", ["grafana", "auth"], {
      password: value,
      env: [{ name: "GF_DATABASE_PASSWORD", value }],
    });
    expect(await evaluatePolicies([helm.helmValuesNoInlineCredentials], stack, {})).toEqual([]);
  });
});

describePolicy(helm.helmChartVersionPinned, [
  {
    change: "a version range",
    stack: "kubernetes",
    resource: "Release:ingress-nginx",
    path: ["version"],
    value: "^4.12.0",
    message:
      'Helm release "ingress-nginx" (chart ingress-nginx) is not pinned: version "^4.12.0". Set version to the exact chart version, e.g. "4.12.1".',
  },
  {
    change: "no version",
    stack: "kubernetes",
    resource: "Release:cert-manager",
    path: ["version"],
    value: undefined,
    message:
      'Helm release "cert-manager" (chart cert-manager) is not pinned: version null. Set version to the exact chart version, e.g. "4.12.1".',
  },
]);

describePolicy(helm.helmRepositoryHttps, [
  {
    change: "a plain-http repository",
    stack: "kubernetes",
    resource: "Release:ingress-nginx",
    path: ["repositoryOpts", "repo"],
    value: "http://kubernetes.github.io/ingress-nginx",
    message:
      'Helm release "ingress-nginx" loads chart "ingress-nginx" from "http://kubernetes.github.io/ingress-nginx". Set repositoryOpts.repo to the chart\'s https:// repository (or chart to an oci:// reference).',
  },
]);

describePolicy(helm.helmValuesNoInlineCredentials, [
  {
    change: "an inline Grafana admin password",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "adminPassword"],
    value: "prom-operator",
    message: `Helm release "kube-prometheus-stack" sets values.grafana.adminPassword inline. ${FIX_HELM}`,
  },
  {
    change: "a Slack webhook in Alertmanager config",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "prometheus", "service", "type"],
    value: "https://hooks.slack.com/services/T000/B000/XXXX",
    message: `Helm release "kube-prometheus-stack" sets values.prometheus.service.type to a Slack webhook URL. ${FIX_HELM}`,
  },
]);

describe("helm-values-no-inline-credentials: environment lists in values", () => {
  const withEnv = (env: unknown[]) => {
    const stack = STACK_FIXTURES.kubernetes();
    const release = stack.find((t) => t.name === "kube-prometheus-stack")!;
    setPath(release.props, ["values", "grafana", "env"], env);
    return stack;
  };

  it("reports a secret-named entry set to a literal, naming its path", async () => {
    const found = await evaluatePolicies(
      [helm.helmValuesNoInlineCredentials],
      withEnv([
        { name: "GF_LOG_LEVEL", value: "info" },
        { name: "GF_DATABASE_PASSWORD", value: "hunter2hunter2" },
      ]),
      {},
    );
    expect(found.map((v) => v.message)).toEqual([
      'Helm release "kube-prometheus-stack" sets the environment variable GF_DATABASE_PASSWORD inline (values.grafana.env[1].value). Set values.grafana.env[1].valueFrom.secretKeyRef to a Kubernetes Secret made from a Pulumi secret instead.',
    ]);
  });

  it("raises nothing for references, Secrets and plain settings", async () => {
    const env = [
      { name: "GF_DATABASE_PASSWORD", valueFrom: { secretKeyRef: { name: "grafana-db", key: "password" } } },
      { name: "GF_SECURITY_ADMIN_PASSWORD", value: "$(ADMIN_PASSWORD)" },
      { name: "GF_AUTH_TOKEN", value: "{{ .Values.token }}" },
      { name: "GF_LOG_LEVEL", value: "info" },
    ];
    expect(await evaluatePolicies([helm.helmValuesNoInlineCredentials], withEnv(env), {})).toEqual([]);
  });
});

describe("helm-repository-https: every chart installation", () => {
  it("reads a helm.sh/v3 Chart's fetchOpts.repo and a v4 Chart's repositoryOpts.repo", async () => {
    const chart = (type: string, props: Record<string, unknown>) =>
      target(type, "ingress-nginx", { chart: "ingress-nginx", version: "4.13.3", ...props });
    const https = "https://kubernetes.github.io/ingress-nginx";
    const plain = "http://kubernetes.github.io/ingress-nginx";
    const found = await evaluatePolicies(
      [helm.helmRepositoryHttps],
      [
        chart("kubernetes:helm.sh/v3:Chart", { fetchOpts: { repo: https } }),
        chart("kubernetes:helm.sh/v4:Chart", { repositoryOpts: { repo: https } }),
        { ...chart("kubernetes:helm.sh/v4:Chart", { repositoryOpts: { repo: plain } }), urn: "urn:plain" },
      ],
      {},
    );
    expect(found.map((v) => v.message)).toEqual([
      `Helm chart "ingress-nginx" loads chart "ingress-nginx" from "${plain}". Set repositoryOpts.repo to the chart's https:// repository (or chart to an oci:// reference).`,
    ]);
  });
});

describePolicy(helm.helmValuesNoInlineCredentials, [
  {
    change: "a URL whose password is literal text, under a key with a dot",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "grafana.ini"],
    value: { database: { url: "postgres://grafana:hunter2@db:5432/grafana" } },
    message: `Helm release "kube-prometheus-stack" sets values.grafana.grafana.ini.database.url to a URL with an embedded password. ${FIX_HELM}`,
  },
  {
    change: "a URL whose password mixes a reference and literal text",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "grafana.ini"],
    value: { database: { url: "postgres://grafana:$__env{GF_DB_PASSWORD}x@db:5432/grafana" } },
    message: `Helm release "kube-prometheus-stack" sets values.grafana.grafana.ini.database.url to a URL with an embedded password. ${FIX_HELM}`,
  },
  {
    change: "a secret-named value that starts with / but is not a single path",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "adminPassword"],
    value: "/hunter2 hunter2",
    message: `Helm release "kube-prometheus-stack" sets values.grafana.adminPassword inline. ${FIX_HELM}`,
  },
  {
    change: "an OAuth 1 access token secret (the credential, not a Secret's name)",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "twitter"],
    value: { accessTokenSecret: "lzT5Hk9xQ2wPmN4r" },
    message: `Helm release "kube-prometheus-stack" sets values.grafana.twitter.accessTokenSecret inline. ${FIX_HELM}`,
  },
  {
    change: "a secret-named env entry that starts with / but is not a single path",
    stack: "kubernetes",
    resource: "Release:kube-prometheus-stack",
    path: ["values", "grafana", "env"],
    value: [{ name: "GF_DATABASE_PASSWORD", value: "/hunter2 hunter2" }],
    message:
      'Helm release "kube-prometheus-stack" sets the environment variable GF_DATABASE_PASSWORD inline (values.grafana.env[0].value). Set values.grafana.env[0].valueFrom.secretKeyRef to a Kubernetes Secret made from a Pulumi secret instead.',
  },
]);

describe("helm-values-no-inline-credentials: values that point at a credential or describe one", () => {
  it.each([
    [
      "a URL whose password is $__env{...}",
      { "grafana.ini": { database: { url: "postgres://grafana:$__env{GF_DB_PASSWORD}@db:5432/grafana" } } },
    ],
    [
      "a URL whose password is ${VAR}",
      { "grafana.ini": { database: { url: "postgres://grafana:${GF_DB_PASSWORD}@db/grafana" } } },
    ],
    ["a private key path", { tls: { privateKey: "/etc/tls/tls.key" } }],
    ["a credentials file path", { gcp: { credentials: "/var/run/secrets/gcp/key.json" } }],
    [
      "an env entry naming a credentials file",
      { env: [{ name: "GOOGLE_APPLICATION_CREDENTIALS", value: "/var/run/secrets/gcp/key.json" }] },
    ],
    [
      "keys naming a Kubernetes Secret",
      { auth: { passwordSecret: "db-credentials", credentialsSecret: "gcs", tokenSecretRef: "api-token" } },
    ],
    [
      "keys describing a token",
      { oidc: { tokenAudience: "sts.amazonaws.com", tokenIssuer: "https://issuer", tokenScope: "openid" } },
    ],
    [
      "env entries describing a secret",
      {
        env: [
          { name: "SECRET_STORE", value: "vault" },
          { name: "TOKEN_TYPE", value: "Bearer" },
        ],
      },
    ],
  ])("raises nothing for %s", async (_name, grafana) => {
    const stack = withValues("kube-prometheus-stack", ["grafana", "extra"], grafana);
    expect(await evaluatePolicies([helm.helmValuesNoInlineCredentials], stack, {})).toEqual([]);
  });

  it.each([
    ["a URL password that is a reference", ["--db=postgres://u:${PW}@db/x", "--db=postgres://u:$(PW)@db/x"]],
    ["flags describing a secret", ["--token-audience", "sts.amazonaws.com", "--secret-store=vault"]],
    ["a secret flag naming a file", ["--client-secret", "/etc/oauth/client-secret"]],
  ])("raises nothing for %s in a list", async (_name, list) => {
    const stack = withValues("ingress-nginx", ["controller", "extraArgs"], list);
    expect(await evaluatePolicies([helm.helmValuesNoInlineCredentials], stack, {})).toEqual([]);
  });

  it("still reports a list item whose URL password is literal", async () => {
    const stack = withValues(
      "ingress-nginx",
      ["controller", "extraArgs"],
      ["--db=postgres://u:hunter2@db/x"],
    );
    expect(
      (await evaluatePolicies([helm.helmValuesNoInlineCredentials], stack, {})).map((v) => v.message),
    ).toEqual([
      `${NGINX} sets values.controller.extraArgs[0] to a URL with an embedded password. ${FIX_HELM}`,
    ]);
  });
});
