/**
 * The shared rate-limit store of a rendered stack (issue #24): ElastiCache on aws, Memorystore on
 * gcp, an in-cluster Redis on an existing cluster; TLS and AUTH on each; the inference pods get
 * the URL from a Secret and, where a private CA signed the server's certificate, that CA mounted.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../service/config.js";
import type { Cloud, StackName } from "../../infra/render/types.js";
import { at, type StackView } from "./stack.js";

type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
type Volume = {
  name: string;
  configMap?: { name: string; items?: unknown[] };
  secret?: { secretName: string; items?: unknown[] };
};

const CA_DIR = "/etc/plinth/rate-limit-store";
const URL_REF = { secretKeyRef: { name: "rate-limit-store-url", key: "url" } };
const INFERENCE_PODS = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "plinth" } },
  podSelector: {
    matchLabels: { "app.kubernetes.io/name": "plinth-inference", "app.kubernetes.io/component": "inference" },
  },
};

function servingDeployments(view: StackView) {
  return view.manifests().filter((m) => m.kind === "Deployment" && m.metadata.namespace === "plinth");
}

/** The URL the pods read, from the rendered Secret. */
function renderedUrl(view: StackView): string {
  const secret = view.manifest("Secret", "rate-limit-store-url");
  expect(secret.metadata.namespace).toBe("plinth");
  return (secret.stringData as Record<string, string>).url!;
}

export function describeRateLimitStore(stack: StackName, cloud: Cloud, holder: { view: StackView }) {
  const protect = stack === "production";

  describe(`${stack} on ${cloud}: the shared rate-limit store`, () => {
    it("gives every inference pod the rediss:// URL from a Secret, never as a plain value", () => {
      const view = holder.view;
      expect(view.one("kubernetes:core/v1:Secret", "rate-limit-store-url").secretInputs).toContain(
        "stringData",
      );
      const url = new URL(renderedUrl(view));
      expect(url.protocol).toBe("rediss:");
      expect(url.username).toBe("");
      expect(url.password.length).toBeGreaterThanOrEqual(32);
      for (const deployment of servingDeployments(view)) {
        const env = at(deployment, "spec.template.spec.containers[0].env") as EnvVar[];
        expect(env.find((e) => e.name === "RATE_LIMIT_REDIS_URL")).toEqual({
          name: "RATE_LIMIT_REDIS_URL",
          valueFrom: URL_REF,
        });
        expect(env.find((e) => e.name === "RATE_LIMIT_REDIS_FAILURE_MODE")?.value).toBe("per-pod");
        // The service's own loader accepts what the platform writes.
        const values = Object.fromEntries(
          env.map((e) => {
            const ref = e.valueFrom?.secretKeyRef;
            if (!ref) return [e.name, e.value];
            return [
              e.name,
              (view.manifest("Secret", ref.name).stringData as Record<string, string>)[ref.key],
            ];
          }),
        );
        expect(loadConfig(values).rateLimit.store).toMatchObject({
          url: renderedUrl(view),
          failureMode: "per-pod",
        });
      }
      // Only the serving pods use it: the CronJobs get nothing of it.
      for (const cronJob of view.manifests().filter((m) => m.kind === "CronJob")) {
        expect(JSON.stringify(cronJob)).not.toContain("RATE_LIMIT_REDIS");
      }
    });

    it("mounts the CA bundle only where a private CA signed the server's certificate", () => {
      const view = holder.view;
      for (const deployment of servingDeployments(view)) {
        const env = at(deployment, "spec.template.spec.containers[0].env") as EnvVar[];
        const caFile = env.find((e) => e.name === "RATE_LIMIT_REDIS_CA_FILE")?.value;
        const volumes = at(deployment, "spec.template.spec.volumes") as Volume[];
        const volume = volumes.find((v) => v.name === "rate-limit-store-ca");
        const mounts = at(deployment, "spec.template.spec.containers[0].volumeMounts") as {
          name: string;
          mountPath: string;
          readOnly?: boolean;
        }[];
        if (cloud === "aws") {
          // ElastiCache's certificates chain to Amazon's roots, which Node's own CA store holds.
          expect(caFile).toBeUndefined();
          expect(volume).toBeUndefined();
          continue;
        }
        expect(caFile).toBe(`${CA_DIR}/ca.crt`);
        expect(mounts.find((m) => m.name === "rate-limit-store-ca")).toEqual({
          name: "rate-limit-store-ca",
          mountPath: CA_DIR,
          readOnly: true,
        });
        const items = [{ key: "ca.crt", path: "ca.crt" }];
        if (cloud === "gcp") {
          expect(volume).toEqual({
            name: "rate-limit-store-ca",
            configMap: { name: "rate-limit-store-ca", items },
          });
          const pem = (view.manifest("ConfigMap", "rate-limit-store-ca").data as Record<string, string>)[
            "ca.crt"
          ];
          expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
        } else {
          // Only ca.crt of the server's certificate Secret: never its private key.
          expect(volume).toEqual({
            name: "rate-limit-store-ca",
            secret: { secretName: "rate-limit-store-tls", items },
          });
        }
      }
    });

    if (cloud === "aws") {
      it("runs ElastiCache (Valkey) in the private subnets: TLS required, encrypted, AUTH token, HA in production", () => {
        const view = holder.view;
        const group = view.one("aws:elasticache/replicationGroup:ReplicationGroup", "rate-limit-store-cache");
        expect(group.inputs).toMatchObject({
          engine: "valkey",
          engineVersion: "8.0",
          port: 6379,
          transitEncryptionEnabled: true,
          transitEncryptionMode: "required",
          atRestEncryptionEnabled: true,
          numCacheClusters: protect ? 2 : 1,
          automaticFailoverEnabled: protect,
          multiAzEnabled: protect,
          snapshotRetentionLimit: 0,
        });
        expect(group.secretInputs).toContain("authToken");
        expect(String(group.inputs.authToken)).toHaveLength(64);
        const url = new URL(renderedUrl(view));
        expect(url.hostname).toMatch(/\.cache\.amazonaws\.com$/);
        expect(url.port).toBe("6379");
        expect(decodeURIComponent(url.password)).toBe(group.inputs.authToken);
        const subnets = view.one("aws:elasticache/subnetGroup:SubnetGroup", "rate-limit-store-cache");
        expect(subnets.inputs.subnetIds).toEqual(
          view.one("aws:eks/nodeGroup:NodeGroup", "plinth-nodes").inputs.subnetIds,
        );
        const securityGroup = view.one("aws:ec2/securityGroup:SecurityGroup", "rate-limit-store-cache");
        expect(securityGroup.inputs.ingress).toEqual([
          {
            protocol: "tcp",
            fromPort: 6379,
            toPort: 6379,
            securityGroups: ["sg-plinth-eks-cluster"],
            description: "EKS nodes and pods",
          },
        ]);
        expect(securityGroup.inputs.egress).toBeUndefined();
      });
    }

    if (cloud === "gcp") {
      it("runs Memorystore on private services access with AUTH and TLS, STANDARD_HA in production", () => {
        const view = holder.view;
        const instance = view.one("gcp:redis/instance:Instance", "rate-limit-store-cache");
        expect(instance.inputs).toMatchObject({
          redisVersion: "REDIS_7_2",
          tier: protect ? "STANDARD_HA" : "BASIC",
          memorySizeGb: 1,
          connectMode: "PRIVATE_SERVICE_ACCESS",
          authorizedNetwork: "plinth-vpc-id",
          authEnabled: true,
          transitEncryptionMode: "SERVER_AUTHENTICATION",
        });
        // Created after the private services access peering MLflow's Cloud SQL makes.
        expect(instance.dependencies).toContain(
          view.one("gcp:servicenetworking/connection:Connection", "mlflow-db-peering").urn,
        );
        const url = new URL(renderedUrl(view));
        expect(url.hostname).toBe("10.60.1.4");
        // Memorystore serves TLS on 6378.
        expect(url.port).toBe("6378");
        expect(url.password).toMatch(/^auth-rate-limit-store-cache/);
      });
    }

    if (cloud === "existing") {
      it("runs one hardened, TLS-only Redis with AUTH from a Secret and no persistence", () => {
        const view = holder.view;
        const statefulSet = view.manifest("StatefulSet", "rate-limit-store");
        expect(at(statefulSet, "spec.replicas")).toBe(1);
        expect(at(statefulSet, "spec.volumeClaimTemplates")).toBeUndefined();
        expect(view.one("kubernetes:apps/v1:StatefulSet", "rate-limit-store-server").protect).toBe(protect);
        const container = at(statefulSet, "spec.template.spec.containers[0]") as Record<string, unknown>;
        expect(String(container.image)).toMatch(/^docker\.io\/library\/redis:[\d.]+@sha256:[a-f0-9]{64}$/);
        expect(container.command).toEqual(["redis-server", "/etc/redis/conf/redis.conf"]);
        const args = container.args as string[];
        const flag = (name: string) => args[args.indexOf(name) + 1];
        expect(flag("--port")).toBe("0");
        expect(flag("--tls-port")).toBe("6379");
        expect(flag("--tls-auth-clients")).toBe("no");
        expect(flag("--save")).toBe("");
        expect(flag("--appendonly")).toBe("no");
        expect(args.join(" ")).not.toMatch(/requirepass/);
        expect(at(statefulSet, "spec.template.spec.securityContext")).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 999,
        });
        // The password: in a config file from a Secret, and for redis-cli's probes.
        const credentials = view.manifest("Secret", "rate-limit-store-credentials");
        const data = credentials.stringData as Record<string, string>;
        expect(data["redis.conf"]).toBe(`requirepass ${data.password}\n`);
        expect(decodeURIComponent(new URL(renderedUrl(view)).password)).toBe(data.password);
        expect(new URL(renderedUrl(view)).host).toBe("rate-limit-store.plinth.svc.cluster.local:6379");
        expect(at(container, "livenessProbe.exec.command")).toEqual(
          expect.arrayContaining(["redis-cli", "--tls", "--cacert", "/etc/redis/tls/ca.crt", "ping"]),
        );
      });

      it("signs the server's certificate from a private CA cert-manager issues, after cert-manager", () => {
        const view = holder.view;
        const server = view.manifest("Certificate", "rate-limit-store");
        expect(at(server, "spec")).toMatchObject({
          secretName: "rate-limit-store-tls",
          dnsNames: expect.arrayContaining(["rate-limit-store.plinth.svc.cluster.local"]),
          issuerRef: { kind: "Issuer", name: "rate-limit-store-ca" },
          privateKey: { rotationPolicy: "Always" },
        });
        expect(at(view.manifest("Certificate", "rate-limit-store-ca"), "spec.isCA")).toBe(true);
        expect(at(view.manifest("Issuer", "rate-limit-store-ca"), "spec.ca.secretName")).toBe(
          "rate-limit-store-ca",
        );
        const certManager = view.one("kubernetes:helm.sh/v3:Release", "ingress-cert-manager");
        for (const resource of view.resources.filter((r) =>
          r.type.startsWith("kubernetes:cert-manager.io/v1:"),
        ))
          if (resource.name.startsWith("rate-limit-store-"))
            expect(resource.dependencies, resource.name).toContain(certManager.urn);
      });

      it("admits only the inference pods, on the TLS port", () => {
        const policy = holder.view.manifest("NetworkPolicy", "rate-limit-store-netpol");
        expect(at(policy, "spec.ingress")).toEqual([
          { from: [INFERENCE_PODS], ports: [{ protocol: "TCP", port: 6379 }] },
        ]);
        expect(at(policy, "spec.podSelector.matchLabels")).toEqual({
          "app.kubernetes.io/name": "rate-limit-store",
          "app.kubernetes.io/component": "rate-limit-store",
        });
      });
    }
  });
}
