/**
 * Which paths of the inference service are published, and how. The public Ingress lists the
 * public API paths one by one and never `/`, so no client can reach /admin or /ops (or any
 * future route) without going through the protected Ingress and oauth2-proxy.
 */
import { OPERATOR_PATHS } from "../../service/contract/operator-paths.js";
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

/** Operator pages and actions (the admin panel's reload button): only behind oauth2-proxy. */
export const PROTECTED_PATHS: readonly IngressPath[] = OPERATOR_PATHS.map(({ path, exact }) => ({
  path,
  pathType: exact ? "Exact" : "Prefix",
}));
