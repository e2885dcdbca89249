import * as policies from "../../policies/gateway-api.js";
import { describe, expect, it } from "vitest";
import { evaluatePolicies, type PolicyTarget } from "../../policies/runner/evaluate.js";
import { describePolicy, STACK_FIXTURES } from "./cases.js";
import { AUTH_URL, gatewayType, MIDDLEWARE_TYPE } from "./fixtures/gateway.js";
import { setPath, target } from "./fixtures/target.js";

const GATEWAY = "Gateway:plinth";
const REDIRECT = "HTTPRoute:plinth-https-redirect";
const PUBLIC = "HTTPRoute:inference-public";
const ADMIN = "HTTPRoute:inference-admin";
const MLFLOW = "HTTPRoute:mlflow";
const SIGNIN = "HTTPRoute:mlflow-oauth2";
const AUTH = "Middleware:inference-admin-auth";
const HSTS = {
  type: "ResponseHeaderModifier",
  responseHeaderModifier: {
    set: [{ name: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains" }],
  },
};
const PARENT = { name: "plinth", namespace: "plinth-edge" };
const LISTENER = (name: string) => `Gateway "plinth" (namespace plinth-edge) listener "${name}"`;
const ADMIN_ROUTE = 'HTTPRoute "inference-admin" (namespace plinth)';
const PUBLIC_ROUTE = 'HTTPRoute "inference-public" (namespace plinth)';
const protectHint = (route: string, namespace: string, rule = 0) =>
  `Add to spec.rules[${rule}].filters { type: "ExtensionRef", extensionRef: { group: "traefik.io", kind: "Middleware", name: "${route}-protect" } } and declare that Middleware in namespace ${namespace}, a Chain to a ForwardAuth with address "${AUTH_URL}".`;
const ADMIN_PATHS =
  "path /admin (spec.rules[0].matches[0]), path /ops (spec.rules[0].matches[1]), path /reload-model (spec.rules[0].matches[2]), path /models/fashion-classifier/admin (spec.rules[0].matches[3])";

function find(stack: PolicyTarget[], resource: string): PolicyTarget {
  const found = stack.find((t) => `${t.type.split(":").pop()}:${t.name}` === resource);
  if (!found) throw new Error(`no ${resource}`);
  return found;
}

async function messages(policy: (typeof policies.gatewayApiPolicies)[number], stack: PolicyTarget[]) {
  return (await evaluatePolicies([policy], stack, {})).map((v) => v.message);
}

function route(name: string, namespace: string, spec: Record<string, unknown>): PolicyTarget {
  return target(gatewayType("HTTPRoute"), name, { metadata: { name, namespace }, spec });
}

describePolicy(policies.gatewayListenerTls, [
  {
    change: "an HTTPS listener without certificateRefs",
    stack: "gateway",
    resource: GATEWAY,
    path: ["spec", "listeners", 1, "tls", "certificateRefs"],
    value: [],
    message: `${LISTENER("https-api")} terminates TLS without a certificate. Set spec.listeners[1].tls.certificateRefs to [{ name: "<host>-tls" }] and annotate the Gateway with cert-manager.io/cluster-issuer.`,
  },
  {
    change: "an HTTPS listener in Passthrough mode",
    stack: "gateway",
    resource: GATEWAY,
    path: ["spec", "listeners", 2, "tls", "mode"],
    value: "Passthrough",
    message: `${LISTENER("https-mlflow")} is HTTPS with tls.mode "Passthrough", so it terminates no TLS. Set spec.listeners[2].tls.mode to "Terminate" with certificateRefs.`,
  },
  {
    change: "an HTTPS listener without hostname",
    stack: "gateway",
    resource: GATEWAY,
    path: ["spec", "listeners", 1, "hostname"],
    value: undefined,
    message: `${LISTENER("https-api")} has no hostname, so no certificate can cover what it serves. Set spec.listeners[1].hostname to the one host it serves.`,
  },
  {
    change: "a clear-text TCP listener",
    stack: "gateway",
    resource: GATEWAY,
    path: ["spec", "listeners", 0, "protocol"],
    value: "TCP",
    message: `${LISTENER("http")} carries clear-text TCP. Remove spec.listeners[0], or make it an HTTPS listener with tls.certificateRefs.`,
  },
]);

describe("gateway-listener-tls: certificates cert-manager issues", () => {
  const certificate = (name: string, dnsNames: string[]) =>
    target("kubernetes:cert-manager.io/v1:Certificate", name, {
      metadata: { name, namespace: "plinth-edge" },
      spec: { secretName: name, dnsNames, issuerRef: { kind: "ClusterIssuer", name: "letsencrypt" } },
    });
  function withoutAnnotation(): PolicyTarget[] {
    const stack = STACK_FIXTURES.gateway();
    setPath(find(stack, GATEWAY).props, ["metadata", "annotations"], {});
    return stack;
  }

  it("takes a Certificate of the stack writing the listener's Secret for its host", async () => {
    const stack = withoutAnnotation();
    stack.push(
      certificate("api-tls", ["api.ml.example.com"]),
      certificate("mlflow-tls", ["*.ml.example.com"]),
    );
    expect(await messages(policies.gatewayListenerTls, stack)).toEqual([]);
  });

  it("reports a certificate nothing issues, and one that does not cover the host", async () => {
    const stack = withoutAnnotation();
    stack.push(certificate("api-tls", ["*.example.com"]));
    expect(await messages(policies.gatewayListenerTls, stack)).toEqual(
      ["api", "mlflow"].map(
        (label, i) =>
          `${LISTENER(`https-${label}`)} serves certificate Secret "plinth-edge/${label}-tls", which cert-manager does not issue for ${label}.ml.example.com (spec.listeners[${i + 1}].tls.certificateRefs[0]). Set metadata.annotations["cert-manager.io/cluster-issuer"] on the Gateway to the ClusterIssuer's name, or add a cert-manager Certificate with spec.secretName "${label}-tls" and dnsNames covering the hostname.`,
      ),
    );
  });
});

describePolicy(policies.gatewayHttpListenerRedirectOnly, [
  {
    change: "the redirect route forwarding instead",
    stack: "gateway",
    resource: REDIRECT,
    path: ["spec", "rules"],
    value: [{ backendRefs: [{ name: "inference", namespace: "plinth", port: 80 }] }],
    message: `HTTPRoute "plinth-https-redirect" (namespace plinth-edge) spec.rules[0] forwards plain HTTP to Service "inference" on ${LISTENER("http")} (through spec.parentRefs[0]). Attach the route to the Gateway's HTTPS listener (spec.parentRefs[0].sectionName); on the HTTP listener, only a rule with a RequestRedirect filter { scheme: "https", statusCode: 301 } belongs.`,
  },
  {
    change: "a redirect to http",
    stack: "gateway",
    resource: REDIRECT,
    path: ["spec", "rules", 0, "filters", 0, "requestRedirect", "scheme"],
    value: "http",
    message: `HTTPRoute "plinth-https-redirect" (namespace plinth-edge) spec.rules[0] answers plain HTTP on ${LISTENER("http")} (through spec.parentRefs[0]). Attach the route to the Gateway's HTTPS listener (spec.parentRefs[0].sectionName); on the HTTP listener, only a rule with a RequestRedirect filter { scheme: "https", statusCode: 301 } belongs.`,
  },
  {
    change: "a route with no sectionName on a Gateway with an HTTP listener",
    stack: "gateway",
    add: route("edge-status", "plinth-edge", {
      parentRefs: [PARENT],
      hostnames: ["status.ml.example.com"],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/status" } }],
          backendRefs: [{ name: "status", port: 80 }],
        },
      ],
    }),
    message: `HTTPRoute "edge-status" (namespace plinth-edge) spec.rules[0] forwards plain HTTP to Service "status" on ${LISTENER("http")} (through spec.parentRefs[0]). Set spec.parentRefs[0].sectionName to the Gateway's HTTPS listener; on the HTTP listener, only a rule with a RequestRedirect filter { scheme: "https", statusCode: 301 } belongs.`,
  },
  {
    change: "a route attached by the HTTP listener's port",
    stack: "gateway",
    add: route("edge-port", "plinth-edge", {
      parentRefs: [{ ...PARENT, port: 8000 }],
      rules: [{ backendRefs: [{ name: "status", port: 80 }] }],
    }),
    message: `HTTPRoute "edge-port" (namespace plinth-edge) spec.rules[0] forwards plain HTTP to Service "status" on ${LISTENER("http")} (through spec.parentRefs[0]). Set spec.parentRefs[0].sectionName to the Gateway's HTTPS listener; on the HTTP listener, only a rule with a RequestRedirect filter { scheme: "https", statusCode: 301 } belongs.`,
  },
]);

describe("gateway-http-listener-redirect-only: which routes the HTTP listener takes", () => {
  it("ignores a route the HTTP listener does not admit (another namespace, allowedRoutes Same)", async () => {
    const stack = STACK_FIXTURES.gateway();
    setPath(find(stack, PUBLIC).props, ["spec", "parentRefs", 0, "sectionName"], undefined);
    expect(await messages(policies.gatewayHttpListenerRedirectOnly, stack)).toEqual([]);
  });

  it("reports it once the listener's Selector admits the route's namespace", async () => {
    const stack = STACK_FIXTURES.gateway();
    setPath(find(stack, PUBLIC).props, ["spec", "parentRefs", 0, "sectionName"], undefined);
    setPath(find(stack, GATEWAY).props, ["spec", "listeners", 0, "allowedRoutes", "namespaces"], {
      from: "Selector",
      selector: { matchLabels: { "kubernetes.io/metadata.name": "plinth" } },
    });
    expect(await messages(policies.gatewayHttpListenerRedirectOnly, stack)).toEqual([
      `${PUBLIC_ROUTE} spec.rules[0] forwards plain HTTP to Service "inference" on ${LISTENER("http")} (through spec.parentRefs[0]). Set spec.parentRefs[0].sectionName to the Gateway's HTTPS listener; on the HTTP listener, only a rule with a RequestRedirect filter { scheme: "https", statusCode: 301 } belongs.`,
    ]);
  });

  it("takes a Selector on labels of a namespace it cannot see as admitting it", async () => {
    const stack = STACK_FIXTURES.gateway();
    setPath(find(stack, PUBLIC).props, ["spec", "parentRefs", 0, "sectionName"], undefined);
    setPath(find(stack, GATEWAY).props, ["spec", "listeners", 0, "allowedRoutes", "namespaces"], {
      from: "Selector",
      selector: { matchLabels: { "plinth.dev/edge": "true" } },
    });
    expect(await messages(policies.gatewayHttpListenerRedirectOnly, stack)).toHaveLength(1);
    // ...and reads the labels of a Namespace the stack declares.
    stack.push(
      target("kubernetes:core/v1:Namespace", "plinth", {
        metadata: { name: "plinth", labels: { team: "ml" } },
      }),
    );
    expect(await messages(policies.gatewayHttpListenerRedirectOnly, stack)).toEqual([]);
  });
});

const NO_REDIRECT = `${LISTENER("http")} (spec.listeners[0]) does not redirect HTTP to HTTPS. Add an HTTPRoute in namespace plinth-edge with parentRefs [{ name: "plinth", sectionName: "http" }] and one rule whose only filter is { type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }.`;

describePolicy(policies.gatewayHttpRedirect, [
  {
    change: "the redirect route removed",
    stack: "gateway",
    remove: REDIRECT,
    reportedOn: GATEWAY,
    message: NO_REDIRECT,
  },
  {
    change: "a redirect to http",
    stack: "gateway",
    resource: REDIRECT,
    path: ["spec", "rules", 0, "filters", 0, "requestRedirect", "scheme"],
    value: "http",
    reportedOn: GATEWAY,
    message: NO_REDIRECT,
  },
  {
    change: "a redirect of one path only",
    stack: "gateway",
    resource: REDIRECT,
    path: ["spec", "rules", 0, "matches"],
    value: [{ path: { type: "PathPrefix", value: "/login" } }],
    reportedOn: GATEWAY,
    message: NO_REDIRECT,
  },
  {
    change: "the redirect route attached to another listener",
    stack: "gateway",
    resource: REDIRECT,
    path: ["spec", "parentRefs", 0, "sectionName"],
    value: "https-api",
    reportedOn: GATEWAY,
    message: NO_REDIRECT,
  },
]);

describePolicy(policies.gatewayAdminRoutesBehindOauth2Proxy, [
  {
    change: "the admin route losing its protect filter",
    stack: "gateway",
    resource: ADMIN,
    path: ["spec", "rules", 0, "filters"],
    value: [HSTS],
    message: `${ADMIN_ROUTE} exposes ${ADMIN_PATHS} without oauth2-proxy: it has no ExtensionRef filter to a Middleware. ${protectHint("inference-admin", "plinth")}`,
  },
  {
    change: "the ForwardAuth asking another address",
    stack: "gateway",
    resource: AUTH,
    path: ["spec", "forwardAuth", "address"],
    value: "http://auth.example.com/healthz",
    reportedOn: ADMIN,
    message: `${ADMIN_ROUTE} exposes ${ADMIN_PATHS} without oauth2-proxy: Middleware plinth/inference-admin-protect chains to no ForwardAuth at oauth2-proxy (Middleware plinth/inference-admin-rate-limit is neither a ForwardAuth nor a Chain; Middleware plinth/inference-admin-sign-in is neither a ForwardAuth nor a Chain; Middleware plinth/inference-admin-auth asks "http://auth.example.com/healthz", not oauth2-proxy's ${AUTH_URL}). ${protectHint("inference-admin", "plinth")}`,
  },
  {
    change: "the ForwardAuth widened by a query oauth2-proxy does not narrow with",
    stack: "gateway",
    resource: "Middleware:mlflow-auth",
    path: ["spec", "forwardAuth", "address"],
    value: `${AUTH_URL}?allowed_groups=ml-admins&skip=1`,
    reportedOn: MLFLOW,
    message: `HTTPRoute "mlflow" (namespace mlflow) exposes Service "mlflow" (spec.rules[0]) without oauth2-proxy: Middleware mlflow/mlflow-protect chains to no ForwardAuth at oauth2-proxy (Middleware mlflow/mlflow-rate-limit is neither a ForwardAuth nor a Chain; Middleware mlflow/mlflow-sign-in is neither a ForwardAuth nor a Chain; Middleware mlflow/mlflow-auth asks "${AUTH_URL}?allowed_groups=ml-admins&skip=1", not oauth2-proxy's ${AUTH_URL}). ${protectHint("mlflow", "mlflow")}`,
  },
  {
    change: "the sign-in redirect served by another Service than oauth2-proxy",
    stack: "gateway",
    resource: "Middleware:inference-admin-sign-in",
    path: ["spec", "errors", "service", "name"],
    value: "grafana",
    reportedOn: ADMIN,
    message: `${ADMIN_ROUTE} exposes ${ADMIN_PATHS} without oauth2-proxy: Middleware plinth/inference-admin-sign-in in plinth/inference-admin-protect answers refused requests with Service "grafana"'s page, not oauth2-proxy's sign-in. ${protectHint("inference-admin", "plinth")}`,
  },
  {
    change: "the protect Middleware not in the stack",
    stack: "gateway",
    remove: "Middleware:inference-admin-protect",
    reportedOn: ADMIN,
    message: `${ADMIN_ROUTE} exposes ${ADMIN_PATHS} without oauth2-proxy: Middleware plinth/inference-admin-protect is not in the stack, so what it does cannot be seen. ${protectHint("inference-admin", "plinth")}`,
  },
  {
    change: "an ExtensionRef to another kind than Traefik's Middleware",
    stack: "gateway",
    resource: ADMIN,
    path: ["spec", "rules", 0, "filters", 1, "extensionRef", "group"],
    value: "gateway.envoyproxy.io",
    message: `${ADMIN_ROUTE} exposes ${ADMIN_PATHS} without oauth2-proxy: the ExtensionRef to gateway.envoyproxy.io/Middleware "inference-admin-protect" is not a Traefik Middleware. ${protectHint("inference-admin", "plinth")}`,
  },
  {
    change: "a public /admin match",
    stack: "gateway",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "matches", 1, "path", "value"],
    value: "/admin",
    message: `${PUBLIC_ROUTE} exposes path /admin (spec.rules[0].matches[1]) without oauth2-proxy: it has no ExtensionRef filter to a Middleware. ${protectHint("inference-public", "plinth")}`,
  },
  {
    change: "a public model operator route",
    stack: "gateway",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "matches", 2, "path", "value"],
    value: "/models/churn/ops",
    message: `${PUBLIC_ROUTE} exposes path /models/churn/ops (spec.rules[0].matches[2]) without oauth2-proxy: it has no ExtensionRef filter to a Middleware. ${protectHint("inference-public", "plinth")}`,
  },
  {
    change: "the sign-in path routed to another Service whose name contains oauth2-proxy",
    stack: "gateway",
    resource: SIGNIN,
    path: ["spec", "rules", 0, "backendRefs", 0, "name"],
    value: "grafana-oauth2-proxy",
    message: `HTTPRoute "mlflow-oauth2" (namespace auth) exposes Service "grafana-oauth2-proxy" (spec.rules[0].matches[0]) without oauth2-proxy: Middleware auth/mlflow-oauth2-rate-limit is neither a ForwardAuth nor a Chain. ${protectHint("mlflow-oauth2", "auth")}`,
  },
  {
    change: "a catch-all beside the sign-in path on a protected host",
    stack: "gateway",
    resource: SIGNIN,
    path: ["spec", "rules", 0, "matches", 0, "path", "value"],
    value: "/",
    message: `HTTPRoute "mlflow-oauth2" (namespace auth) exposes host mlflow.ml.example.com (spec.rules[0].matches[0]) without oauth2-proxy: Middleware auth/mlflow-oauth2-rate-limit is neither a ForwardAuth nor a Chain. ${protectHint("mlflow-oauth2", "auth")}`,
  },
  {
    change: "the sign-in route in another namespace than the proxy's",
    stack: "gateway",
    resource: SIGNIN,
    path: ["metadata", "namespace"],
    value: "mlflow",
    message: `HTTPRoute "mlflow-oauth2" (namespace mlflow) exposes host mlflow.ml.example.com (spec.rules[0].matches[0]) without oauth2-proxy: Middleware mlflow/mlflow-oauth2-rate-limit is not in the stack, so what it does cannot be seen. ${protectHint("mlflow-oauth2", "mlflow")}`,
  },
  {
    change: "the sign-in path rewritten",
    stack: "gateway",
    resource: SIGNIN,
    path: ["spec", "rules", 0, "filters"],
    value: [
      {
        type: "URLRewrite",
        urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/metrics" } },
      },
    ],
    message: `HTTPRoute "mlflow-oauth2" (namespace auth) exposes host mlflow.ml.example.com (spec.rules[0].matches[0]) without oauth2-proxy: it has no ExtensionRef filter to a Middleware. ${protectHint("mlflow-oauth2", "auth")}`,
  },
]);

describe("gateway-admin-routes-behind-oauth2-proxy: how protection resolves", () => {
  it("reads the host of the listener a route without hostnames attaches to", async () => {
    const stack = STACK_FIXTURES.gateway();
    const signIn = find(stack, SIGNIN);
    setPath(signIn.props, ["spec", "hostnames"], undefined);
    setPath(signIn.props, ["spec", "rules", 0, "matches", 0, "path", "value"], "/");
    expect(await messages(policies.gatewayAdminRoutesBehindOauth2Proxy, stack)).toEqual([
      `HTTPRoute "mlflow-oauth2" (namespace auth) exposes host mlflow.ml.example.com (spec.rules[0].matches[0]) without oauth2-proxy: Middleware auth/mlflow-oauth2-rate-limit is neither a ForwardAuth nor a Chain. ${protectHint("mlflow-oauth2", "auth")}`,
    ]);
  });

  it("takes a ForwardAuth named directly, and reports a chain that loops", async () => {
    const stack = STACK_FIXTURES.gateway();
    setPath(
      find(stack, ADMIN).props,
      ["spec", "rules", 0, "filters", 1, "extensionRef", "name"],
      "inference-admin-auth",
    );
    expect(await messages(policies.gatewayAdminRoutesBehindOauth2Proxy, stack)).toEqual([]);
    setPath(
      find(stack, ADMIN).props,
      ["spec", "rules", 0, "filters", 1, "extensionRef", "name"],
      "inference-admin-protect",
    );
    setPath(
      find(stack, "Middleware:inference-admin-protect").props,
      ["spec", "chain", "middlewares"],
      [{ name: "inference-admin-protect" }],
    );
    expect(await messages(policies.gatewayAdminRoutesBehindOauth2Proxy, stack)).toEqual([
      `${ADMIN_ROUTE} exposes ${ADMIN_PATHS} without oauth2-proxy: Middleware plinth/inference-admin-protect chains to no ForwardAuth at oauth2-proxy (Middleware plinth/inference-admin-protect chains back to itself). ${protectHint("inference-admin", "plinth")}`,
    ]);
  });

  it("does not follow a Middleware of another provider (name@file)", async () => {
    const stack = STACK_FIXTURES.gateway();
    setPath(
      find(stack, "Middleware:inference-admin-protect").props,
      ["spec", "chain", "middlewares"],
      [{ name: "oauth@file" }],
    );
    expect(await messages(policies.gatewayAdminRoutesBehindOauth2Proxy, stack)).toEqual([
      `${ADMIN_ROUTE} exposes ${ADMIN_PATHS} without oauth2-proxy: Middleware plinth/inference-admin-protect chains to no ForwardAuth at oauth2-proxy (Middleware plinth/oauth@file is not in the stack, so what it does cannot be seen). ${protectHint("inference-admin", "plinth")}`,
    ]);
  });
});

const CATCH = `to the inference Service "inference" without oauth2-proxy`;

describePolicy(policies.gatewayNoCatchAllToInference, [
  {
    change: "a PathPrefix / on the public route",
    stack: "gateway",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "matches", 0, "path", "value"],
    value: "/",
    message: `${PUBLIC_ROUTE} spec.rules[0].matches[0] sends every path ${CATCH}. Match only the public API prefixes (e.g. PathPrefix /predict, /v2).`,
  },
  {
    change: "a public rule without matches",
    stack: "gateway",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "matches"],
    value: undefined,
    message: `${PUBLIC_ROUTE} spec.rules[0] (no matches: PathPrefix "/") sends every path ${CATCH}. Match only the public API prefixes (e.g. PathPrefix /predict, /v2).`,
  },
  {
    change: "a regular-expression match",
    stack: "gateway",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "matches", 1, "path"],
    value: { type: "RegularExpression", value: "/v2/models/[^/]+/infer" },
    message: `${PUBLIC_ROUTE} spec.rules[0].matches[1] sends the regular expression "/v2/models/[^/]+/infer" ${CATCH}: it may match an operator route (/admin, /ops, /reload-model). Use PathPrefix or Exact matches of the public API paths.`,
  },
  {
    change: "a prefix that takes in every model's operator routes",
    stack: "gateway",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "matches", 1, "path", "value"],
    value: "/models",
    message: `${PUBLIC_ROUTE} spec.rules[0].matches[1] (PathPrefix "/models") sends the operator routes /models/any-model/admin, /models/any-model/admin/x, /models/any-model/ops, /models/any-model/ops/x, /models/any-model/reload-model ${CATCH}. Narrow the match to the public API, or protect the rule with the oauth2-proxy Middleware.`,
  },
  {
    change: "an Exact operator route",
    stack: "gateway",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "matches", 2, "path", "value"],
    value: "/reload-model",
    message: `${PUBLIC_ROUTE} spec.rules[0].matches[2] (Exact "/reload-model") sends the operator route /reload-model ${CATCH}. Narrow the match to the public API, or protect the rule with the oauth2-proxy Middleware.`,
  },
  {
    change: "a rewrite onto the root",
    stack: "gateway",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "filters"],
    value: [
      HSTS,
      { type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } } },
    ],
    message: `${PUBLIC_ROUTE} spec.rules[0].filters[1] rewrites public paths to "/" ${CATCH}: a request can be rewritten onto an operator route (/admin, /ops, /reload-model). Remove the URLRewrite filter or rewrite to a fixed public path.`,
  },
  {
    change: "a backendRef's rewrite onto an operator route",
    stack: "gateway",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "backendRefs", 0, "filters"],
    value: [
      {
        type: "URLRewrite",
        urlRewrite: { path: { type: "ReplaceFullPath", replaceFullPath: "/ops/reload" } },
      },
    ],
    message: `${PUBLIC_ROUTE} spec.rules[0].backendRefs[0].filters[0] rewrites public paths to "/ops/reload" ${CATCH}: a request can be rewritten onto an operator route (/admin, /ops, /reload-model). Remove the URLRewrite filter or rewrite to a fixed public path.`,
  },
]);

describe("gateway-no-catch-all-to-inference: what passes", () => {
  it("takes a catch-all on a rule behind oauth2-proxy, and a per-model prediction prefix", async () => {
    const stack = STACK_FIXTURES.gateway();
    setPath(find(stack, ADMIN).props, ["spec", "rules", 0, "matches"], undefined);
    setPath(
      find(stack, PUBLIC).props,
      ["spec", "rules", 0, "matches", 1, "path", "value"],
      "/models/churn/predict",
    );
    expect(await messages(policies.gatewayNoCatchAllToInference, stack)).toEqual([]);
  });
});

const KEEPS = (headers: string, them: "it" | "them") =>
  `Middleware "inference-admin-auth" (namespace plinth) lets the client's ${headers} through to the backend: neither spec.forwardAuth.authResponseHeaders lists ${them} nor spec.forwardAuth.authResponseHeadersRegex matches ${them}. Set spec.forwardAuth.authResponseHeadersRegex to "(?i)^x[-_]auth[-_]request[-_]".`;

const rateLimitFix = (route: string, namespace: string) =>
  `Declare a Middleware "${route}-rate-limit" in namespace ${namespace} with spec.rateLimit { average, burst, sourceCriterion: { ipStrategy: {} } } and make it the first link of the chain its ExtensionRef names.`;
const PROTECT_CHAIN = "Middleware:inference-admin-protect";
const chainOf = (...links: string[]) => links.map((name) => ({ name: `inference-admin-${name}` }));

describePolicy(policies.gatewayProtectedRoutesRateLimited, [
  {
    change: "a protect chain without the rate limit",
    stack: "gateway",
    resource: PROTECT_CHAIN,
    path: ["spec", "chain", "middlewares"],
    value: chainOf("sign-in", "auth"),
    reportedOn: ADMIN,
    message: `${ADMIN_ROUTE} spec.rules[0] asks oauth2-proxy with no rate limit per client before it (its Middlewares, in order: plinth/inference-admin-sign-in, plinth/inference-admin-auth). ${rateLimitFix("inference-admin", "plinth")}`,
  },
  {
    change: "the rate limit after the ForwardAuth (oauth2-proxy asked before any client is refused)",
    stack: "gateway",
    resource: PROTECT_CHAIN,
    path: ["spec", "chain", "middlewares"],
    value: chainOf("sign-in", "auth", "rate-limit"),
    reportedOn: ADMIN,
    message: `${ADMIN_ROUTE} spec.rules[0] asks oauth2-proxy with no rate limit per client before it (its Middlewares, in order: plinth/inference-admin-sign-in, plinth/inference-admin-auth, plinth/inference-admin-rate-limit). ${rateLimitFix("inference-admin", "plinth")}`,
  },
  {
    change: "a rate limit of average 0 (Traefik reads it as none)",
    stack: "gateway",
    resource: "Middleware:mlflow-rate-limit",
    path: ["spec", "rateLimit", "average"],
    value: 0,
    reportedOn: MLFLOW,
    message: `HTTPRoute "mlflow" (namespace mlflow) spec.rules[0] asks oauth2-proxy with no rate limit per client before it (its Middlewares, in order: mlflow/mlflow-rate-limit, mlflow/mlflow-sign-in, mlflow/mlflow-auth). ${rateLimitFix("mlflow", "mlflow")}`,
  },
  {
    change: "the rate limit Middleware not in the stack",
    stack: "gateway",
    remove: "Middleware:inference-admin-rate-limit",
    reportedOn: ADMIN,
    message: `${ADMIN_ROUTE} spec.rules[0] asks oauth2-proxy with no rate limit per client before it (its Middlewares, in order: plinth/inference-admin-sign-in, plinth/inference-admin-auth). ${rateLimitFix("inference-admin", "plinth")}`,
  },
]);

describe("gateway-protected-routes-rate-limited: where the limit may be", () => {
  it("takes a limit named by its own ExtensionRef filter before the protect chain", async () => {
    const stack = STACK_FIXTURES.gateway();
    setPath(find(stack, PROTECT_CHAIN).props, ["spec", "chain", "middlewares"], chainOf("sign-in", "auth"));
    const admin = find(stack, ADMIN);
    const filters = (admin.props as { spec: { rules: { filters: unknown[] }[] } }).spec.rules[0]!.filters;
    filters.splice(1, 0, {
      type: "ExtensionRef",
      extensionRef: { group: "traefik.io", kind: "Middleware", name: "inference-admin-rate-limit" },
    });
    expect(await messages(policies.gatewayProtectedRoutesRateLimited, stack)).toEqual([]);
    // The same filter after the protect chain comes too late.
    filters.push(filters.splice(1, 1)[0]);
    expect(await messages(policies.gatewayProtectedRoutesRateLimited, stack)).toHaveLength(1);
  });

  it("asks nothing of unprotected routes: the sign-in route and the public API may go without", async () => {
    const stack = STACK_FIXTURES.gateway();
    setPath(find(stack, SIGNIN).props, ["spec", "rules", 0, "filters"], [HSTS]);
    expect(find(stack, PUBLIC).props).not.toHaveProperty(["spec", "rules", 0, "filters", 1]);
    expect(await messages(policies.gatewayProtectedRoutesRateLimited, stack)).toEqual([]);
  });
});

describePolicy(policies.forwardAuthStripsIdentityHeaders, [
  {
    change: "trustForwardHeader on",
    stack: "gateway",
    resource: AUTH,
    path: ["spec", "forwardAuth", "trustForwardHeader"],
    value: true,
    message:
      'Middleware "inference-admin-auth" (namespace plinth) trusts the client\'s X-Forwarded-* headers (spec.forwardAuth.trustForwardHeader true). Set spec.forwardAuth.trustForwardHeader to false.',
  },
  {
    change: "no authResponseHeadersRegex",
    stack: "gateway",
    resource: AUTH,
    path: ["spec", "forwardAuth", "authResponseHeadersRegex"],
    value: undefined,
    message: KEEPS("X-Auth-Request-User, X-Auth-Request-Email, X-Auth-Request-Groups", "them"),
  },
  {
    change: "a regex that strips the email only",
    stack: "gateway",
    resource: AUTH,
    path: ["spec", "forwardAuth", "authResponseHeadersRegex"],
    value: "^X-Auth-Request-Email$",
    message: KEEPS("X-Auth-Request-User, X-Auth-Request-Groups", "them"),
  },
  {
    change: "a lower-case regex (Traefik matches canonical header names, case-sensitively)",
    stack: "gateway",
    resource: AUTH,
    path: ["spec", "forwardAuth", "authResponseHeadersRegex"],
    value: "^x-auth-request-",
    message: KEEPS("X-Auth-Request-User, X-Auth-Request-Email, X-Auth-Request-Groups", "them"),
  },
  {
    change: "a list without the groups header",
    stack: "gateway",
    resource: AUTH,
    path: ["spec", "forwardAuth"],
    value: { address: AUTH_URL, authResponseHeaders: ["X-Auth-Request-User", "X-Auth-Request-Email"] },
    message: KEEPS("X-Auth-Request-Groups", "it"),
  },
]);

describe("forwardauth-strips-identity-headers: what passes", () => {
  it.each([
    [
      "a list of every identity header, any case",
      { authResponseHeaders: ["x-auth-request-user", "X-Auth-Request-Email", "X-AUTH-REQUEST-GROUPS"] },
    ],
    ["a case-insensitive Go regex", { authResponseHeadersRegex: "(?i)^x-auth-request-" }],
  ])("%s", async (_name, settings) => {
    const stack = STACK_FIXTURES.gateway();
    setPath(find(stack, AUTH).props, ["spec", "forwardAuth"], { address: AUTH_URL, ...settings });
    expect(await messages(policies.forwardAuthStripsIdentityHeaders, stack)).toEqual([]);
  });
});

describePolicy(policies.edgeSetsNoIdentityHeaders, [
  {
    change: "a route setting X-Auth-Request-Email",
    stack: "gateway",
    resource: PUBLIC,
    path: ["spec", "rules", 0, "filters", 1],
    value: {
      type: "RequestHeaderModifier",
      requestHeaderModifier: { set: [{ name: "X-Auth-Request-Email", value: "ops@example.com" }] },
    },
    message: `${PUBLIC_ROUTE} spec.rules[0].filters[1] sets the identity header X-Auth-Request-Email. Remove it from requestHeaderModifier.set: only oauth2-proxy's ForwardAuth answer may carry it.`,
  },
  {
    change: "a backendRef adding x-auth-request-groups",
    stack: "gateway",
    resource: ADMIN,
    path: ["spec", "rules", 0, "backendRefs", 0, "filters"],
    value: [
      {
        type: "RequestHeaderModifier",
        requestHeaderModifier: { add: [{ name: "x-auth-request-groups", value: "admins" }] },
      },
    ],
    message: `${ADMIN_ROUTE} spec.rules[0].backendRefs[0].filters[0] adds the identity header x-auth-request-groups. Remove it from requestHeaderModifier.add: only oauth2-proxy's ForwardAuth answer may carry it.`,
  },
  {
    change: "a headers Middleware setting X-Auth-Request-User",
    stack: "gateway",
    add: target(MIDDLEWARE_TYPE, "as-admin", {
      metadata: { name: "as-admin", namespace: "plinth" },
      spec: {
        headers: { customRequestHeaders: { "X-Auth-Request-User": "admin", "X-Auth-Request-Email": "" } },
      },
    }),
    message:
      'Middleware "as-admin" (namespace plinth) sets the identity header X-Auth-Request-User on every request (spec.headers.customRequestHeaders). Remove spec.headers.customRequestHeaders["X-Auth-Request-User"]: only oauth2-proxy\'s ForwardAuth answer may carry it.',
  },
]);

describe("edge-sets-no-identity-headers: what passes", () => {
  it("takes a route removing the identity headers", async () => {
    const stack = STACK_FIXTURES.gateway();
    setPath(find(stack, PUBLIC).props, ["spec", "rules", 0, "filters", 1], {
      type: "RequestHeaderModifier",
      requestHeaderModifier: { remove: ["X-Auth-Request-Email"] },
    });
    expect(await messages(policies.edgeSetsNoIdentityHeaders, stack)).toEqual([]);
  });
});

const FIX_NAMESPACES = (i: number) =>
  `Set spec.listeners[${i}].allowedRoutes.namespaces to { from: "Selector", selector: { matchLabels: { "kubernetes.io/metadata.name": "<namespace>" } } } (or "Same").`;

describePolicy(policies.gatewayListenerNamespacesRestricted, [
  {
    change: "routes from All namespaces",
    stack: "gateway",
    resource: GATEWAY,
    path: ["spec", "listeners", 1, "allowedRoutes", "namespaces"],
    value: { from: "All" },
    message: `${LISTENER("https-api")} admits routes from every namespace (spec.listeners[1].allowedRoutes.namespaces.from "All"). ${FIX_NAMESPACES(1)}`,
  },
  {
    change: "an empty selector",
    stack: "gateway",
    resource: GATEWAY,
    path: ["spec", "listeners", 2, "allowedRoutes", "namespaces", "selector"],
    value: {},
    message: `${LISTENER("https-mlflow")} admits routes from every namespace (spec.listeners[2].allowedRoutes.namespaces.selector matches any namespace). ${FIX_NAMESPACES(2)}`,
  },
  {
    change: "a NotIn selector (every namespace but some)",
    stack: "gateway",
    resource: GATEWAY,
    path: ["spec", "listeners", 1, "allowedRoutes", "namespaces", "selector"],
    value: {
      matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] }],
    },
    message: `${LISTENER("https-api")} admits routes from every namespace (spec.listeners[1].allowedRoutes.namespaces.selector matches any namespace). ${FIX_NAMESPACES(1)}`,
  },
  {
    change: "a Selector without a selector",
    stack: "gateway",
    resource: GATEWAY,
    path: ["spec", "listeners", 1, "allowedRoutes", "namespaces", "selector"],
    value: undefined,
    message: `${LISTENER("https-api")} admits routes from every namespace (spec.listeners[1].allowedRoutes.namespaces.selector is missing). ${FIX_NAMESPACES(1)}`,
  },
]);

/**
 * Regression (found by the engine test): under the real engine the policy SDK hands a policy its
 * resources' properties through proxies that build a new object at every read of a nested field,
 * so the same listener read twice is never the same object. A rule that matched listeners by
 * identity reported the redirect missing under the engine and found it in the engine-free runner.
 */
describe("the Gateway rules read properties as the engine hands them", () => {
  /** `value` behind proxies that return a fresh copy of every object or array read from it. */
  function freshOnEveryRead<T>(value: T): T {
    if (value === null || typeof value !== "object") return value;
    return new Proxy(value as object, {
      get: (target, key, receiver) => {
        const field: unknown = Reflect.get(target, key, receiver);
        if (field === null || typeof field !== "object") return field;
        return freshOnEveryRead(Array.isArray(field) ? [...field] : { ...field });
      },
    }) as T;
  }

  it("finds nothing on the compliant fixture, whatever object identity the properties have", async () => {
    const stack = STACK_FIXTURES.gateway().map((t) => ({ ...t, props: freshOnEveryRead(t.props) }));
    // The proxy does hand out fresh objects: what the old identity check tripped on.
    const gateway = find(stack, GATEWAY).props as { spec: { listeners: unknown[] } };
    expect(gateway.spec.listeners[0]).not.toBe(gateway.spec.listeners[0]);
    expect(await evaluatePolicies([...policies.gatewayApiPolicies], stack, {})).toEqual([]);
  });
});
