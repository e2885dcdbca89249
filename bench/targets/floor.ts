/** The HTTP floor under test: bench/floors/http-floor-server.ts as its own process. */
import { FLOOR_HEALTH_PATH, FLOOR_PATH } from "../floors/http-floor-contract.js";
import { HTTP_FLOOR_ENTRY } from "../paths.js";
import { freePort } from "../processes.js";
import { baseEnv, launch, targetsFor, type RunningServer } from "./launch.js";
import type { Payloads } from "./payloads.js";

/** The floor gets the same headers, API key included, so it parses the same bytes. */
export async function startHttpFloor(apiKey: string, payloads: Payloads): Promise<RunningServer> {
  const port = await freePort();
  return launch({
    name: "floor",
    command: process.execPath,
    args: ["--import", "tsx", HTTP_FLOOR_ENTRY, String(port)],
    env: baseEnv(),
    port,
    readyPath: FLOOR_HEALTH_PATH,
    targets: targetsFor(port, { json: FLOOR_PATH, png: FLOOR_PATH }, apiKey, payloads),
  });
}
