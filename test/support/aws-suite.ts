/** AWS-specific assertions of a rendered stack: VPC, EKS, IRSA, RDS and S3, by value. */
import { describe, expect, it } from "vitest";
import { expectProxiedArtifacts } from "./mlflow-rendered.js";
import { at, type StackView } from "./stack.js";

export interface AwsExpectations {
  readonly zones: readonly string[];
  readonly publicEndpointCidrs: readonly string[];
  readonly protect: boolean;
}

export function describeAwsCloud(stack: string, holder: { view: StackView }, expected: AwsExpectations) {
  describe(`${stack} on aws: cloud resources`, () => {
    it("builds private and public subnets and a NAT gateway in every zone", () => {
      const view = holder.view;
      const counts = view.counts();
      expect(counts["aws:ec2/vpc:Vpc"]).toBe(1);
      expect(counts["aws:ec2/subnet:Subnet"]).toBe(2 * expected.zones.length);
      expect(counts["aws:ec2/natGateway:NatGateway"]).toBe(expected.zones.length);
      for (const zone of expected.zones) {
        expect(view.one("aws:ec2/subnet:Subnet", `plinth-private-${zone}`).inputs).toMatchObject({
          availabilityZone: zone,
          mapPublicIpOnLaunch: false,
          tags: { "kubernetes.io/role/internal-elb": "1" },
        });
      }
    });

    it("runs EKS with KMS-encrypted secrets, every control-plane log, and a restricted endpoint", () => {
      const view = holder.view;
      const cluster = view.one("aws:eks/cluster:Cluster", "plinth-eks").inputs;
      const key = view.one("aws:kms/key:Key", "plinth-secrets-key");
      expect(key.inputs.enableKeyRotation).toBe(true);
      expect(cluster.encryptionConfig).toEqual({
        provider: { keyArn: expect.stringContaining("plinth-secrets-key") },
        resources: ["secrets"],
      });
      expect(cluster.enabledClusterLogTypes).toEqual([
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
      ]);
      expect(at(cluster, "vpcConfig")).toMatchObject({
        endpointPrivateAccess: true,
        endpointPublicAccess: expected.publicEndpointCidrs.length > 0,
        subnetIds: expected.zones.map((zone) => `plinth-private-${zone}-id`),
      });
      expect(at(cluster, "vpcConfig.publicAccessCidrs")).toEqual(
        expected.publicEndpointCidrs.length > 0 ? expected.publicEndpointCidrs : undefined,
      );
      expect(view.one("aws:eks/nodeGroup:NodeGroup", "plinth-nodes").inputs.subnetIds).toEqual(
        expected.zones.map((zone) => `plinth-private-${zone}-id`),
      );
      expect(
        view.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "plinth-oidc").inputs.clientIdLists,
      ).toEqual(["sts.amazonaws.com"]);
    });

    it("creates no GCP resources: no GKE webhook firewall and no Workload Identity bindings", () => {
      const types = holder.view.resources.map((r) => r.type);
      expect(types).not.toContain("gcp:compute/firewall:Firewall");
      expect(types.filter((t) => t.startsWith("gcp:"))).toEqual([]);
    });

    it("enforces NetworkPolicies through the managed VPC CNI add-on, before nodes and workloads", () => {
      const view = holder.view;
      // vpc-cni, aws-ebs-csi-driver and metrics-server (test/infra/eks-platform.test.ts).
      expect(view.counts()["aws:eks/addon:Addon"]).toBe(3);
      const vpcCni = view.one("aws:eks/addon:Addon", "plinth-vpc-cni");
      expect(vpcCni.inputs).toMatchObject({
        clusterName: `plinth-${stack}-eks`,
        addonName: "vpc-cni",
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "OVERWRITE",
      });
      expect(JSON.parse(String(vpcCni.inputs.configurationValues))).toEqual({ enableNetworkPolicy: "true" });
      expect(view.one("aws:eks/nodeGroup:NodeGroup", "plinth-nodes").dependencies).toContain(vpcCni.urn);
      // Every NetworkPolicy goes through this provider, so none is created before enforcement is on.
      expect(view.one("pulumi:providers:kubernetes", "plinth-k8s").dependencies).toContain(vpcCni.urn);
    });

    it("keeps MLflow's database private, encrypted and backed up", () => {
      const db = holder.view.one("aws:rds/instance:Instance", "mlflow-db");
      expect(db.inputs).toMatchObject({
        engine: "postgres",
        storageEncrypted: true,
        publiclyAccessible: false,
        deletionProtection: expected.protect,
        multiAz: expected.protect,
        skipFinalSnapshot: !expected.protect,
      });
      expect(db.inputs.backupRetentionPeriod as number).toBeGreaterThanOrEqual(1);
      expect(db.secretInputs).toContain("password");
      expect(db.protect).toBe(expected.protect);
    });

    it("keeps the artifact bucket private, encrypted, versioned and TLS-only", () => {
      const view = holder.view;
      expect(view.one("aws:s3/bucket:Bucket", "mlflow-artifacts").protect).toBe(expected.protect);
      expect(
        view.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "mlflow-artifacts").inputs,
      ).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      expect(
        at(
          view.one(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "mlflow-artifacts",
          ).inputs,
          "rules[0].applyServerSideEncryptionByDefault.sseAlgorithm",
        ),
      ).toBe("aws:kms");
      expect(
        at(
          view.one("aws:s3/bucketVersioning:BucketVersioning", "mlflow-artifacts").inputs,
          "versioningConfiguration.status",
        ),
      ).toBe("Enabled");
      expect(
        String(view.one("aws:s3/bucketPolicy:BucketPolicy", "mlflow-artifacts-tls-only").inputs.policy),
      ).toContain('"aws:SecureTransport":"false"');
    });

    it("gives the bucket to the MLflow server alone (IRSA, no keys); clients go through its artifact proxy", () => {
      const view = holder.view;
      expect(view.resources.filter((r) => r.type.startsWith("aws:iam/accessKey"))).toEqual([]);
      const roles = view.ofType("aws:iam/role:Role").filter((r) => r.name.startsWith("mlflow"));
      expect(roles.map((r) => r.name)).toEqual(["mlflow-server"]);
      const trust = JSON.parse(String(roles[0]!.inputs.assumeRolePolicy)) as {
        Statement: { Condition: { StringEquals: Record<string, string> } }[];
      };
      expect(Object.values(trust.Statement[0]!.Condition.StringEquals)).toEqual([
        "system:serviceaccount:mlflow:mlflow",
        "sts.amazonaws.com",
      ]);
      const policy = JSON.parse(
        String(view.one("aws:iam/rolePolicy:RolePolicy", "mlflow-server").inputs.policy),
      ) as { Statement: { Action: string[] }[] };
      expect(policy.Statement[1]!.Action).toEqual(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]);
      expect(
        view.manifest("ServiceAccount", "mlflow").metadata.annotations?.["eks.amazonaws.com/role-arn"],
      ).toContain("mlflow-server");
      for (const client of ["plinth-inference", "plinth-inference-training"]) {
        expect(view.manifest("ServiceAccount", client).metadata.annotations ?? {}).toEqual({});
      }
      expectProxiedArtifacts(view, /^s3:\/\/.+\/artifacts$/);
    });
  });
}
