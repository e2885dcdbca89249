/** GCP-specific assertions of a rendered stack: VPC, private GKE, Workload Identity, Cloud SQL and GCS. */
import { describe, expect, it } from "vitest";
import { expectProxiedArtifacts } from "./mlflow-rendered.js";
import { at, type StackView } from "./stack.js";

export interface GcpExpectations {
  readonly project: string;
  readonly zones: readonly string[];
  readonly releaseChannel: string;
  readonly masterAuthorizedCidrs: readonly string[];
  /** The configured `plinth:gcp.masterCidr`. */
  readonly masterCidr: string;
  readonly protect: boolean;
}

/** The Workload Identity pool the mock runtime reports for the cluster (unlike the project's). */
const MOCK_POOL = "plinth-gke.workload-pool.mock";

export function describeGcpCloud(stack: string, holder: { view: StackView }, expected: GcpExpectations) {
  describe(`${stack} on gcp: cloud resources`, () => {
    it("runs a VPC-native private GKE cluster with Workload Identity, Dataplane V2 and a release channel", () => {
      const cluster = holder.view.one("gcp:container/cluster:Cluster", "plinth-gke");
      expect(cluster.inputs).toMatchObject({
        project: expected.project,
        nodeLocations: expected.zones,
        networkingMode: "VPC_NATIVE",
        ipAllocationPolicy: { clusterSecondaryRangeName: "pods", servicesSecondaryRangeName: "services" },
        privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: expected.masterCidr },
        workloadIdentityConfig: { workloadPool: `${expected.project}.svc.id.goog` },
        datapathProvider: "ADVANCED_DATAPATH",
        releaseChannel: { channel: expected.releaseChannel },
        enableShieldedNodes: true,
        enableLegacyAbac: false,
        removeDefaultNodePool: true,
        masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
        deletionProtection: expected.protect,
      });
      expect(
        (at(cluster.inputs, "masterAuthorizedNetworksConfig.cidrBlocks") as { cidrBlock: string }[]).map(
          (b) => b.cidrBlock,
        ),
      ).toEqual(expected.masterAuthorizedCidrs);
      expect(cluster.protect).toBe(expected.protect);
    });

    it("runs nodes as a least-privilege account with shielded instances and the GKE metadata server", () => {
      const view = holder.view;
      expect(
        at(view.one("gcp:container/nodePool:NodePool", "plinth-nodes").inputs, "nodeConfig"),
      ).toMatchObject({
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        workloadMetadataConfig: { mode: "GKE_METADATA" },
        metadata: { "disable-legacy-endpoints": "true" },
      });
      const roles = view.ofType("gcp:projects/iAMMember:IAMMember").map((m) => m.inputs.role);
      expect(roles.sort()).toEqual([
        "roles/artifactregistry.reader",
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
        "roles/monitoring.viewer",
        "roles/stackdriver.resourceMetadata.writer",
      ]);
    });

    it("derives every Workload Identity member from the cluster's pool output, so bindings wait for it", () => {
      const view = holder.view;
      const cluster = view.one("gcp:container/cluster:Cluster", "plinth-gke");
      const bindings = view
        .ofType("gcp:serviceaccount/iAMMember:IAMMember")
        .filter((m) => m.inputs.role === "roles/iam.workloadIdentityUser");
      expect(bindings).toHaveLength(1); // the MLflow server: clients go through its artifact proxy
      for (const binding of bindings) {
        expect(String(binding.inputs.member)).toMatch(/^serviceAccount:plinth-gke\.workload-pool\.mock\[/);
        expect(String(binding.inputs.member)).not.toContain(expected.project);
        expect(binding.dependencies).toContain(cluster.urn);
      }
    });

    it("opens only tcp 8443 from the master CIDR to the nodes, for admission webhooks", () => {
      const view = holder.view;
      const firewalls = view.ofType("gcp:compute/firewall:Firewall");
      expect(firewalls.map((f) => f.name)).toEqual(["plinth-master-webhooks"]);
      const firewall = firewalls[0]!;
      const nodes = at(
        view.one("gcp:container/nodePool:NodePool", "plinth-nodes").inputs,
        "nodeConfig.serviceAccount",
      );
      expect(nodes).toBe(`plinth-${stack}-gke-nodes@${expected.project}.iam.gserviceaccount.com`);
      expect(firewall.inputs).toEqual(
        expect.objectContaining({
          project: expected.project,
          network: "plinth-vpc-id",
          direction: "INGRESS",
          sourceRanges: [expected.masterCidr],
          allows: [{ protocol: "tcp", ports: ["8443"] }],
          targetServiceAccounts: [nodes],
        }),
      );
      expect(firewall.inputs.sourceTags).toBeUndefined();
      expect(firewall.inputs.targetTags).toBeUndefined();
      expect(firewall.inputs.denies).toBeUndefined();
      expect(firewall.parent).toBe(view.one("plinth:cluster:Cluster", "plinth").urn);
      expect(firewall.dependencies).toEqual(
        expect.arrayContaining([
          view.one("gcp:container/cluster:Cluster", "plinth-gke").urn,
          view.one("gcp:compute/network:Network", "plinth-vpc").urn,
        ]),
      );
    });

    it("keeps Cloud SQL on private IP only, TLS-only, with backups and point-in-time recovery", () => {
      const view = holder.view;
      const db = view.one("gcp:sql/databaseInstance:DatabaseInstance", "mlflow-db");
      expect(db.inputs).toMatchObject({
        databaseVersion: "POSTGRES_17",
        deletionProtection: expected.protect,
        settings: {
          ipConfiguration: { ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" },
          backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true },
          deletionProtectionEnabled: expected.protect,
          availabilityType: expected.protect ? "REGIONAL" : "ZONAL",
        },
      });
      expect(db.protect).toBe(expected.protect);
      expect(db.dependencies).toContain(
        view.one("gcp:servicenetworking/connection:Connection", "mlflow-db-peering").urn,
      );
      expect(view.one("gcp:sql/user:User", "mlflow-db").secretInputs).toContain("password");
      // Dropping a role that owns MLflow's tables fails in PostgreSQL: destroy must not try.
      expect(view.one("gcp:sql/user:User", "mlflow-db").inputs.deletionPolicy).toBe("ABANDON");
      expect(view.one("gcp:sql/database:Database", "mlflow-db").inputs.deletionPolicy).toBe("ABANDON");
    });

    it("keeps the artifact bucket uniform-access, public-access-prevented and versioned", () => {
      const bucket = holder.view.one("gcp:storage/bucket:Bucket", "mlflow-artifacts");
      expect(bucket.inputs).toMatchObject({
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        forceDestroy: false,
      });
      expect(bucket.protect).toBe(expected.protect);
    });

    it("gives the bucket to the MLflow server alone (Workload Identity, no keys); clients go through its proxy", () => {
      const view = holder.view;
      const members = view
        .ofType("gcp:serviceaccount/iAMMember:IAMMember")
        .map((m) => [m.inputs.role, m.inputs.member]);
      expect(members).toEqual([
        ["roles/iam.workloadIdentityUser", `serviceAccount:${MOCK_POOL}[mlflow/mlflow]`],
      ]);
      const bucketMembers = view.ofType("gcp:storage/bucketIAMMember:BucketIAMMember");
      expect(bucketMembers.map((m) => [m.name, m.inputs.role])).toEqual([
        ["mlflow-server", "roles/storage.objectAdmin"],
      ]);
      const annotation = view.manifest("ServiceAccount", "mlflow").metadata.annotations?.[
        "iam.gke.io/gcp-service-account"
      ];
      expect(annotation).toMatch(new RegExp(`@${expected.project}\\.iam\\.gserviceaccount\\.com$`));
      for (const client of ["plinth-inference", "plinth-inference-training"]) {
        expect(view.manifest("ServiceAccount", client).metadata.annotations ?? {}).toEqual({});
      }
      expect(view.resources.filter((r) => r.type === "gcp:serviceaccount/key:Key")).toEqual([]);
      expectProxiedArtifacts(view, /^gs:\/\/.+\/artifacts$/);
    });
  });
}
