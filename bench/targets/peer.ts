/** The FastAPI peer under test: bench/peer/server.py under uvicorn, from the bench venv. */
import { existsSync } from "node:fs";
import type { ServiceConfig } from "../../service/config.js";
import { LOOPBACK, loopbackOrigin } from "../load/target.js";
import { PEER_APP_DIR, PEER_PYTHON } from "../paths.js";
import { freePort } from "../processes.js";
import { baseEnv, launch, targetsFor, type RunningServer } from "./launch.js";
import type { Payloads } from "./payloads.js";

/** One uvicorn process per worker, uvloop and httptools (uvicorn's fast path), no access log. */
export async function startPeer(
  modelPath: string,
  config: ServiceConfig,
  workers: number,
  apiKey: string,
  payloads: Payloads,
): Promise<RunningServer> {
  if (!existsSync(PEER_PYTHON)) {
    throw new Error(`${PEER_PYTHON} is missing: run \`bash scripts/install-test-tools.sh --bench\``);
  }
  const port = await freePort();
  return launch({
    name: "peer",
    command: PEER_PYTHON,
    args: [
      ...[
        "-m",
        "uvicorn",
        "server:app",
        "--app-dir",
        PEER_APP_DIR,
        "--host",
        LOOPBACK,
        "--port",
        String(port),
      ],
      ...["--workers", String(workers), "--loop", "uvloop", "--http", "httptools"],
      ...["--no-access-log", "--log-level", "warning"],
    ],
    env: {
      ...baseEnv(),
      PEER_MODEL: modelPath,
      PEER_API_KEY: apiKey,
      PEER_INTRA_OP_THREADS: String(config.ort.intraOpThreads),
      PEER_INTER_OP_THREADS: String(config.ort.interOpThreads),
      // No __pycache__ inside the repository.
      PYTHONDONTWRITEBYTECODE: "1",
    },
    port,
    readyPath: "/health",
    targets: targetsFor(port, { json: "/predict", png: "/predict-image" }, apiKey, payloads),
  });
}

/** The peer's /health: its Python and package versions, for the report header. */
export async function peerVersions(server: RunningServer): Promise<Record<string, string>> {
  const response = await fetch(loopbackOrigin(server.port) + "/health", {
    signal: AbortSignal.timeout(5000),
  });
  return (await response.json()) as Record<string, string>;
}
