/**
 * The cluster's fake nodes: Node objects kwok manages (by annotation), each with its own pod CIDR,
 * an address, a zone, and the capacity a platform stack needs. A node's status may be set when it
 * is created (as a kubelet registers itself), so capacity and node info are written here and kwok's
 * stages only play the conditions.
 *
 * No custom taint: every node is fake, so workloads need no toleration to land on one. The API
 * server itself adds `node.kubernetes.io/not-ready` on creation; the node lifecycle controller lifts
 * it once kwok reports the node Ready.
 */
import { KWOK_NODE_ANNOTATION } from "./component-args.js";

export interface NodeCapacity {
  /** CPU as a Kubernetes quantity. @default "32" */
  readonly cpu: string;
  /** Memory as a Kubernetes quantity. @default "128Gi" */
  readonly memory: string;
  /** Pods per node. @default 110 (the kubelet's default) */
  readonly pods: number;
  /** @default "500Gi" */
  readonly ephemeralStorage: string;
}

export const DEFAULT_NODE_COUNT = 2;
export const DEFAULT_NODE_CAPACITY: NodeCapacity = {
  cpu: "32",
  memory: "128Gi",
  pods: 110,
  ephemeralStorage: "500Gi",
};
/** Nodes spread over these zones in turn, for workloads with zone topology spread constraints. */
export const ZONES = ["local-a", "local-b", "local-c"] as const;
export const REGION = "local";

export function nodeName(index: number): string {
  return `kwok-node-${index}`;
}

/** The Node object of fake node `index` (0-based; up to 250 nodes: one /24 of 10.244/16 each). */
export function fakeNode(
  index: number,
  capacity: NodeCapacity,
  kubeletVersion: string,
): Record<string, unknown> {
  if (!Number.isInteger(index) || index < 0 || index > 249) throw new Error(`node index ${index}: 0..249`);
  const name = nodeName(index);
  const resources = {
    cpu: capacity.cpu,
    memory: capacity.memory,
    pods: String(capacity.pods),
    "ephemeral-storage": capacity.ephemeralStorage,
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "kwok",
        "topology.kubernetes.io/region": REGION,
        "topology.kubernetes.io/zone": ZONES[index % ZONES.length],
        type: "kwok",
      },
    },
    spec: { podCIDR: `10.244.${index}.0/24`, podCIDRs: [`10.244.${index}.0/24`] },
    status: {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: "InternalIP", address: `10.250.0.${index + 1}` },
        { type: "Hostname", address: name },
      ],
      nodeInfo: {
        architecture: "amd64",
        operatingSystem: "linux",
        osImage: "kwok",
        kernelVersion: "kwok",
        containerRuntimeVersion: "kwok://v0.8.0",
        kubeletVersion,
        bootID: "",
        machineID: name,
        systemUUID: name,
      },
    },
  };
}
