/** Assertions for the `existing` cloud: no cloud resources, in-cluster PostgreSQL, proxied artifacts. */
import { describe, expect, it } from "vitest";
import { expectProxiedArtifacts } from "./mlflow-rendered.js";
import { at, type StackView } from "./stack.js";

export function describeExistingCloud(
  stack: string,
  holder: { view: StackView },
  expected: { protect: boolean },
) {
  describe(`${stack} on an existing cluster`, () => {
    it("creates no cloud resources and takes the kubeconfig from config, as a secret", () => {
      const view = holder.view;
      expect(view.resources.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("gcp:"))).toEqual(
        [],
      );
      const provider = view.one("pulumi:providers:kubernetes", "plinth-k8s");
      expect(provider.secretInputs).toContain("kubeconfig");
      expect(String(provider.inputs.kubeconfig)).toContain("kind: Config");
    });

    it("runs PostgreSQL as a hardened StatefulSet reachable only from the MLflow server", () => {
      const view = holder.view;
      const statefulSet = view.manifest("StatefulSet", "mlflow-postgres");
      expect(at(statefulSet, "spec.template.spec.securityContext")).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 999,
      });
      expect(at(statefulSet, "spec.volumeClaimTemplates[0].spec.resources.requests.storage")).toMatch(
        /^\d+Gi$/,
      );
      expect(at(statefulSet, "spec.persistentVolumeClaimRetentionPolicy")).toEqual({
        whenDeleted: "Retain",
        whenScaled: "Retain",
      });
      const env = at(statefulSet, "spec.template.spec.containers[0].env") as {
        name: string;
        valueFrom?: unknown;
        value?: string;
      }[];
      expect(env.find((e) => e.name === "POSTGRES_PASSWORD")).toEqual({
        name: "POSTGRES_PASSWORD",
        valueFrom: { secretKeyRef: { name: "mlflow-postgres-credentials", key: "password" } },
      });
      expect(at(view.manifest("NetworkPolicy", "mlflow-postgres-netpol"), "spec.ingress[0]")).toEqual({
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "mlflow" } },
            podSelector: {
              matchLabels: {
                "app.kubernetes.io/name": "mlflow",
                "app.kubernetes.io/component": "tracking-server",
              },
            },
          },
        ],
        ports: [{ protocol: "TCP", port: 5432 }],
      });
      expect(view.one("kubernetes:apps/v1:StatefulSet", "mlflow-postgres").protect).toBe(expected.protect);
      expect(view.one("kubernetes:core/v1:PersistentVolumeClaim", "mlflow-artifacts").protect).toBe(
        expected.protect,
      );
    });

    it("serves artifacts from a volume through the MLflow server, so clients need no storage identity", () => {
      const view = holder.view;
      const mlflow = view.manifest("Deployment", "mlflow");
      expectProxiedArtifacts(view, /^\/mlflow\/artifacts$/);
      // No MLflow job consumers: plinth runs none of MLflow's GenAI jobs.
      expect(at(mlflow, "spec.template.spec.containers[0].env")).toEqual(
        expect.arrayContaining([{ name: "MLFLOW_SERVER_ENABLE_JOB_EXECUTION", value: "false" }]),
      );
      // Production runs two replicas on a shared (ReadWriteMany) volume; staging one on ReadWriteOnce.
      expect(at(mlflow, "spec.replicas")).toBe(expected.protect ? 2 : 1);
      expect(at(mlflow, "spec.strategy.type")).toBe(expected.protect ? "RollingUpdate" : "Recreate");
      expect(at(view.manifest("PersistentVolumeClaim", "mlflow-artifacts"), "spec.accessModes")).toEqual([
        expected.protect ? "ReadWriteMany" : "ReadWriteOnce",
      ]);
      expect(view.manifest("ServiceAccount", "plinth-inference").metadata.annotations ?? {}).toEqual({});
      expect(view.one("kubernetes:core/v1:Secret", "mlflow-backend-store").secretInputs).toContain(
        "stringData",
      );
    });
  });
}
