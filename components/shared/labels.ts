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
