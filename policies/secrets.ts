/**
 * Secrets: credentials live in Kubernetes Secrets (from Pulumi secrets), never in ConfigMaps, plain
 * environment values or command-line flags, where anyone who can read the object or `ps` sees them.
 */
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import { objectName, validateContainers } from "./lib/kubernetes.js";
import type { PlinthPolicy, PlinthResourcePolicy } from "./lib/policy.js";
import { embeddedCredentials, isSecretLikeKey, secretValueKind } from "./lib/values.js";

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
      } else if (isSecretLikeKey(key) && value !== "") {
        report(`ConfigMap "${name}" ${field}["${key}"] looks like a credential. ${move(field, key)}`);
      } else if (embedded.length > 0) {
        report(
          `ConfigMap "${name}" ${field}["${key}"] is a configuration file that sets ${embedded.join(", ")} in plain text. Mount those settings from a Kubernetes Secret (or let the program read them from env vars set by valueFrom.secretKeyRef) and remove them from ${field}["${key}"].`,
        );
      }
    }
  }),
};

/** `--client-secret=...`-style flags carrying a value inline. */
const FLAG_WITH_VALUE = /^--?([A-Za-z0-9_.-]+)=(.+)$/;
/** `--client-secret` alone: its value is the next argument. */
const BARE_FLAG = /^--?([A-Za-z0-9_.-]+)$/;

/**
 * A flag's value as the program receives it: `$(VAR)` of a variable set in plain text replaced by
 * that text (the kubelet expands it), other references left as they are.
 */
function expandPlain(value: string, plainValues: ReadonlyMap<string, string>): string {
  return value.replace(/\$\(([^)]*)\)/g, (reference, name: string) => plainValues.get(name) ?? reference);
}

/**
 * A literal credential as a flag's value: not another flag, not a file path (`--token
 * /run/secrets/token` names where the secret is), not a reference left for the kubelet (a
 * Secret-backed one is the expansion rule's), not a number or a boolean (`--token-ttl 3600`), not
 * empty.
 */
function isLiteralFlagValue(value: string): boolean {
  return (
    value !== "" &&
    !value.startsWith("-") &&
    !value.startsWith("/") &&
    variableReferences(value).length === 0 &&
    !/^(\d+|true|false)$/i.test(value)
  );
}
/**
 * The names `text` references as `$(VAR)`, read as the kubelet expands command, args and env values
 * (k8s.io/kubernetes third_party/forked/golang/expansion): left to right, `$$` is one literal `$`,
 * so `$$(VAR)` stays text while `$$$(VAR)` is a `$` followed by a reference.
 */
export function variableReferences(text: string): string[] {
  const names: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "$") continue;
    const next = text[i + 1];
    if (next === "$") {
      i++;
    } else if (next === "(") {
      const close = text.indexOf(")", i + 2);
      if (close < 0) break;
      names.push(text.slice(i + 2, close));
      i = close;
    }
  }
  return names;
}

interface EnvLike {
  readonly env?: readonly { name: string; value?: string; valueFrom?: { secretKeyRef?: unknown } }[];
  readonly envFrom?: readonly { secretRef?: unknown }[];
}

/**
 * The container's variables whose value comes from a Secret: `env[].valueFrom.secretKeyRef`; when
 * `envFrom` takes a whole Secret, every name not set in plain text by `env`; and a variable whose
 * value references one of those declared before it (`ALIAS=$(PASSWORD)`: the kubelet expands it).
 */
function secretVariable(container: EnvLike): (name: string) => boolean {
  const fromSecret = new Set<string>();
  const plain = new Set<string>();
  const wholeSecret = (container.envFrom ?? []).some((source) => source.secretRef !== undefined);
  const isSecret = (name: string) => fromSecret.has(name) || (wholeSecret && !plain.has(name));
  for (const variable of container.env ?? []) {
    const viaSecret =
      variable.valueFrom?.secretKeyRef !== undefined ||
      (variable.value !== undefined && variableReferences(variable.value).some(isSecret));
    if (viaSecret) {
      fromSecret.add(variable.name);
      plain.delete(variable.name);
    } else {
      plain.add(variable.name);
      fromSecret.delete(variable.name);
    }
  }
  return isSecret;
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
  },
  validateResource: validateContainers(({ container, path }, describe, _pod, report) => {
    (container.env ?? []).forEach((variable, i) => {
      if (variable.value === undefined || variable.value === "") return;
      const kind = secretValueKind(variable.value);
      if (kind || isSecretLikeKey(variable.name)) {
        report(
          `${describe} sets ${variable.name} ${kind ? `to ${kind}` : "in plain text"}. Replace ${path}.env[${i}].value with valueFrom.secretKeyRef { name, key } of a Secret.`,
        );
      }
    });
    const isSecret = secretVariable(container);
    const plainValues = new Map(
      (container.env ?? []).flatMap((variable) =>
        variable.value !== undefined && variable.valueFrom === undefined
          ? [[variable.name, variable.value] as const]
          : [],
      ),
    );
    // The kubelet runs command then args as one argv: a flag at the end of one takes its value
    // from the start of the other.
    const argv = (["command", "args"] as const).flatMap((field) =>
      (container[field] ?? []).map((argument, i) => ({ argument, where: `${path}.${field}[${i}]` })),
    );
    argv.forEach(({ argument, where }, k) => {
      const flag = BARE_FLAG.exec(argument);
      const next = argv[k + 1]?.argument;
      if (!flag || !isSecretLikeKey(flag[1]!) || next === undefined) return;
      if (!isLiteralFlagValue(expandPlain(next, plainValues))) return;
      report(
        `${describe} passes a credential on the command line (${where} and the argument after it). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
      );
    });
    for (const field of ["command", "args"] as const) {
      (container[field] ?? []).forEach((argument, i) => {
        // The kubelet expands $(VAR) into argv, readable in /proc and `ps` on the node: a Secret's
        // value referenced there is as exposed as one written inline.
        const expanded = variableReferences(argument).filter(isSecret);
        if (expanded.length > 0) {
          report(
            `${describe} expands the Secret-backed variable ${expanded.join(", ")} into its command line (${path}.${field}[${i}]), where the kubelet puts the value in argv. Let the program read the variable from its environment, or read a mounted Secret file.`,
          );
          return;
        }
        const flag = FLAG_WITH_VALUE.exec(argument);
        // `--password=$(X)` with X set in plain text is the literal itself.
        const inline =
          flag && isSecretLikeKey(flag[1]!) && isLiteralFlagValue(expandPlain(flag[2]!, plainValues));
        if (inline || secretValueKind(argument)) {
          report(
            `${describe} passes a credential on the command line (${path}.${field}[${i}]). Let the program read it from an env var set by valueFrom.secretKeyRef, or from a mounted Secret file.`,
          );
        }
      });
    }
  }),
};

export const secretPolicies: PlinthPolicy[] = [configMapNoSecretValues, containerNoPlaintextSecrets];
