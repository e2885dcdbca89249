/**
 * The accept-queue length to listen with: the kernel's ceiling (`net.core.somaxconn`), as
 * ingress-nginx sets it for its own listeners. Node and nginx default to 511; a burst of new
 * connections beyond it (an ingress opening hundreds of upstream connections after a stall) has
 * its SYNs dropped, and every dropped connection waits for a retransmit: 1 s, then 3 s. In the soak
 * that was p99 2-3 s in minutes with no error and no CPU to spare anywhere. In the contract
 * because the platform's local edge (stack/local) listens with the same backlog as the service.
 */
import { readFileSync } from "node:fs";

/** What Node and nginx use when the kernel's ceiling cannot be read. */
export const DEFAULT_LISTEN_BACKLOG = 511;
const SOMAXCONN_PATH = "/proc/sys/net/core/somaxconn";

/** `net.core.somaxconn`, or {@link DEFAULT_LISTEN_BACKLOG} where it cannot be read (not Linux). */
export function listenBacklog(path: string = SOMAXCONN_PATH): number {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return DEFAULT_LISTEN_BACKLOG;
  }
  const value = Number(text);
  return /^\d+$/.test(text) && value > 0 ? value : DEFAULT_LISTEN_BACKLOG;
}
