/**
 * The local nginx.conf is derived from the platform's own route lists and auth annotations: every
 * public path is proxied without auth, every protected path behind auth_request with the proxy's
 * headers copied over the client's, and nothing else is routed.
 */
import { describe, expect, it } from "vitest";
import { PROTECTED_PATHS, PUBLIC_PATHS } from "../../../components/inference/routes.js";
import { AUTH_RESPONSE_HEADERS } from "../../../components/oauth2-proxy/index.js";
import { renderNginxConf } from "../../../stack/local/nginx-conf.js";

const conf = renderNginxConf({
  prefix: "/tmp/x/nginx",
  host: "127.0.0.1",
  httpsPort: 8443,
  httpPort: 8880,
  servicePort: 18080,
  oauth2ProxyPort: 14180,
  edgeToken: "edge-Token_0123",
  certFile: "/tmp/x/server.pem",
  keyFile: "/tmp/x/server.key",
  accessLog: false,
  backlog: 4096,
});

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
