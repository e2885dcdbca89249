/**
 * Makes the local control plane a brownfield cluster: what `plinth:existingCluster` of the local
 * stack says is already running (stack/engine/local-config.ts) is put there before plinth's
 * `pulumi up`, as another team would have it:
 *
 * - the CRDs plinth's objects need, from their own manifests at the versions the cluster's systems
 *   ship (the test-tools script fetches them into .tools/crds), so the API server validates plinth's
 *   objects against the real schemas: the Prometheus operator's (ServiceMonitor, PrometheusRule),
 *   cert-manager's (Issuer, Certificate), the Gateway API's standard channel and Traefik's
 *   (Middleware and the rest of traefik.io, which its CRD provider watches);
 * - the Gateway API controller, for real: the GatewayClass `traefik` its owners created, and the
 *   Traefik binary (stack/engine/traefik.ts) running against the API server with its Gateway and CRD
 *   providers, so plinth's Gateway, HTTPRoutes and Middlewares are accepted (or not) by the
 *   controller itself, which writes their status;
 * - the gateway controller's, Prometheus's and Grafana's namespaces, pods (kwok runs them) and
 *   Services, so NetworkPolicy peers and backends point at something (Traefik itself runs on
 *   loopback, outside the pod network);
 * - a StorageClass with statically provisioned volumes (no provisioner runs here);
 * - cert-manager's one visible effect: no cert-manager runs, so a loop here issues what it would,
 *   from the ClusterIssuer's CA (a CA made per cluster): a TLS Secret for every HTTPS listener of a
 *   Gateway annotated with that ClusterIssuer (cert-manager's Gateway support) and for every
 *   Certificate that names it.
 */
import { mkdir, readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import type { KubeApi } from "../cluster/api-client.js";
import type { LocalCluster } from "../cluster/cluster.js";
import { waitFor } from "../cluster/readiness.js";
import { REPO_ROOT } from "../cluster/binaries.js";
import { createCa, issueCertificate } from "../shared/openssl-ca.js";
import { BROWNFIELD, GATEWAY_CONTROLLER } from "./local-config.js";
import { TRAEFIK_CONTROLLER_NAME } from "../../components/gateway/traefik.js";
import { startTraefik, type RunningTraefik } from "./traefik.js";

/** The CRD manifests plinth's objects need, by the folder under .tools/crds that holds them. */
export const CRDS: Readonly<Record<string, readonly string[]>> = {
  "prometheus-operator": [
    "monitoring.coreos.com_servicemonitors.yaml",
    "monitoring.coreos.com_prometheusrules.yaml",
  ],
  // The rate-limit store's private CA and server certificate on an existing cluster.
  "cert-manager": ["cert-manager.io_issuers.yaml", "cert-manager.io_certificates.yaml"],
  // The standard channel: Traefik's Gateway provider watches every one of these kinds.
  "gateway-api": [
    "gateway.networking.k8s.io_gatewayclasses.yaml",
    "gateway.networking.k8s.io_gateways.yaml",
    "gateway.networking.k8s.io_httproutes.yaml",
    "gateway.networking.k8s.io_grpcroutes.yaml",
    "gateway.networking.k8s.io_referencegrants.yaml",
    "gateway.networking.k8s.io_backendtlspolicies.yaml",
  ],
  // Traefik's CRD provider lists and watches all of traefik.io, not only the Middlewares plinth writes.
  traefik: [
    "traefik.io_middlewares.yaml",
    "traefik.io_middlewaretcps.yaml",
    "traefik.io_ingressroutes.yaml",
    "traefik.io_ingressroutetcps.yaml",
    "traefik.io_ingressrouteudps.yaml",
    "traefik.io_serverstransports.yaml",
    "traefik.io_serverstransporttcps.yaml",
    "traefik.io_tlsoptions.yaml",
    "traefik.io_tlsstores.yaml",
    "traefik.io_traefikservices.yaml",
  ],
};
const CRD_ROOT = path.join(REPO_ROOT, ".tools", "crds");

/** The Gateway API group's version plinth writes and Traefik reads. */
export const GATEWAY_API = "/apis/gateway.networking.k8s.io/v1";

/** The annotation cert-manager's Gateway support issues listener certificates by. */
const CLUSTER_ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer";

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
    namespace: GATEWAY_CONTROLLER.namespace,
    name: "traefik",
    podLabels: GATEWAY_CONTROLLER.podLabels,
    port: 8443,
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

/** The GatewayClass the cluster's owners created for their Traefik; waits until Traefik accepts it. */
async function installGatewayClass(api: KubeApi, processes: WaitProcesses): Promise<void> {
  const name = GATEWAY_CONTROLLER.gatewayClassName;
  await createIfAbsent(api, `${GATEWAY_API}/gatewayclasses`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name },
    spec: { controllerName: TRAEFIK_CONTROLLER_NAME },
  });
  const accepted = async () => {
    const got = await api.get<{ status?: { conditions?: Condition[] } }>(
      `${GATEWAY_API}/gatewayclasses/${name}`,
    );
    return conditionIs(got.status?.conditions, "Accepted", "True");
  };
  await waitFor(`GatewayClass ${name} accepted by Traefik`, accepted, { processes, timeoutMs: 60_000 });
}

type WaitProcesses = Parameters<typeof waitFor>[2]["processes"];

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

/** Whether the conditions hold `type` with `status`. */
export function conditionIs(
  conditions: readonly Condition[] | undefined,
  type: string,
  status: string,
): boolean {
  return conditions?.some((c) => c.type === type && c.status === status) ?? false;
}

/** A certificate to issue: where its Secret goes and the names it is for. */
interface CertificateRequest {
  readonly namespace: string;
  readonly secretName: string;
  readonly dnsNames: readonly string[];
  /** What asked for it: `Gateway ns/name listener x` or `Certificate ns/name`. */
  readonly source: string;
}

interface GatewayList {
  items: {
    metadata: { name: string; namespace: string; annotations?: Record<string, string> };
    spec: {
      listeners?: {
        name: string;
        hostname?: string;
        protocol: string;
        tls?: { mode?: string; certificateRefs?: { name: string; namespace?: string; kind?: string }[] };
      }[];
    };
  }[];
}

interface CertificateList {
  items: {
    metadata: { name: string; namespace: string };
    spec: { secretName: string; dnsNames?: string[]; issuerRef: { name: string; kind?: string } };
  }[];
}

/** What cert-manager would issue from the brownfield's ClusterIssuer, as the cluster has it now. */
async function certificateRequests(api: KubeApi): Promise<CertificateRequest[]> {
  const issuer = BROWNFIELD.certManager.clusterIssuer;
  const requests: CertificateRequest[] = [];
  const gateways = await api.get<GatewayList>(`${GATEWAY_API}/gateways`);
  for (const gateway of gateways.items) {
    const { namespace, name, annotations } = gateway.metadata;
    if (annotations?.[CLUSTER_ISSUER_ANNOTATION] !== issuer) continue;
    for (const listener of gateway.spec.listeners ?? []) {
      const ref = listener.tls?.certificateRefs?.[0];
      // cert-manager's Gateway support: a TLS-terminating listener with a hostname and a Secret ref.
      if (listener.tls?.mode === "Passthrough" || !ref || !listener.hostname) continue;
      if ((ref.kind ?? "Secret") !== "Secret") continue;
      requests.push({
        namespace: ref.namespace ?? namespace,
        secretName: ref.name,
        dnsNames: [listener.hostname],
        source: `Gateway ${namespace}/${name} listener ${listener.name}`,
      });
    }
  }
  const certificates = await api.get<CertificateList>("/apis/cert-manager.io/v1/certificates");
  for (const certificate of certificates.items) {
    const { issuerRef, secretName, dnsNames } = certificate.spec;
    if (issuerRef.kind !== "ClusterIssuer" || issuerRef.name !== issuer || !dnsNames?.length) continue;
    const { namespace, name } = certificate.metadata;
    requests.push({ namespace, secretName, dnsNames, source: `Certificate ${namespace}/${name}` });
  }
  return requests;
}

/** The stand-in cert-manager: the ClusterIssuer's CA, and the Secrets it has written. */
class CertificateIssuer {
  private serial = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly caDir: string,
    readonly caPem: string,
  ) {}

  static async create(api: KubeApi, dir: string): Promise<CertificateIssuer> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await createCa(dir, {
      commonName: `${BROWNFIELD.certManager.clusterIssuer} (plinth local brownfield)`,
      validDays: 30,
      keyUsage: ["keyCertSign", "cRLSign"],
      errorContext: "brownfield CA",
    });
    return new CertificateIssuer(api, dir, await readFile(path.join(dir, "ca.pem"), "utf8"));
  }

  /** Writes the Secret of every request that has none yet; returns how many it wrote. */
  async issueMissing(): Promise<number> {
    let written = 0;
    for (const request of await certificateRequests(this.api)) {
      const secretPath = `/api/v1/namespaces/${request.namespace}/secrets/${request.secretName}`;
      const existing = await this.api.request("GET", secretPath);
      if (existing.status === 200) continue;
      if (existing.status !== 404)
        throw new Error(`GET ${secretPath}: ${existing.status} ${existing.text.slice(0, 300)}`);
      const name = `cert-${++this.serial}`;
      await issueCertificate(this.caDir, {
        name,
        commonName: request.dnsNames[0]!,
        sans: request.dnsNames.map((dns) => `DNS:${dns}`),
        validDays: 30,
        errorContext: `certificate for ${request.source}`,
      });
      const file = (suffix: string) => readFile(path.join(this.caDir, `${name}.${suffix}`));
      const base64 = (data: Buffer | string) => Buffer.from(data).toString("base64");
      const response = await this.api.request("POST", `/api/v1/namespaces/${request.namespace}/secrets`, {
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/tls",
        metadata: {
          name: request.secretName,
          namespace: request.namespace,
          annotations: {
            "cert-manager.io/issuer-name": BROWNFIELD.certManager.clusterIssuer,
            "cert-manager.io/issuer-kind": "ClusterIssuer",
            "cert-manager.io/issuer-group": "cert-manager.io",
            "cert-manager.io/common-name": request.dnsNames[0]!,
            "cert-manager.io/alt-names": request.dnsNames.join(","),
          },
        },
        data: {
          "tls.crt": base64(await file("pem")),
          "tls.key": base64(await file("key")),
          "ca.crt": base64(this.caPem),
        },
      });
      // 404: its namespace is not there yet; 403 "being terminated": it is going (a destroy);
      // 409: written meanwhile. Each: next round.
      const namespaceGoing = response.status === 403 && /being terminated/.test(response.text);
      if (response.status === 201) written++;
      else if (response.status !== 404 && response.status !== 409 && !namespaceGoing)
        throw new Error(
          `POST secret for ${request.source}: ${response.status} ${response.text.slice(0, 300)}`,
        );
    }
    return written;
  }
}

/** Consecutive failed rounds of the certificate loop before it gives up and reports. */
const MAX_FAILURES_IN_A_ROW = 20;

export interface Brownfield {
  /** The real Traefik serving the cluster's Gateways (stopped by stop(), or with the cluster). */
  readonly traefik: RunningTraefik;
  /** PEM of the CA the stand-in cert-manager issues from (the ClusterIssuer `local-ca`). */
  readonly caPem: string;
  /** TLS Secrets the stand-in cert-manager has written so far. */
  readonly certificatesIssued: () => number;
  /** Why the brownfield stopped working, if it did: the certificate loop's error or Traefik's exit. */
  readonly failure: () => unknown;
  /** Stops the certificate loop and Traefik; rejects with the loop's error, if it had one. */
  stop(): Promise<void>;
}

export interface BrownfieldOptions {
  /** Where the CRD folders are. @default .tools/crds */
  readonly crdRoot?: string;
  /** How often the stand-in cert-manager looks for certificates to issue. @default 500 */
  readonly intervalMs?: number;
  /** The Traefik binary. @default .tools/bin/traefik */
  readonly traefikBinary?: string;
}

/**
 * Prepares the cluster (CRDs, the systems' stand-ins, storage), starts Traefik and creates its
 * GatewayClass, and starts the certificate loop (every `intervalMs`).
 */
export async function prepareBrownfield(
  cluster: LocalCluster,
  options: BrownfieldOptions = {},
): Promise<Brownfield> {
  const { api } = cluster;
  await installCrds(api, options.crdRoot ?? CRD_ROOT);
  for (const workload of BROWNFIELD_WORKLOADS) await runWorkload(api, workload);
  await installStorage(api);
  const issuer = await CertificateIssuer.create(api, path.join(cluster.dataDir, "brownfield-ca"));
  const traefik = await startTraefik(cluster, options.traefikBinary ? { binary: options.traefikBinary } : {});
  try {
    await installGatewayClass(api, [traefik.process]);
  } catch (error) {
    await traefik.stop();
    throw new Error(
      `${(error as Error).message}\nlast lines of Traefik's log:\n${traefik.process.logTail()}`,
      {
        cause: error,
      },
    );
  }

  let issued = 0;
  let failure: unknown;
  let running = true;
  // A busy API server may time a request out now and then; only a run of failures is one.
  let failuresInARow = 0;
  const loop = (async () => {
    while (running && failure === undefined) {
      try {
        issued += await issuer.issueMissing();
        failuresInARow = 0;
      } catch (error) {
        if (++failuresInARow >= MAX_FAILURES_IN_A_ROW) failure = error;
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    }
  })();
  return {
    traefik,
    caPem: issuer.caPem,
    certificatesIssued: () => issued,
    failure: () => {
      if (failure !== undefined) return failure;
      const proc = traefik.process;
      if (proc.hasExited && !proc.stopRequested)
        return new Error(`Traefik exited (${proc.exitStatus}):\n${proc.logTail()}`);
      return undefined;
    },
    async stop() {
      running = false;
      await loop;
      await traefik.stop();
      if (failure !== undefined) throw failure;
    },
  };
}
