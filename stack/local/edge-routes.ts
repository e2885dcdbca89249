/**
 * What the local edge routes, whichever proxy it is (Traefik by default, nginx as the option): each
 * path of the platform's route lists (components/inference/routes.ts) with the process that serves
 * it and whether it sits behind oauth2-proxy. nginx-conf.ts and traefik-conf.ts render these; neither
 * decides on its own which path goes where.
 *
 * Without a stack file's models: the service's public paths (PUBLIC_PATHS) and protected paths
 * (PROTECTED_PATHS), all to one process. With them: each model's public paths (`publicPathsOf`) to
 * the process that serves it, the bare protected paths to the default model's, and each process's
 * operator routes by its model's name (`modelProtectedPaths`) to that process, as each model's
 * routes do in the cluster. A model served beside another in one process (MODEL_REPOSITORY) has no
 * operator routes: only its process's first model does.
 */
import {
  modelProtectedPaths,
  PROTECTED_PATHS,
  PUBLIC_PATHS,
  publicPathsOf,
} from "../../components/inference/routes.js";
import type { IngressPath } from "../../components/shared/ingress.js";

/**
 * One model of a stack of several, and the port of the service process serving it. The models of one
 * process are listed with its MODEL_NAME first: that one's operator routes by name are published.
 */
export interface EdgeModelRoute {
  readonly name: string;
  /** The API port of its process (models in one shared process have the same). */
  readonly port: number;
  /** The model the bare routes serve: the whole public API and the protected paths go to its process. */
  readonly isDefault: boolean;
}

/** One path the edge publishes: where it goes, and whether oauth2-proxy guards it. */
export interface EdgeRoute {
  readonly path: IngressPath;
  /** The API port of the service process it goes to. */
  readonly port: number;
  /** Behind oauth2-proxy (operator pages and actions), or public. */
  readonly protected: boolean;
}

/** `models`, checked: one default model, served on `servicePort`, and no name twice. */
export function checkedModels(
  servicePort: number,
  models: readonly EdgeModelRoute[] | undefined,
): readonly EdgeModelRoute[] | undefined {
  if (models === undefined) return undefined;
  const defaults = models.filter((model) => model.isDefault);
  if (defaults.length !== 1) throw new Error(`expected one default model; got ${defaults.length}`);
  if (defaults[0]!.port !== servicePort) {
    throw new Error(`the default model's port ${defaults[0]!.port} is not servicePort ${servicePort}`);
  }
  const names = models.map((model) => model.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new Error(`model ${twice} listed twice`);
  return models;
}

/**
 * Every path the edge publishes, in this order: the public ones (per model, in `models` order), the
 * bare protected ones (to the default model's process), each process's operator routes by name.
 */
export function edgeRoutes(servicePort: number, models?: readonly EdgeModelRoute[]): EdgeRoute[] {
  const checked = checkedModels(servicePort, models);
  const publicRoutes: EdgeRoute[] = checked
    ? checked.flatMap((model) =>
        publicPathsOf(model.name, model.isDefault).map((path) => ({
          path,
          port: model.port,
          protected: false,
        })),
      )
    : PUBLIC_PATHS.map((path) => ({ path, port: servicePort, protected: false }));
  // Each process's operator routes under its MODEL_NAME (the first model listed on its port).
  const leads = (checked ?? []).filter((model, i, all) => all.findIndex((m) => m.port === model.port) === i);
  return [
    ...publicRoutes,
    ...PROTECTED_PATHS.map((path) => ({ path, port: servicePort, protected: true })),
    ...leads.flatMap((model) =>
      modelProtectedPaths(model.name).map((path) => ({ path, port: model.port, protected: true })),
    ),
  ];
}

/** The service processes' API ports, the default model's (`servicePort`) first, each once. */
export function processPorts(servicePort: number, models?: readonly EdgeModelRoute[]): number[] {
  return [...new Set([servicePort, ...(models ?? []).map((model) => model.port)])];
}
