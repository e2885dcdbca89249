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
