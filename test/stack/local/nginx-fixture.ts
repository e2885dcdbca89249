/** The local nginx.conf as the nginx tests render it: fixed ports, files and token. */
import { renderNginxConf } from "../../../stack/local/nginx-conf.js";

/** renderNginxConf's options but the models. */
export const NGINX_OPTIONS = {
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
} as const;

/** The conf for `models` (the bundled model alone when omitted). */
export function renderTestNginxConf(models?: Parameters<typeof renderNginxConf>[0]["models"]): string {
  return renderNginxConf({ ...NGINX_OPTIONS, ...(models ? { models } : {}) });
}
