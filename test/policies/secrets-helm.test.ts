import { describe, expect, it } from "vitest";
import * as helm from "../../policies/helm.js";
import { isSecretLikeKey } from "../../policies/lib/values.js";
import * as secrets from "../../policies/secrets.js";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import { describePolicy, STACK_FIXTURES } from "./cases.js";
import { setPath, target } from "./fixtures/target.js";

const SERVER = ["spec", "template", "spec", "containers", 0];
const server = 'Deployment "inference" container "server"';
const FIX_HELM =
  "Create a Kubernetes Secret from a Pulumi secret and point the chart's existingSecret (or *File / *SecretRef) setting at it instead.";

describePolicy(secrets.configMapNoSecretValues, [
  {
    change: "a password key",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "MLFLOW_DB_PASSWORD"],
    value: "hunter2hunter2",
    message:
      'ConfigMap "inference-config" data["MLFLOW_DB_PASSWORD"] looks like a credential. Move it to a Kubernetes Secret created from a Pulumi secret and remove data["MLFLOW_DB_PASSWORD"].',
  },
  {
    change: "a connection string with a password under an innocent key",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "PLINTH_LOG_LEVEL"],
    value: "postgresql://mlflow:s3cret@db:5432/mlflow",
    message:
      'ConfigMap "inference-config" data["PLINTH_LOG_LEVEL"] holds a URL with an embedded password. Move it to a Kubernetes Secret created from a Pulumi secret and remove data["PLINTH_LOG_LEVEL"].',
  },
  {
    change: "a password under binaryData, base64 as the API takes it",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["binaryData"],
    value: { PGPASSWORD: Buffer.from("hunter2hunter2").toString("base64") },
    message:
      'ConfigMap "inference-config" binaryData["PGPASSWORD"] looks like a credential. Move it to a Kubernetes Secret created from a Pulumi secret and remove binaryData["PGPASSWORD"].',
  },
  {
    change: "a private key under binaryData with an innocent key",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["binaryData"],
    value: { "tls.bin": Buffer.from("-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n").toString("base64") },
    message:
      'ConfigMap "inference-config" binaryData["tls.bin"] holds a PEM private key. Move it to a Kubernetes Secret created from a Pulumi secret and remove binaryData["tls.bin"].',
  },
  {
    change: "a password inside a mounted configuration file",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "app.yaml"],
    value: "database:\n  host: db.internal\n  user: mlflow\n  password: hunter2hunter2\n",
    message:
      'ConfigMap "inference-config" data["app.yaml"] is a configuration file that sets password in plain text. Mount those settings from a Kubernetes Secret (or let the program read them from env vars set by valueFrom.secretKeyRef) and remove them from data["app.yaml"].',
  },
  {
    change: "a password inside a mounted JSON file on one line",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "config.json"],
    value: JSON.stringify({ db: { host: "db", password: "hunter2hunter2" } }),
    message:
      'ConfigMap "inference-config" data["config.json"] is a configuration file that sets password in plain text. Mount those settings from a Kubernetes Secret (or let the program read them from env vars set by valueFrom.secretKeyRef) and remove them from data["config.json"].',
  },
  {
    change: "credentials inside an INI file and a JSON file",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "settings.ini"],
    value: '[smtp]\nhost = mail.internal\nsmtp_password = s3cr3t!\n{\n  "apiKey": "ak_live_123"\n}\n',
    message:
      'ConfigMap "inference-config" data["settings.ini"] is a configuration file that sets smtp_password, apiKey in plain text. Mount those settings from a Kubernetes Secret (or let the program read them from env vars set by valueFrom.secretKeyRef) and remove them from data["settings.ini"].',
  },
]);

describe("configmap-no-secret-values: configuration files that only refer to credentials", () => {
  it.each([
    ["an environment reference", "database:\n  password: ${DB_PASSWORD}\n"],
    ["a template", "password: {{ .Values.password }}\nuser: x\n"],
    ["an empty value and a file path key", "password:\npassword_file: /run/secrets/db\n"],
    ["a secret's name", "auth:\n  existingSecret: mlflow-db\n  secretName: mlflow-db\n"],
    [
      "Grafana's file and env providers",
      "[security]\nadmin_password = $__file{/etc/secrets/pw}\nsecret_key = $__env{GF_KEY}\n",
    ],
    [
      "settings about tokens",
      "token_url: https://idp.example.com/token\ntoken_rotation_interval_minutes = 10\n",
    ],
  ])("raises nothing for %s", async (_name, file) => {
    const stack = STACK_FIXTURES.kubernetes();
    const configMap = stack.find((t) => t.name === "inference-config")!;
    setPath(configMap.props, ["data", "app.yaml"], file);
    expect(await evaluatePolicies([secrets.configMapNoSecretValues], stack, {})).toEqual([]);
  });
});

describePolicy(secrets.containerNoPlaintextSecrets, [
  {
    change: "a token as a plain env value",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 1],
    value: { name: "PLINTH_API_TOKEN", value: "tok_live_123" },
    message: `${server} sets PLINTH_API_TOKEN in plain text. Replace spec.template.spec.containers[0].env[1].value with valueFrom.secretKeyRef { name, key } of a Secret.`,
  },
  {
    change: "an AWS access key under an innocent name",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 0, "value"],
    value: "AKIAIOSFODNN7EXAMPLE",
    message: `${server} sets PLINTH_MODEL_NAME to an AWS access key id. Replace spec.template.spec.containers[0].env[0].value with valueFrom.secretKeyRef { name, key } of a Secret.`,
  },
  {
    change: "a secret flag on the command line",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "args", 1],
    value: "--cookie-secret=0123456789abcdef",
    message: `${server} passes a credential on the command line (spec.template.spec.containers[0].args[1]). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
  },
  {
    change: "a Secret-backed variable expanded into the command line",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "args", 1],
    value: "--token=$(PLINTH_API_TOKEN)",
    message: `${server} expands the Secret-backed variable PLINTH_API_TOKEN into its command line (spec.template.spec.containers[0].args[1]), where the kubelet puts the value in argv. Let the program read the variable from its environment, or read a mounted Secret file.`,
  },
  {
    change: "a Secret-backed variable in a secret-named flag, which the old rule let through",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "args", 0],
    value: "--password=$(PLINTH_API_TOKEN)",
    message: `${server} expands the Secret-backed variable PLINTH_API_TOKEN into its command line (spec.template.spec.containers[0].args[0]), where the kubelet puts the value in argv. Let the program read the variable from its environment, or read a mounted Secret file.`,
  },
  {
    change: "a secret flag whose value is the next argument",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "args"],
    value: ["--port=8080", "--cookie-secret", "0123456789abcdef"],
    message: `${server} passes a credential on the command line (spec.template.spec.containers[0].args[1] and the argument after it). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
  },
  {
    change: "an escaped dollar before a reference ($$ is one '$', then $(VAR) expands)",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "args", 1],
    value: "--token=$$$(PLINTH_API_TOKEN)",
    message: `${server} expands the Secret-backed variable PLINTH_API_TOKEN into its command line (spec.template.spec.containers[0].args[1]), where the kubelet puts the value in argv. Let the program read the variable from its environment, or read a mounted Secret file.`,
  },
]);

describe("container-no-plaintext-secrets: bare secret flags whose next argument is not a literal", () => {
  it.each([
    ["a file path", ["--token", "/var/run/secrets/plinth/token"]],
    ["another flag", ["--password-stdin", "--user=mlflow"]],
    ["a number or a boolean", ["--token-ttl", "3600", "--pass-access-token", "true"]],
    ["a flag that names where the secret is", ["--token-file", "token.txt"]],
  ])("raises nothing for %s", async (_name, args) => {
    const stack = STACK_FIXTURES.kubernetes();
    const deployment = stack.find((t) => t.name === "inference" && t.type.endsWith("Deployment"))!;
    setPath(deployment.props, [...SERVER, "args"], args);
    expect(await evaluatePolicies([secrets.containerNoPlaintextSecrets], stack, {})).toEqual([]);
  });

  it("sees through a plain variable: --password=$(X) with X set in plain text is the literal", async () => {
    const stack = STACK_FIXTURES.kubernetes();
    const deployment = stack.find((t) => t.name === "inference" && t.type.endsWith("Deployment"))!;
    setPath(
      deployment.props,
      [...SERVER, "args"],
      ["--password=$(PLINTH_MODEL_NAME)", "--token", "$(PLINTH_MODEL_NAME)"],
    );
    const found = await evaluatePolicies([secrets.containerNoPlaintextSecrets], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      `${server} passes a credential on the command line (spec.template.spec.containers[0].args[1] and the argument after it). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
      `${server} passes a credential on the command line (spec.template.spec.containers[0].args[0]). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
    ]);
  });

  it("reads command and args as one argv: a flag ending command takes its value from args", async () => {
    const stack = STACK_FIXTURES.kubernetes();
    const deployment = stack.find((t) => t.name === "inference" && t.type.endsWith("Deployment"))!;
    setPath(deployment.props, [...SERVER, "command"], ["server", "--db-password"]);
    setPath(deployment.props, [...SERVER, "args"], ["hunter2hunter2", "--port=8080"]);
    const found = await evaluatePolicies([secrets.containerNoPlaintextSecrets], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      `${server} passes a credential on the command line (spec.template.spec.containers[0].command[1] and the argument after it). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
    ]);
  });
});

describe("container-no-plaintext-secrets: $(VAR) in argv", () => {
  it.each([
    ["a plain variable", "--model=$(PLINTH_MODEL_NAME)"],
    ["an escaped reference the kubelet leaves as text", "--literal=$$(PLINTH_API_TOKEN)"],
    ["an undefined name (the kubelet leaves it as text)", "--x=$(NOT_DEFINED)"],
  ])("raises nothing for %s", async (_name, argument) => {
    const stack = STACK_FIXTURES.kubernetes();
    const deployment = stack.find((t) => t.name === "inference" && t.type.endsWith("Deployment"))!;
    setPath(deployment.props, [...SERVER, "args", 1], argument);
    expect(await evaluatePolicies([secrets.containerNoPlaintextSecrets], stack, {})).toEqual([]);
  });

  it("follows a variable that references a Secret-backed one declared before it", async () => {
    const stack = STACK_FIXTURES.kubernetes();
    const deployment = stack.find((t) => t.name === "inference" && t.type.endsWith("Deployment"))!;
    const props = deployment.props as { spec: { template: { spec: { containers: { env: unknown[] }[] } } } };
    props.spec.template.spec.containers[0]!.env.push(
      { name: "ALIAS", value: "$(PLINTH_API_TOKEN)" },
      { name: "PLAIN", value: "$$(PLINTH_API_TOKEN)" },
    );
    setPath(deployment.props, [...SERVER, "args", 1], "--token=$(ALIAS)");
    setPath(deployment.props, [...SERVER, "args", 2], "--literal=$(PLAIN)");
    const found = await evaluatePolicies([secrets.containerNoPlaintextSecrets], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      `${server} expands the Secret-backed variable ALIAS into its command line (spec.template.spec.containers[0].args[1]), where the kubelet puts the value in argv. Let the program read the variable from its environment, or read a mounted Secret file.`,
    ]);
  });

  it("reads references as the kubelet does", () => {
    expect(secrets.variableReferences("$(A) $$(B) $$$(C) $$$$(D) $(E")).toEqual(["A", "C"]);
    expect(secrets.variableReferences("no references, $ alone, $x")).toEqual([]);
  });

  it("treats every name not set in plain text as Secret-backed when envFrom takes a whole Secret", async () => {
    const stack = STACK_FIXTURES.kubernetes();
    const deployment = stack.find((t) => t.name === "inference" && t.type.endsWith("Deployment"))!;
    setPath(deployment.props, [...SERVER, "envFrom"], [{ secretRef: { name: "database" } }]);
    setPath(deployment.props, [...SERVER, "args", 1], "--db=$(DATABASE_URL)");
    const found = await evaluatePolicies([secrets.containerNoPlaintextSecrets], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      `${server} expands the Secret-backed variable DATABASE_URL into its command line (spec.template.spec.containers[0].args[1]), where the kubelet puts the value in argv. Let the program read the variable from its environment, or read a mounted Secret file.`,
    ]);
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

describe("isSecretLikeKey", () => {
  it.each([
    "adminPassword",
    "ADMIN_PASSWORD",
    "client-secret",
    "apiKey",
    "AWS_SECRET_ACCESS_KEY",
    "token",
    "credentials",
    "PGPASSWORD",
    "MYSQLPASSWD",
    "CLIENTSECRET",
    "DB_PASS",
    "smtpPass",
    "MINIO_SECRET_KEY",
    "MYSQL_PWD",
    "PASSPHRASE",
    "DBPASSWORD2",
  ])("%s holds a credential", (key) => expect(isSecretLikeKey(key)).toBe(true));
  it.each([
    "existingSecret",
    "secretName",
    "passwordKey",
    "tokenFile",
    "token-file",
    "PLINTH_TOKEN_HEADER",
    "secretKeyRef",
    "tokenizer",
    "modelName",
    "BYPASS",
    "PASS_THROUGH",
    "COMPASS",
    "PWD",
    "PGPASSFILE",
    "secretsDir",
    "token_url",
    "tokenEndpoint",
    "token_rotation_interval_minutes",
    "passwordConnector",
  ])("%s does not", (key) => expect(isSecretLikeKey(key)).toBe(false));
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
