import * as policies from "../../policies/ingress-auth.js";
import { describe, expect, it } from "vitest";
import { evaluatePolicies, type PolicyTarget } from "../../policies/runner/evaluate.js";
import { describePolicy, STACK_FIXTURES } from "./cases.js";
import { setPath } from "./fixtures/target.js";

const PUBLIC = "Ingress:public";
const ADMIN = "Ingress:admin";
const SIGNIN = "Ingress:signin";
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
    change: "force-ssl-redirect switched off, ssl-redirect never set",
    stack: "kubernetes",
    resource: ADMIN,
    path: annotation("nginx.ingress.kubernetes.io/force-ssl-redirect"),
    value: "false",
    message:
      'Ingress "admin" does not redirect HTTP to HTTPS. Set metadata.annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] to "true".',
  },
]);

describe("ingress-ssl-redirect: what ingress-nginx redirects", () => {
  it.each([
    [
      "force-ssl-redirect true beside ssl-redirect false (force wins)",
      { "force-ssl-redirect": "true", "ssl-redirect": "false" },
    ],
    [
      "ssl-redirect true beside force-ssl-redirect false (a TLS host)",
      { "force-ssl-redirect": "false", "ssl-redirect": "true" },
    ],
  ])("raises nothing for %s", async (_name, values) => {
    const stack = STACK_FIXTURES.kubernetes();
    const ingress = stack.find((t) => t.name === "admin")!;
    for (const [key, value] of Object.entries(values))
      setPath(ingress.props, annotation(`nginx.ingress.kubernetes.io/${key}`), value);
    expect(await evaluatePolicies([policies.ingressSslRedirect], stack, {})).toEqual([]);
  });
});

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
    change: "the sign-in path routed to another Service whose name contains oauth2-proxy",
    stack: "kubernetes",
    resource: SIGNIN,
    path: ["spec", "rules", 0, "http", "paths", 0, "backend", "service", "name"],
    value: "grafana-oauth2-proxy",
    message: `Ingress "signin" exposes Service "grafana-oauth2-proxy" (spec.rules[0].http.paths[0]) without oauth2-proxy. ${FIX_AUTH}`,
  },
  {
    change: "the sign-in path's Ingress in another namespace than the proxy's",
    stack: "kubernetes",
    resource: SIGNIN,
    path: ["metadata", "namespace"],
    value: "mlflow",
    message: `Ingress "signin" exposes host mlflow.ml.example.com (spec.rules[0].http.paths[0]) without oauth2-proxy. ${FIX_AUTH}`,
  },
  {
    change: "the sign-in path rewritten to another path of the proxy's Service",
    stack: "kubernetes",
    resource: SIGNIN,
    path: annotation("nginx.ingress.kubernetes.io/rewrite-target"),
    value: "/metrics",
    message: `Ingress "signin" exposes host mlflow.ml.example.com (spec.rules[0].http.paths[0]) without oauth2-proxy. ${FIX_AUTH}`,
  },
  {
    change: "a catch-all beside the sign-in path on a protected host",
    stack: "kubernetes",
    resource: SIGNIN,
    path: ["spec", "rules", 0, "http", "paths", 0, "path"],
    value: "/",
    message: `Ingress "signin" exposes host mlflow.ml.example.com (spec.rules[0].http.paths[0]) without oauth2-proxy. ${FIX_AUTH}`,
  },
  {
    change: "satisfy any beside the oauth2-proxy annotations (any passing check lets a request in)",
    stack: "kubernetes",
    resource: ADMIN,
    path: annotation("nginx.ingress.kubernetes.io/satisfy"),
    value: "Any",
    message: `Ingress "admin" exposes path /admin (spec.rules[0].http.paths[0]), path /ops (spec.rules[0].http.paths[1]), Service "mlflow" (spec.rules[1].http.paths[0]) without oauth2-proxy. ${FIX_AUTH}`,
  },
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

describe("no-catch-all-to-inference: paths read as ingress-nginx reads them", () => {
  const publicWith = (
    paths: { path: string; pathType: string }[],
    annotations: Record<string, string> = {},
  ) => {
    const stack = STACK_FIXTURES.kubernetes();
    const ingress = stack.find((t) => t.name === "public")!;
    setPath(
      ingress.props,
      ["spec", "rules", 0, "http", "paths"],
      paths.map((p) => ({ ...p, backend: { service: { name: "inference", port: { name: "http" } } } })),
    );
    for (const [key, value] of Object.entries(annotations))
      setPath(ingress.props, ["metadata", "annotations", `nginx.ingress.kubernetes.io/${key}`], value);
    return stack;
  };
  const messages = async (stack: PolicyTarget[]) =>
    (await evaluatePolicies([policies.noCatchAllToInference], stack, {})).map((v) => v.message);

  it("reports a public path that reaches a model's operator routes (/models/<name>/admin, ...)", async () => {
    expect(
      await messages(
        publicWith([
          { path: "/models/churn/predict", pathType: "Exact" },
          { path: "/models/churn", pathType: "Prefix" },
          { path: "/models/churn/ops/summary", pathType: "Exact" },
        ]),
      ),
    ).toEqual([
      'Ingress "public" spec.rules[0].http.paths[1] (path "/models/churn", pathType Prefix) sends the operator routes /models/churn/admin, /models/churn/admin/x, /models/churn/ops, /models/churn/ops/x, /models/churn/reload-model to the inference Service "inference" without oauth2-proxy. Narrow the path to the public API, or move the route to the protected Ingress.',
    ]);
    // An operator route itself on a public Ingress: admin-paths-behind-oauth2-proxy's to report.
    const adminPaths = await evaluatePolicies(
      [policies.adminPathsBehindOauth2Proxy],
      publicWith([{ path: "/models/churn/ops/summary", pathType: "Exact" }]),
      {},
    );
    expect(adminPaths.map((v) => v.message).join("\n")).toContain("path /models/churn/ops/summary");
    // A model's public routes by name, and its v2 prefix, reach no operator route.
    expect(
      await messages(
        publicWith([
          { path: "/models/churn/predict", pathType: "Exact" },
          { path: "/models/churn/predict-image", pathType: "Exact" },
          { path: "/v2/models/churn", pathType: "Prefix" },
        ]),
      ),
    ).toEqual([]);
  });

  it("reports a regex on a public host whose fixed start leads into /models/<name>", async () => {
    expect(
      await messages(
        publicWith([{ path: "/models/[a-z]+/(predict|admin)", pathType: "ImplementationSpecific" }], {
          "use-regex": "true",
        }),
      ),
    ).toHaveLength(1);
    expect(
      await messages(
        publicWith([{ path: "/models/churn/predict.*", pathType: "ImplementationSpecific" }], {
          "use-regex": "true",
        }),
      ),
    ).toEqual([]);
  });

  it("reports a regex path on a public host: which paths it matches cannot be listed", async () => {
    for (const flag of ["true", "True", "1"]) {
      expect(
        await messages(
          publicWith([{ path: "/(predict|ops/summary)", pathType: "ImplementationSpecific" }], {
            "use-regex": flag,
          }),
        ),
      ).toEqual([
        'Ingress "public" spec.rules[0].http.paths[0] (path "/(predict|ops/summary)") is a regular expression on host api.ml.example.com, which routes to the inference Service "inference" without oauth2-proxy: it may match an operator route. Use literal paths (pathType Exact or Prefix) for the public API.',
      ]);
    }
  });

  it("takes any rewrite-target on the host as turning its paths into regexes", async () => {
    const stack = publicWith([{ path: "/.*", pathType: "Exact" }]);
    const other = stack.find((t) => t.name === "admin")!;
    setPath(
      other.props,
      ["metadata", "annotations", "nginx.ingress.kubernetes.io/rewrite-target"],
      "/static",
    );
    setPath(other.props, ["spec", "rules", 0, "host"], "api.ml.example.com");
    expect(await messages(stack)).toEqual([
      'Ingress "public" spec.rules[0].http.paths[0] (path "/.*") is a regular expression on host api.ml.example.com, which routes to the inference Service "inference" without oauth2-proxy: it may match an operator route. Use literal paths (pathType Exact or Prefix) for the public API.',
    ]);
  });

  it("reports a fixed rewrite onto an operator route", async () => {
    expect(
      await messages(
        publicWith([{ path: "/predict", pathType: "Prefix" }], { "rewrite-target": "/ops/summary" }),
      ),
    ).toEqual([
      'Ingress "public" rewrites spec.rules[0].http.paths[0] (path "/predict") to "/ops/summary" for the inference Service "inference": a public path can be rewritten onto an operator route (/admin, /ops, /reload-model). Remove metadata.annotations["nginx.ingress.kubernetes.io/rewrite-target"] or make it a fixed path.',
    ]);
  });

  it("reads a Prefix path as a regex once use-regex is on anywhere on the host", async () => {
    const stack = publicWith([{ path: "/re", pathType: "Prefix" }]);
    expect(await messages(stack)).toEqual([]);
    // Another Ingress of the same host turns use-regex on: "/re" now matches /reload-model.
    const other = stack.find((t) => t.name === "admin")!;
    setPath(other.props, ["metadata", "annotations", "nginx.ingress.kubernetes.io/use-regex"], "true");
    setPath(other.props, ["spec", "rules", 0, "host"], "api.ml.example.com");
    expect(await messages(stack)).toEqual([
      'Ingress "public" spec.rules[0].http.paths[0] (path "/re", a regular expression: use-regex is on for this host) sends the operator route /reload-model to the inference Service "inference" without oauth2-proxy. Narrow the path to the public API, or move the route to the protected Ingress.',
    ]);
  });

  it.each([
    ["a quantifier that makes the fixed start reach /ops", "/opsx?"],
    ["a wildcard after a short start", "/a.*"],
    ["an alternation outside any group", "/v2|/admin"],
    ["an upper-case operator route (nginx matches regexes case-insensitively)", "/ADMIN.*"],
  ])("still reports %s on a regex host", async (_name, path) => {
    expect(
      await messages(publicWith([{ path, pathType: "ImplementationSpecific" }], { "use-regex": "true" })),
    ).toEqual([
      `Ingress "public" spec.rules[0].http.paths[0] (path ${JSON.stringify(path)}) is a regular expression on host api.ml.example.com, which routes to the inference Service "inference" without oauth2-proxy: it may match an operator route. Use literal paths (pathType Exact or Prefix) for the public API.`,
    ]);
  });

  it.each([
    ["a capture straight after the root", "/$1"],
    ["a capture glued to a partial segment", "/adm$1"],
    ["a capture under an operator route", "/ops/$1"],
  ])("still reports a rewrite with %s", async (_name, rewrite) => {
    expect(
      await messages(
        publicWith([{ path: "/api/(.*)", pathType: "ImplementationSpecific" }], {
          "use-regex": "true",
          "rewrite-target": rewrite,
        }),
      ),
    ).toEqual([
      `Ingress "public" rewrites spec.rules[0].http.paths[0] (path "/api/(.*)") to ${JSON.stringify(rewrite)} for the inference Service "inference": a public path can be rewritten onto an operator route (/admin, /ops, /reload-model). Remove metadata.annotations["nginx.ingress.kubernetes.io/rewrite-target"] or make it a fixed path.`,
    ]);
  });

  it("reads an ImplementationSpecific path as nginx's plain prefix", async () => {
    expect(await messages(publicWith([{ path: "/ad", pathType: "ImplementationSpecific" }]))).toEqual([
      'Ingress "public" spec.rules[0].http.paths[0] (path "/ad", pathType ImplementationSpecific) sends the operator routes /admin, /admin/x to the inference Service "inference" without oauth2-proxy. Narrow the path to the public API, or move the route to the protected Ingress.',
    ]);
  });

  it("reports a rewrite that can map a public path onto an operator route", async () => {
    expect(
      await messages(
        publicWith([{ path: "/api(/|$)(.*)", pathType: "ImplementationSpecific" }], {
          "use-regex": "true",
          "rewrite-target": "/$2",
        }),
      ),
    ).toEqual([
      'Ingress "public" rewrites spec.rules[0].http.paths[0] (path "/api(/|$)(.*)") to "/$2" for the inference Service "inference": a public path can be rewritten onto an operator route (/admin, /ops, /reload-model). Remove metadata.annotations["nginx.ingress.kubernetes.io/rewrite-target"] or make it a fixed path.',
    ]);
  });

  it.each([
    [
      "the public API by Prefix and Exact",
      [
        { path: "/predict", pathType: "Exact" },
        { path: "/v2", pathType: "Prefix" },
      ],
      {},
    ],
    ["a Prefix that only shares letters with an operator route", [{ path: "/adm", pathType: "Prefix" }], {}],
    ["literal public paths on a regex host", [{ path: "/v2", pathType: "Prefix" }], { "use-regex": "true" }],
    ["a fixed rewrite", [{ path: "/classify", pathType: "Exact" }], { "rewrite-target": "/predict" }],
    // On a regex host a pattern is as safe as a literal when its fixed start keeps it off the
    // operator routes (ingress-nginx anchors it at the start).
    [
      "a dotted literal on a regex host",
      [{ path: "/openapi.json", pathType: "Exact" }],
      { "use-regex": "true" },
    ],
    [
      "a pattern under a public prefix",
      [{ path: "/v2/models/[^/]+/infer", pathType: "ImplementationSpecific" }],
      { "use-regex": "true" },
    ],
    [
      "a rewrite that keeps a public first segment",
      [{ path: "/api/predict/(.*)", pathType: "ImplementationSpecific" }],
      { "use-regex": "true", "rewrite-target": "/predict/$1" },
    ],
  ])("raises nothing for %s", async (_name, paths, annotations) => {
    expect(await messages(publicWith(paths, annotations))).toEqual([]);
  });
});

describe("ingress-tls-cert-manager: a wildcard certificate", () => {
  it("covers one label below its domain, and nothing else", () => {
    expect(policies.certificateCovers("*.ml.example.com", "api.ml.example.com")).toBe(true);
    expect(policies.certificateCovers("*.ML.example.com", "Api.ml.example.com")).toBe(true);
    expect(policies.certificateCovers("*.ml.example.com", "a.b.ml.example.com")).toBe(false);
    expect(policies.certificateCovers("*.ml.example.com", "ml.example.com")).toBe(false);
    expect(policies.certificateCovers("*.ml.example.com", "api.ml.example.org")).toBe(false);
    expect(policies.certificateCovers("api.ml.example.com", "api.ml.example.com")).toBe(true);
  });

  it("raises nothing for a host its wildcard covers, and names a host it does not", async () => {
    const stack = STACK_FIXTURES.kubernetes();
    const ingress = stack.find((t) => t.name === "public")!;
    const host = (ingress.props as { spec: { rules: { host: string }[] } }).spec.rules[0]!.host;
    const parent = host.slice(host.indexOf(".") + 1);
    setPath(ingress.props, ["spec", "tls", 0, "hosts"], [`*.${parent}`]);
    expect(await evaluatePolicies([policies.ingressTlsCertManager], stack, {})).toEqual([]);
    setPath(ingress.props, ["spec", "tls", 0, "hosts"], [`*.other.${parent}`]);
    const found = await evaluatePolicies([policies.ingressTlsCertManager], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      `Ingress "public" serves host "${host}" without TLS. Add "${host}" to spec.tls[].hosts.`,
    ]);
  });
});

describe("admin-paths-behind-oauth2-proxy: what makes oauth2-proxy's header trustworthy", () => {
  it("requires auth-response-headers to carry X-Auth-Request-Email, which nginx then overwrites", async () => {
    const stack = STACK_FIXTURES.kubernetes();
    const admin = stack.find((t) => t.name === "admin")!;
    expect(await evaluatePolicies([policies.adminPathsBehindOauth2Proxy], stack, {})).toEqual([]);
    setPath(
      admin.props,
      ["metadata", "annotations", "nginx.ingress.kubernetes.io/auth-response-headers"],
      "X-Auth-Request-User",
    );
    const found = await evaluatePolicies([policies.adminPathsBehindOauth2Proxy], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      expect.stringMatching(/^Ingress "admin" exposes .* without oauth2-proxy\./),
    ]);
  });
});
