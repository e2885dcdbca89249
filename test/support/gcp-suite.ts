/** GCP-specific assertions of a rendered stack: VPC, private GKE, Workload Identity, Cloud SQL and GCS. */
import { describe, expect, it } from "vitest";
import { at, type StackView } from "./stack.js";

export interface GcpExpectations {
  readonly project: string;
  readonly zones: readonly string[];
  readonly releaseChannel: string;
  readonly masterAuthorizedCidrs: readonly string[];
  readonly protect: boolean;
}

export function describeGcpCloud(stack: string, holder: { view: StackView }, expected: GcpExpectations) {
  describe(`${stack} on gcp: cloud resources`, () => {
    it("runs a VPC-native private GKE cluster with Workload Identity, Dataplane V2 and a release channel", () => {
      const cluster = holder.view.one("gcp:container/cluster:Cluster", "plinth-gke");
      expect(cluster.inputs).toMatchObject({
        project: expected.project,
        nodeLocations: expected.zones,
        networkingMode: "VPC_NATIVE",
        ipAllocationPolicy: { clusterSecondaryRangeName: "pods", servicesSecondaryRangeName: "services" },
        privateClusterConfig: { enablePrivateNodes: true },
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

    it("binds each ServiceAccount to its own Google service account through Workload Identity", () => {
      const view = holder.view;
      const members = view
        .ofType("gcp:serviceaccount/iAMMember:IAMMember")
        .map((m) => [m.inputs.role, m.inputs.member]);
      expect(members.sort()).toEqual([
        ["roles/iam.workloadIdentityUser", `serviceAccount:${expected.project}.svc.id.goog[mlflow/mlflow]`],
        [
          "roles/iam.workloadIdentityUser",
          `serviceAccount:${expected.project}.svc.id.goog[plinth/plinth-inference-training]`,
        ],
        [
          "roles/iam.workloadIdentityUser",
          `serviceAccount:${expected.project}.svc.id.goog[plinth/plinth-inference]`,
        ],
      ]);
      expect(
        view.one("gcp:storage/bucketIAMMember:BucketIAMMember", "mlflow-plinth-inference").inputs.role,
      ).toBe("roles/storage.objectViewer");
      expect(
        view.one("gcp:storage/bucketIAMMember:BucketIAMMember", "mlflow-plinth-inference-training").inputs
          .role,
      ).toBe("roles/storage.objectAdmin");
      const annotation = view.manifest("ServiceAccount", "plinth-inference").metadata.annotations?.[
        "iam.gke.io/gcp-service-account"
      ];
      expect(annotation).toMatch(new RegExp(`@${expected.project}\\.iam\\.gserviceaccount\\.com$`));
      expect(view.resources.filter((r) => r.type === "gcp:serviceaccount/key:Key")).toEqual([]);
    });
  });
}
