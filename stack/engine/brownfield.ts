/**
 * Makes the local control plane a brownfield cluster: what `plinth:existingCluster` of the local
 * stack says is already running (stack/engine/local-config.ts) is put there before plinth's
 * `pulumi up`, as another team would have it:
 *
 * - the Prometheus operator's CRDs (ServiceMonitor, PrometheusRule) at the version
 *   kube-prometheus-stack ships and cert-manager's (Issuer, Certificate) at the chart's, from their
 *   own manifests (the test-tools script fetches them into .tools/crds), so the API server validates
 *   plinth's objects against the real schemas;
 * - the ingress controller's, Prometheus's and Grafana's namespaces, pods (kwok runs them) and
 *   Services, so NetworkPolicy peers and Ingress backends point at something;
 * - a StorageClass with statically provisioned volumes (no provisioner runs here);
 * - the ingress controller's one visible effect on the API: the load-balancer address in each
 *   Ingress's status, which the Kubernetes provider waits for. No controller binary runs, so this
 *   module writes it, as the controller would; routing itself is the local stack's nginx (stack/local).
 */
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import type { KubeApi } from "../cluster/api-client.js";
import { waitFor } from "../cluster/readiness.js";
import { REPO_ROOT } from "../cluster/binaries.js";
import { BROWNFIELD } from "./local-config.js";

/** The CRD manifests plinth's objects need, by the folder under .tools/crds that holds them. */
const CRDS: Readonly<Record<string, readonly string[]>> = {
  "prometheus-operator": [
    "monitoring.coreos.com_servicemonitors.yaml",
    "monitoring.coreos.com_prometheusrules.yaml",
  ],
  // The rate-limit store's private CA and server certificate on an existing cluster.
  "cert-manager": ["cert-manager.io_issuers.yaml", "cert-manager.io_certificates.yaml"],
};
const CRD_ROOT = path.join(REPO_ROOT, ".tools", "crds");

/** The address every Ingress reports, as a controller on this machine would. */
export const INGRESS_ADDRESS = "127.0.0.1";

/** Static volumes of the local StorageClass: enough for MLflow's database and artifacts, twice over. */
const VOLUMES = 4;
const VOLUME_SIZE = "500Gi";

interface Workload {
  readonly namespace: string;
  readonly name: string;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly port: number;
}

/** The systems the local stack's config says the cluster already runs. */
export const BROWNFIELD_WORKLOADS: readonly Workload[] = [
  {
    namespace: BROWNFIELD.ingressController.namespace,
    name: "ingress-nginx-controller",
    podLabels: BROWNFIELD.ingressController.podLabels,
    port: 443,
  },
  {
    namespace: BROWNFIELD.monitoring.namespace,
    name: "prometheus-operated",
    podLabels: BROWNFIELD.monitoring.podLabels,
    port: 9090,
  },
  {
    namespace: BROWNFIELD.monitoring.namespace,
    name: BROWNFIELD.monitoring.grafana.serviceName,
    podLabels: BROWNFIELD.monitoring.grafana.podLabels,
    port: BROWNFIELD.monitoring.grafana.port,
  },
];

async function createIfAbsent(
  api: KubeApi,
  collection: string,
  object: Record<string, unknown>,
): Promise<void> {
  const response = await api.request("POST", collection, object);
  if (response.status !== 201 && response.status !== 409) {
    throw new Error(`POST ${collection}: ${response.status} ${response.text.slice(0, 500)}`);
  }
}

async function installCrds(api: KubeApi, root: string): Promise<void> {
  for (const [folder, files] of Object.entries(CRDS))
    await installCrdFiles(api, path.join(root, folder), files);
}

async function installCrdFiles(api: KubeApi, dir: string, files: readonly string[]): Promise<void> {
  const present = await readdir(dir).catch(() => {
    throw new Error(`no CRD manifests at ${dir}: run \`bash scripts/install-test-tools.sh\``);
  });
  for (const file of files) {
    if (!present.includes(file)) throw new Error(`${dir} has no ${file}`);
    const crd = parse(await readFile(path.join(dir, file), "utf8")) as { metadata: { name: string } };
    await createIfAbsent(api, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
    const established = async () => {
      const got = await api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(crdPath);
      return got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
    };
    await waitFor(`CRD ${crd.metadata.name} established`, established, { processes: [], timeoutMs: 60_000 });
  }
}

async function runWorkload(api: KubeApi, workload: Workload): Promise<void> {
  const { namespace, name, podLabels, port } = workload;
  await createIfAbsent(api, "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: namespace },
  });
  await createIfAbsent(api, `/apis/apps/v1/namespaces/${namespace}/deployments`, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: podLabels },
      template: {
        metadata: { labels: podLabels },
        // kwok runs the pod without pulling anything: the image only names what it stands for.
        spec: {
          containers: [{ name, image: `brownfield.invalid/${name}:local`, ports: [{ containerPort: port }] }],
        },
      },
    },
  });
  await createIfAbsent(api, `/api/v1/namespaces/${namespace}/services`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { selector: podLabels, ports: [{ name: "main", port, targetPort: port }] },
  });
}

async function installStorage(api: KubeApi): Promise<void> {
  await createIfAbsent(api, "/apis/storage.k8s.io/v1/storageclasses", {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: BROWNFIELD.storageClass },
    provisioner: "kubernetes.io/no-provisioner",
    // Immediate: the PV controller binds each claim at once, so nothing waits on a consumer.
    volumeBindingMode: "Immediate",
    reclaimPolicy: "Retain",
  });
  for (let i = 0; i < VOLUMES; i++) {
    await createIfAbsent(api, "/api/v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `${BROWNFIELD.storageClass}-${i}` },
      spec: {
        storageClassName: BROWNFIELD.storageClass,
        capacity: { storage: VOLUME_SIZE },
        accessModes: ["ReadWriteOnce", "ReadWriteMany"],
        persistentVolumeReclaimPolicy: "Retain",
        hostPath: { path: `/var/lib/plinth-local/${i}`, type: "DirectoryOrCreate" },
      },
    });
  }
}

interface IngressList {
  items: {
    metadata: { name: string; namespace: string };
    spec?: { ingressClassName?: string };
    status?: { loadBalancer?: { ingress?: unknown[] } };
  }[];
}

/** Writes the load-balancer address into every Ingress of the controller's class that lacks one. */
async function publishIngressAddresses(api: KubeApi): Promise<number> {
  const list = await api.get<IngressList>("/apis/networking.k8s.io/v1/ingresses");
  let written = 0;
  for (const ingress of list.items) {
    if (ingress.spec?.ingressClassName !== BROWNFIELD.ingressController.className) continue;
    if ((ingress.status?.loadBalancer?.ingress?.length ?? 0) > 0) continue;
    const { namespace, name } = ingress.metadata;
    const response = await api.request(
      "PATCH",
      `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses/${name}/status`,
      { status: { loadBalancer: { ingress: [{ ip: INGRESS_ADDRESS }] } } },
      { contentType: "application/merge-patch+json" },
    );
    // 404: deleted meanwhile (a destroy); anything else is a real failure.
    if (response.status !== 200 && response.status !== 404) {
      throw new Error(
        `ingress status ${namespace}/${name}: ${response.status} ${response.text.slice(0, 300)}`,
      );
    }
    if (response.status === 200) written++;
  }
  return written;
}

/** Consecutive failed rounds of the ingress status loop before it gives up and reports. */
const MAX_FAILURES_IN_A_ROW = 20;

export interface Brownfield {
  /** Ingress addresses written so far. */
  readonly ingressesPublished: () => number;
  /** The error that stopped the ingress status loop, if it stopped. */
  readonly failure: () => unknown;
  /** Stops the ingress status loop; rejects with its first error, if it had one. */
  stop(): Promise<void>;
}

/** Prepares the cluster and starts the ingress status loop (every `intervalMs`). */
export async function prepareBrownfield(
  api: KubeApi,
  options: { crdRoot?: string; intervalMs?: number } = {},
): Promise<Brownfield> {
  await installCrds(api, options.crdRoot ?? CRD_ROOT);
  for (const workload of BROWNFIELD_WORKLOADS) await runWorkload(api, workload);
  await installStorage(api);

  let published = 0;
  let failure: unknown;
  let running = true;
  // A busy API server may time a request out now and then; only a run of failures is one.
  let failuresInARow = 0;
  const loop = (async () => {
    while (running && failure === undefined) {
      try {
        published += await publishIngressAddresses(api);
        failuresInARow = 0;
      } catch (error) {
        if (++failuresInARow >= MAX_FAILURES_IN_A_ROW) failure = error;
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    }
  })();
  return {
    ingressesPublished: () => published,
    failure: () => failure,
    async stop() {
      running = false;
      await loop;
      if (failure !== undefined) throw failure;
    },
  };
}
