/**
 * The loopback ports the control plane listens on. Unset ones are free ports the kernel picks, so
 * clusters of parallel test files never collide (a port is free when asked, so a process started
 * much later could in theory lose it; the start fails loudly if so).
 */
import { createServer } from "node:net";

export interface ClusterPorts {
  /** etcd's client port (plain HTTP, loopback only). */
  readonly etcdClient: number;
  /** etcd's peer port: unused by a single member, but etcd always listens on one. */
  readonly etcdPeer: number;
  /** kube-apiserver's HTTPS port: the cluster's address. */
  readonly apiserver: number;
  /** kube-controller-manager's HTTPS health and metrics port. */
  readonly controllerManager: number;
  /** kube-scheduler's HTTPS health and metrics port. */
  readonly scheduler: number;
  /** kwok's HTTP health and metrics port. */
  readonly kwok: number;
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free loopback port"))));
    });
  });
}

/** The given ports, with a distinct free port for every one not given. */
export async function allocatePorts(given: Partial<ClusterPorts> = {}): Promise<ClusterPorts> {
  const names: (keyof ClusterPorts)[] = [
    "etcdClient",
    "etcdPeer",
    "apiserver",
    "controllerManager",
    "scheduler",
    "kwok",
  ];
  const taken = new Set(Object.values(given));
  const ports: Partial<Record<keyof ClusterPorts, number>> = { ...given };
  for (const name of names) {
    if (ports[name] !== undefined) continue;
    let port = await freeLoopbackPort();
    // The kernel may hand out the same port twice in a row once it was closed: ask again.
    while (taken.has(port)) port = await freeLoopbackPort();
    taken.add(port);
    ports[name] = port;
  }
  return ports as ClusterPorts;
}
