/**
 * An existing cluster's own defaults stay its owners' (#18): the ingress-nginx plinth installs
 * there is never the default IngressClass unless the config says so, can take another class name,
 * and MLflow's shared (ReadWriteMany) artifact volume can take its own StorageClass.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../infra/config/load.js";
import { renderStack } from "../../infra/render/index.js";
import { deepMerge, readStackFile, RENDER_SECRETS } from "../../infra/render/stack-config.js";
import { at, StackView } from "../support/stack.js";

const CUSTOM = { existingCluster: { ingressClass: { name: "ml-nginx" } } };
const SHARED_STORAGE = { existingCluster: { storageClass: "gp3", artifactStorageClass: "efs-sc" } };

let aws: StackView;
let existing: StackView;
let custom: StackView;
let storage: StackView;
beforeAll(async () => {
  const render = async (stack: "staging" | "production", cloud: "aws" | "existing", config = {}) =>
    // The IngressClass is the Ingress path's (plinth:edge: ingress-nginx).
    new StackView(await renderStack({ stack, cloud, config: { edge: "ingress-nginx", ...config } }));
  [aws, existing, custom, storage] = await Promise.all([
    render("staging", "aws"),
    render("staging", "existing"),
    render("staging", "existing", CUSTOM),
    render("production", "existing", SHARED_STORAGE),
  ]);
});

const nginxValues = (view: StackView) =>
  view.one("kubernetes:helm.sh/v3:Release", "ingress-nginx").inputs.values as Record<string, unknown>;

describe("the IngressClass of the ingress-nginx plinth installs", () => {
  it("is the default class only on a cluster plinth builds", () => {
    expect(at(nginxValues(aws), "controller.ingressClassResource")).toMatchObject({
      name: "nginx",
      default: true,
    });
    // Not "nginx": a stock ingress-nginx already on the cluster has that class and controller value.
    expect(at(nginxValues(existing), "controller.ingressClassResource")).toEqual({
      name: "plinth-nginx",
      default: false,
      enabled: true,
      controllerValue: "k8s.io/plinth-nginx",
    });
    expect(at(nginxValues(aws), "controller.ingressClassResource.controllerValue")).toBe(
      "k8s.io/ingress-nginx",
    );
  });

  it("takes another name on an existing cluster, used by every Ingress, the ACME solver and the controller", () => {
    expect(at(nginxValues(custom), "controller.ingressClassResource")).toEqual({
      name: "ml-nginx",
      default: false,
      enabled: true,
      controllerValue: "k8s.io/ml-nginx",
    });
    expect(at(nginxValues(custom), "controller.ingressClass")).toBe("ml-nginx");
    const ingresses = custom.manifests().filter((o) => o.kind === "Ingress");
    expect(ingresses.length).toBeGreaterThanOrEqual(3);
    for (const ingress of ingresses) expect(at(ingress, "spec.ingressClassName")).toBe("ml-nginx");
    const issuer = custom.manifest("ClusterIssuer", "letsencrypt");
    expect(at(issuer, "spec.acme.solvers[0].http01.ingress.ingressClassName")).toBe("ml-nginx");
  });
});

describe("MLflow's artifact volume on an existing cluster", () => {
  it("uses artifactStorageClass for the ReadWriteMany artifact volume and storageClass for PostgreSQL", () => {
    const artifacts = storage
      .manifests()
      .find((o) => o.kind === "PersistentVolumeClaim" && o.metadata.name?.endsWith("-artifacts"));
    expect(artifacts, "the artifacts PersistentVolumeClaim").toBeDefined();
    expect(at(artifacts, "spec.accessModes")).toEqual(["ReadWriteMany"]);
    expect(at(artifacts, "spec.storageClassName")).toBe("efs-sc");
    const postgres = storage.manifests().find((o) => o.kind === "StatefulSet");
    expect(at(postgres, "spec.volumeClaimTemplates[0].spec.storageClassName")).toBe("gp3");
  });
});

describe("config", () => {
  const parse = (existingCluster: unknown) => {
    const { values } = readStackFile("staging");
    const raw = deepMerge(
      { ...values, cloud: "existing", kubeconfig: RENDER_SECRETS.kubeconfig, oidcClientSecret: "x" },
      { existingCluster, edge: "ingress-nginx" },
    ) as Record<string, unknown>;
    raw.slackWebhookUrl = RENDER_SECRETS.slackWebhookUrl;
    return () => parseStackConfig(raw, () => true);
  };

  it("refuses ingressClass together with a reused controller, and bad names, by config path", () => {
    const controller = {
      implementation: "ingress-nginx",
      className: "nginx",
      namespace: "ingress-nginx",
      podLabels: { "app.kubernetes.io/name": "ingress-nginx" },
    };
    expect(parse({ ingressController: controller, ingressClass: { default: true } })).toThrow(
      "plinth:existingCluster.ingressClass: configures the ingress-nginx plinth installs, and ingressController reuses the cluster's instead; remove one",
    );
    expect(parse({ ingressClass: { name: "Nginx" } })).toThrow(
      "plinth:existingCluster.ingressClass.name: expected an IngressClass name",
    );
    expect(parse({ artifactStorageClass: "EFS" })).toThrow(
      "plinth:existingCluster.artifactStorageClass: expected a StorageClass name",
    );
    expect(parse({ ingressClass: {} })().existingCluster?.ingressClass).toEqual({ default: false });
  });
});
