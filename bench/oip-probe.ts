/**
 * Whether a server accepts the binary tensor body, asked before it is loaded with it: one request,
 * which must answer 200 with outputs. A server that refuses it is not measured with it; the report
 * shows N/A with the reason (what its code and docs say, and what it answered in this run).
 */
import { targetOrigin, type HttpTarget } from "./load/target.js";
import type { OipServer } from "./oip-phase.js";
import { BINARY_UNSUPPORTED } from "./targets/oip-peers.js";

const PROBE_TIMEOUT_MS = 10_000;

/** Undefined when `target` answers the binary request; else why it is not measured with it. */
export async function binaryRefusal(server: OipServer, target: HttpTarget): Promise<string | undefined> {
  const response = await fetch(targetOrigin(target) + target.path, {
    method: target.method,
    headers: target.headers,
    body: target.body,
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  });
  const text = await response.text();
  if (response.status === 200 && answersOutputs(text)) return undefined;
  const known = server === "service" ? undefined : BINARY_UNSUPPORTED[server];
  const answered = `answered HTTP ${response.status} to a binary tensor request in this run`;
  return known === undefined ? answered : `${known}; ${answered}`;
}

function answersOutputs(text: string): boolean {
  try {
    const outputs = (JSON.parse(text) as { outputs?: unknown }).outputs;
    return Array.isArray(outputs) && outputs.length > 0;
  } catch {
    return false;
  }
}
