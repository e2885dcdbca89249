import * as policies from "../../policies/ingress-auth.js";
import { describePolicy } from "./cases.js";

const PUBLIC = "Ingress:public";
const ADMIN = "Ingress:admin";
const annotation = (name: string) => ["metadata", "annotations", name];
const FIX_AUTH =
  'Move these routes to an Ingress with metadata.annotations["nginx.ingress.kubernetes.io/auth-url"] = "https://<auth host>/oauth2/auth" and ["nginx.ingress.kubernetes.io/auth-signin"] = "https://<auth host>/oauth2/start?rd=$escaped_request_uri".';

describePolicy(policies.ingressTlsCertManager, [
  {
    change: "no cert-manager issuer",
    stack: "kubernetes",
    resource: PUBLIC,
    path: annotation("cert-manager.io/cluster-issuer"),
    value: undefined,
    message:
      'Ingress "public" names no cert-manager issuer. Set metadata.annotations["cert-manager.io/cluster-issuer"] to the ClusterIssuer\'s name.',
  },
  {
    change: "TLS turned off",
    stack: "kubernetes",
    resource: PUBLIC,
    path: ["spec", "tls"],
    value: [],
    message: 'Ingress "public" has no TLS. Set spec.tls to [{ hosts: [<host>], secretName: "<name>-tls" }].',
  },
  {
    change: "a TLS entry without secretName",
    stack: "kubernetes",
    resource: PUBLIC,
    path: ["spec", "tls", 0, "secretName"],
    value: undefined,
    message:
      'Ingress "public" spec.tls[0] has no secretName. Set spec.tls[0].secretName for cert-manager to write the certificate to.',
  },
  {
    change: "a host outside the certificate",
    stack: "kubernetes",
    resource: ADMIN,
    path: ["spec", "rules", 1, "host"],
    value: "grafana.ml.example.com",
    message:
      'Ingress "admin" serves host "grafana.ml.example.com" without TLS. Add "grafana.ml.example.com" to spec.tls[].hosts.',
  },
  {
    change: "a rule without host",
    stack: "kubernetes",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "host"],
    value: undefined,
    message:
      'Ingress "public" spec.rules[0] has no host, so it cannot be covered by TLS. Set spec.rules[0].host.',
  },
]);

describePolicy(policies.ingressSslRedirect, [
  {
    change: "the redirect annotation removed",
    stack: "kubernetes",
    resource: PUBLIC,
    path: annotation("nginx.ingress.kubernetes.io/force-ssl-redirect"),
    value: undefined,
    message:
      'Ingress "public" does not redirect HTTP to HTTPS. Set metadata.annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] to "true".',
  },
  {
    change: "ssl-redirect switched off next to force-ssl-redirect",
    stack: "kubernetes",
    resource: ADMIN,
    path: annotation("nginx.ingress.kubernetes.io/ssl-redirect"),
    value: "false",
    message:
      'Ingress "admin" does not redirect HTTP to HTTPS. Set metadata.annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] to "true".',
  },
]);

describePolicy(policies.ingressNoSnippetAnnotations, [
  {
    change: "a configuration-snippet",
    stack: "kubernetes",
    resource: PUBLIC,
    path: annotation("nginx.ingress.kubernetes.io/configuration-snippet"),
    value: "more_set_headers 'X-Auth-Request-Email: admin@example.com';",
    message:
      'Ingress "public" injects nginx configuration through "nginx.ingress.kubernetes.io/configuration-snippet". Remove metadata.annotations["nginx.ingress.kubernetes.io/configuration-snippet"]; put the setting in the controller\'s Helm values.',
  },
]);

describePolicy(policies.adminPathsBehindOauth2Proxy, [
  {
    change: "a public /admin route",
    stack: "kubernetes",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "http", "paths", 1, "path"],
    value: "/admin",
    message: `Ingress "public" exposes path /admin (spec.rules[0].http.paths[1]) without oauth2-proxy. ${FIX_AUTH}`,
  },
  {
    change: "a public route to the MLflow Service",
    stack: "kubernetes",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "http", "paths", 1, "backend", "service", "name"],
    value: "mlflow",
    message: `Ingress "public" exposes Service "mlflow" (spec.rules[0].http.paths[1]) without oauth2-proxy. ${FIX_AUTH}`,
  },
  {
    change: "a public Grafana host",
    stack: "kubernetes",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "host"],
    value: "grafana.ml.example.com",
    message: `Ingress "public" exposes host grafana.ml.example.com (spec.rules[0].http.paths[0]), host grafana.ml.example.com (spec.rules[0].http.paths[1]) without oauth2-proxy. ${FIX_AUTH}`,
  },
  {
    change: "the admin Ingress losing its auth-signin annotation",
    stack: "kubernetes",
    resource: ADMIN,
    path: annotation("nginx.ingress.kubernetes.io/auth-signin"),
    value: undefined,
    message: `Ingress "admin" exposes path /admin (spec.rules[0].http.paths[0]), path /ops (spec.rules[0].http.paths[1]), Service "mlflow" (spec.rules[1].http.paths[0]) without oauth2-proxy. ${FIX_AUTH}`,
  },
  {
    change: "an auth-url that is not oauth2-proxy's",
    stack: "kubernetes",
    resource: ADMIN,
    path: annotation("nginx.ingress.kubernetes.io/auth-url"),
    value: "https://auth.ml.example.com/healthz",
    message: `Ingress "admin" exposes path /admin (spec.rules[0].http.paths[0]), path /ops (spec.rules[0].http.paths[1]), Service "mlflow" (spec.rules[1].http.paths[0]) without oauth2-proxy. ${FIX_AUTH}`,
  },
]);

describePolicy(policies.noCatchAllToInference, [
  {
    change: "a catch-all / on the public host",
    stack: "kubernetes",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "http", "paths", 1, "path"],
    value: "/",
    message:
      'Ingress "public" sends every path on host api.ml.example.com to the inference Service "inference" (spec.rules[0].http.paths[1], path "/"). Route only the public API prefixes (e.g. /predict, /v2) with pathType "Prefix".',
  },
  {
    change: "a regex catch-all",
    stack: "kubernetes",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "http", "paths", 0, "path"],
    value: "/(.*)",
    message:
      'Ingress "public" sends every path on host api.ml.example.com to the inference Service "inference" (spec.rules[0].http.paths[0], path "/(.*)"). Route only the public API prefixes (e.g. /predict, /v2) with pathType "Prefix".',
  },
  {
    change: "a default backend to the inference Service",
    stack: "kubernetes",
    resource: PUBLIC,
    path: ["spec", "defaultBackend"],
    value: { service: { name: "inference", port: { name: "http" } } },
    message:
      'Ingress "public" sends every path on host * to the inference Service "inference" (spec.defaultBackend, path "/"). Route only the public API prefixes (e.g. /predict, /v2) with pathType "Prefix".',
  },
]);
