/**
 * An existing cluster that already runs an ingress controller, cert-manager and a Prometheus
 * operator (`plinth:existingCluster`): plinth installs none of them, writes no object it does not
 * own, and points its Ingresses, NetworkPolicies, ServiceMonitor and volumes at what is there. The
 * config is the local stack's (stack/engine/local-config.ts), which the real engine applies too.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { CRDS_FROM_CLUSTER_ANNOTATION } from "../../components/shared/labels.js";
import { renderStack, RenderError } from "../../infra/render/index.js";
import {
  BROWNFIELD,
  INGRESS_CONTROLLER as NGINX,
  LOCAL_BASE_STACK,
  LOCAL_INGRESS_PATH_OVERRIDES,
} from "../../stack/engine/local-config.js";
import { at, StackView } from "../support/stack.js";

let view: StackView;
beforeAll(async () => {
  view = new StackView(
    await renderStack({
      stack: LOCAL_BASE_STACK,
      config: LOCAL_INGRESS_PATH_OVERRIDES,
    }),
  );
});

describe("an existing cluster with its own ingress controller, cert-manager and Prometheus operator", () => {
  it("installs no chart and creates none of their namespaces", () => {
    expect(view.ofType("kubernetes:helm.sh/v3:Release")).toEqual([]);
    const namespaces = view
      .manifests()
      .filter((o) => o.kind === "Namespace")
      .map((o) => o.metadata.name);
    expect(namespaces).not.toContain("ingress-nginx");
    expect(namespaces).not.toContain("cert-manager");
    expect(namespaces).not.toContain("monitoring");
    expect(namespaces).toContain("plinth");
  });

  it("writes no ClusterIssuer and uses the cluster's on every Ingress, with its IngressClass", () => {
    expect(view.manifests().filter((o) => o.kind === "ClusterIssuer")).toEqual([]);
    const ingresses = view.manifests().filter((o) => o.kind === "Ingress");
    expect(ingresses.length).toBeGreaterThanOrEqual(3);
    for (const ingress of ingresses) {
      expect(at(ingress, "spec.ingressClassName"), ingress.metadata.name).toBe(NGINX.className);
      expect(ingress.metadata.annotations?.["cert-manager.io/cluster-issuer"], ingress.metadata.name).toBe(
        BROWNFIELD.certManager.clusterIssuer,
      );
    }
  });

  it("admits the cluster's controller pods, by their namespace and labels, to every public port", () => {
    const peers = view
      .manifests()
      .filter((o) => o.kind === "NetworkPolicy")
      .flatMap((o) => (at(o, "spec.ingress") as { from?: unknown[] }[] | undefined) ?? [])
      .flatMap((rule) => rule.from ?? []);
    const controller = {
      namespaceSelector: {
        matchLabels: { "kubernetes.io/metadata.name": NGINX.namespace },
      },
      podSelector: { matchLabels: NGINX.podLabels },
    };
    expect(peers).toContainEqual(controller);
    const nginxDefault = {
      "app.kubernetes.io/name": "ingress-nginx",
      "app.kubernetes.io/component": "controller",
    };
    // Only the configured namespace is named: a copy of the labels elsewhere is not admitted.
    for (const peer of peers as { podSelector?: { matchLabels?: unknown }; namespaceSelector?: unknown }[]) {
      if (JSON.stringify(peer.podSelector?.matchLabels) === JSON.stringify(nginxDefault))
        expect(peer).toEqual(controller);
    }
  });

  it("labels the ServiceMonitor and PrometheusRule for the cluster's Prometheus and scrapes from its pods", () => {
    for (const kind of ["ServiceMonitor", "PrometheusRule"]) {
      expect(view.manifest(kind, "plinth-inference").metadata.annotations).toEqual({
        [CRDS_FROM_CLUSTER_ANNOTATION]: "cluster",
      });
      expect(view.manifest(kind, "plinth-inference").metadata.labels).toMatchObject(
        BROWNFIELD.monitoring.selectorLabels,
      );
    }
    const dashboards = view
      .manifests()
      .filter((o) => o.kind === "ConfigMap" && o.metadata.labels?.["grafana_dashboard"] === "1");
    expect(dashboards.length).toBeGreaterThan(0);
    for (const d of dashboards) expect(d.metadata.namespace).toBe(BROWNFIELD.monitoring.namespace);
    const grafana = view
      .manifests()
      .find(
        (o) =>
          o.kind === "Ingress" && at(o, "spec.rules[0].host") === "grafana.staging.ml.plinth.example.com",
      );
    expect(at(grafana, "spec.rules[0].http.paths[0].backend.service")).toEqual({
      name: BROWNFIELD.monitoring.grafana.serviceName,
      port: { number: BROWNFIELD.monitoring.grafana.port },
    });
    // plinth writes no NetworkPolicy into a namespace it does not own.
    const foreign = view
      .manifests()
      .filter((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === BROWNFIELD.monitoring.namespace);
    expect(foreign).toEqual([]);
    expect(view.stack.outputs["prometheusUrl"]).toBe(BROWNFIELD.monitoring.prometheusUrl);
    expect(view.stack.outputs["grafanaAdminPassword"]).toBeUndefined();
  });

  it("puts MLflow's database and artifact volumes on the configured StorageClass", () => {
    const claims = view.manifests().flatMap((o) => {
      if (o.kind === "PersistentVolumeClaim") return [at(o, "spec")];
      if (o.kind === "StatefulSet")
        // The rate-limit store's StatefulSet has no volumes: it persists nothing.
        return ((at(o, "spec.volumeClaimTemplates") as { spec: unknown }[] | undefined) ?? []).map(
          (t) => t.spec,
        );
      return [];
    });
    expect(claims.length).toBeGreaterThanOrEqual(1);
    for (const claim of claims) expect(at(claim, "storageClassName")).toBe(BROWNFIELD.storageClass);
  });
});

describe("plinth:existingCluster errors name their config path", () => {
  it("refuses existingCluster on a cloud that is not existing", async () => {
    const error = await renderStack({
      stack: "staging",
      cloud: "aws",
      config: { existingCluster: BROWNFIELD },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenderError);
    expect((error as Error).message).toContain(
      "plinth:existingCluster: only used when cloud is existing; remove it or set plinth:cloud to existing",
    );
  });

  it("reports every malformed field at once, by path", async () => {
    const error = await renderStack({
      stack: "staging",
      cloud: "existing",
      config: {
        existingCluster: {
          ingressController: {
            implementation: "traefik",
            className: "Nginx!",
            namespace: "ingress-nginx",
            podLabels: {},
          },
          monitoring: { ...BROWNFIELD.monitoring, prometheusUrl: "ftp://x", colour: "red" },
          storageClass: "",
        },
      },
    }).catch((e: unknown) => e);
    const message = (error as Error).message;
    expect(message).toContain(
      "plinth:existingCluster.ingressController.className: expected an IngressClass name",
    );
    expect(message).toContain(
      "plinth:existingCluster.ingressController.podLabels: expected at least one pod label",
    );
    expect(message).toContain("plinth:existingCluster.monitoring.prometheusUrl: expected an http(s) URL");
    expect(message).toContain("plinth:existingCluster.monitoring.colour: unknown key");
    expect(message).toContain("plinth:existingCluster.storageClass: expected a StorageClass name");
  });
});
