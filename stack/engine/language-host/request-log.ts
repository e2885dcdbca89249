/**
 * An optional record of what the CLI asks the host: with PLINTH_LANGUAGE_HOST_LOG=<file>, the host's
 * argv and every request (as protobuf JSON objects) are appended to the file, one JSON line each. The
 * host's stdout and stderr belong to the CLI (they become diagnostics), so debugging output goes here.
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
    `${JSON.stringify({ time: new Date().toISOString(), pid: process.pid, method, body })}\n`,
  );
}
