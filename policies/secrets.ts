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
    for (const field of ["command", "args"] as const) {
      (container[field] ?? []).forEach((argument, i) => {
        const flag = FLAG_WITH_VALUE.exec(argument);
        const inline = flag && isSecretLikeKey(flag[1]!) && !flag[2]!.startsWith("$(");
        if (inline || secretValueKind(argument)) {
          report(
            `${describe} passes a credential on the command line (${path}.${field}[${i}]). Pass it as an env var from valueFrom.secretKeyRef (referenced as $(VAR)) or a mounted Secret file.`,
          );
        }
      });
    }
  }),
};

export const secretPolicies: PlinthPolicy[] = [configMapNoSecretValues, containerNoPlaintextSecrets];
