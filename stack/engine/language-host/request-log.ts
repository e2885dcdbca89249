/**
 * An optional record of what the CLI asks the host: with PLINTH_LANGUAGE_HOST_LOG=<file>, the host's
 * argv and every request (as protobuf JSON objects) are appended to the file, one JSON line each. The
 * host's stdout and stderr belong to the CLI (they become diagnostics), so debugging output goes here.
 * Run requests carry the decrypted config and RunPlugin the CLI's environment (passphrases, cloud
 * credentials): every config value and env value is replaced by its length, and the file is 0600.
 */
import { appendFileSync } from "node:fs";

const logFile = process.env["PLINTH_LANGUAGE_HOST_LOG"];

export function logRequest(method: string, request: unknown): void {
  if (!logFile) return;
  const body =
    typeof request === "object" &&
    request !== null &&
    "toObject" in request &&
    typeof request.toObject === "function"
      ? (request.toObject as () => unknown)()
      : request;
  appendFileSync(
    logFile,
    `${JSON.stringify({ time: new Date().toISOString(), pid: process.pid, method, body: redacted(body) })}\n`,
    { mode: 0o600 },
  );
}

/** Keys whose values may hold secrets: config maps, config property maps and environments. */
const SECRET_BEARING = /^(configMap|configMapList|configpropertymap|configPropertyMap|envList|env)$/;

/** A copy of `value` with every value under a secret-bearing key replaced by `[redacted: N chars]`. */
export function redacted(value: unknown, key = ""): unknown {
  if (SECRET_BEARING.test(key)) return `[redacted: ${JSON.stringify(value ?? null).length} chars]`;
  if (Array.isArray(value)) return value.map((item) => redacted(item));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redacted(v, k)]));
  }
  return value;
}
