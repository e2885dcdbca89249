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
