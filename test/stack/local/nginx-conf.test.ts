/**
 * The local nginx.conf is derived from the platform's own route lists and auth annotations: every
 * public path is proxied without auth, every protected path behind auth_request with the proxy's
 * headers copied over the client's, and nothing else is routed. For a stack file's models, each
 * model's paths go to its own process and the protected ones to the default model's.
 */
import { describe, expect, it } from "vitest";
import { PROTECTED_PATHS, PUBLIC_PATHS, publicPathsOf } from "../../../components/inference/routes.js";
import { AUTH_RESPONSE_HEADERS } from "../../../components/oauth2-proxy/contract.js";
import { renderNginxConf } from "../../../stack/local/nginx-conf.js";
import { NGINX_OPTIONS, renderTestNginxConf } from "./nginx-fixture.js";

const conf = renderTestNginxConf();

/** The body of the `location <match>` block. */
function block(match: string): string {
  const start = conf.indexOf(`location ${match} {`);
  if (start < 0) throw new Error(`no location ${match}`);
  return conf.slice(start, conf.indexOf("}", start));
}

describe("renderNginxConf", () => {
  it("listens for HTTPS with the accept queue it is given (ingress-nginx uses net.core.somaxconn)", () => {
    expect(conf).toContain("listen 127.0.0.1:8443 ssl http2 backlog=4096;");
  });

  it("routes every public path to the service without auth", () => {
    for (const { path, pathType } of PUBLIC_PATHS) {
      const bodies = pathType === "Exact" ? [block(`= ${path}`)] : [block(`= ${path}`), block(`^~ ${path}/`)];
      for (const body of bodies) {
        expect(body, path).toContain("proxy_pass http://plinth_service;");
        expect(body, path).toContain('proxy_set_header X-Plinth-Edge-Token "edge-Token_0123";');
        expect(body, path).not.toContain("auth_request");
      }
    }
  });

  it("puts every protected path behind oauth2-proxy, replacing the X-Auth-Request headers", () => {
    for (const { path, pathType } of PROTECTED_PATHS) {
      const blocks = pathType === "Exact" ? [block(`= ${path}`)] : [block(`= ${path}`), block(`^~ ${path}/`)];
      for (const body of blocks) {
        expect(body, path).toContain("auth_request /_external-auth;");
        expect(body, path).toContain("error_page 401 = @signin;");
        for (const header of AUTH_RESPONSE_HEADERS) {
          const variable = `$authHeader_${header.toLowerCase().replace(/-/g, "_")}`;
          expect(body).toContain(`proxy_set_header ${header} ${variable};`);
        }
        expect(body, path).toContain('proxy_set_header X-Plinth-Edge-Token "edge-Token_0123";');
      }
    }
    expect(block("= /_external-auth")).toContain("proxy_pass http://127.0.0.1:14180/oauth2/auth;");
    expect(block("@signin")).toContain("return 302 https://127.0.0.1:8443/oauth2/start?rd=$request_uri;");
  });

  it("answers 404 for every other path and redirects HTTP to HTTPS with 308", () => {
    expect(block("/")).toContain("return 308 https://127.0.0.1:8443$request_uri;");
    expect(conf).toMatch(/location \/ \{\s+default_type application\/json;\s+return 404 /);
    expect(conf).toContain(
      'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;',
    );
    expect(conf).toContain("access_log off;");
    expect(conf).not.toMatch(/^user /m);
  });
});

describe("renderNginxConf for a stack file's models", () => {
  const models = [
    { name: "fashion-mnist", port: 18080, isDefault: true },
    { name: "churn", port: 18081, isDefault: false },
    { name: "defects", port: 18082, isDefault: false },
  ];
  const multi = renderTestNginxConf(models);
  const at = (match: string) => {
    const start = multi.indexOf(`location ${match} {`);
    if (start < 0) throw new Error(`no location ${match}`);
    return multi.slice(start, multi.indexOf("}", start));
  };

  it("has one upstream per process, the default model's plinth_service", () => {
    expect(multi).toContain("upstream plinth_service { server 127.0.0.1:18080;");
    expect(multi).toContain("upstream plinth_service_18081 { server 127.0.0.1:18081;");
    expect(multi).toContain("upstream plinth_service_18082 { server 127.0.0.1:18082;");
  });

  it("routes each model's public paths to its process and the rest of the API to the default's", () => {
    for (const { name, port, isDefault } of models) {
      const upstream = isDefault ? "plinth_service" : `plinth_service_${port}`;
      for (const { path, pathType } of publicPathsOf(name, isDefault)) {
        const blocks = pathType === "Exact" ? [at(`= ${path}`)] : [at(`= ${path}`), at(`^~ ${path}/`)];
        for (const body of blocks) {
          expect(body, path).toContain(`proxy_pass http://${upstream};`);
          expect(body, path).not.toContain("auth_request");
        }
      }
    }
    expect(at("= /models/churn/predict")).toContain("proxy_pass http://plinth_service_18081;");
    expect(at("^~ /v2/models/churn/")).toContain("proxy_pass http://plinth_service_18081;");
    expect(at("= /models/defects/predict-image")).toContain("proxy_pass http://plinth_service_18082;");
    expect(at("= /predict")).toContain("proxy_pass http://plinth_service;");
    expect(at("^~ /v2/")).toContain("proxy_pass http://plinth_service;");
    // The default model is not published under /v2/models/<name>: /v2 already reaches it.
    expect(multi).not.toContain("location ^~ /v2/models/fashion-mnist/");
  });

  it("sends the protected paths, behind oauth2-proxy, to the default model's process only", () => {
    for (const { path } of PROTECTED_PATHS) {
      const body = at(`= ${path}`);
      expect(body, path).toContain("auth_request /_external-auth;");
      expect(body, path).toContain("proxy_pass http://plinth_service;");
    }
  });

  it("refuses models without exactly one default on the service port, or a name twice", () => {
    const base = NGINX_OPTIONS;
    expect(() =>
      renderNginxConf({ ...base, models: models.map((m) => ({ ...m, isDefault: false })) }),
    ).toThrow("expected one default model; got 0");
    expect(() => renderNginxConf({ ...base, servicePort: 18081, models })).toThrow(
      "the default model's port 18080 is not servicePort 18081",
    );
    expect(() => renderNginxConf({ ...base, models: [...models, models[1]!] })).toThrow(
      "model churn listed twice",
    );
  });
});
