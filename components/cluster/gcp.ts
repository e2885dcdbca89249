/**
 * The GCP half of Cluster: a custom-mode VPC with one subnet carrying secondary ranges for pods
 * and services (VPC-native), Cloud NAT for egress from private nodes, and a regional private GKE
 * cluster with Workload Identity, shielded nodes, Dataplane V2 (network policy enforcement), a
 * release channel and master authorised networks; nodes run as a least-privilege service account.
 * A private cluster's control plane reaches nodes only on 443 and 10250, so a firewall rule opens
 * the admission-webhook port (WEBHOOK_PORT) from the master CIDR to the nodes.
 *
 * Physical names carry the stack (`plinth-staging-gke`, `plinth-production-gke-nodes`), so two
 * stacks can share one GCP project: see `stackScopedName`. Logical (Pulumi) names do not change.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { gkeKubeconfig } from "./kubeconfig.js";
import { stackScopedName } from "./physical-names.js";

export interface GcpClusterOptions {
  /**
   * What makes physical names unique within the project (the cluster, the node service account):
   * lower-cased, anything but letters and digits becoming '-'.
   * @default pulumi.getStack()
   */
  readonly stack?: string;
  readonly project: string;
  readonly region: string;
  /** At least two zones of the region; the node pool spans them. */
  readonly zones: readonly string[];
  readonly nodesCidr: string;
  readonly podsCidr: string;
  readonly servicesCidr: string;
  /** /28 for the control plane's private endpoint. */
  readonly masterCidr: string;
  readonly releaseChannel: "RAPID" | "REGULAR" | "STABLE";
  /** CIDRs allowed to reach the control plane. */
  readonly masterAuthorizedCidrs: readonly string[];
  readonly nodePool: {
    readonly machineType: string;
    /** Nodes per zone the pool starts with and never goes below (GKE counts per zone). */
    readonly minNodes: number;
    /** Most nodes per zone. */
    readonly maxNodes: number;
    readonly diskSizeGb: number;
  };
}

/** What GCP-side components need from the cluster. */
export interface GcpClusterContext {
  readonly project: string;
  readonly region: string;
  /**
   * The VPC's id. It resolves once the cluster exists, so anything built on it (a private services
   * access peering) waits for the GKE peering: GCP runs one peering operation per network at a time.
   */
  readonly network: pulumi.Output<string>;
  /**
   * Resources that create VPC peerings on `network` (the private cluster's control-plane peering).
   * A new peering on the network (servicenetworking.Connection) must `dependsOn` them: created
   * together, one fails with "There is a peering operation in progress"; destroyed in reverse, the
   * dependency keeps the two removals apart as well.
   */
  readonly peerings: readonly pulumi.Resource[];
  /** `<name>-<stack>`: the prefix of every physical name of this stack (see `stackScopedName`). */
  readonly scope: string;
  /**
   * The cluster's Workload Identity pool, read from the cluster: IAM bindings naming it wait for
   * the cluster that creates the pool. Build members with `workloadIdentityMember`.
   */
  readonly workloadPool: pulumi.Output<string>;
}

/** The port ingress-nginx's admission webhook listens on; the control plane must reach it. */
const WEBHOOK_PORT = 8443;

/**
 * The Workload Identity member of a Kubernetes ServiceAccount:
 * `serviceAccount:<pool>[<namespace>/<name>]`, where pool is the cluster's output.
 */
export function workloadIdentityMember(
  workloadPool: pulumi.Input<string>,
  namespace: string,
  serviceAccount: string,
): pulumi.Output<string> {
  return pulumi.interpolate`serviceAccount:${workloadPool}[${namespace}/${serviceAccount}]`;
}

/** GCP limits on the names set here. */
const MAX_CLUSTER_NAME = 40;
const MAX_ACCOUNT_ID = 30;

/** The roles GKE nodes need to ship logs and metrics and pull images; nothing else. */
export const NODE_ROLES = [
  "roles/logging.logWriter",
  "roles/monitoring.metricWriter",
  "roles/monitoring.viewer",
  "roles/stackdriver.resourceMetadata.writer",
  "roles/artifactregistry.reader",
];

export function gcpCluster(
  name: string,
  options: GcpClusterOptions,
  protect: boolean,
  parent: pulumi.Resource,
) {
  if (options.zones.length < 2) {
    throw new pulumi.ResourceError(
      `gcp clusters need at least two zones; got ${options.zones.length}`,
      parent,
    );
  }
  const opts = { parent };
  const { project, region } = options;
  const scope = stackScopedName([name, options.stack ?? pulumi.getStack()], MAX_CLUSTER_NAME - 4);
  const network = new gcp.compute.Network(
    `${name}-vpc`,
    { project, autoCreateSubnetworks: false, routingMode: "REGIONAL" },
    opts,
  );
  const subnet = new gcp.compute.Subnetwork(
    `${name}-nodes`,
    {
      project,
      region,
      network: network.id,
      ipCidrRange: options.nodesCidr,
      privateIpGoogleAccess: true,
      secondaryIpRanges: [
        { rangeName: "pods", ipCidrRange: options.podsCidr },
        { rangeName: "services", ipCidrRange: options.servicesCidr },
      ],
      logConfig: {
        aggregationInterval: "INTERVAL_5_SEC",
        flowSampling: 0.5,
        metadata: "INCLUDE_ALL_METADATA",
      },
    },
    opts,
  );
  const router = new gcp.compute.Router(`${name}-router`, { project, region, network: network.id }, opts);
  new gcp.compute.RouterNat(
    `${name}-nat`,
    {
      project,
      region,
      router: router.name,
      natIpAllocateOption: "AUTO_ONLY",
      sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
      logConfig: { enable: true, filter: "ERRORS_ONLY" },
    },
    opts,
  );

  const nodeAccount = new gcp.serviceaccount.Account(
    `${name}-nodes`,
    {
      project,
      accountId: stackScopedName([scope, "gke-nodes"], MAX_ACCOUNT_ID),
      displayName: `GKE nodes of ${scope}`,
    },
    opts,
  );
  const nodeRoles = NODE_ROLES.map(
    (role) =>
      new gcp.projects.IAMMember(
        `${name}-nodes-${role.split("/")[1]?.replace(/\./g, "-")}`,
        { project, role, member: pulumi.interpolate`serviceAccount:${nodeAccount.email}` },
        opts,
      ),
  );

  // GKE names a project's Workload Identity pool `<project>.svc.id.goog`; this is the one place
  // that spells it. Everything else reads the pool from the cluster's output.
  const cluster = new gcp.container.Cluster(
    `${name}-gke`,
    {
      project,
      name: stackScopedName([scope, "gke"], MAX_CLUSTER_NAME),
      location: region,
      nodeLocations: [...options.zones],
      network: network.id,
      subnetwork: subnet.id,
      networkingMode: "VPC_NATIVE",
      ipAllocationPolicy: { clusterSecondaryRangeName: "pods", servicesSecondaryRangeName: "services" },
      // The default pool cannot be configured hardened; it is replaced by the pool below.
      removeDefaultNodePool: true,
      initialNodeCount: 1,
      privateClusterConfig: {
        enablePrivateNodes: true,
        enablePrivateEndpoint: false,
        masterIpv4CidrBlock: options.masterCidr,
      },
      masterAuthorizedNetworksConfig: {
        cidrBlocks: options.masterAuthorizedCidrs.map((cidrBlock) => ({
          cidrBlock,
          displayName: `allow ${cidrBlock}`,
        })),
      },
      masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
      workloadIdentityConfig: { workloadPool: `${project}.svc.id.goog` },
      datapathProvider: "ADVANCED_DATAPATH",
      releaseChannel: { channel: options.releaseChannel },
      enableShieldedNodes: true,
      enableLegacyAbac: false,
      deletionProtection: protect,
      loggingConfig: { enableComponents: ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"] },
    },
    { parent, protect },
  );
  const nodePool = new gcp.container.NodePool(
    `${name}-nodes`,
    {
      project,
      cluster: cluster.name,
      location: region,
      // Without an initial count the pool is created empty, and the autoscaler does not raise a
      // pool to its minimum until pods are pending that nothing else schedules: the Helm releases
      // then wait on a cluster with no nodes. Per zone, like the autoscaling bounds.
      initialNodeCount: options.nodePool.minNodes,
      autoscaling: { minNodeCount: options.nodePool.minNodes, maxNodeCount: options.nodePool.maxNodes },
      management: { autoRepair: true, autoUpgrade: true },
      nodeConfig: {
        machineType: options.nodePool.machineType,
        diskSizeGb: options.nodePool.diskSizeGb,
        serviceAccount: nodeAccount.email,
        oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        workloadMetadataConfig: { mode: "GKE_METADATA" },
        metadata: { "disable-legacy-endpoints": "true" },
      },
    },
    // GKE replaces a pool whose initial count changes; later minNodes edits change the autoscaler only.
    { parent, dependsOn: nodeRoles, ignoreChanges: ["initialNodeCount"] },
  );
  // Admission webhooks (ingress-nginx) listen on 8443, which GKE's own rules do not open to the
  // control plane: without this every Ingress create times out.
  new gcp.compute.Firewall(
    `${name}-master-webhooks`,
    {
      project,
      network: network.id,
      description: `GKE control plane of ${name} to admission webhooks on the nodes`,
      direction: "INGRESS",
      sourceRanges: [options.masterCidr],
      allows: [{ protocol: "tcp", ports: [String(WEBHOOK_PORT)] }],
      targetServiceAccounts: [nodeAccount.email],
    },
    { parent, dependsOn: [cluster, network] },
  );

  const kubeconfig = gkeKubeconfig(
    cluster.name,
    cluster.endpoint,
    cluster.masterAuth.clusterCaCertificate.apply((ca) => ca ?? ""),
  );
  const workloadPool = cluster.workloadIdentityConfig.apply((config) => {
    if (!config?.workloadPool) throw new Error(`GKE cluster ${name}-gke reports no Workload Identity pool`);
    return config.workloadPool;
  });
  const context: GcpClusterContext = {
    project,
    region,
    network: pulumi.all([network.id, cluster.id]).apply(([id]) => id),
    peerings: [cluster],
    scope,
    workloadPool,
  };
  return { kubeconfig, context, readiness: [nodePool] as pulumi.Resource[] };
}
