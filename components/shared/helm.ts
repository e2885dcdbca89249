/** Third-party charts, each pinned to an exact version and installed through helm.v3.Release. */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export interface PinnedChart {
  readonly chart: string;
  /** Exact chart version: never a range, so a re-run installs the same thing. */
  readonly version: string;
  readonly repo: string;
}

/** The chart pins, in one place so upgrades are one reviewed diff. */
export const CHARTS = {
  ingressNginx: {
    chart: "ingress-nginx",
    version: "4.13.3",
    repo: "https://kubernetes.github.io/ingress-nginx",
  },
  certManager: { chart: "cert-manager", version: "v1.21.1", repo: "https://charts.jetstack.io" },
  // appVersion v3.6.12 (components/gateway pins the image tag to it as well).
  traefik: { chart: "traefik", version: "39.0.7", repo: "https://traefik.github.io/charts" },
  kubePrometheusStack: {
    chart: "kube-prometheus-stack",
    version: "77.12.0",
    repo: "https://prometheus-community.github.io/helm-charts",
  },
} as const satisfies Record<string, PinnedChart>;

/** A Helm release of a pinned chart that waits for its resources, so dependents see them ready. */
export function pinnedRelease(
  name: string,
  pin: PinnedChart,
  namespace: pulumi.Input<string>,
  values: pulumi.Input<Record<string, unknown>>,
  opts: pulumi.CustomResourceOptions,
): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    name,
    {
      name: pin.chart,
      chart: pin.chart,
      version: pin.version,
      repositoryOpts: { repo: pin.repo },
      namespace,
      createNamespace: false,
      atomic: true,
      cleanupOnFail: true,
      timeout: 900,
      values,
    },
    opts,
  );
}
