/**
 * Secrets: credentials live in Kubernetes Secrets (from Pulumi secrets), never in ConfigMaps, plain
 * environment values or command-line flags, where anyone who can read the object or `ps` sees them.
 */
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import { objectName, validateContainers } from "./lib/kubernetes.js";
import type { PlinthPolicy, PlinthResourcePolicy } from "./lib/policy.js";
import { isSecretLikeKey, secretValueKind } from "./lib/values.js";

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
    for (const [key, value] of Object.entries(configMap.data ?? {})) {
      const kind = secretValueKind(value);
      if (kind) {
        report(
          `ConfigMap "${name}" data["${key}"] holds ${kind}. Move it to a Kubernetes Secret created from a Pulumi secret and remove data["${key}"].`,
        );
      } else if (isSecretLikeKey(key) && value !== "") {
        report(
          `ConfigMap "${name}" data["${key}"] looks like a credential. Move it to a Kubernetes Secret created from a Pulumi secret and remove data["${key}"].`,
        );
      }
    }
  }),
};

/** `--client-secret=...`-style flags carrying a value inline. */
const FLAG_WITH_VALUE = /^--?([A-Za-z0-9_.-]+)=(.+)$/;
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
        const inline = flag && isSecretLikeKey(flag[1]!) && !flag[2]!.startsWith("$(");
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
