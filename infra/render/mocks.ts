/**
 * Mock provider responses for running the program without an engine or a cloud: each resource's
 * state is its inputs plus the outputs the program reads (endpoints, ARNs, generated passwords),
 * shaped like the real providers return them.
 */
import type * as pulumi from "@pulumi/pulumi";

type State = Record<string, unknown>;

const ACCOUNT = "123456789012";
/** A syntactically valid, clearly fake PEM body for cluster CA fields. */
const FAKE_CA = Buffer.from("-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n").toString(
  "base64",
);

const COMPUTED: Record<string, (name: string, inputs: State) => State> = {
  "aws:eks/cluster:Cluster": (name, inputs) => ({
    arn: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/${name}`,
    vpcConfig: { ...(inputs.vpcConfig as State | undefined), clusterSecurityGroupId: `sg-${name}-cluster` },
    endpoint: `https://${name}.gr7.eu-west-1.eks.amazonaws.com`,
    certificateAuthority: { data: FAKE_CA },
    identities: [
      { oidcs: [{ issuer: `https://oidc.eks.eu-west-1.amazonaws.com/id/${name.toUpperCase()}` }] },
    ],
  }),
  "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (name, inputs) => ({
    arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${String(inputs.url ?? name).replace(/^https:\/\//, "")}`,
  }),
  "aws:rds/instance:Instance": (name) => ({
    address: `${name}.abcdefghij.eu-west-1.rds.amazonaws.com`,
    endpoint: `${name}.abcdefghij.eu-west-1.rds.amazonaws.com:5432`,
    port: 5432,
  }),
  "aws:elasticache/replicationGroup:ReplicationGroup": (name) => ({
    primaryEndpointAddress: `master.${name}.abcdef.euw1.cache.amazonaws.com`,
    port: 6379,
  }),
  "aws:s3/bucket:Bucket": (name, inputs) => ({ bucket: inputs.bucket ?? `${name}-bucket` }),
  "aws:kms/key:Key": (name) => ({ keyId: `${name}-key-id` }),
  "gcp:container/cluster:Cluster": (name) => ({
    endpoint: "172.16.0.2",
    masterAuth: { clusterCaCertificate: FAKE_CA },
    selfLink: `https://container.googleapis.com/v1/projects/mock/locations/mock/clusters/${name}`,
    // Deliberately unlike the `<project>...` pool the program asks for: a render then shows
    // whether Workload Identity members are built from the cluster's output or from config.
    workloadIdentityConfig: { workloadPool: `${name}.workload-pool.mock` },
  }),
  "gcp:sql/databaseInstance:DatabaseInstance": (name) => ({
    privateIpAddress: "10.60.0.3",
    connectionName: `mock:europe-west1:${name}`,
  }),
  "gcp:redis/instance:Instance": (name) => ({
    host: "10.60.1.4",
    // Memorystore serves TLS on 6378.
    port: 6378,
    authString: `auth-${name}`.padEnd(36, "0"),
    serverCaCerts: [{ cert: Buffer.from(FAKE_CA, "base64").toString(), serialNumber: "1" }],
  }),
  "gcp:serviceaccount/account:Account": (_name, inputs) => ({
    email: `${String(inputs.accountId)}@${String(inputs.project ?? "mock")}.iam.gserviceaccount.com`,
  }),
  "gcp:compute/network:Network": (name) => ({ selfLink: `projects/mock/global/networks/${name}` }),
  "gcp:compute/subnetwork:Subnetwork": (name) => ({
    selfLink: `projects/mock/regions/mock/subnetworks/${name}`,
  }),
  "gcp:storage/bucket:Bucket": (name, inputs) => ({ url: `gs://${String(inputs.name ?? name)}` }),
  "random:index/randomPassword:RandomPassword": (name, inputs) => ({
    result: `mock-${name}`.padEnd(Number(inputs.length ?? 32), "x").slice(0, Number(inputs.length ?? 32)),
  }),
};

export const plinthMocks: pulumi.runtime.Mocks = {
  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } {
    const computed = COMPUTED[args.type]?.(args.name, args.inputs) ?? {};
    const defaults: State = args.type.startsWith("aws:")
      ? { arn: `arn:aws:${args.type.split(":")[1]?.split("/")[0]}:eu-west-1:${ACCOUNT}:${args.name}` }
      : {};
    // Names the providers would auto-name: keep them stable and readable in the render.
    const named: State = "name" in args.inputs ? {} : { name: args.name };
    return {
      id: args.custom === false ? undefined : `${args.name}-id`,
      state: { ...defaults, ...named, ...args.inputs, ...computed },
    };
  },
  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    throw new Error(`plinth calls no provider functions; unexpected invoke of ${args.token}`);
  },
};
