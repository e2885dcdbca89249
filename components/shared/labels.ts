/** The recommended Kubernetes labels, so every object plinth writes is attributable and selectable. */

/** Labels that select a component's pods: stable for the lifetime of the Deployment. */
export function selectorLabels(app: string, component: string): Record<string, string> {
  return { "app.kubernetes.io/name": app, "app.kubernetes.io/component": component };
}

/** Selector labels plus ownership labels for every object of a component. */
export function standardLabels(
  app: string,
  component: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...selectorLabels(app, component),
    "app.kubernetes.io/part-of": "plinth",
    "app.kubernetes.io/managed-by": "pulumi",
    ...extra,
  };
}

/** The pod label naming a blue-green Deployment's colour (`blue` or `green`). */
export const COLOUR_LABEL = "plinth.dev/colour";

/**
 * The same label on scraped series: the ServiceMonitor copies it from each pod
 * (`podTargetLabels`), and Prometheus turns the characters a label name cannot hold into `_`.
 */
export const COLOUR_METRIC_LABEL = COLOUR_LABEL.replace(/[^a-zA-Z0-9_]/g, "_");

/**
 * The annotation plinth writes on a custom resource whose CRD the cluster already has (an existing
 * cluster's Prometheus operator, reused by config): no release of the stack installs that CRD, so
 * the pack's custom-resources-after-crds has nothing to make it wait for. Per object, and visible in
 * every preview, unlike switching an API group off in the pack config.
 */
export const CRDS_FROM_CLUSTER_ANNOTATION = "plinth.dev/crds-from";
