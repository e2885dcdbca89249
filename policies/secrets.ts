/**
 * Secrets: credentials live in Kubernetes Secrets (from Pulumi secrets), never in ConfigMaps, plain
 * environment values or command-line flags, where anyone who can read the object or `ps` sees them.
 */
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import {
  ARGV_FLAG_SPELLINGS,
  argvCredentials,
  expandSegments,
  holdsCredentialText,
  kubeletSegments,
  kubeletText,
  variableReferences,
} from "./lib/argv.js";
import type { Segment } from "./lib/argv.js";
import { chartObjectsChecked } from "./lib/helm-charts.js";
import { EVERY_CONTAINER, objectName, validateContainers } from "./lib/kubernetes.js";
import type { PlinthPolicy, PlinthResourcePolicy } from "./lib/policy.js";
import {
  embeddedCredentials,
  isCredentialText,
  isSecretLikeKey,
  CREDENTIAL_TEXT,
  CREDENTIAL_TEXT_LIMITS,
  SECRET_KEY_SPELLINGS,
  SECRET_VALUE_SHAPES,
  secretValueKind,
} from "./lib/values.js";

const NSA_CISA_SECRETS = "NSA/CISA Kubernetes Hardening Guidance (secrets management)";
const CIS_K8S_SECRETS =
  'CIS Kubernetes Benchmark, "Policies" section (secrets management: prefer Secrets as files over environment variables)';

export const configMapNoSecretValues: PlinthResourcePolicy = {
  name: "configmap-no-secret-values",
  description: "ConfigMaps must not hold credentials (secret-named keys or secret-looking values).",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Credentials readable by every identity allowed to read ConfigMaps, printed by `kubectl describe`, and stored unencrypted in etcd and in Pulumi state.",
    answers: [NSA_CISA_SECRETS, "anti-pattern: secrets in ConfigMaps"],
    covers: `ConfigMap of core/v1 (\`kubernetes:core/v1:ConfigMap\`): each data entry, and each binaryData entry decoded from base64 as UTF-8. An entry is reported when its value holds ${SECRET_VALUE_SHAPES}; when its key is ${SECRET_KEY_SPELLINGS} and its value is ${CREDENTIAL_TEXT}; or when it is a configuration file (a JSON object, or several lines of YAML with its \`- key: value\` list items, INI, properties, shell or .env \`KEY=value\` and \`export KEY=value\`, each line with an optional trailing \`# comment\`) that sets such a key to such text.`,
    limits: `Credentials under innocent keys and without one of those shapes are missed, as are settings in other file formats (TOML tables, XML, a name and its value on separate lines such as \`- name: DB_PASSWORD\` then \`value: ...\`) or other encodings (base64 or compressed text inside data). A secret-named key set to true or false passes, as does a value spelled as references only (\`\${A}\${B}\`, including a shell default \`\${PW:-literal}\`) or a single absolute path (\`TLS_PRIVATE_KEY: /etc/tls/tls.key\`); a key that describes a secret (\`TOKEN_EXPIRY_SECONDS: "3600"\`) is not secret-like. ${CREDENTIAL_TEXT_LIMITS} ConfigMapPatch is not read, and Secrets are not judged (stringData is where credentials belong).`,
    charts: chartObjectsChecked("ConfigMaps"),
    chartReach: "objects",
  },
  validateResource: validateResourceOfType(k8s.core.v1.ConfigMap, (configMap, args, report) => {
    const name = objectName(args.props, args.name);
    const move = (field: string, key: string) =>
      `Move it to a Kubernetes Secret created from a Pulumi secret and remove ${field}["${key}"].`;
    const entries: [field: "data" | "binaryData", key: string, value: string][] = [
      ...Object.entries(configMap.data ?? {}).map(
        ([key, value]) => ["data", key, value] as ["data", string, string],
      ),
      // binaryData is base64: judged on what it decodes to, as a pod reading it sees it.
      ...Object.entries(configMap.binaryData ?? {}).map(
        ([key, value]) =>
          ["binaryData", key, Buffer.from(value, "base64").toString("utf8")] as [
            "binaryData",
            string,
            string,
          ],
      ),
    ];
    for (const [field, key, value] of entries) {
      const kind = secretValueKind(value);
      const embedded = embeddedCredentials(value);
      if (kind) {
        report(`ConfigMap "${name}" ${field}["${key}"] holds ${kind}. ${move(field, key)}`);
      } else if (isSecretLikeKey(key) && isCredentialText(value)) {
        report(`ConfigMap "${name}" ${field}["${key}"] looks like a credential. ${move(field, key)}`);
      } else if (embedded.length > 0) {
        report(
          `ConfigMap "${name}" ${field}["${key}"] is a configuration file that sets ${embedded.join(", ")} in plain text. Mount those settings from a Kubernetes Secret (or let the program read them from env vars set by valueFrom.secretKeyRef) and remove them from ${field}["${key}"].`,
        );
      }
    }
  }),
};

export { variableReferences };

interface EnvLike {
  readonly env?: readonly { name: string; value?: string; valueFrom?: { secretKeyRef?: unknown } }[];
  readonly envFrom?: readonly { prefix?: string; secretRef?: unknown; configMapRef?: unknown }[];
}

/** A container's variables as the kubelet resolves them. */
interface ContainerVariables {
  /**
   * Whether a name is Secret-backed once every variable is set (what command and args see):
   * `env[].valueFrom.secretKeyRef`; a name env does not set otherwise that an envFrom secretRef may
   * set (see {@link envFromSecret}); and a variable whose value references one of those declared
   * before it (`ALIAS=$(PASSWORD)`: the kubelet expands it).
   */
  isSecret(name: string): boolean;
  /** Each env[] value as the kubelet expands it (undefined without a value). */
  envValues: (readonly Segment[] | undefined)[];
  /** A command or args item as the kubelet expands it, with every variable set. */
  read(argument: string): readonly Segment[];
}

/**
 * Whether a name env does not set comes from a Secret through envFrom. A source may set only the
 * names that start with its prefix. When only Secret sources may set it, it is Secret-backed
 * whatever its name (their keys are not in the pod spec); when a ConfigMap source may set it too,
 * it may come from either, and is taken for the Secret's only when its name is secret-like.
 */
function envFromSecret(sources: NonNullable<EnvLike["envFrom"]>, name: string): boolean {
  const mayCome = (from: "secretRef" | "configMapRef") =>
    sources.some((source) => source[from] !== undefined && name.startsWith(source.prefix ?? ""));
  return mayCome("secretRef") && (!mayCome("configMapRef") || isSecretLikeKey(name));
}

/**
 * The container's variables in declaration order, as the kubelet sets them: a value's `$(VAR)` of
 * a variable declared before it with a value of its own is replaced by that variable's expanded
 * text; a reference to a Secret-backed variable, to one set by valueFrom or envFrom, or to a name
 * not set yet stays a reference (its value is not in the pod spec).
 */
function containerVariables(container: EnvLike): ContainerVariables {
  const fromSecret = new Set<string>();
  const plain = new Set<string>();
  /** Variables set by a value of their own, not Secret-backed: their expanded text. */
  const expanded = new Map<string, readonly Segment[]>();
  const isSecret = (name: string) =>
    fromSecret.has(name) || (!plain.has(name) && envFromSecret(container.envFrom ?? [], name));
  const envValues = (container.env ?? []).map((variable) => {
    const value =
      variable.value === undefined
        ? undefined
        : expandSegments(kubeletSegments(variable.value), (name) => expanded.get(name));
    const viaSecret =
      variable.valueFrom?.secretKeyRef !== undefined ||
      (value ?? []).some((segment) => "reference" in segment && isSecret(segment.reference));
    expanded.delete(variable.name);
    if (viaSecret) {
      fromSecret.add(variable.name);
      plain.delete(variable.name);
    } else {
      plain.add(variable.name);
      fromSecret.delete(variable.name);
      if (value !== undefined && variable.valueFrom === undefined) expanded.set(variable.name, value);
    }
    return value;
  });
  return {
    isSecret,
    envValues,
    read: (argument) => expandSegments(kubeletSegments(argument), (name) => expanded.get(name)),
  };
}

export const containerNoPlaintextSecrets: PlinthResourcePolicy = {
  name: "container-no-plaintext-secrets",
  description:
    "Containers take credentials from Secrets (env valueFrom.secretKeyRef or mounted files), never as plain env values or flags.",
  enforcementLevel: "mandatory",
  severity: "high",
  metadata: {
    protectsAgainst:
      "Credentials visible in the pod spec to anyone who can read Deployments, in `ps` output on the node, and in Pulumi state and diffs in clear text.",
    answers: [NSA_CISA_SECRETS, CIS_K8S_SECRETS, "anti-pattern: secrets in plain environment variables"],
    covers: `${EVERY_CONTAINER}. Values are read as the kubelet expands them (\`$$\` is a literal \`$\`; \`$(VAR)\` of a variable set earlier by a value of its own becomes that variable's expanded text, in env in declaration order, in command and args with every variable set). env[].value is reported when its expanded value holds ${SECRET_VALUE_SHAPES}, or when the variable's name is ${SECRET_KEY_SPELLINGS} and a literal part of the expanded value is ${CREDENTIAL_TEXT}; a value made only of references to Secret-backed, valueFrom, envFrom or unset variables has no literal part. command then args are read as one argv, after expansion: ${ARGV_FLAG_SPELLINGS} is reported; so is any argument that, expanded, has one of those value shapes, and any \`$(VAR)\` that names a Secret-backed variable (env valueFrom.secretKeyRef; a name env does not set in plain text that an envFrom secretRef may set, given the source's prefix: any such name when only Secrets may set it, a secret-like one when an envFrom configMapRef may set it too; or a variable whose value references one of those).`,
    limits: `A value that is true or false, a reference spelling or a single absolute path is not taken for a credential, nor is a flag value that is another flag or an unexpanded reference; a literal part beside a reference is judged alone (\`$(DIR)/tls.key\` is a path). ${CREDENTIAL_TEXT_LIMITS} When envFrom takes a ConfigMap and a Secret, a name neither env nor a prefix settles is judged by its name: a Secret key under an innocent name (LOG_LEVEL) expanded into argv is missed. A secret-named variable set by valueFrom.configMapKeyRef (or referencing one) is not reported: its value is the ConfigMap's, judged by configmap-no-secret-values only by its key there. A shell string (\`sh -c "app --password=..."\`) is one argument: only the value shapes above are found inside it, and short flags (\`-p VALUE\`) and positional credentials are not recognised. Files mounted from ConfigMaps are configmap-no-secret-values's, and envFrom configMapRef values are not read here.`,
    charts: chartObjectsChecked("pods"),
    chartReach: "objects",
  },
  validateResource: validateContainers(({ container, path }, describe, _pod, report) => {
    const variables = containerVariables(container);
    (container.env ?? []).forEach((variable, i) => {
      if (variable.value === undefined || variable.value === "") return;
      // Judged as the container receives it: `$(VAR)` of a plain variable is its text, a value made
      // only of references to values kept elsewhere (a Secret, valueFrom, envFrom) holds none, and
      // a URL whose password is such a reference embeds none.
      const value = variables.envValues[i] ?? [];
      const kind = secretValueKind(kubeletText(value));
      const literal = isSecretLikeKey(variable.name) && holdsCredentialText(value);
      if (kind || literal) {
        report(
          `${describe} sets ${variable.name} ${kind ? `to ${kind}` : "in plain text"}. Replace ${path}.env[${i}].value with valueFrom.secretKeyRef { name, key } of a Secret.`,
        );
      }
    });
    // The kubelet runs command then args as one argv: a flag at the end of one takes its value
    // from the start of the other.
    const argv = (["command", "args"] as const).flatMap((field) =>
      (container[field] ?? []).map((argument, i) => ({ argument, where: `${path}.${field}[${i}]` })),
    );
    const found = argvCredentials(
      argv.map(({ argument }) => argument),
      variables.read,
    );
    for (const { index } of found.filter(({ form }) => form === "pair")) {
      report(
        `${describe} passes a credential on the command line (${argv[index]!.where} and the argument after it). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
      );
    }
    argv.forEach(({ argument, where }, k) => {
      // The kubelet expands $(VAR) into argv, readable in /proc and `ps` on the node: a Secret's
      // value referenced there is as exposed as one written inline.
      const expanded = variableReferences(argument).filter(variables.isSecret);
      if (expanded.length > 0) {
        report(
          `${describe} expands the Secret-backed variable ${expanded.join(", ")} into its command line (${where}), where the kubelet puts the value in argv. Let the program read the variable from its environment, or read a mounted Secret file.`,
        );
      } else if (found.some(({ index, form }) => index === k && form !== "pair")) {
        // `--password=$(X)` with X set in plain text is the literal itself.
        report(
          `${describe} passes a credential on the command line (${where}). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
        );
      }
    });
  }),
};

export const secretPolicies: PlinthPolicy[] = [configMapNoSecretValues, containerNoPlaintextSecrets];
