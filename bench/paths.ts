/** Where the bench finds the repository's pieces: all paths absolute, derived from this file's place. */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { IMAGE_PROGRAMS } from "../service/contract/image-commands.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The compiled service, as the image runs it (`npm run bench` builds it first). */
export const SERVICE_ENTRY = path.join(REPO_ROOT, IMAGE_PROGRAMS.serve);
export const HTTP_FLOOR_ENTRY = path.join(REPO_ROOT, "bench", "floors", "http-floor-server.ts");
export const PEER_APP_DIR = path.join(REPO_ROOT, "bench", "peer");
/** The peer's venv, made by `bash scripts/install-test-tools.sh --bench`. */
export const PEER_PYTHON = path.join(REPO_ROOT, ".tools", "bench-venv", "bin", "python");
export const SAMPLES_DIR = path.join(REPO_ROOT, "samples", "fashion-mnist");
export const DEFAULT_OUT_DIR = path.join(REPO_ROOT, "out", "bench");
