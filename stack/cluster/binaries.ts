/**
 * Where the control plane's programs are: `.tools/bin` in the repo (scripts/install-test-tools.sh
 * links its cached builds there), then PATH. A missing one is an error naming every missing program
 * and the script that installs them, never a silently smaller cluster.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isExecutable } from "../shared/executable.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The programs of the local control plane, by the name the code uses for each. */
export const CLUSTER_PROGRAMS = {
  etcd: "etcd",
  apiserver: "kube-apiserver",
  controllerManager: "kube-controller-manager",
  scheduler: "kube-scheduler",
  kwok: "kwok",
} as const;

export type ClusterProgram = keyof typeof CLUSTER_PROGRAMS;
export type ClusterBinaries = Readonly<Record<ClusterProgram, string>>;

export interface LocateOptions {
  /** Searched first. @default `<repo>/.tools/bin` */
  readonly toolsBinDir?: string;
  /** Searched next, as a PATH string. @default process.env.PATH */
  readonly pathEnv?: string;
}

export const INSTALL_HINT =
  "run `bash scripts/install-test-tools.sh` (it builds and links them into .tools/bin)";

/** The absolute path of every control-plane program; throws one error listing all that are missing. */
export function locateClusterBinaries(options: LocateOptions = {}): ClusterBinaries {
  const dirs = [
    options.toolsBinDir ?? path.join(REPO_ROOT, ".tools", "bin"),
    ...(options.pathEnv ?? process.env.PATH ?? "").split(path.delimiter).filter((dir) => dir !== ""),
  ];
  const found: Partial<Record<ClusterProgram, string>> = {};
  const missing: string[] = [];
  for (const [key, name] of Object.entries(CLUSTER_PROGRAMS) as [ClusterProgram, string][]) {
    const file = dirs.map((dir) => path.join(dir, name)).find(isExecutable);
    if (file === undefined) missing.push(name);
    else found[key] = file;
  }
  if (missing.length > 0) {
    throw new Error(
      `local cluster: not installed: ${missing.join(", ")} (looked in ${dirs[0]} and PATH); ${INSTALL_HINT}`,
    );
  }
  return found as ClusterBinaries;
}
