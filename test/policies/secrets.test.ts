import { describe, expect, it } from "vitest";
import { kubeletSegments } from "../../policies/lib/argv.js";
import { isIndirectValue, isSecretLikeKey } from "../../policies/lib/values.js";
import * as secrets from "../../policies/secrets.js";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import type { PolicyTarget } from "../../policies/runner/evaluate.js";
import { describePolicy, STACK_FIXTURES } from "./cases.js";
import { setPath } from "./fixtures/target.js";

const SERVER = ["spec", "template", "spec", "containers", 0];
const server = 'Deployment "inference" container "server"';
const IN_ARGV = (where: string) =>
  `${server} passes a credential on the command line (${where}). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`;
const PLAIN_ENV = (name: string, i: number) =>
  `${server} sets ${name} in plain text. Replace spec.template.spec.containers[0].env[${i}].value with valueFrom.secretKeyRef { name, key } of a Secret.`;
const LOOKS_LIKE = (key: string) =>
  `ConfigMap "inference-config" data["${key}"] looks like a credential. Move it to a Kubernetes Secret created from a Pulumi secret and remove data["${key}"].`;

/** The fixture's env is PLINTH_MODEL_NAME=fashion-mnist (plain), then PLINTH_API_TOKEN (secretKeyRef). */
const FIXTURE_ENV = [
  { name: "PLINTH_MODEL_NAME", value: "fashion-mnist" },
  { name: "PLINTH_API_TOKEN", valueFrom: { secretKeyRef: { name: "inference-auth", key: "token" } } },
];

function withServer(change: { env?: unknown[]; envFrom?: unknown[]; args?: unknown[] }): PolicyTarget[] {
  const stack = STACK_FIXTURES.kubernetes();
  const deployment = stack.find((t) => t.name === "inference" && t.type.endsWith("Deployment"))!;
  for (const [field, value] of Object.entries(change)) setPath(deployment.props, [...SERVER, field], value);
  return stack;
}

async function messages(stack: PolicyTarget[], policy = secrets.containerNoPlaintextSecrets) {
  return (await evaluatePolicies([policy], stack, {})).map((v) => v.message);
}

describePolicy(secrets.containerNoPlaintextSecrets, [
  {
    change: "a password of digits",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 2],
    value: { name: "PGPASSWORD", value: "123456" },
    message: PLAIN_ENV("PGPASSWORD", 2),
  },
  {
    change: "a bare password flag followed by digits",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "args"],
    value: ["--db-password", "20241203"],
    message: `${server} passes a credential on the command line (spec.template.spec.containers[0].args[0] and the argument after it). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
  },
  {
    change: "a secret-named variable that references a plain variable (the kubelet expands the literal)",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 2],
    value: { name: "DB_PASSWORD", value: "$(PLINTH_MODEL_NAME)" },
    message: PLAIN_ENV("DB_PASSWORD", 2),
  },
  {
    change: "a secret-named variable with literal text beside a Secret-backed reference",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 2],
    value: { name: "DB_PASSWORD", value: "hunter2$(PLINTH_API_TOKEN)" },
    message: PLAIN_ENV("DB_PASSWORD", 2),
  },
  {
    change: "a secret-named variable whose literal sits between two ${} references",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 2],
    value: { name: "DB_PASSWORD", value: "${A}hunter2${B}" },
    message: PLAIN_ENV("DB_PASSWORD", 2),
  },
  {
    change: "a secret-named variable set to a number with letters (not an integer)",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 2],
    value: { name: "DB_PASSPHRASE", value: "1234abcd" },
    message: PLAIN_ENV("DB_PASSPHRASE", 2),
  },
  {
    change: "$$$(VAR): an escaped '$' and then a plain variable's literal",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "args", 1],
    value: "--password=$$$(PLINTH_MODEL_NAME)",
    message: IN_ARGV("spec.template.spec.containers[0].args[1]"),
  },
]);

describe("container-no-plaintext-secrets: env values made only of references", () => {
  it.each([
    ["a Secret-backed variable's reference", [{ name: "DB_PASSWORD", value: "$(PLINTH_API_TOKEN)" }]],
    [
      "a chain through a variable that references a Secret",
      [
        { name: "ALIAS", value: "$(PLINTH_API_TOKEN)" },
        { name: "DB_PASSWORD", value: "$(ALIAS)" },
      ],
    ],
    [
      "two Secret-backed references and nothing else",
      [{ name: "DB_PASSWORD", value: "$(PLINTH_API_TOKEN)$(PLINTH_API_TOKEN)" }],
    ],
    [
      "a reference to a ConfigMap-backed variable (the value is not in this spec)",
      [
        { name: "CM", valueFrom: { configMapKeyRef: { name: "c", key: "k" } } },
        { name: "DB_PASSWORD", value: "$(CM)" },
      ],
    ],
    ["an undefined name (the kubelet leaves the text)", [{ name: "DB_PASSWORD", value: "$(NOT_DEFINED)" }]],
    [
      "a variable declared after it (the kubelet expands only earlier ones)",
      [
        { name: "DB_PASSWORD", value: "$(LATER)" },
        { name: "LATER", value: "hunter2" },
      ],
    ],
    [
      "an escaped reference (the kubelet passes the text $(VAR))",
      [{ name: "DB_PASSWORD", value: "$$(PLINTH_MODEL_NAME)" }],
    ],
  ])("raises nothing for %s", async (_name, extra) => {
    expect(await messages(withServer({ env: [...FIXTURE_ENV, ...extra] }))).toEqual([]);
  });

  it("raises nothing for a reference to a name an envFrom secretRef sets", async () => {
    const stack = withServer({
      envFrom: [{ secretRef: { name: "database" } }],
      env: [...FIXTURE_ENV, { name: "DB_PASSWORD", value: "$(PG_PASSWORD)" }],
    });
    expect(await messages(stack)).toEqual([]);
  });

  it("reports a chain that ends in a plain literal", async () => {
    const stack = withServer({
      env: [
        ...FIXTURE_ENV,
        { name: "A", value: "$(PLINTH_MODEL_NAME)" },
        { name: "DB_PASSWORD", value: "$(A)" },
      ],
    });
    expect(await messages(stack)).toEqual([PLAIN_ENV("DB_PASSWORD", 3)]);
  });
});

describe("container-no-plaintext-secrets: secret-named env variables that hold flags, numbers or references", () => {
  it.each([
    ["true", { name: "REQUIRE_API_KEY", value: "true" }],
    ["TRUE", { name: "REQUIRE_API_KEY", value: "TRUE" }],
    ["False", { name: "ENABLE_TOKEN_AUTH", value: "False" }],
    ["a lifetime in seconds", { name: "TOKEN_EXPIRY_SECONDS", value: "3600" }],
    ["a count", { name: "API_KEY_COUNT", value: "3" }],
    ["a ${VAR} reference the program resolves", { name: "DB_PASSWORD", value: "${DB_PASSWORD}" }],
    ["a template left in place", { name: "DB_PASSWORD", value: "{{ .Values.password }}" }],
    ["a placeholder", { name: "DB_PASSWORD", value: "<changeme>" }],
  ])("raises nothing for %s", async (_name, variable) => {
    expect(await messages(withServer({ env: [...FIXTURE_ENV, variable] }))).toEqual([]);
  });
});

describe("container-no-plaintext-secrets: flags read with the kubelet's $$ escaping", () => {
  it.each([
    [
      "--flag=$$(VAR) of a plain variable (the program gets the text $(VAR))",
      ["--password=$$(PLINTH_MODEL_NAME)"],
    ],
    ["a bare flag then $$(VAR) of a plain variable", ["--password", "$$(PLINTH_MODEL_NAME)"]],
  ])("raises nothing for %s", async (_name, args) => {
    expect(await messages(withServer({ args }))).toEqual([]);
  });

  it("expands a plain variable that references another plain variable", async () => {
    const stack = withServer({
      env: [...FIXTURE_ENV, { name: "MODEL", value: "$(PLINTH_MODEL_NAME)" }],
      args: ["--password=$(MODEL)"],
    });
    expect(await messages(stack)).toEqual([IN_ARGV("spec.template.spec.containers[0].args[0]")]);
  });

  it("keeps $$ escaping inside a variable's value: $(Y) with Y=$$(X) is the text $(X)", async () => {
    const stack = withServer({
      env: [...FIXTURE_ENV, { name: "Y", value: "$$(PLINTH_MODEL_NAME)" }],
      args: ["--password=$(Y)", "--token", "$(Y)"],
    });
    expect(await messages(stack)).toEqual([]);
  });

  it("reads text as the kubelet does: one tokenizer for references and expansion", () => {
    expect(kubeletSegments("a$$(B)$(C)$$$(D)$x$")).toEqual([
      { text: "a$(B)" },
      { reference: "C" },
      { text: "$" },
      { reference: "D" },
      { text: "$x$" },
    ]);
    expect(kubeletSegments("$(E")).toEqual([{ text: "$(E" }]);
    expect(secrets.variableReferences("$(A) $$(B) $$$(C) $$$$(D) $(E")).toEqual(["A", "C"]);
  });
});

describePolicy(secrets.configMapNoSecretValues, [
  {
    change: "a PIN of digits",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "DB_PASSWORD"],
    value: "0000",
    message: LOOKS_LIKE("DB_PASSWORD"),
  },
  {
    change: "a passphrase on a word boundary",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "DB_PASSPHRASE"],
    value: "correct horse battery staple",
    message: LOOKS_LIKE("DB_PASSPHRASE"),
  },
  {
    change: "a literal between two ${} references",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "DB_PASSWORD"],
    value: "${A}hunter2${B}",
    message: LOOKS_LIKE("DB_PASSWORD"),
  },
]);

describe("configmap-no-secret-values: secret-named keys that hold flags, numbers or references", () => {
  it.each([
    ["true", "ENABLE_API_KEY_AUTH", "true"],
    ["FALSE", "ENABLE_API_KEY_AUTH", "FALSE"],
    ["a lifetime in seconds", "TOKEN_EXPIRY_SECONDS", "3600"],
    ["a lifetime (a name that describes the token)", "TOKEN_TTL", "3600"],
    ["a ${VAR} reference", "DB_PASSWORD", "${DB_PASSWORD}"],
    ["a template", "DB_PASSWORD", "{{ .Values.db.password }}"],
  ])("raises nothing for %s", async (_name, key, value) => {
    const stack = STACK_FIXTURES.kubernetes();
    const configMap = stack.find((t) => t.name === "inference-config")!;
    setPath(configMap.props, ["data", key], value);
    expect(await messages(stack, secrets.configMapNoSecretValues)).toEqual([]);
  });
});

describe("configmap-no-secret-values: configuration files judged with the same test", () => {
  it.each([
    ["a lifetime and a boolean", "token_expiry_seconds: 3600\nrequire_api_key: TRUE\n"],
    ["two references with nothing between them", "password: ${DB_USER}${DB_PASS}\nuser: x\n"],
  ])("raises nothing for %s", async (_name, file) => {
    const stack = STACK_FIXTURES.kubernetes();
    const configMap = stack.find((t) => t.name === "inference-config")!;
    setPath(configMap.props, ["data", "app.yaml"], file);
    expect(await messages(stack, secrets.configMapNoSecretValues)).toEqual([]);
  });

  it("reports a literal between two references in a file", async () => {
    const stack = STACK_FIXTURES.kubernetes();
    const configMap = stack.find((t) => t.name === "inference-config")!;
    setPath(configMap.props, ["data", "app.yaml"], "password: ${A}hunter2${B}\nuser: x\n");
    expect(await messages(stack, secrets.configMapNoSecretValues)).toEqual([
      'ConfigMap "inference-config" data["app.yaml"] is a configuration file that sets password in plain text. Mount those settings from a Kubernetes Secret (or let the program read them from env vars set by valueFrom.secretKeyRef) and remove them from data["app.yaml"].',
    ]);
  });
});

describe("isSecretLikeKey: passphrase is a credential word like password", () => {
  it.each([
    "DB_PASSPHRASE",
    "keyPassphrase",
    "ssl-key-passphrase",
    "PASSPHRASE",
    "GPGPASSPHRASE",
    "passphrase2",
  ])("%s holds a credential", (key) => expect(isSecretLikeKey(key)).toBe(true));
  it.each(["passphraseFile", "KEY_PASSPHRASE_PATH", "passphraseKey", "PASSPHRASES_DIR"])(
    "%s does not",
    (key) => expect(isSecretLikeKey(key)).toBe(false),
  );
});

describe("isIndirectValue: a value made only of references", () => {
  it.each([
    "${A}",
    "${A}${B}",
    "$(A) $(B)",
    "{{ .Values.a }}",
    "$__file{/run/x}",
    "%(pw)s",
    "<changeme>",
    "***",
    "TRUE",
  ])("%s is a reference", (value) => expect(isIndirectValue(value)).toBe(true));
  it.each([
    "${A}hunter2${B}",
    "$(A)hunter2$(B)",
    "{{ a }}hunter2{{ b }}",
    "<a>hunter2<b>",
    "%(a)shunter2%(b)s",
    "hunter2",
  ])("%s is not", (value) => expect(isIndirectValue(value)).toBe(false));
});

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

function withData(data: Record<string, string>): PolicyTarget[] {
  const stack = STACK_FIXTURES.kubernetes();
  const configMap = stack.find((t) => t.name === "inference-config")!;
  for (const [key, value] of Object.entries(data)) setPath(configMap.props, ["data", key], value);
  return stack;
}
const HOLDS = (key: string, kind: string) =>
  `ConfigMap "inference-config" data["${key}"] holds ${kind}. Move it to a Kubernetes Secret created from a Pulumi secret and remove data["${key}"].`;
const CONFIG_FILE = (key: string, names: string) =>
  `ConfigMap "inference-config" data["${key}"] is a configuration file that sets ${names} in plain text. Mount those settings from a Kubernetes Secret (or let the program read them from env vars set by valueFrom.secretKeyRef) and remove them from data["${key}"].`;
const EXPANDS = (name: string, where: string) =>
  `${server} expands the Secret-backed variable ${name} into its command line (${where}), where the kubelet puts the value in argv. Let the program read the variable from its environment, or read a mounted Secret file.`;
const DB_PASSWORD_FROM_SECRET = {
  name: "DB_PASSWORD",
  valueFrom: { secretKeyRef: { name: "db", key: "password" } },
};
const CM_PASSWORD = { name: "CM_PASSWORD", valueFrom: { configMapKeyRef: { name: "c", key: "k" } } };

describePolicy(secrets.containerNoPlaintextSecrets, [
  {
    change: "a URL whose password is a plain variable's literal, once expanded",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 2],
    value: { name: "DATABASE_URL", value: "postgresql://mlflow:$(PLINTH_MODEL_NAME)@db:5432/mlflow" },
    message: `${server} sets DATABASE_URL to a URL with an embedded password. Replace spec.template.spec.containers[0].env[2].value with valueFrom.secretKeyRef { name, key } of a Secret.`,
  },
  {
    change: "a URL whose password mixes a reference and literal text",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 2],
    value: { name: "DATABASE_URL", value: "postgresql://mlflow:${PW}hunter2@db:5432/mlflow" },
    message: `${server} sets DATABASE_URL to a URL with an embedded password. Replace spec.template.spec.containers[0].env[2].value with valueFrom.secretKeyRef { name, key } of a Secret.`,
  },
  {
    change: "an argument whose URL password is a plain variable's literal, once expanded",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "args", 1],
    value: "--db=postgresql://mlflow:$(PLINTH_MODEL_NAME)@db/mlflow",
    message: IN_ARGV("spec.template.spec.containers[0].args[1]"),
  },
  {
    change: "a secret-named variable that starts with / but is not a single path",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 2],
    value: { name: "DB_PASSWORD", value: "/hunter2 hunter2" },
    message: PLAIN_ENV("DB_PASSWORD", 2),
  },
  {
    change: "a secret-named variable that starts with / and holds characters no path name does",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 2],
    value: { name: "DB_PASSWORD", value: "/hunter2!#" },
    message: PLAIN_ENV("DB_PASSWORD", 2),
  },
  {
    change: "a path-like value that holds a secret shape",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "env", 2],
    value: { name: "TLS_PRIVATE_KEY", value: "/AKIAIOSFODNN7EXAMPLE" },
    message: `${server} sets TLS_PRIVATE_KEY to an AWS access key id. Replace spec.template.spec.containers[0].env[2].value with valueFrom.secretKeyRef { name, key } of a Secret.`,
  },
  {
    change: "a bare secret flag whose value starts with / but is not a single path",
    stack: "kubernetes",
    resource: "Deployment:inference",
    path: [...SERVER, "args"],
    value: ["--password", "/hunter2 hunter2"],
    message: `${server} passes a credential on the command line (spec.template.spec.containers[0].args[0] and the argument after it). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
  },
]);

describe("container-no-plaintext-secrets: a URL whose password is only a reference", () => {
  it.each([
    [
      "$(VAR) of a Secret-backed variable",
      [
        DB_PASSWORD_FROM_SECRET,
        { name: "DATABASE_URL", value: "postgresql://mlflow:$(DB_PASSWORD)@db:5432/mlflow" },
      ],
    ],
    [
      "${VAR} the program resolves",
      [{ name: "DATABASE_URL", value: "postgresql://mlflow:${DB_PASSWORD}@db:5432/mlflow" }],
    ],
    [
      "$(VAR) of a ConfigMap-backed variable",
      [CM_PASSWORD, { name: "DATABASE_URL", value: "postgresql://mlflow:$(CM_PASSWORD)@db:5432/mlflow" }],
    ],
    ["a placeholder", [{ name: "DATABASE_URL", value: "postgresql://mlflow:<password>@db:5432/mlflow" }]],
  ])("raises nothing for %s in env", async (_name, extra) => {
    expect(await messages(withServer({ env: [...FIXTURE_ENV, ...extra] }))).toEqual([]);
  });

  it.each([
    ["$(VAR) of a ConfigMap-backed variable", "--db=postgresql://mlflow:$(CM_PASSWORD)@db/mlflow"],
    ["${VAR} the program resolves", "--db=postgresql://mlflow:${DB_PASSWORD}@db/mlflow"],
  ])("raises nothing for %s in args", async (_name, argument) => {
    const stack = withServer({ env: [...FIXTURE_ENV, CM_PASSWORD], args: ["serve", argument] });
    expect(await messages(stack)).toEqual([]);
  });

  it("reports the Secret-backed variable itself when the URL puts it on the command line", async () => {
    const stack = withServer({
      env: [...FIXTURE_ENV, DB_PASSWORD_FROM_SECRET],
      args: ["serve", "--db=postgresql://mlflow:$(DB_PASSWORD)@db/mlflow"],
    });
    expect(await messages(stack)).toEqual([
      EXPANDS("DB_PASSWORD", "spec.template.spec.containers[0].args[1]"),
    ]);
  });
});

describe("container-no-plaintext-secrets: secret-like names whose value is a file path", () => {
  it.each([
    ["a key file", { name: "TLS_PRIVATE_KEY", value: "/etc/tls/tls.key" }],
    [
      "a credentials file",
      { name: "GOOGLE_APPLICATION_CREDENTIALS", value: "/var/run/secrets/gcp/key.json" },
    ],
    ["a token file", { name: "VAULT_TOKEN", value: "/var/run/secrets/vault/token" }],
  ])("raises nothing for %s", async (_name, variable) => {
    expect(await messages(withServer({ env: [...FIXTURE_ENV, variable] }))).toEqual([]);
  });
});

describe("container-no-plaintext-secrets: a path after a reference", () => {
  it("raises nothing for $(DIR)/tls.key with DIR from a ConfigMap (the literal part is a path)", async () => {
    const env = [
      ...FIXTURE_ENV,
      { name: "CERT_DIR", valueFrom: { configMapKeyRef: { name: "c", key: "dir" } } },
      { name: "TLS_PRIVATE_KEY", value: "$(CERT_DIR)/tls.key" },
    ];
    expect(await messages(withServer({ env }))).toEqual([]);
  });
});

describe("container-no-plaintext-secrets: names that describe a secret rather than hold one", () => {
  it.each([
    ["TOKEN_AUDIENCE", "sts.amazonaws.com"],
    ["OIDC_TOKEN_ISSUER", "https://oidc.eks.amazonaws.com/id/ABC"],
    ["TOKEN_TYPE", "Bearer"],
    ["TOKEN_ALGORITHM", "RS256"],
    ["SECRET_STORE", "vault"],
    ["VAULT_SECRET_PATH_PREFIX", "kv/plinth"],
    ["CREDENTIALS_PROVIDER", "irsa"],
    ["SECRET_NAMESPACE", "plinth"],
    ["SECRET_VERSION", "3"],
    ["PASSWORD_HASH_ALGORITHM", "argon2id"],
    ["TOKEN_SCOPE", "openid"],
  ])("raises nothing for env %s", async (name, value) => {
    expect(await messages(withServer({ env: [...FIXTURE_ENV, { name, value }] }))).toEqual([]);
  });

  it.each([
    ["--token-audience", "sts.amazonaws.com"],
    ["--secret-store", "vault"],
    ["--credentials-provider", "irsa"],
  ])("raises nothing for args %s VALUE and FLAG=VALUE", async (flag, value) => {
    expect(await messages(withServer({ args: [flag, value, `${flag}=${value}`] }))).toEqual([]);
  });
});

describe("container-no-plaintext-secrets: envFrom taking a ConfigMap and a Secret", () => {
  const mixed = [{ configMapRef: { name: "cfg" } }, { secretRef: { name: "sec" } }];

  it("raises nothing for a name that is not secret-like (it may come from the ConfigMap)", async () => {
    const stack = withServer({ envFrom: mixed, args: ["serve", "--log-level=$(LOG_LEVEL)"] });
    expect(await messages(stack)).toEqual([]);
  });

  it("reports a secret-like name (it may come from the Secret)", async () => {
    const stack = withServer({ envFrom: mixed, args: ["serve", "--db-password=$(DB_PASSWORD)"] });
    expect(await messages(stack)).toEqual([
      EXPANDS("DB_PASSWORD", "spec.template.spec.containers[0].args[1]"),
    ]);
  });

  it("keeps every unset name Secret-backed when envFrom takes only Secrets", async () => {
    const stack = withServer({
      envFrom: [{ secretRef: { name: "a" } }, { secretRef: { name: "b" } }],
      args: ["serve", "--log-level=$(LOG_LEVEL)"],
    });
    expect(await messages(stack)).toEqual([EXPANDS("LOG_LEVEL", "spec.template.spec.containers[0].args[1]")]);
  });

  it("reads an envFrom prefix: a Secret source sets only the names that start with it", async () => {
    const stack = withServer({
      envFrom: [{ prefix: "DB_", secretRef: { name: "db" } }],
      args: ["serve", "--log-level=$(LOG_LEVEL)", "--db=$(DB_URL)"],
    });
    expect(await messages(stack)).toEqual([EXPANDS("DB_URL", "spec.template.spec.containers[0].args[2]")]);
  });

  it("reads a prefix on the ConfigMap source: a name it cannot set is the Secret's", async () => {
    const stack = withServer({
      envFrom: [{ prefix: "CFG_", configMapRef: { name: "cfg" } }, { secretRef: { name: "sec" } }],
      args: ["serve", "--log-level=$(LOG_LEVEL)", "--x=$(CFG_LEVEL)"],
    });
    expect(await messages(stack)).toEqual([EXPANDS("LOG_LEVEL", "spec.template.spec.containers[0].args[1]")]);
  });
});

describePolicy(secrets.configMapNoSecretValues, [
  {
    change: "a URL whose password mixes a reference and literal text",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "DATABASE_URL"],
    value: "postgresql://mlflow:${PW}hunter2@db:5432/mlflow",
    message: HOLDS("DATABASE_URL", "a URL with an embedded password"),
  },
  {
    change: "a URL with a password and no user name (redis://:password@host)",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "REDIS_URL"],
    value: "redis://:hunter2@redis:6379/0",
    message: HOLDS("REDIS_URL", "a URL with an embedded password"),
  },
  {
    change: "a secret shape behind a leading /",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "GOOGLE_APPLICATION_CREDENTIALS"],
    value: "/AKIAIOSFODNN7EXAMPLE",
    message: HOLDS("GOOGLE_APPLICATION_CREDENTIALS", "an AWS access key id"),
  },
  {
    change: "a shell script that exports a password",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "env.sh"],
    value: "#!/bin/sh\nexport DB_HOST=db\nexport DB_PASSWORD=hunter2\n",
    message: CONFIG_FILE("env.sh", "DB_PASSWORD"),
  },
  {
    change: "a .env file",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", ".env"],
    value: "DB_HOST=db\nDB_PASSWORD='hunter2'\n",
    message: CONFIG_FILE(".env", "DB_PASSWORD"),
  },
  {
    change: "a YAML list item that sets a password",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "users.yaml"],
    value: "users:\n  - password: hunter2\n    name: admin\n",
    message: CONFIG_FILE("users.yaml", "password"),
  },
  {
    change: "a config-file password followed by a comment",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "app.yaml"],
    value: "db:\n  password: hunter2  # TODO: move to a Secret\n",
    message: CONFIG_FILE("app.yaml", "password"),
  },
  {
    change: "a config-file password that starts with / but is not a single path",
    stack: "kubernetes",
    resource: "ConfigMap:inference-config",
    path: ["data", "app.yaml"],
    value: "db:\n  password: /hunter2 hunter2\n",
    message: CONFIG_FILE("app.yaml", "password"),
  },
]);

describe("configmap-no-secret-values: values that only point at a credential", () => {
  it.each([
    ["a URL with a ${VAR} password", { DATABASE_URL: "postgresql://mlflow:${DB_PASSWORD}@db:5432/mlflow" }],
    ["a URL with a $(VAR) password", { DATABASE_URL: "postgresql://mlflow:$(DB_PASSWORD)@db:5432/mlflow" }],
    ["a URL with a $VAR password", { DATABASE_URL: "postgresql://mlflow:$DB_PASSWORD@db:5432/mlflow" }],
    [
      "a URL with no user name and a reference password",
      { REDIS_URL: "redis://:${REDIS_PASSWORD}@redis:6379/0" },
    ],
    ["an IPv6 host and port", { UPSTREAM: "http://[::1]:8080/health" }],
    [
      "a file with a URL whose password is a reference",
      { "app.yaml": "db:\n  url: postgres://u:${PW}@db/x\n" },
    ],
    ["a key file path", { TLS_PRIVATE_KEY: "/etc/tls/tls.key" }],
    ["a credentials file path", { GOOGLE_APPLICATION_CREDENTIALS: "/var/run/secrets/gcp/key.json" }],
    ["a password file path in a config file", { "app.yaml": "db:\n  password: /etc/secrets/db/password\n" }],
    [
      "names that describe a secret",
      { TOKEN_AUDIENCE: "sts.amazonaws.com", SECRET_STORE: "vault", TOKEN_TYPE: "Bearer" },
    ],
    [
      "a shell script that reads the password from a file",
      { "env.sh": "export DB_HOST=db\nexport DB_PASSWORD=$(cat /run/secrets/db)\n" },
    ],
    [
      "a shell script that passes a reference on",
      { "env.sh": 'export DB_HOST=db\nexport DB_PASSWORD="${PGPASSWORD}"\n' },
    ],
    [
      "YAML list items that name where passwords are",
      { "users.yaml": "users:\n  - passwordFile: /etc/pw\n  - password: ${ADMIN_PW}\n" },
    ],
  ])("raises nothing for %s", async (_name, data) => {
    expect(await messages(withData(data), secrets.configMapNoSecretValues)).toEqual([]);
  });
});

describe("isSecretLikeKey: names that describe or name a secret, and names that hold one", () => {
  it.each([
    "TOKEN_AUDIENCE",
    "OIDC_TOKEN_ISSUER",
    "TOKEN_TYPE",
    "TOKEN_ALGORITHM",
    "SECRET_STORE",
    "VAULT_SECRET_PATH_PREFIX",
    "CREDENTIALS_PROVIDER",
    "SECRET_NAMESPACE",
    "SECRET_VERSION",
    "PASSWORD_HASH_ALGORITHM",
    "TOKEN_SCOPE",
    "TOKEN_SCOPES",
    "token-audience",
    "secret-store",
    "credentials-provider",
    "passwordSecret",
    "credentialsSecret",
    "adminPasswordSecret",
    "DB_PASSWORD_SECRET",
    "passwordSecretName",
    "tokenSecretRef",
    // Names that say where a secret is fetched from, or describe one (a third audit's false alarms).
    "API_KEY_ENV",
    "apiKeyEnvVar",
    "DB_SECRET_ARN",
    "DB_PASSWORD_SECRET_ID",
    "GCP_SECRET_ID",
    "TOKEN_ENDPOINT_AUTH_METHOD",
    "ACCESS_TOKEN_FORMAT",
    "PASSWORD_POLICY",
    "PASSWORD_HASH_ROUNDS",
    "SESSION_TOKEN_MAX_AGE",
    "TOKEN_LIMIT",
    "PAD_TOKEN_ID",
    "SECRET_PROVIDER_CLASS",
    "credential_source",
  ])("%s does not hold a credential", (key) => expect(isSecretLikeKey(key)).toBe(false));

  describe("container-no-plaintext-secrets: flags and values that name where a secret comes from", () => {
    it.each([
      ["--api-key-env=API_KEY", ["--api-key-env=API_KEY"]],
      ["--api-key-env API_KEY", ["--api-key-env", "API_KEY"]],
      ["--token-limit=4096", ["--token-limit=4096"]],
    ])("raises nothing for %s", async (_name, args) => {
      expect(await messages(withServer({ args }))).toEqual([]);
    });
    it("raises nothing for a secret manager ARN under a secret-like name", async () => {
      const env = [
        ...FIXTURE_ENV,
        { name: "DB_SECRET_ARN", value: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf" },
      ];
      expect(await messages(withServer({ env }))).toEqual([]);
    });
  });

  describe("configmap-no-secret-values: public keys and certificates under secret-like names", () => {
    const PUBLIC_KEY =
      "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
    const withData = (key: string, value: string) => {
      const stack = STACK_FIXTURES.kubernetes();
      setPath(stack.find((t) => t.name === "inference-config")!.props, ["data", key], value);
      return stack;
    };
    it("raises nothing for a public key under TOKEN_PUBLIC_KEY", async () => {
      expect(
        await messages(withData("TOKEN_PUBLIC_KEY", PUBLIC_KEY), secrets.configMapNoSecretValues),
      ).toEqual([]);
    });
    it("still reports a block that carries a private key after a certificate", async () => {
      const bundle = `-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n`;
      expect(await messages(withData("TOKEN_BUNDLE", bundle), secrets.configMapNoSecretValues)).toHaveLength(
        1,
      );
    });
  });
  it.each([
    "AWS_SECRET_KEY",
    "CLIENT_SECRET",
    "MINIO_SECRET_KEY",
    "DB_PASSWORD",
    "API_TOKEN",
    "github_token",
    "secretKey",
    "JWT_SECRET",
    "TOKEN_SECRET",
    "tokenSecret",
    "COOKIE_SECRET",
    "PASSWORD_HASH",
    // OAuth 1 and Proxmox name the credential itself "token secret"; Alibaba Cloud "AccessKeySecret".
    "ACCESS_TOKEN_SECRET",
    "oauthTokenSecret",
    "PM_API_TOKEN_SECRET",
    "accessKeySecret",
    "apiKeySecret",
    "SECRET_TYPE_KEY",
  ])("%s holds a credential", (key) => expect(isSecretLikeKey(key)).toBe(true));
});
