/**
 * TLS Ingresses: every Ingress plinth writes terminates TLS with a cert-manager certificate,
 * redirects HTTP to HTTPS and lists its paths explicitly (Prefix or Exact), so what is exposed is
 * readable from the object itself.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ChartPods, Peer } from "./network-policy.js";

/** Where an IngressTls installation lives: its class and its certificate issuer. */
export interface IngressClassRef {
  /** IngressClass of the controller, e.g. "nginx". */
  readonly className: string;
  /** cert-manager ClusterIssuer that signs the certificates. */
  readonly clusterIssuer: pulumi.Input<string>;
}

/**
 * cert-manager's HTTP-01 solver pods, which it starts beside each Ingress it issues a certificate
 * for: the ACME server's challenge (and cert-manager's self-check) reach them through the ingress
 * controller. A namespace that denies ingress by default must admit them, or no certificate is issued.
 */
export function acmeSolverPods(controller: Peer): ChartPods {
  return {
    name: "acme-solver",
    podLabels: { "acme.cert-manager.io/http01-solver": "true" },
    rules: [{ port: 8089, from: [controller] }],
  };
}

export interface IngressPath {
  readonly path: string;
  readonly pathType: "Prefix" | "Exact";
}

export interface TlsIngressArgs {
  readonly namespace: pulumi.Input<string>;
  readonly host: string;
  readonly paths: readonly IngressPath[];
  readonly serviceName: pulumi.Input<string>;
  readonly servicePort: string | number;
  readonly ingress: IngressClassRef;
  /** Extra annotations, e.g. the oauth2-proxy auth annotations for protected routes. */
  readonly annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  readonly labels: Record<string, string>;
  /** Secret that holds the host's certificate; shared by Ingresses of the same host. */
  readonly tlsSecretName: string;
}

export function tlsIngress(
  name: string,
  args: TlsIngressArgs,
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.Ingress {
  const port =
    typeof args.servicePort === "number" ? { number: args.servicePort } : { name: args.servicePort };
  return new k8s.networking.v1.Ingress(
    name,
    {
      metadata: {
        name,
        namespace: args.namespace,
        labels: args.labels,
        annotations: {
          "cert-manager.io/cluster-issuer": args.ingress.clusterIssuer,
          "nginx.ingress.kubernetes.io/ssl-redirect": "true",
          "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
          ...args.annotations,
        },
      },
      spec: {
        ingressClassName: args.ingress.className,
        tls: [{ hosts: [args.host], secretName: args.tlsSecretName }],
        rules: [
          {
            host: args.host,
            http: {
              paths: args.paths.map(({ path, pathType }) => ({
                path,
                pathType,
                backend: { service: { name: args.serviceName, port } },
              })),
            },
          },
        ],
      },
    },
    opts,
  );
}
