/**
 * Which paths of the inference service are published, and how. The public Ingress lists the
 * public API paths one by one and never `/`, so no client can reach /admin or /ops (or any
 * future route) without going through the protected Ingress and oauth2-proxy.
 */
import {
  modelOperatorPaths,
  OPERATOR_PATHS,
  type OperatorPath,
} from "../../service/contract/operator-paths.js";
import { modelPredictionPaths } from "../../service/contract/prediction-routes.js";
import { PROBE_PATHS } from "../../service/contract/probe-paths.js";
import type { IngressPath } from "../shared/ingress.js";

/** The public API: predictions, explanations, model metadata, Open Inference Protocol v2, health, docs. */
export const PUBLIC_PATHS: readonly IngressPath[] = [
  { path: "/predict", pathType: "Exact" },
  { path: "/predict-image", pathType: "Exact" },
  { path: "/predict-image/explain", pathType: "Exact" },
  { path: "/metadata", pathType: "Exact" },
  { path: "/v2", pathType: "Prefix" },
  { path: PROBE_PATHS.live, pathType: "Exact" },
  // Not PROBE_PATHS.podReady: the kubelet's view, of no use to clients.
  { path: PROBE_PATHS.ready, pathType: "Exact" },
  { path: "/docs", pathType: "Prefix" },
  { path: "/openapi.json", pathType: "Exact" },
];

const ingressPath = ({ path, exact }: OperatorPath): IngressPath => ({
  path,
  pathType: exact ? "Exact" : "Prefix",
});

/** Operator pages and actions (the admin panel's reload button): only behind oauth2-proxy. */
export const PROTECTED_PATHS: readonly IngressPath[] = OPERATOR_PATHS.map(ingressPath);

/**
 * The operator routes of the process whose default model (MODEL_NAME) is `name`, under its name
 * (`/models/<name>/admin`, `/models/<name>/ops`, `/models/<name>/reload-model`): only behind
 * oauth2-proxy, routed to that model's Service.
 */
export function modelProtectedPaths(name: string): IngressPath[] {
  return modelOperatorPaths(name).map(ingressPath);
}

/**
 * What a model's protected Ingress lists: every process's default model its operator routes by
 * name; the stack's default model also the bare ones. A model served beside another in one process
 * (MODEL_REPOSITORY) has none: its process's operator routes are its default model's.
 */
export function protectedPathsOf(name: string, isDefault: boolean): IngressPath[] {
  return [...(isDefault ? PROTECTED_PATHS : []), ...modelProtectedPaths(name)];
}

/**
 * The public paths of one model of a stack that serves several: its prediction endpoints by name
 * (`/models/<name>/predict`, `/models/<name>/predict-image`) and its Open Inference Protocol paths
 * (`/v2/models/<name>/...`: a longer prefix than the default model's `/v2`, so the edge sends them
 * to this model's Service).
 */
export function modelPublicPaths(name: string): IngressPath[] {
  return [
    ...modelPredictionPaths(name).map((path) => ({ path, pathType: "Exact" as const })),
    { path: `/v2/models/${name}`, pathType: "Prefix" },
  ];
}

/**
 * What a model's public Ingress lists: the default model (the one the bare routes serve) has the
 * whole public API and its own paths by name; any other model only its paths by name.
 */
export function publicPathsOf(name: string, isDefault: boolean): IngressPath[] {
  return isDefault
    ? [...PUBLIC_PATHS, ...modelPublicPaths(name).filter(({ path }) => !path.startsWith("/v2/"))]
    : modelPublicPaths(name);
}
