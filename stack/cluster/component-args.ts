/**
 * The command line of each control-plane program: plain functions of the cluster's ports, files and
 * folders, so what the cluster runs can be read (and tested) in one place.
 */
import path from "node:path";
import { SERVICE_CLUSTER_IP_RANGE, type ClusterCredentials } from "./certs.js";
import type { ClusterPorts } from "./ports.js";

export const LOOPBACK = "127.0.0.1";
/** The issuer of service-account tokens: the in-cluster name of the API server, as on most clusters. */
export const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";
/** kwok manages only the nodes carrying this annotation (the nodes this cluster creates). */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
/** Pod IPs for a node without spec.podCIDR (the cluster's own nodes each get a /24). */
export const KWOK_FALLBACK_POD_CIDR = "10.244.255.0/24";

export interface ComponentContext {
  readonly ports: ClusterPorts;
  readonly credentials: ClusterCredentials;
  /** The cluster's data folder. */
  readonly dataDir: string;
  /** kubeconfig file of each component that talks to the API server. */
  readonly kubeconfigs: {
    readonly controllerManager: string;
    readonly scheduler: string;
    readonly kwok: string;
  };
  /** kwok's Stage file. */
  readonly kwokConfigFile: string;
}

export function etcdArgs({ ports, dataDir }: ComponentContext): string[] {
  const client = `http://${LOOPBACK}:${ports.etcdClient}`;
  const peer = `http://${LOOPBACK}:${ports.etcdPeer}`;
  return [
    "--name=plinth-local",
    `--data-dir=${path.join(dataDir, "etcd")}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=plinth-local=${peer}`,
    "--initial-cluster-state=new",
    // A throwaway cluster in a temporary folder: durability buys nothing and fsync costs seconds.
    "--unsafe-no-fsync",
    "--log-level=warn",
  ];
}

export function apiserverArgs({ ports, credentials }: ComponentContext): string[] {
  return [
    `--etcd-servers=http://${LOOPBACK}:${ports.etcdClient}`,
    `--bind-address=${LOOPBACK}`,
    `--advertise-address=${LOOPBACK}`,
    `--secure-port=${ports.apiserver}`,
    `--tls-cert-file=${credentials.apiserverCertFile}`,
    `--tls-private-key-file=${credentials.apiserverKeyFile}`,
    `--client-ca-file=${credentials.caFile}`,
    `--token-auth-file=${credentials.tokenAuthFile}`,
    "--authorization-mode=Node,RBAC",
    // PodSecurity is on by default since 1.25; naming it keeps it on if the defaults ever change.
    "--enable-admission-plugins=NodeRestriction,PodSecurity",
    // As on a real cluster: privileged pods are the Pod Security levels' business, not a global ban.
    "--allow-privileged=true",
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${credentials.serviceAccountPublicKeyFile}`,
    `--service-account-signing-key-file=${credentials.serviceAccountPrivateKeyFile}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    // The default reconciler publishes the advertise address as the `kubernetes` Service's endpoint
    // and refuses a loopback one.
    "--endpoint-reconciler-type=none",
    "--profiling=false",
  ];
}

export function controllerManagerArgs({ ports, credentials, kubeconfigs }: ComponentContext): string[] {
  return [
    `--kubeconfig=${kubeconfigs.controllerManager}`,
    `--bind-address=${LOOPBACK}`,
    `--secure-port=${ports.controllerManager}`,
    // Every default controller but node IPAM (no pod network to carve up). nodelifecycle must stay:
    // it lifts the not-ready taint from kwok's nodes, without which nothing schedules.
    "--controllers=*,-node-ipam-controller",
    // One identity for every controller (see CLIENTS.controllerManager in certs.ts).
    "--use-service-account-credentials=false",
    `--service-account-private-key-file=${credentials.serviceAccountPrivateKeyFile}`,
    `--root-ca-file=${credentials.caFile}`,
    `--cluster-signing-cert-file=${credentials.caFile}`,
    `--cluster-signing-key-file=${credentials.caKeyFile}`,
    // One instance: waiting for a lease would only slow the start.
    "--leader-elect=false",
    "--profiling=false",
  ];
}

export function schedulerArgs({ ports, kubeconfigs }: ComponentContext): string[] {
  return [
    `--kubeconfig=${kubeconfigs.scheduler}`,
    `--bind-address=${LOOPBACK}`,
    `--secure-port=${ports.scheduler}`,
    "--leader-elect=false",
    "--profiling=false",
  ];
}

export function kwokArgs({ ports, kubeconfigs, kwokConfigFile }: ComponentContext): string[] {
  return [
    `--kubeconfig=${kubeconfigs.kwok}`,
    `--config=${kwokConfigFile}`,
    "--manage-all-nodes=false",
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
    // kwok renews each node's Lease, as a kubelet does, so the node lifecycle controller keeps the
    // nodes Ready between status heartbeats.
    "--node-lease-duration-seconds=40",
    `--cidr=${KWOK_FALLBACK_POD_CIDR}`,
    `--server-address=${LOOPBACK}:${ports.kwok}`,
  ];
}
